package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/emf"
)

// fakeCustomers is a map-backed customer store; fn, when set, runs instead.
type fakeCustomers struct {
	byKey map[string]customer.Customer
	fn    func(ctx context.Context) error
}

func (f *fakeCustomers) Customer(ctx context.Context, clientID customer.ClientID, ccid string) (customer.Customer, error) {
	if f.fn != nil {
		if err := f.fn(ctx); err != nil {
			return customer.Customer{}, err
		}
	}
	c, ok := f.byKey[customer.Key(clientID, ccid)]
	if !ok {
		return customer.Customer{}, customer.ErrNotFound
	}
	return c, nil
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, customer.ClientID) error { return nil }

func newUnitHandler(c apigw.Customers) (*apigw.Handler, *bytes.Buffer) {
	var log bytes.Buffer
	return apigw.NewHandler(c, allowAll{}, slog.New(emf.NewHandler(&log, nil)), time.Second), &log
}

func TestPanicBecomes500(t *testing.T) {
	h, log := newUnitHandler(&fakeCustomers{fn: func(context.Context) error { panic("boom with secret") }})
	resp, err := handle(context.Background(), h, request("c", "x", withKey("cdmk_unit_test_key_000000")))
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, resp)
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !strings.Contains(log.String(), `"error":"panic at `) || strings.Contains(log.String(), "secret") {
		t.Errorf("panic log: %s", log.String())
	}
}

func TestStorageDeadlineFollowsInvocationDeadline(t *testing.T) {
	var left time.Duration
	h, _ := newUnitHandler(&fakeCustomers{fn: func(ctx context.Context) error {
		d, ok := ctx.Deadline()
		if !ok {
			t.Fatal("storage call has no deadline")
		}
		left = time.Until(d)
		<-ctx.Done()
		return ctx.Err()
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	resp, _ := handle(ctx, h, request("c", "x", withKey("cdmk_unit_test_key_000000")))
	took := time.Since(start)
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The invocation had 600ms; storage must stop early enough to answer.
	if left > 400*time.Millisecond || took >= 600*time.Millisecond {
		t.Errorf("storage had %v of a 600ms invocation and the answer took %v", left, took)
	}
}

func TestStorageTimeoutBoundsALongInvocation(t *testing.T) {
	var left time.Duration
	h, _ := newUnitHandler(&fakeCustomers{fn: func(ctx context.Context) error {
		d, _ := ctx.Deadline()
		left = time.Until(d)
		return errors.New("stop")
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	handle(ctx, h, request("c", "x", withKey("cdmk_unit_test_key_000000")))
	if left > time.Second || left < 900*time.Millisecond {
		t.Errorf("storage had %v, want the 1s storage timeout", left)
	}
}

func TestAccessLogLine(t *testing.T) {
	h, log := newUnitHandler(&fakeCustomers{})
	handle(context.Background(), h, request("acme", "C-1", withKey("secret-raw-key-0000")))
	handle(context.Background(), h, request("acme", "C-2", withKey("secret-raw-key-0000")))
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per request, got %d:\n%s", len(lines), log.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"request_id": "0f3c5a4e-test-request", "client_id": "acme", "ccid": "C-1", "status": float64(404),
		"key_hash_prefix": apikey.Hash("secret-raw-key-0000")[:8], "cold_start": true, "Status": "404", "Requests": float64(1),
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["latency_ms"].(float64); !ok {
		t.Errorf("latency_ms missing: %s", lines[0])
	}
	aws, _ := first["_aws"].(map[string]any)
	if aws == nil || aws["CloudWatchMetrics"] == nil || aws["Timestamp"] == nil {
		t.Errorf("no EMF directive: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"cold_start":false`) {
		t.Errorf("second request marked cold: %s", lines[1])
	}
	if strings.Contains(log.String(), "secret-raw-key-0000") {
		t.Error("raw key logged")
	}
}

func TestKeyCache(t *testing.T) {
	lookup := &countingLookup{rec: apikey.Record{ClientID: "acme", Status: apikey.StatusActive}}
	a := apikey.NewAuthorizer(lookup, time.Minute)
	for range 3 {
		if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); err != nil {
			t.Fatal(err)
		}
	}
	if lookup.n != 1 {
		t.Errorf("%d key reads for 3 requests within the TTL, want 1", lookup.n)
	}
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("other")); !errors.Is(err, apikey.ErrUnauthorized) {
		t.Errorf("cached key used for another client: %v", err)
	}
}

type countingLookup struct {
	rec apikey.Record
	err error
	n   int
}

func (c *countingLookup) APIKey(context.Context, string) (apikey.Record, error) {
	c.n++
	return c.rec, c.err
}

// countingKeys counts the key lookups the handler asks for.
type countingKeys struct{ n int }

func (c *countingKeys) Authorize(context.Context, string, customer.ClientID) error {
	c.n++
	return apikey.ErrUnauthorized
}

// TestMalformedKeysAreRefusedUnread: a key this product can never have
// issued or registered gets the same 401 without a key lookup.
func TestMalformedKeysAreRefusedUnread(t *testing.T) {
	keys := &countingKeys{}
	var log bytes.Buffer
	h := apigw.NewHandler(&fakeCustomers{}, keys, slog.New(emf.NewHandler(&log, nil)), time.Second)
	wellFormed := "cdmk_0123456789abcdefghijkl"
	want, _ := handle(context.Background(), h, request("acme", "C-1", withKey(wellFormed)))
	if keys.n != 1 || want.StatusCode != 401 {
		t.Fatalf("well-formed key: %d lookups, status %d", keys.n, want.StatusCode)
	}
	for _, k := range []string{strings.Repeat("k", apikey.MaxKeyBytes+1), "cdmk_tab\tinside_000000",
		"cdmk_nul\x00inside_000000", "cdmk_é_non_ascii_0000000", "cdmk_del\x7finside_000000"} {
		keys.n = 0
		resp, _ := handle(context.Background(), h, request("acme", "C-1", withKey(k)))
		if keys.n != 0 {
			t.Errorf("%q: %d key lookups, want none", k, keys.n)
		}
		if resp.StatusCode != 401 || strings.ReplaceAll(resp.Body, "0f3c5a4e-test-request", "") != strings.ReplaceAll(want.Body, "0f3c5a4e-test-request", "") {
			t.Errorf("%q: %d %s, want the same 401 as any refused key", k, resp.StatusCode, resp.Body)
		}
	}
	if strings.Contains(log.String(), "kkkkkkkk") {
		t.Error("a refused key reached the log")
	}
}
