package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	customerapi "github.com/cdm/customer-api"
	"github.com/cdm/customer-api/internal/apigw"
)

// errSmokeFailed means at least one smoke check failed (exit status 1).
var errSmokeFailed = errors.New("smoke checks failed")

// smokeSettings name the stage and the one known customer to read.
type smokeSettings struct {
	base, key, client, ccid string
	timeout                 time.Duration
}

var smokeCommand = &command{
	name:    "smoke",
	args:    "--url BASE --client ID --ccid CCID [--timeout 10s]",
	summary: "check a deployed stage against the contract (key in SMOKE_KEY)",
	doc: `BASE is the stage's ApiBaseUrl output, or the local API. Each flag may
come from the environment instead: SMOKE_URL, SMOKE_KEY, SMOKE_CLIENT,
SMOKE_CCID. It prints one line per check and never the key or a record's
values. Exit status: 0 all passed, 1 a check failed, 2 usage.
`,
	tables: false,
	run:    smoke,
}

func smoke(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	var s smokeSettings
	fs.StringVar(&s.base, "url", os.Getenv("SMOKE_URL"), "base `URL` of the stage (env SMOKE_URL)")
	fs.StringVar(&s.key, "key", os.Getenv("SMOKE_KEY"), "an API `key` for --client (env SMOKE_KEY)")
	fs.StringVar(&s.client, "client", os.Getenv("SMOKE_CLIENT"), "client `ID` (env SMOKE_CLIENT)")
	fs.StringVar(&s.ccid, "ccid", os.Getenv("SMOKE_CCID"), "`ccid` of a customer stored for the client (env SMOKE_CCID)")
	fs.DurationVar(&s.timeout, "timeout", 10*time.Second, "time allowed for each request")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"--url", s.base}, {"--key", s.key}, {"--client", s.client}, {"--ccid", s.ccid}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return fmt.Errorf("%w: smoke needs %s", errUsage, strings.Join(missing, ", "))
	}
	u, err := url.Parse(s.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --url %q is not an http(s) URL", errUsage, s.base)
	}
	if s.timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive", errUsage)
	}
	s.base = strings.TrimSuffix(s.base, "/")
	doc, err := openapi3.NewLoader().LoadFromData(customerapi.OpenAPI)
	if err != nil {
		return fmt.Errorf("openapi.yaml: %w", err)
	}
	op := doc.Paths.Value(apigw.Resource)
	if op == nil || op.Get == nil {
		return fmt.Errorf("openapi.yaml has no GET %s", apigw.Resource)
	}

	checks := smokeChecks(s)
	failed := 0
	start := time.Now()
	client := &http.Client{Timeout: s.timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bodies := map[string]map[string]any{}
	for _, c := range checks {
		t0 := time.Now()
		resp, err := smokeGet(ctx, client, s.base+c.path, c.key)
		took := time.Since(t0)
		if err == nil {
			bodies[c.name] = resp.body
			err = c.verify(resp, op.Get, bodies)
		}
		if err == nil {
			err = commonHeaders(resp)
		}
		status := 0
		if resp != nil {
			status = resp.status
		}
		if err != nil {
			failed++
			fmt.Fprintf(sio.out, "FAIL %-28s %3d %8.1f ms  %v\n", c.name, status, ms(took), err)
			continue
		}
		fmt.Fprintf(sio.out, "ok   %-28s %3d %8.1f ms  %s\n", c.name, status, ms(took), c.describe(resp))
	}
	fmt.Fprintf(sio.out, "smoke: %d of %d checks passed against %s in %.1f s\n", len(checks)-failed, len(checks), s.base, time.Since(start).Seconds())
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d", errSmokeFailed, failed, len(checks))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type smokeResponse struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // nil when the body is not a JSON object
}

type smokeCheck struct {
	name, path, key string
	verify          func(r *smokeResponse, op *openapi3.Operation, earlier map[string]map[string]any) error
	describe        func(r *smokeResponse) string
}

func smokeChecks(s smokeSettings) []smokeCheck {
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	tag := hex.EncodeToString(nonce)
	customerPath := func(ccid string) string {
		return "/cdm/client/" + url.PathEscape(s.client) + "/customer/" + url.PathEscape(ccid)
	}
	errorDescribe := func(r *smokeResponse) string { return "message " + fmt.Sprintf("%q", r.body["message"]) }
	return []smokeCheck{
		{
			name: "known customer", path: customerPath(s.ccid), key: s.key,
			verify: func(r *smokeResponse, op *openapi3.Operation, _ map[string]map[string]any) error {
				if err := wantDocumented(r, op, http.StatusOK); err != nil {
					return err
				}
				if r.body["ccid"] != s.ccid {
					return errors.New("the body's ccid is not the one asked for")
				}
				return nil
			},
			describe: func(r *smokeResponse) string {
				names := make([]string, 0, len(r.body))
				for k := range r.body {
					names = append(names, k)
				}
				sort.Strings(names)
				return "fields " + strings.Join(names, ",")
			},
		},
		{
			name: "missing key", path: customerPath(s.ccid),
			verify: func(r *smokeResponse, op *openapi3.Operation, _ map[string]map[string]any) error {
				return wantDocumented(r, op, http.StatusUnauthorized)
			},
			describe: errorDescribe,
		},
		{
			name: "wrong key", path: customerPath(s.ccid), key: "cdmk_smoke_wrong_" + tag,
			verify: func(r *smokeResponse, op *openapi3.Operation, earlier map[string]map[string]any) error {
				if err := wantDocumented(r, op, http.StatusUnauthorized); err != nil {
					return err
				}
				if !sameBesidesRequestID(r.body, earlier["missing key"]) {
					return errors.New("the 401 body differs from the one for a missing key: it tells a caller why")
				}
				return nil
			},
			describe: errorDescribe,
		},
		{
			name: "unknown ccid", path: customerPath("cdm-smoke-unknown-" + tag), key: s.key,
			verify: func(r *smokeResponse, op *openapi3.Operation, _ map[string]map[string]any) error {
				return wantDocumented(r, op, http.StatusNotFound)
			},
			describe: errorDescribe,
		},
		{
			name: "unknown route", path: "/cdm/smoke-no-such-route-" + tag, key: s.key,
			verify: func(r *smokeResponse, _ *openapi3.Operation, _ map[string]map[string]any) error {
				if r.status != http.StatusNotFound {
					return fmt.Errorf("status %d, want the gateway's 404", r.status)
				}
				if msg, _ := r.body["message"].(string); msg == "" {
					return errors.New("the 404 body is not a JSON object with a message")
				}
				return nil
			},
			describe: errorDescribe,
		},
	}
}

func smokeGet(ctx context.Context, client *http.Client, u, key string) (*smokeResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if key != "" {
		req.Header.Set(apigw.APIKeyHeader, key)
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL holds no secret; the error may name it.
		return nil, fmt.Errorf("request failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	r := &smokeResponse{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r, nil
}

// wantDocumented checks the status and that the body is what openapi.yaml
// documents for it. Errors name fields and rules, never values.
func wantDocumented(r *smokeResponse, op *openapi3.Operation, status int) error {
	if r.status != status {
		return fmt.Errorf("status %d, want %d", r.status, status)
	}
	if r.body == nil {
		return errors.New("the body is not a JSON object")
	}
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value == nil || resp.Value.Content.Get("application/json") == nil {
		return fmt.Errorf("openapi.yaml documents no JSON body for %d", status)
	}
	schema := resp.Value.Content.Get("application/json").Schema.Value
	var v any
	if err := json.Unmarshal(r.raw, &v); err != nil {
		return errors.New("the body is not JSON")
	}
	if err := schema.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("the body does not match openapi.yaml: %s", schemaProblems(err))
	}
	return nil
}

// schemaProblems names where the body broke the schema, without the values
// that kin-openapi's messages quote.
func schemaProblems(err error) string {
	var out []string
	var visit func(error)
	visit = func(err error) {
		var multi openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &multi):
			for _, e := range multi {
				visit(e)
			}
		case errors.As(err, &se):
			where := strings.Join(se.JSONPointer(), "/")
			if where == "" {
				where = "(body)"
			}
			out = append(out, where+": "+se.Reason)
		default:
			out = append(out, "schema mismatch")
		}
	}
	visit(err)
	return strings.Join(out, "; ")
}

func sameBesidesRequestID(a, b map[string]any) bool {
	if a == nil || b == nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if k != "request_id" && fmt.Sprint(v) != fmt.Sprint(b[k]) {
			return false
		}
	}
	return true
}

// commonHeaders checks the headers every response of the API carries: the
// body is patient data. A Content-Type may add parameters (a charset).
func commonHeaders(r *smokeResponse) error {
	var bad []string
	for _, hd := range apigw.ResponseHeaders() {
		v := r.header.Get(hd.Name)
		if v == hd.Value || hd.Name == "Content-Type" && strings.HasPrefix(v, hd.Value+";") {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s %q, want %s", hd.Name, v, hd.Value))
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}
