package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// useTables points this process's environment at fresh tables.
func useTables(t *testing.T) testenv.Tables {
	t.Helper()
	tb := testenv.NewTables(t)
	for _, kv := range tb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return tb
}

// cdmctl runs a command in process and returns its stdout and stderr.
func cdmctl(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) (string, string) {
	t.Helper()
	return mustRunIn(t, "", args...)
}

// mustRunIn runs a command with stdin as its standard input and fails the
// test when it fails.
func mustRunIn(t *testing.T, stdin string, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := cdmctl(t, stdin, args...)
	if err != nil {
		t.Fatalf("cdmctl %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// startServe runs cdmctl serve on a free port until the test ends; its
// stdout (the access lines) goes to stdout.
func startServe(t *testing.T, stdout io.Writer) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, strings.NewReader(""), stdout, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "cdmctl: serving "); ok {
			base = strings.Split(rest, "/cdm/")[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		cancel()
		t.Fatalf("serve did not start: %v", <-done)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return base
}

func httpGet(t *testing.T, method, url, key string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if key != "" {
		req.Header.Set("XX-RELAY-API-KEY", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestServe(t *testing.T) {
	tb := useTables(t)
	tb.LoadSample(t)
	tb.PutKey(t, "cdmk_slash_client_key_00000000", "a/b", nil)
	var access syncBuffer
	base := startServe(t, &access)
	cases := []struct {
		method, path, key string
		status            int
	}{
		{"GET", "/cdm/client/demo-clinic/customer/BAK-11984-007", testenv.DevKey, 200},
		{"GET", "/cdm/client/demo-clinic/customer/BAK%2D11984%2D007", testenv.DevKey, 200},
		{"GET", "/cdm/client/demo-clinic/customer/BAK-11984-007?x=1", testenv.DevKey, 200},
		{"GET", "/cdm/client/demo-clinic/customer/BAK-11984-007", "", 401},
		{"GET", "/cdm/client/demo-clinic%23x/customer/BAK-11984-007", testenv.DevKey, 401},
		{"GET", "/cdm/client/demo-clinic%0A/customer/BAK-11984-007", testenv.DevKey, 401},
		{"GET", "/cdm/client//customer/BAK-11984-007", testenv.DevKey, 401},
		{"GET", "/cdm/client/a%2Fb/customer/X", "cdmk_slash_client_key_00000000", 404},
		{"GET", "/cdm/client/demo-clinic/customer/", testenv.DevKey, 400},
		{"GET", "/cdm/client/demo-clinic/customer/" + strings.Repeat("x", 101), testenv.DevKey, 400},
		{"GET", "/cdm/client/demo-clinic/customer/a%00b", testenv.DevKey, 400},
		{"GET", "/cdm/client/demo-clinic/customer/nope", testenv.DevKey, 404},
		{"GET", "/cdm/client/demo-clinic/customer/a%2Fb", testenv.DevKey, 404},
		{"GET", "/cdm/client/demo-clinic/customer/BAK-11984-007/", testenv.DevKey, 404},
		{"GET", "/cdm/client/demo-clinic", testenv.DevKey, 404},
		{"GET", "/", testenv.DevKey, 404},
		{"POST", "/cdm/client/demo-clinic/customer/BAK-11984-007", testenv.DevKey, 405},
		{"DELETE", "/cdm/client/demo-clinic/customer/BAK-11984-007", testenv.DevKey, 405},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			status, h, body := httpGet(t, c.method, base+c.path, c.key)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, body)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", h)
			}
			if status == 200 {
				if body["ccid"] != "BAK-11984-007" {
					t.Errorf("body %v", body)
				}
				return
			}
			if msg, _ := body["message"].(string); msg == "" || body["request_id"] == "" || len(body) != 2 {
				t.Errorf("error body %v", body)
			}
		})
	}
	// One JSON access line per request, the gateway's own answers included.
	var lines []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines = strings.Split(strings.TrimSpace(access.String()), "\n")
		if len(lines) >= len(cases) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(lines) != len(cases) {
		t.Errorf("%d access lines for %d requests", len(lines), len(cases))
	}
	// Each request gets a fresh request ID, as API Gateway gives it.
	ids := map[string]bool{}
	for _, l := range lines {
		var m struct {
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal([]byte(l), &m) != nil || strings.Contains(l, testenv.DevKey) {
			t.Errorf("access line %s", l)
		}
		if m.RequestID == "" || ids[m.RequestID] {
			t.Errorf("request ID %q is empty or was given before", m.RequestID)
		}
		ids[m.RequestID] = true
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// generate writes n valid customers as NDJSON, with bad lines where asked.
func generate(t *testing.T, n int, bad map[int]string) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if line, ok := bad[i]; ok {
			b.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"ccid":"GEN-%06d","first_name":"First%d","last_name":"Last","date_of_birth":"1980-01-%02d","addresses":[{"city":"Radnor","state_province":"PA","country":"US"}],"notification_channels":[{"channel_type":"sms","channel_addr":"610555%04d","consent_type":"written"}],"ext":{"n":%d}}`+"\n", i, i, i%28+1, i%10000, i)
	}
	path := filepath.Join(t.TempDir(), "customers.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOperatorFlow(t *testing.T) {
	useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "300ms")
	// Creating tables twice is harmless.
	mustRun(t, "tables", "create")
	_, msg := mustRun(t, "tables", "create")
	if !strings.Contains(msg, "exists") {
		t.Errorf("second create: %s", msg)
	}

	key, details := mustRun(t, "keys", "create", "--client", "acme", "--label", "ops test", "--expires", "720h")
	key = strings.TrimSpace(key)
	if !strings.HasPrefix(key, "cdmk_") || strings.Contains(details, key) {
		t.Fatalf("key %q, details %q: the key goes to stdout alone", key, details)
	}

	file := generate(t, 10000, nil)
	_, summary := mustRun(t, "import", "--client", "acme", file)
	if !strings.Contains(summary, "written 10000, rejected 0") || !strings.Contains(summary, "records/s") {
		t.Errorf("summary: %s", summary)
	}
	// Idempotent: the same import again changes nothing.
	mustRun(t, "import", "--client", "acme", file)

	base := startServe(t, io.Discard)
	for _, ccid := range []string{"GEN-000001", "GEN-005000", "GEN-010000"} {
		status, _, body := httpGet(t, "GET", base+"/cdm/client/acme/customer/"+ccid, key)
		if status != 200 || body["ccid"] != ccid {
			t.Fatalf("%s: %d %v", ccid, status, body)
		}
	}
	got, _ := mustRun(t, "get", "--client", "acme", "GEN-000042")
	var viaGet map[string]any
	if err := json.Unmarshal([]byte(got), &viaGet); err != nil || viaGet["first_name"] != "First42" {
		t.Errorf("get printed %q", got)
	}

	list, _ := mustRun(t, "keys", "list", "--client", "acme")
	if strings.Contains(list, key) || !strings.Contains(list, "ops test") || !strings.Contains(list, "active") {
		t.Errorf("keys list:\n%s", list)
	}

	mustRun(t, "keys", "revoke", key)
	// Warm instances honour a revocation within the 300 ms cache TTL.
	revokedAt := time.Now()
	for {
		status, _, _ := httpGet(t, "GET", base+"/cdm/client/acme/customer/GEN-000001", key)
		if status == 401 {
			break
		}
		if time.Since(revokedAt) > 300*time.Millisecond+time.Second {
			t.Fatalf("revoked key: status %d %v after the revocation", status, time.Since(revokedAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
	list, _ = mustRun(t, "keys", "list")
	if !strings.Contains(list, "revoked") {
		t.Errorf("keys list after revoke:\n%s", list)
	}
}

func TestImportRefusesBadFiles(t *testing.T) {
	tb := useTables(t)
	count := func() int {
		out, err := tb.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tb.Customers), Select: types.SelectCount})
		if err != nil {
			t.Fatal(err)
		}
		return int(out.Count)
	}
	cases := []struct {
		name    string
		bad     map[int]string
		field   string
		line    int
		extra   []string
		written int
	}{
		{"bad date", map[int]string{3: `{"ccid":"X3","date_of_birth":"1980-02-30"}`}, "date_of_birth", 3, nil, 0},
		{"unknown field", map[int]string{2: `{"ccid":"X2","frist_name":"Al"}`}, "frist_name", 2, nil, 0},
		{"too many channels", map[int]string{4: `{"ccid":"X4","notification_channels":[` + strings.Repeat(`{"channel_type":"sms","channel_addr":"6105551212","consent_type":"stop"},`, 50) + `{"channel_type":"sms","channel_addr":"6105551212","consent_type":"stop"}]}`}, "notification_channels", 4, nil, 0},
		{"duplicate ccid", map[int]string{5: `{"ccid":"GEN-000001"}`}, "ccid", 5, nil, 0},
		{"bad JSON", map[int]string{1: `{"ccid":`}, "-", 1, nil, 0},
		{"dry run", nil, "", 0, []string{"--dry-run"}, 0},
		{"skip invalid", map[int]string{3: `{"ccid":"X3","gender":"MF"}`}, "gender", 3, []string{"--skip-invalid"}, 5},
		{"39 digits", map[int]string{2: `{"ccid":"X2","ext":{"n":123456789012345678901234567890123456789}}`}, "ext.n", 2, nil, 0},
		{"39 digits, dry run", map[int]string{2: `{"ccid":"X2","ext":{"n":123456789012345678901234567890123456789}}`}, "ext.n", 2, []string{"--dry-run"}, 0},
		{"out of range", map[int]string{6: `{"ccid":"X6","ext":{"a":[{"n":1e126}]}}`}, "ext.a[0].n", 6, nil, 0},
		{"out of range, dry run", map[int]string{6: `{"ccid":"X6","ext":{"tiny":-1e-131}}`}, "ext.tiny", 6, []string{"--dry-run"}, 0},
		{"dot ccid", map[int]string{1: `{"ccid":"."}`}, "ccid", 1, nil, 0},
		{"dot-dot ccid, dry run", map[int]string{2: `{"ccid":".."}`}, "ccid", 2, []string{"--dry-run"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := count()
			file := generate(t, 6, c.bad)
			args := append([]string{"import", "--client", "acme"}, c.extra...)
			_, stderr, err := cdmctl(t, "", append(args, file)...)
			if c.field != "" && !strings.Contains(stderr, fmt.Sprintf("customers.ndjson:%d: %s:", c.line, c.field)) {
				t.Errorf("rejects not listed with line and field:\n%s", stderr)
			}
			if c.field != "" && !strings.Contains(stderr, "written 0, rejected 1") && len(c.extra) == 0 {
				t.Errorf("summary does not count the reject:\n%s", stderr)
			}
			skip := len(c.extra) > 0 && c.extra[0] == "--skip-invalid"
			if (err == nil) != (c.bad == nil || skip) {
				t.Errorf("exit error %v", err)
			}
			if got := count() - before; got != c.written {
				t.Errorf("%d written, want %d\n%s", got, c.written, stderr)
			}
		})
	}
}

// TestImportStorageErrorNamesRecords: a record the checks pass but DynamoDB
// refuses (an item over its 400 KB limit) fails the import with each record
// of its batch named as FILE:LINE.
func TestImportStorageErrorNamesRecords(t *testing.T) {
	useTables(t)
	big := `{"ccid":"BIG","ext":{"note":"` + strings.Repeat("x", 410*1024) + `"}}`
	file := generate(t, 3, map[int]string{2: big})
	_, stderr, err := cdmctl(t, "", "import", "--client", "acme", file)
	if err == nil {
		t.Fatalf("an item over 400 KB was stored:\n%.500s", stderr)
	}
	for line := 1; line <= 3; line++ {
		if !strings.Contains(stderr, fmt.Sprintf("customers.ndjson:%d: -: not stored: ValidationException", line)) {
			t.Errorf("line %d of the failed batch not named:\n%.2000s", line, stderr)
		}
	}
	if strings.Contains(stderr, "xxxxxxxx") {
		t.Error("the error repeats a stored value")
	}
}

func TestKeysCreateRefusesBadClientIDs(t *testing.T) {
	useTables(t)
	for _, id := range []string{"", "a#b", "a\nb", strings.Repeat("c", 101), "bad\xff"} {
		if _, _, err := cdmctl(t, "", "keys", "create", "--client", id); err == nil {
			t.Errorf("client %q accepted", id)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"keys"}, {"keys", "create", "extra"}, {"get", "--client", "acme"}, {"import", "--client", "acme"}} {
		if _, _, err := cdmctl(t, "", args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("cdmctl %q: %v, want a usage error", args, err)
		}
	}
}

func TestKeysRevokeByHashPrefix(t *testing.T) {
	useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "0")
	var keys []string
	for range 2 {
		k, _ := mustRun(t, "keys", "create", "--client", "acme")
		keys = append(keys, strings.TrimSpace(k))
	}
	if _, _, err := cdmctl(t, "", "keys", "revoke", "--hash", "zz"); err == nil {
		t.Error("a 2-digit prefix was accepted")
	}
	if _, _, err := cdmctl(t, "", "keys", "revoke", "--hash", "ffffffffffff"); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("unknown prefix: %v", err)
	}
	hash := apikey.Hash(keys[0])
	mustRun(t, "keys", "revoke", "--hash", strings.ToUpper(hash[:10]))
	list, _ := mustRun(t, "keys", "list", "--client", "acme")
	for _, line := range strings.Split(list, "\n") {
		switch {
		case strings.HasPrefix(line, hash[:8]) && !strings.Contains(line, "revoked"):
			t.Errorf("revoked key listed as %q", line)
		case strings.HasPrefix(line, apikey.Hash(keys[1])[:8]) && !strings.Contains(line, "active"):
			t.Errorf("the other key listed as %q", line)
		}
	}
	if _, _, err := cdmctl(t, "", "keys", "revoke", "cdmk_never_issued_00000000000"); err == nil {
		t.Error("revoking an unknown key succeeded")
	}
	// Registering the revoked key again must not make it active.
	if _, _, err := cdmctl(t, "", "keys", "create", "--client", "acme", "--key", keys[0]); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("re-registering a revoked key: %v", err)
	}
}

// TestInvoke runs cdmctl invoke, what make invoke runs, with real binaries.
func TestInvoke(t *testing.T) {
	tb := useTables(t)
	tb.LoadSample(t)
	dir := t.TempDir()
	bootstrap, rie := filepath.Join(dir, "bootstrap"), filepath.Join(dir, "aws-lambda-rie")
	for _, args := range [][]string{
		{"build", "-tags", "lambda.norpc", "-o", bootstrap, "../../functions/get-customer"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	if err := lambdarun.BuildEmulator(rie); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := cdmctl(t, "", "invoke", "--event", "../../events/get-customer-404.json", "--bootstrap", bootstrap, "--emulator", rie)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.StatusCode != 404 || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("invoke printed %s (%v)", out, err)
	}
	if _, _, err := cdmctl(t, "", "invoke", "--event", "no-such-file.json", "--bootstrap", bootstrap, "--emulator", rie); err == nil {
		t.Error("a missing event file was accepted")
	}
}
