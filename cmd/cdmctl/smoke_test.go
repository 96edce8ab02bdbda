package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/localgateway"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/emf"
)

func smokeArgs(base string) []string {
	return []string{"smoke", "--url", base, "--key", testenv.DevKey, "--client", testenv.DevClient, "--ccid", "BAK-11984-007"}
}

// sampleValues are stored values of the sample customer; smoke must never
// print them.
var sampleValues = []string{"Roger", "Moore", "1954-12-01", "1234", "Radnor", "6105551212", "King of Prussia"}

func TestSmokePassesAgainstServe(t *testing.T) {
	tb := useTables(t)
	tb.LoadSample(t)
	base := startServe(t, io.Discard)
	out, errOut, err := cdmctl(t, "", smokeArgs(base)...)
	if err != nil {
		t.Fatalf("smoke: %v\n%s%s", err, out, errOut)
	}
	for _, check := range []string{"known customer", "missing key", "wrong key", "unknown ccid", "unknown route"} {
		if !strings.Contains(out, "ok   "+check) {
			t.Errorf("no passing line for %q:\n%s", check, out)
		}
	}
	if !strings.Contains(out, "smoke: 5 of 5 checks passed") || !strings.Contains(out, "fields addresses,ccid,") || !strings.Contains(out, " ms ") {
		t.Errorf("output:\n%s", out)
	}
	assertNothingSecret(t, out+errOut)
}

func assertNothingSecret(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, testenv.DevKey) {
		t.Error("smoke printed the key")
	}
	for _, v := range sampleValues {
		if strings.Contains(out, v) {
			t.Errorf("smoke printed a stored value (%s):\n%s", v, out)
		}
	}
}

// TestSmokeFailsAgainstBrokenServers puts the real local gateway behind
// servers that break one promise each; smoke must exit 1 and name the check.
func TestSmokeFailsAgainstBrokenServers(t *testing.T) {
	tb := useTables(t)
	tb.LoadSample(t)
	store := tb.Store()
	gateway := localgateway.New(apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Minute), slog.New(emf.NewHandler(io.Discard, nil)), 2*time.Second), 5*time.Second)
	cases := []struct {
		name, failing string
		wrap          func(w http.ResponseWriter, r *http.Request)
	}{
		{"no no-store", "known customer", func(w http.ResponseWriter, r *http.Request) {
			rec := record(gateway, r)
			rec.Header().Del("Cache-Control")
			replay(w, rec)
		}},
		{"a 401 that says why", "wrong key", func(w http.ResponseWriter, r *http.Request) {
			rec := record(gateway, r)
			body := rec.Body.Bytes()
			if r.Header.Get(apigw.APIKeyHeader) != "" && rec.Code == 401 {
				body = bytes.Replace(body, []byte("Unauthorized"), []byte("Unknown key"), 1)
			}
			rec.Body = bytes.NewBuffer(body)
			replay(w, rec)
		}},
		{"any key accepted", "wrong key", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(apigw.APIKeyHeader) != "" {
				r.Header.Set(apigw.APIKeyHeader, testenv.DevKey)
			}
			gateway.ServeHTTP(w, r)
		}},
		{"an undocumented field", "known customer", func(w http.ResponseWriter, r *http.Request) {
			rec := record(gateway, r)
			if rec.Code == 200 {
				rec.Body = bytes.NewBuffer(bytes.Replace(rec.Body.Bytes(), []byte(`{"ccid"`), []byte(`{"client_id":"demo-clinic","ccid"`), 1))
			}
			replay(w, rec)
		}},
		{"an HTML 404 for unknown routes", "unknown route", func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/cdm/client/") {
				http.NotFound(w, r)
				return
			}
			gateway.ServeHTTP(w, r)
		}},
		{"a 404 that is a 403", "unknown ccid", func(w http.ResponseWriter, r *http.Request) {
			rec := record(gateway, r)
			if rec.Code == 404 && strings.HasPrefix(r.URL.Path, "/cdm/client/") {
				rec.Code = 403
			}
			replay(w, rec)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(c.wrap))
			defer srv.Close()
			out, errOut, err := cdmctl(t, "", smokeArgs(srv.URL)...)
			if !errors.Is(err, errSmokeFailed) {
				t.Fatalf("smoke returned %v, want a failed check (exit 1):\n%s", err, out)
			}
			if !strings.Contains(out, "FAIL "+c.failing) {
				t.Errorf("the failing check %q is not named:\n%s", c.failing, out)
			}
			assertNothingSecret(t, out+errOut)
		})
	}
}

func record(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func replay(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func TestSmokeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"smoke"},
		{"smoke", "--url", "http://127.0.0.1:1", "--key", "k", "--client", "c"},
		{"smoke", "--url", "ftp://x", "--key", "k", "--client", "c", "--ccid", "x"},
		{"smoke", "--url", "127.0.0.1:3000", "--key", "k", "--client", "c", "--ccid", "x"},
		{"smoke", "--bogus"},
	} {
		if _, _, err := cdmctl(t, "", args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error (exit 2)", args, err)
		}
	}
	// The environment stands in for the flags; an unreachable stage is a failed check.
	t.Setenv("SMOKE_URL", "http://"+testenv.RefusingAddr(t))
	t.Setenv("SMOKE_KEY", "k")
	t.Setenv("SMOKE_CLIENT", "c")
	t.Setenv("SMOKE_CCID", "x")
	out, _, err := cdmctl(t, "", "smoke", "--timeout", "2s")
	if !errors.Is(err, errSmokeFailed) || !strings.Contains(out, "FAIL known customer") {
		t.Errorf("unreachable stage: %v\n%s", err, out)
	}
}

func TestTemplateManagedInstances(t *testing.T) {
	out, _, err := cdmctl(t, "", "template", "managed-instances", "--template", "../../template.yaml")
	if err != nil || !strings.Contains(out, "CapacityProviderConfig:") || !strings.Contains(out, "MemorySize: 2048") {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, args := range [][]string{{"template"}, {"template", "other"}, {"template", "managed-instances", "extra"}} {
		if _, _, err := cdmctl(t, "", args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
