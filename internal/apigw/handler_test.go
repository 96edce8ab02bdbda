package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMain(m *testing.M) { testenv.Main(m) }

// api is a handler over a test's own tables in the local DynamoDB.
type api struct {
	testenv.Tables
	h   *apigw.Handler
	log *bytes.Buffer
}

func newAPI(t *testing.T) *api {
	t.Helper()
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	var log bytes.Buffer
	store := tb.Store()
	// No key cache, so that every key change is seen at once.
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, 0), slog.New(emf.NewHandler(&log, nil)), 2*time.Second)
	return &api{Tables: tb, h: h, log: &log}
}

func request(clientID, ccid string, headers map[string]string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource:       apigw.Resource,
		Path:           "/cdm/client/" + clientID + "/customer/" + ccid,
		HTTPMethod:     "GET",
		Headers:        headers,
		PathParameters: map[string]string{"client_id": clientID, "ccid": ccid},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "0f3c5a4e-test-request"},
	}
}

func withKey(key string) map[string]string { return map[string]string{"xx-relay-api-key": key} }

func (a *api) get(t *testing.T, req events.APIGatewayProxyRequest) events.APIGatewayProxyResponse {
	t.Helper()
	resp, err := handle(context.Background(), a.h, req)
	if err != nil {
		t.Fatalf("Handle returned an error (API Gateway would answer 502): %v", err)
	}
	checkCommon(t, resp)
	return resp
}

// checkCommon asserts what the contract promises of every response.
func checkCommon(t *testing.T, resp events.APIGatewayProxyResponse) {
	t.Helper()
	want := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
	for k, v := range want {
		if got := resp.Headers[k]; got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Errorf("body is not JSON: %q", resp.Body)
	}
}

func errorBody(t *testing.T, resp events.APIGatewayProxyResponse) map[string]string {
	t.Helper()
	var b map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	if len(b) != 2 || b["message"] == "" {
		t.Fatalf("error body %q: want exactly message and request_id", resp.Body)
	}
	return b
}

const (
	sampleCCID = "BAK-11984-007"
	otherKey   = "cdmk_other_client_key_000000000"
)

func TestStatusRows(t *testing.T) {
	a := newAPI(t)
	a.PutKey(t, otherKey, "other-clinic", nil)
	a.PutKey(t, "cdmk_revoked_key_0000000000000", testenv.DevClient, func(r *apikey.Record) { r.Status = apikey.StatusRevoked })
	a.PutKey(t, "cdmk_expired_key_0000000000000", testenv.DevClient, func(r *apikey.Record) { r.ExpiresAt = time.Now().Add(-time.Second) })
	a.PutKey(t, "cdmk_future_key_00000000000000", testenv.DevClient, func(r *apikey.Record) { r.ExpiresAt = time.Now().Add(time.Hour) })
	a.PutKey(t, "cdmk_odd_status_key_00000000000", testenv.DevClient, func(r *apikey.Record) { r.Status = "Active" })
	long := strings.Repeat("x", 101)
	cases := []struct {
		name     string
		req      events.APIGatewayProxyRequest
		status   int
		evaluate string
	}{
		{"row 1: no key header", request(testenv.DevClient, sampleCCID, nil), 401, ""},
		{"row 1: empty key", request(testenv.DevClient, sampleCCID, withKey("")), 401, ""},
		{"row 1: blank key", request(testenv.DevClient, sampleCCID, withKey("  ")), 401, ""},
		{"row 1 before row 3: no key, bad ccid", request(testenv.DevClient, long, nil), 401, ""},
		{"row 2: unknown key", request(testenv.DevClient, sampleCCID, withKey("cdmk_unknown")), 401, ""},
		{"row 2: revoked key", request(testenv.DevClient, sampleCCID, withKey("cdmk_revoked_key_0000000000000")), 401, ""},
		{"row 2: expired key", request(testenv.DevClient, sampleCCID, withKey("cdmk_expired_key_0000000000000")), 401, ""},
		{"row 2: status other than active", request(testenv.DevClient, sampleCCID, withKey("cdmk_odd_status_key_00000000000")), 401, ""},
		{"row 2: key of another client", request(testenv.DevClient, sampleCCID, withKey(otherKey)), 401, ""},
		{"row 2: client_id with #", request(testenv.DevClient+"#x", sampleCCID, withKey(testenv.DevKey)), 401, ""},
		{"row 2: client_id with control character", request(testenv.DevClient+"\x00", sampleCCID, withKey(testenv.DevKey)), 401, ""},
		{"row 2: client_id over 100 bytes", request(strings.Repeat("c", 101), sampleCCID, withKey(testenv.DevKey)), 401, ""},
		{"row 2: empty client_id", request("", sampleCCID, withKey(testenv.DevKey)), 401, ""},
		{"row 2 before row 3: wrong client, bad ccid", request(testenv.DevClient, long, withKey(otherKey)), 401, ""},
		{"row 3: empty ccid", request(testenv.DevClient, "", withKey(testenv.DevKey)), 400, ""},
		{"row 3: ccid of 101 bytes", request(testenv.DevClient, long, withKey(testenv.DevKey)), 400, ""},
		{"row 3: ccid of 101 bytes in 34 runes", request(testenv.DevClient, "é"+strings.Repeat("€", 33), withKey(testenv.DevKey)), 400, ""},
		{"row 3: ccid with control character", request(testenv.DevClient, "BAK\n1", withKey(testenv.DevKey)), 400, ""},
		{"row 3: ccid with DEL", request(testenv.DevClient, "BAK\x7f1", withKey(testenv.DevKey)), 400, ""},
		{"row 3: ccid with C1 control", request(testenv.DevClient, "BAK\u00851", withKey(testenv.DevKey)), 400, ""},
		// An event is JSON, so bytes that are not UTF-8 arrive as U+FFFD.
		{"row 4: ccid not UTF-8, read as U+FFFD", request(testenv.DevClient, "BAK\xff", withKey(testenv.DevKey)), 404, ""},
		{"row 4: ccid of exactly 100 bytes", request(testenv.DevClient, strings.Repeat("x", 100), withKey(testenv.DevKey)), 404, ""},
		{"row 4: unknown ccid", request(testenv.DevClient, "NO-SUCH", withKey(testenv.DevKey)), 404, ""},
		{"row 4: another tenant's ccid", request("other-clinic", sampleCCID, withKey(otherKey)), 404, ""},
		{"row 4: case differs", request(testenv.DevClient, strings.ToLower(sampleCCID), withKey(testenv.DevKey)), 404, ""},
		{"row 6: ok", request(testenv.DevClient, sampleCCID, withKey(testenv.DevKey)), 200, ""},
		{"row 6: key that expires later", request(testenv.DevClient, sampleCCID, withKey("cdmk_future_key_00000000000000")), 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := a.get(t, c.req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, resp.Body)
			}
			if c.status != 200 {
				b := errorBody(t, resp)
				if b["request_id"] != c.req.RequestContext.RequestID {
					t.Errorf("request_id %q, want %q", b["request_id"], c.req.RequestContext.RequestID)
				}
			}
		})
	}
}

func TestUnauthorizedBodiesAreIdentical(t *testing.T) {
	a := newAPI(t)
	a.PutKey(t, otherKey, "other-clinic", nil)
	reqs := []events.APIGatewayProxyRequest{
		request(testenv.DevClient, sampleCCID, nil),
		request(testenv.DevClient, sampleCCID, withKey("cdmk_unknown")),
		request(testenv.DevClient, sampleCCID, withKey(otherKey)),
		request(testenv.DevClient+"#x", sampleCCID, withKey(testenv.DevKey)),
	}
	var first string
	for i, req := range reqs {
		req.RequestContext.RequestID = "same-id"
		resp := a.get(t, req)
		if resp.StatusCode != 401 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		if i == 0 {
			first = resp.Body
		} else if resp.Body != first || len(resp.Headers) != 3 {
			t.Errorf("request %d: body %s differs from %s", i, resp.Body, first)
		}
	}
}

func TestKeyHeaderNamesAndPlaces(t *testing.T) {
	a := newAPI(t)
	a.PutKey(t, otherKey, testenv.DevClient, nil)
	cases := []struct {
		name   string
		single map[string]string
		multi  map[string][]string
		status int
	}{
		{"lower case", withKey(testenv.DevKey), nil, 200},
		{"upper case", map[string]string{"XX-RELAY-API-KEY": testenv.DevKey}, nil, 200},
		{"canonical case", map[string]string{"Xx-Relay-Api-Key": testenv.DevKey}, nil, 200},
		{"mixed case", map[string]string{"xX-rElAy-ApI-kEy": testenv.DevKey}, nil, 200},
		{"multiValueHeaders only", nil, map[string][]string{"XX-Relay-API-Key": {testenv.DevKey}}, 200},
		{"both, same key", withKey(testenv.DevKey), map[string][]string{"xx-relay-api-key": {testenv.DevKey}}, 200},
		{"surrounding spaces", withKey(" " + testenv.DevKey + "\t"), nil, 200},
		{"two different valid keys", withKey(testenv.DevKey), map[string][]string{"xx-relay-api-key": {otherKey}}, 401},
		{"two values in multiValueHeaders", nil, map[string][]string{"xx-relay-api-key": {testenv.DevKey, otherKey}}, 401},
		{"empty in both", withKey(""), map[string][]string{"xx-relay-api-key": {""}}, 401},
		{"similar header name", map[string]string{"xx-relay-api-keys": testenv.DevKey}, nil, 401},
		{"key in another header", map[string]string{"Authorization": testenv.DevKey}, nil, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := request(testenv.DevClient, sampleCCID, c.single)
			req.MultiValueHeaders = c.multi
			if resp := a.get(t, req); resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.Body)
			}
		})
	}
}

// putItem stores a raw item, as another system writing the table would.
func (a *api) putItem(t *testing.T, ccid string, attrs map[string]types.AttributeValue) {
	t.Helper()
	item := map[string]types.AttributeValue{
		"pk":        &types.AttributeValueMemberS{Value: customer.Key(customer.MustParseClientID(testenv.DevClient), ccid)},
		"client_id": &types.AttributeValueMemberS{Value: testenv.DevClient},
	}
	for k, v := range attrs {
		item[k] = v
	}
	if _, err := a.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(a.Customers), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func (a *api) body(t *testing.T, ccid string) string {
	t.Helper()
	resp := a.get(t, request(testenv.DevClient, ccid, withKey(testenv.DevKey)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	return resp.Body
}

func TestBodyShape(t *testing.T) {
	a := newAPI(t)
	a.putItem(t, "minimal", map[string]types.AttributeValue{"ccid": s("minimal")})
	a.putItem(t, "extra", map[string]types.AttributeValue{
		"ccid":           s("extra"),
		"first_name":     s(""),
		"internal_notes": s("never returned"),
		"score":          n("7"),
		"addresses": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"city": s("Radnor"), "geo": s("hidden")}},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"address1": s("second")}},
		}},
		"notification_channels": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		"ext":                   &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		"middle_name":           &types.AttributeValueMemberNULL{Value: true},
	})
	a.putItem(t, "a#b", map[string]types.AttributeValue{"ccid": s("a#b")})
	cases := []struct{ ccid, want string }{
		{"minimal", `{"ccid":"minimal","addresses":[],"notification_channels":[]}`},
		{"extra", `{"ccid":"extra","first_name":"","addresses":[{"city":"Radnor"},{"address1":"second"}],"notification_channels":[],"ext":{}}`},
		{"a#b", `{"ccid":"a#b","addresses":[],"notification_channels":[]}`},
	}
	for _, c := range cases {
		t.Run(c.ccid, func(t *testing.T) {
			if got := a.body(t, c.ccid); got != c.want {
				t.Errorf("body\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestExtKeepsValuesExactly(t *testing.T) {
	a := newAPI(t)
	a.putItem(t, "ext", map[string]types.AttributeValue{
		"ccid": s("ext"),
		"ext": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"big":      n("12345678901234567890"),
			"precise":  n("0.10000000000000000000000000000000000001"),
			"negative": n("-42.5"),
			"flag":     &types.AttributeValueMemberBOOL{Value: true},
			"nothing":  &types.AttributeValueMemberNULL{Value: true},
			"tags":     &types.AttributeValueMemberSS{Value: []string{"b", "a"}},
			"lucky":    &types.AttributeValueMemberNS{Value: []string{"99999999999999999999"}},
			"nested": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"list": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), n("1"), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"deep": n("3.14159265358979323846264338327950288")}}}},
			}},
			"text": s(`quote " and <tag> & ünïcode`),
		}},
	})
	body := a.body(t, "ext")
	for _, want := range []string{
		`"big":12345678901234567890`,
		`"precise":0.10000000000000000000000000000000000001`,
		`"negative":-42.5`,
		`"flag":true`,
		`"nothing":null`,
		`"lucky":[99999999999999999999]`,
		`"deep":3.14159265358979323846264338327950288`,
		`"list":["x",1,{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	var got struct {
		Ext map[string]any `json:"ext"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Ext["text"] != `quote " and <tag> & ünïcode` {
		t.Errorf("text = %q", got.Ext["text"])
	}
	tags, _ := got.Ext["tags"].([]any)
	if len(tags) != 2 {
		t.Errorf("string set = %v, want an array of 2", got.Ext["tags"])
	}
}

func TestCorruptItemIs500WithoutValues(t *testing.T) {
	a := newAPI(t)
	const marker = "MARKER-7f3a"
	cases := map[string]map[string]types.AttributeValue{
		"name is a number":      {"first_name": n("12345")},
		"addresses is a map":    {"addresses": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"city": s(marker)}}},
		"address is a string":   {"addresses": &types.AttributeValueMemberL{Value: []types.AttributeValue{s(marker)}}},
		"address city is list":  {"addresses": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"city": &types.AttributeValueMemberL{Value: []types.AttributeValue{s(marker)}}}}}}},
		"channels is a string":  {"notification_channels": s(marker)},
		"ext is a string":       {"ext": s(marker)},
		"secondary id is a set": {"secondary_account_id": &types.AttributeValueMemberSS{Value: []string{marker}}},
	}
	for name, attrs := range cases {
		t.Run(name, func(t *testing.T) {
			a.log.Reset()
			ccid := strings.ReplaceAll(name, " ", "-")
			attrs["last_name"] = s(marker)
			a.putItem(t, ccid, attrs)
			resp := a.get(t, request(testenv.DevClient, ccid, withKey(testenv.DevKey)))
			if resp.StatusCode != 500 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if b := errorBody(t, resp); !strings.Contains(strings.ToLower(b["message"]), "retry") {
				t.Errorf("500 message %q does not tell the caller to retry", b["message"])
			}
			if strings.Contains(resp.Body, marker) || strings.Contains(a.log.String(), marker) {
				t.Errorf("a stored value escaped: body %s log %s", resp.Body, a.log.String())
			}
			if !strings.Contains(a.log.String(), "corrupt item: attribute ") {
				t.Errorf("log does not name the attribute: %s", a.log.String())
			}
		})
	}
}

func TestStorageFailureIs500(t *testing.T) {
	a := newAPI(t)
	for _, tc := range []struct{ name, customers, keys string }{
		{"customers table missing", "no-such-table", a.Keys},
		{"keys table missing", a.Customers, "no-such-table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			store := dynamoStore(a, tc.customers, tc.keys)
			h := apigw.NewHandler(store, apikey.NewAuthorizer(store, 0), slog.New(emf.NewHandler(&log, nil)), 2*time.Second)
			resp, _ := handle(context.Background(), h, request(testenv.DevClient, sampleCCID, withKey(testenv.DevKey)))
			checkCommon(t, resp)
			if resp.StatusCode != 500 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if strings.Contains(resp.Body, "ResourceNotFound") || strings.Contains(resp.Body, "no-such-table") {
				t.Errorf("storage error text reached the caller: %s", resp.Body)
			}
			if !strings.Contains(log.String(), "ResourceNotFoundException") {
				t.Errorf("log lacks the cause: %s", log.String())
			}
		})
	}
}

// TestFixtures runs each events/ fixture, as sam local invoke would, against
// the data make run loads, and compares with golden bodies.
func TestFixtures(t *testing.T) {
	a := newAPI(t)
	for _, f := range testenv.Fixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			var req events.APIGatewayProxyRequest
			if err := json.Unmarshal(f.Event, &req); err != nil {
				t.Fatal(err)
			}
			resp := a.get(t, req)
			if resp.StatusCode != f.Status {
				t.Errorf("status %d, want %d", resp.StatusCode, f.Status)
			}
			if *update {
				if err := os.WriteFile(f.Golden, []byte(resp.Body+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(f.Golden)
			if err != nil {
				t.Fatalf("%v (go test ./internal/apigw -update writes it)", err)
			}
			if resp.Body+"\n" != string(want) {
				t.Errorf("body\n got %s\nwant %s", resp.Body, want)
			}
		})
	}
}

func dynamoStore(a *api, customers, keys string) *dynamo.Store {
	return dynamo.NewStore(a.DB, customers, keys)
}

func putRaw(t *testing.T, tb testenv.Tables, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := tb.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tb.Customers), Item: item}); err != nil {
		t.Fatal(err)
	}
}
