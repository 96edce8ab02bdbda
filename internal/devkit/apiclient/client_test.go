package apiclient_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/apiclient"
	"github.com/cdm/customer-api/internal/devkit/localgateway"
	"github.com/cdm/customer-api/internal/devkit/samtemplate"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestGeneratedClientIsCurrent regenerates the client from openapi.yaml
// with the pinned oapi-codegen; the committed one must be the same.
func TestGeneratedClientIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "client.gen.go")
	cmd := exec.Command("go", "tool", "-modfile=../../../tools/oapi-codegen/go.mod", "oapi-codegen",
		"-config", "oapi-codegen.yaml", "-o", out, "../../../openapi.yaml")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out) // #nosec G304 -- the file this test generated
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("client.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(committed) {
		t.Fatal("client.gen.go is out of date with openapi.yaml: run go generate ./internal/apiclient and commit it")
	}
}

// TestClientDecodesEveryStatus sends requests through the generated client
// to the real handler (200, 400, 401, 404, 500) and to API Gateway's own
// answers as template.yaml configures them (429, 502, 504), and checks that
// each decodes into the type openapi.yaml promises for its status.
func TestClientDecodesEveryStatus(t *testing.T) {
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	_, err := tb.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tb.Customers), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: customer.Key(customer.MustParseClientID(testenv.DevClient), "CORRUPT")}, "ccid": &types.AttributeValueMemberS{Value: "CORRUPT"},
		"first_name": &types.AttributeValueMemberN{Value: "1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	store := tb.Store()
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, 0), slog.New(slog.DiscardHandler), 2*time.Second)
	fn := httptest.NewServer(localgateway.New(h, 5*time.Second))
	defer fn.Close()
	gw := httptest.NewServer(gatewayResponses(t))
	defer gw.Close()

	ctx := context.Background()
	for _, c := range []struct {
		server, client, ccid, key string
		status                    int
	}{
		{fn.URL, testenv.DevClient, "BAK-11984-007", testenv.DevKey, 200},
		{fn.URL, testenv.DevClient, strings.Repeat("é", 51), testenv.DevKey, 400},
		{fn.URL, testenv.DevClient, "BAK-11984-007", "cdmk_wrong", 401},
		{fn.URL, "a#b", "BAK-11984-007", testenv.DevKey, 401},
		{fn.URL, testenv.DevClient, "NOPE", testenv.DevKey, 404},
		{fn.URL, testenv.DevClient, "CORRUPT", testenv.DevKey, 500},
		{gw.URL, testenv.DevClient, "429", testenv.DevKey, 429},
		{gw.URL, testenv.DevClient, "502", testenv.DevKey, 502},
		{gw.URL, testenv.DevClient, "504", testenv.DevKey, 504},
	} {
		cl, err := apiclient.NewClientWithResponses(c.server)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.GetCustomerWithResponse(ctx, c.client, c.ccid, func(_ context.Context, r *http.Request) error {
			r.Header.Set("xx-relay-api-key", c.key)
			return nil
		})
		if err != nil {
			t.Fatalf("%d: %v", c.status, err)
		}
		if resp.StatusCode() != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.ccid, resp.StatusCode(), c.status, resp.Body)
		}
		if cc := resp.HTTPResponse.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%d: Cache-Control %q", c.status, cc)
		}
		errBody := map[int]*apiclient.Error{400: resp.JSON400, 401: resp.JSON401, 404: resp.JSON404, 429: resp.JSON429, 500: resp.JSON500, 502: resp.JSON502, 504: resp.JSON504}
		if c.status == 200 {
			if resp.JSON200 == nil || resp.JSON200.Ccid != c.ccid || resp.JSON200.Addresses == nil {
				t.Errorf("200 not decoded as a customer: %+v\n%s", resp.JSON200, resp.Body)
			}
			continue
		}
		if e := errBody[c.status]; e == nil || e.Message == "" || e.RequestId == "" {
			t.Errorf("%d not decoded as an error: %+v\n%s", c.status, e, resp.Body)
		}
	}
}

// gatewayResponses answers as API Gateway does with template.yaml's
// GatewayResponses: /…/customer/429 as THROTTLED, /…/502 and /…/504 as
// DEFAULT_5XX, with their headers and body templates.
func gatewayResponses(t *testing.T) http.Handler {
	t.Helper()
	tmpl, err := samtemplate.Load("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	responses := samtemplate.Get(samtemplate.Resource(tmpl, "CustomerApi"), "Properties", "GatewayResponses")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
		kind := "DEFAULT_5XX"
		if status == 429 {
			kind = "THROTTLED"
		}
		gr := samtemplate.Get(responses, kind)
		headers, _ := samtemplate.Get(gr, "ResponseParameters", "Headers").(map[string]any)
		for k, v := range headers {
			w.Header().Set(k, strings.Trim(fmt.Sprint(v), "'"))
		}
		w.Header().Set("Content-Type", "application/json")
		body, _ := samtemplate.Get(gr, "ResponseTemplates", "application/json").(string)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(strings.ReplaceAll(body, "$context.requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")))
	})
}
