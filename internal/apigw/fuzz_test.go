package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/emf"
)

// fuzzHandler is a handler over map-backed fakes holding one customer and
// one key, so that every status but 500 is reachable; a customer ID of
// "boom" makes the store fail, for the 500.
func fuzzHandler() (*apigw.Handler, *bytes.Buffer) {
	ccid, name := "BAK-11984-007", "Roger"
	store := &fakeCustomers{
		byKey: map[string]customer.Customer{customer.Key(customer.MustParseClientID("demo-clinic"), ccid): {CCID: &ccid, FirstName: &name}},
	}
	store.fn = func(ctx context.Context) error { return nil }
	keys := apikey.NewAuthorizer(keyMap{apikey.Hash("cdmk_local_dev_key_do_not_use_in_prod"): {ClientID: "demo-clinic", Status: apikey.StatusActive}}, time.Minute)
	var log bytes.Buffer
	return apigw.NewHandler(failOn{store}, keys, slog.New(emf.NewHandler(&log, nil)), time.Second), &log
}

type keyMap map[string]apikey.Record

func (k keyMap) APIKey(_ context.Context, hash string) (apikey.Record, error) {
	r, ok := k[hash]
	if !ok {
		return apikey.Record{}, apikey.ErrNotFound
	}
	return r, nil
}

type failOn struct{ *fakeCustomers }

func (f failOn) Customer(ctx context.Context, clientID customer.ClientID, ccid string) (customer.Customer, error) {
	if ccid == "boom" {
		return customer.Customer{}, context.DeadlineExceeded
	}
	return f.fakeCustomers.Customer(ctx, clientID, ccid)
}

// checkResponse asserts the contract of any response to any input.
func checkResponse(t *testing.T, resp events.APIGatewayProxyResponse, err error, log *bytes.Buffer) {
	t.Helper()
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	switch resp.StatusCode {
	case 200, 400, 401, 404, 500:
	default:
		t.Fatalf("status %d is not one of the contract's", resp.StatusCode)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" || resp.Headers["X-Content-Type-Options"] != "nosniff" {
		t.Fatalf("headers %v", resp.Headers)
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Fatalf("body is not JSON: %q", resp.Body)
	}
	if resp.StatusCode != 200 {
		var b map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &b)
		if _, ok := b["message"].(string); !ok || len(b) != 2 {
			t.Fatalf("error body %s", resp.Body)
		}
	}
	if strings.Contains(log.String(), "panic at") {
		t.Fatalf("the handler panicked: %s", log.String())
	}
	if strings.Count(log.String(), "\n") != 1 {
		t.Fatalf("want one log line, got %q", log.String())
	}
}

func seedEvents(f interface{ Fatal(...any) }) [][]byte {
	files, _ := filepath.Glob("../../events/*.json")
	if len(files) == 0 {
		f.Fatal("no events/ fixtures to seed from")
	}
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// FuzzHandler feeds whole proxy events, as JSON, to the handler.
func FuzzHandler(f *testing.F) {
	for _, e := range seedEvents(f) {
		f.Add(e)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"headers":null,"multiValueHeaders":null,"pathParameters":null}`))
	f.Add([]byte(`{"pathParameters":{"client_id":"demo-clinic","ccid":"boom"},"headers":{"XX-RELAY-API-KEY":"cdmk_local_dev_key_do_not_use_in_prod"}}`))
	f.Add([]byte(`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"multiValueHeaders":{"xx-relay-api-key":["cdmk_local_dev_key_do_not_use_in_prod","x"]}}`))
	f.Add([]byte(`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"multiValueHeaders":{"xx-relay-api-key":[]},"headers":{"xx-relay-api-key":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req events.APIGatewayProxyRequest
		if json.Unmarshal(data, &req) != nil {
			return // not an event: API Gateway never sends one
		}
		h, log := fuzzHandler()
		resp, err := handle(context.Background(), h, req)
		checkResponse(t, resp, err, log)
	})
}

// FuzzRequestFields varies the parts a caller controls: path parameters,
// the key and the header's name, including huge and non-UTF-8 values.
func FuzzRequestFields(f *testing.F) {
	for _, e := range seedEvents(f) {
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(e, &req); err != nil {
			f.Fatal(err)
		}
		f.Add(req.PathParameters["client_id"], req.PathParameters["ccid"], req.Headers["xx-relay-api-key"], "xx-relay-api-key", false)
	}
	f.Add("demo-clinic", "BAK-11984-007", "cdmk_local_dev_key_do_not_use_in_prod", "XX-Relay-Api-Key", true)
	f.Add("demo-clinic#x", "\xff\xfe", "\x00", "xx-relay-api-key", false)
	f.Add(strings.Repeat("a", 5000), strings.Repeat("é", 5000), strings.Repeat("k", 10000), "X-Relay-Api-Key", true)
	f.Add("demo-clinic", "boom", "cdmk_local_dev_key_do_not_use_in_prod", "xx-relay-api-key", false)
	f.Fuzz(func(t *testing.T, clientID, ccid, key, header string, multi bool) {
		req := events.APIGatewayProxyRequest{
			PathParameters: map[string]string{"client_id": clientID, "ccid": ccid},
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "fuzz"},
		}
		if multi {
			req.MultiValueHeaders = map[string][]string{header: {key}}
		} else {
			req.Headers = map[string]string{header: key}
		}
		h, log := fuzzHandler()
		resp, err := handle(context.Background(), h, req)
		checkResponse(t, resp, err, log)
		if resp.StatusCode == 200 && (clientID != "demo-clinic" || ccid != "BAK-11984-007") {
			t.Fatalf("200 for client %q ccid %q", clientID, ccid)
		}
	})
}
