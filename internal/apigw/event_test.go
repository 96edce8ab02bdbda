package apigw_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

// viaRuntime is the oracle's answer: aws-lambda-go decoding the whole event
// into events.APIGatewayProxyRequest, calling HandleDecoded, and encoding
// the response.
func viaRuntime(t *testing.T, payload []byte) ([]byte, bool) {
	t.Helper()
	h, _ := fuzzHandler()
	out, err := lambda.NewHandler(h.HandleDecoded).Invoke(context.Background(), payload)
	if err != nil {
		return nil, false
	}
	return bytes.Clone(out), true
}

// sameAsRuntime checks that the function as main starts it (Lambda, under
// aws-lambda-go) answers an event byte for byte as decoding the whole event
// and encoding the response did, and refuses only events that refused.
func sameAsRuntime(t *testing.T, payload []byte) {
	t.Helper()
	want, ok := viaRuntime(t, payload)
	h, _ := fuzzHandler()
	got, err := lambda.NewHandler(h.Lambda()).Invoke(context.Background(), payload)
	got = bytes.Clone(got)
	switch {
	case err != nil && ok:
		t.Fatalf("the function refused an event the runtime decoded: %v\n%s", err, payload)
	case err == nil && ok && !bytes.Equal(got, want):
		t.Fatalf("event %s\nfunction %s\nruntime  %s", payload, got, want)
	}
}

var keyEvents = []string{
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"},"requestContext":{"requestId":"r-1"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"XX-Relay-API-Key":" cdmk_local_dev_key_do_not_use_in_prod\t"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"multiValueHeaders":{"Xx-Relay-Api-Key":["cdmk_local_dev_key_do_not_use_in_prod"]}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"multiValueHeaders":{"xx-relay-api-key":["cdmk_local_dev_key_do_not_use_in_prod","other"]}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod","XX-RELAY-API-KEY":"other"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-key":"other","xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-key":null},"multiValueHeaders":{"xx-relay-api-key":[null,"cdmk_local_dev_key_do_not_use_in_prod",""]}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-\u006bey":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	`{"pathParameters":{"client_\u0069d":"demo-clinic","ccid":"BAK-11984-007","CLIENT_ID":"x"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	`{"pathParameters":{"Client_Id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"B\u00c4K\ud800"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"},"requestContext":{"requestId":"<&>\u2028\"\\"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"boom"},"headers":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	`{"pathParameters":null,"headers":null,"multiValueHeaders":null,"requestContext":null}`,
	`{}`,
	` { "headers" : { "a" : "b" , "xx-relay-api-key" : "cdmk_local_dev_key_do_not_use_in_prod" } , "pathParameters" : { "client_id" : "demo-clinic" , "ccid" : "BAK-11984-007" } } `,
	`{"headers":{"xx-relay-api-key":5}}`,
	`{"headers":{"accept":5}}`,
	`{"headers":"x"}`,
	`{"multiValueHeaders":{"accept":"x"}}`,
	`{"multiValueHeaders":{"accept":[1]}}`,
	`{"multiValueHeaders":{"accept":[{"a":"}"}]}}`,
	`{"pathParameters":{"ccid":["x"]}}`,
	`{"requestContext":{"requestId":7}}`,
	`{"HEADERS":{"xx-relay-api-key":"cdmk_local_dev_key_do_not_use_in_prod"},"PathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"RequestContext":{"RequestId":"r"}}`,
	`{"pathParameters":{"client_id":"demo-clinic","ccid":"BAK-11984-007"},"headers":{"xx-relay-api-Key":"cdmk_local_dev_key_do_not_use_in_prod"}}`,
	"{\"pathParameters\":{\"client_id\":\"demo-clinic\",\"ccid\":\"BAK-11984-007\"},\"headers\":{\"xx-relay-api-\\u212aey\":\"cdmk_local_dev_key_do_not_use_in_prod\"}}",
	"{\"pathParameters\":{\"client_id\":\"demo-clinic\",\"ccid\":\"BAK-11984-007\"},\"multiValueHeaders\":{\"xx-relay-api-key\":[\"other\"],\"XX-RELAY-API-KEY\":[\"cdmk_local_dev_key_do_not_use_in_prod\"],\"xx-relay-api-ſey\":[]}}",
	"{\"headers\":{\"xx-relay-api-key\xff\":\"x\",\"\xff\":\"y\"}}",
	`[]`, `null`, `"x"`, `{"headers":{}} {"x":1}`, `{"headers":{}} junk`,
}

// TestInvokeMatchesRuntimeDecoding: for the fixtures and for events that
// vary what the contract reads (header case, multi-value, two keys, null,
// escaped names, exact path parameter names, duplicate names, wrong types,
// request IDs to escape), Invoke's bytes are the runtime's.
func TestInvokeMatchesRuntimeDecoding(t *testing.T) {
	events := keyEvents
	for _, e := range seedEvents(t) {
		events = append(events, string(e))
	}
	for _, e := range events {
		sameAsRuntime(t, []byte(e))
	}
	// The check can fail: a decoder that ignored multiValueHeaders.
	h, _ := fuzzHandler()
	got, _ := lambda.NewHandler(h.Lambda()).Invoke(context.Background(), []byte(strings.Replace(keyEvents[2], "Xx-Relay-Api-Key", "x-other", 1)))
	want, _ := viaRuntime(t, []byte(keyEvents[2]))
	if bytes.Equal(got, want) {
		t.Error("an event without the key answered as one with it")
	}
}

// FuzzInvoke: any input the runtime decoded as a proxy event, the function
// answers byte for byte the same, and it refuses nothing the runtime took.
func FuzzInvoke(f *testing.F) {
	for _, e := range seedEvents(f) {
		f.Add(e)
	}
	for _, e := range keyEvents {
		f.Add([]byte(e))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsRuntime(t, data)
	})
}
