package env

import (
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	for _, k := range []string{"CUSTOMERS_TABLE", "API_KEYS_TABLE", "DYNAMODB_ENDPOINT", "API_KEY_CACHE_TTL", "STORAGE_TIMEOUT", "DYNAMODB_WARM_UP"} {
		t.Setenv(k, "")
	}
	s, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{CustomersTable: "cdm-customers", APIKeysTable: "cdm-api-keys", KeyCacheTTL: time.Minute, StorageTimeout: 2 * time.Second, WarmUp: true}
	if s != want {
		t.Errorf("defaults %+v, want %+v", s, want)
	}
	t.Setenv("CUSTOMERS_TABLE", "c")
	t.Setenv("API_KEY_CACHE_TTL", "0")
	t.Setenv("STORAGE_TIMEOUT", "750ms")
	if s, err = Read(); err != nil || s.CustomersTable != "c" || s.KeyCacheTTL != 0 || s.StorageTimeout != 750*time.Millisecond {
		t.Errorf("%+v %v", s, err)
	}
	t.Setenv("DYNAMODB_WARM_UP", "false")
	if s, err = Read(); err != nil || s.WarmUp {
		t.Errorf("DYNAMODB_WARM_UP=false: %+v %v", s, err)
	}
	t.Setenv("DYNAMODB_WARM_UP", "")
	for name, bad := range map[string]string{"API_KEY_CACHE_TTL": "-1s", "STORAGE_TIMEOUT": "soon", "DYNAMODB_WARM_UP": "maybe"} {
		t.Setenv(name, bad)
		if _, err := Read(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
		}
		t.Setenv(name, "")
	}
	t.Setenv("STORAGE_TIMEOUT", "0s")
	if _, err := Read(); err == nil {
		t.Error("a zero storage timeout was accepted")
	}
}
