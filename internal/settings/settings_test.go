package settings

import (
	"strings"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	for _, k := range []string{"CUSTOMERS_TABLE", "API_KEYS_TABLE", "DYNAMODB_ENDPOINT", "API_KEY_CACHE_TTL", "STORAGE_TIMEOUT", "DYNAMODB_WARM_UP", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_MAX_CONCURRENCY"} {
		t.Setenv(k, "")
	}
	s, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{CustomersTable: "cdm-customers", APIKeysTable: "cdm-api-keys", KeyCacheTTL: time.Minute, StorageTimeout: 2 * time.Second, MaxConcurrency: 1, WarmUp: true}
	if s != want {
		t.Errorf("defaults %+v, want %+v", s, want)
	}
	t.Setenv("CUSTOMERS_TABLE", "c")
	t.Setenv("API_KEY_CACHE_TTL", "0")
	t.Setenv("STORAGE_TIMEOUT", "750ms")
	if s, err = Read(); err != nil || s.CustomersTable != "c" || s.KeyCacheTTL != 0 || s.StorageTimeout != 750*time.Millisecond {
		t.Errorf("%+v %v", s, err)
	}
	for _, c := range []struct {
		setting, initType string
		want              bool
	}{
		{"", "on-demand", true},
		{"", "provisioned-concurrency", true},
		{"", "lambda-managed-instances", true},
		{"auto", "provisioned-concurrency", true},
		{"auto", "on-demand", true},
		{"true", "on-demand", true},
		{"false", "provisioned-concurrency", false},
	} {
		t.Setenv("DYNAMODB_WARM_UP", c.setting)
		t.Setenv("AWS_LAMBDA_INITIALIZATION_TYPE", c.initType)
		if s, err = Read(); err != nil || s.WarmUp != c.want {
			t.Errorf("DYNAMODB_WARM_UP=%q on %s: %v %v, want %v", c.setting, c.initType, s.WarmUp, err, c.want)
		}
	}
	t.Setenv("DYNAMODB_WARM_UP", "")
	for name, bad := range map[string]string{"API_KEY_CACHE_TTL": "-1s", "STORAGE_TIMEOUT": "soon", "DYNAMODB_WARM_UP": "maybe", "AWS_LAMBDA_MAX_CONCURRENCY": "0"} {
		t.Setenv(name, bad)
		if _, err := Read(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
		}
		t.Setenv(name, "")
	}
	t.Setenv("AWS_LAMBDA_MAX_CONCURRENCY", "16")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "cdm-customer-api-dev-get-customer")
	if s, err = Read(); err != nil || s.MaxConcurrency != 16 || s.FunctionName != "cdm-customer-api-dev-get-customer" {
		t.Errorf("%+v %v", s, err)
	}
	t.Setenv("STORAGE_TIMEOUT", "0s")
	if _, err := Read(); err == nil {
		t.Error("a zero storage timeout was accepted")
	}
}
