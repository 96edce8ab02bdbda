package apigw_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// TestResponsesMatchOpenAPI validates real responses of the handler, one of
// each status, against openapi.yaml, so that the document cannot drift.
func TestResponsesMatchOpenAPI(t *testing.T) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t)
	a.putItem(t, "corrupt", map[string]types.AttributeValue{"first_name": n("1")})
	a.putItem(t, "bare", map[string]types.AttributeValue{"ccid": s("bare")})
	cases := []struct {
		ccid, key string
		status    int
	}{
		{sampleCCID, testenv.DevKey, 200},
		{"BAK-20431-112", testenv.DevKey, 200},
		{"bare", testenv.DevKey, 200},
		{strings.Repeat("x", 101), testenv.DevKey, 400},
		{sampleCCID, "cdmk_wrong", 401},
		{"nope", testenv.DevKey, 404},
		{"corrupt", testenv.DevKey, 500},
	}
	for _, c := range cases {
		resp := a.get(t, request(testenv.DevClient, c.ccid, withKey(c.key)))
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.ccid, resp.StatusCode, c.status)
		}
		u := "http://127.0.0.1:3000/cdm/client/" + testenv.DevClient + "/customer/" + url.PathEscape(c.ccid)
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("xx-relay-api-key", c.key)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s: no route in openapi.yaml: %v", u, err)
		}
		header := http.Header{}
		for k, v := range resp.Headers {
			header.Set(k, v)
		}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 header,
			Body:                   io.NopCloser(bytes.NewReader([]byte(resp.Body))),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			t.Errorf("%d response for %s does not match openapi.yaml: %v\n%s", c.status, c.ccid, err, resp.Body)
		}
	}
}
