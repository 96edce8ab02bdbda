package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
)

// buildRaceBootstrap builds the bootstrap with the race detector, which
// needs cgo.
func buildRaceBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-race", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, b)
	}
	return out
}

// concurrentRequest is one invocation and what it must get.
type concurrentRequest struct {
	id, client, ccid, key string
	status                int
	firstName             string // for a 200
}

// TestManagedInstancesConcurrency runs the race-built bootstrap in the
// emulator's Lambda Managed Instances mode with 16 requests at once in one
// process, and 64 callers sending thousands of requests across two clients
// and every outcome. Each answer must be its own request's, each request
// must have exactly one access line with its own fields, and the race
// detector must stay silent.
func TestManagedInstancesConcurrency(t *testing.T) {
	const (
		concurrency = 16
		callers     = 64
		requests    = 3000
	)
	_, rie := buildTools(t)
	bootstrap := buildRaceBootstrap(t)

	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	// A second client whose customers have the same ccids as the first's
	// and other names: an answer from the wrong tenant shows.
	const otherClient, otherKey = "acme-health", "cdmk_acme_concurrency_key_000000"
	sample, err := tb.Store().Customer(context.Background(), customer.MustParseClientID(testenv.DevClient), "BAK-11984-007")
	if err != nil {
		t.Fatal(err)
	}
	other := sample
	otherName := "OTHER-TENANT"
	other.FirstName = &otherName
	if _, err := tb.Admin().PutCustomers(context.Background(), customer.MustParseClientID(otherClient), []customer.Customer{other}, dynamo.BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	tb.PutKey(t, otherKey, otherClient, nil)

	env := lambdarun.Environ(os.Environ(), tb.Env()...)
	env = lambdarun.Environ(env, "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances", "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "STORAGE_TIMEOUT=10s")
	emu, err := lambdarun.StartManaged(rie, bootstrap, concurrency, env, nil)
	if errors.Is(err, lambdarun.ErrNeedsRoot) {
		t.Skipf("SKIPPED: %v; run the tests as root (as CI does) to run this one", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()

	base := testenv.Fixtures(t)[0].Event
	sampleName := *sample.FirstName
	plan := make([]concurrentRequest, requests)
	for i := range plan {
		client, key, name := testenv.DevClient, testenv.DevKey, sampleName
		if i%2 == 1 {
			client, key, name = otherClient, otherKey, otherName
		}
		r := concurrentRequest{id: fmt.Sprintf("mi-%05d", i), client: client, key: key}
		switch i % 8 {
		case 0, 1, 2, 3:
			r.ccid, r.status, r.firstName = "BAK-11984-007", 200, name
		case 4:
			r.ccid, r.status = strings.Repeat("x", 101), 400
		case 5:
			// The other client's key: never this client's records.
			r.ccid, r.status = "BAK-11984-007", 401
			if key == testenv.DevKey {
				r.key = otherKey
			} else {
				r.key = testenv.DevKey
			}
		case 6:
			r.ccid, r.status = fmt.Sprintf("NOPE-%d", i), 404
		case 7:
			r.ccid, r.status, r.key = "BAK-11984-007", 401, "cdmk_unknown_key_"+fmt.Sprint(i)
		}
		plan[i] = r
	}

	var unavailable atomic.Int64
	work := make(chan concurrentRequest)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, a...))
		}
	}
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				resp, err := invokeRetrying(emu, event(t, base, r), &unavailable)
				if err != nil {
					fail("%s: %v", r.id, err)
					continue
				}
				if resp.StatusCode != r.status {
					fail("%s (%s %s): status %d, want %d: %s", r.id, r.client, r.ccid, resp.StatusCode, r.status, resp.Body)
					continue
				}
				var body map[string]any
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					fail("%s: body %s", r.id, resp.Body)
					continue
				}
				if r.status == 200 {
					if body["ccid"] != r.ccid || body["first_name"] != r.firstName {
						fail("%s: client %s got ccid %v first_name %v, want %s %s", r.id, r.client, body["ccid"], body["first_name"], r.ccid, r.firstName)
					}
				} else if body["request_id"] != r.id {
					fail("%s: error body names request %v", r.id, body["request_id"])
				}
			}
		}()
	}
	for _, r := range plan {
		work <- r
	}
	close(work)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}

	// Exactly one access line per request, each with its own request's fields.
	output, ok := emu.WaitOutput(30*time.Second, func(o string) bool { return strings.Count(o, `"msg":"request"`) >= requests })
	if !ok {
		t.Fatalf("%d access lines for %d requests", strings.Count(output, `"msg":"request"`), requests)
	}
	if strings.Contains(output, "DATA RACE") {
		i := strings.Index(output, "WARNING: DATA RACE")
		t.Fatalf("the race detector reported:\n%s", output[max(0, i):min(len(output), i+4000)])
	}
	want := make(map[string]concurrentRequest, requests)
	for _, r := range plan {
		want[r.id] = r
	}
	seen := map[string]int{}
	// Requests in flight at once, from each line's end time and latency:
	// proof that the process really served them concurrently.
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, line := range strings.Split(output, "\n") {
		if !strings.Contains(line, `"msg":"request"`) {
			continue
		}
		// Decoded as a map: the line holds "status" and EMF's "Status", which
		// encoding/json would match to one struct field.
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("access line %q: %v (interleaved?)", line, err)
		}
		status, _ := m["status"].(float64)
		l := struct {
			RequestID, ClientID, CCID, KeyHashPrefix string
			Status                                   int
		}{fmt.Sprint(m["request_id"]), fmt.Sprint(m["client_id"]), fmt.Sprint(m["ccid"]), fmt.Sprint(m["key_hash_prefix"]), int(status)}
		seen[l.RequestID]++
		if end, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"])); err == nil {
			ms, _ := m["latency_ms"].(float64)
			edges = append(edges, edge{end.Add(-time.Duration(ms * float64(time.Millisecond))), 1}, edge{end, -1})
		}
		r, ok := want[l.RequestID]
		if !ok {
			t.Errorf("access line for an unknown request: %s", line)
			continue
		}
		wantCCID := r.ccid
		if len(wantCCID) > 128 {
			wantCCID = wantCCID[:128]
		}
		if l.ClientID != r.client || l.CCID != wantCCID || l.Status != r.status || l.KeyHashPrefix != apikey.HashPrefix(apikey.Hash(r.key)) {
			t.Errorf("access line %s belongs to another request: want client %s ccid %s status %d key %s",
				line, r.client, wantCCID, r.status, apikey.HashPrefix(apikey.Hash(r.key)))
		}
	}
	slices.SortFunc(edges, func(a, b edge) int { return a.at.Compare(b.at) })
	inFlight, most := 0, 0
	for _, e := range edges {
		inFlight += e.delta
		most = max(most, inFlight)
	}
	if most < 2 {
		t.Errorf("at most %d request in flight at once: the process did not serve requests concurrently", most)
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("request %s has %d access lines", id, seen[id])
		}
	}
	t.Logf("%d requests from %d callers, at most %d in flight in the process, %d answered Runtime.Unavailable and retried", requests, callers, most, unavailable.Load())
	// Managed Instances hand the runtime's Content-Type on to the invoker:
	// the function posts its answer as JSON.
	for end := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Post(emu.URL, "application/json", bytes.NewReader(base)) // #nosec G107 -- the emulator this test started
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("the invocation's Content-Type is %q, want application/json", ct)
				}
				break
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the emulator did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func event(t *testing.T, base []byte, r concurrentRequest) []byte {
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal(base, &req); err != nil {
		t.Error(err)
	}
	req.PathParameters = map[string]string{"client_id": r.client, "ccid": r.ccid}
	req.Path = "/cdm/client/" + r.client + "/customer/" + r.ccid
	req.Headers = map[string]string{"xx-relay-api-key": r.key}
	req.MultiValueHeaders = map[string][]string{"xx-relay-api-key": {r.key}}
	req.RequestContext.RequestID = r.id
	b, err := json.Marshal(req)
	if err != nil {
		t.Error(err)
	}
	return b
}

// invokeRetrying invokes the function, retrying while every runtime worker
// is busy: the emulator then refuses with Runtime.Unavailable, as Lambda
// throttles, and callers retry.
func invokeRetrying(emu *lambdarun.Emulator, ev []byte, unavailable *atomic.Int64) (events.APIGatewayProxyResponse, error) {
	var resp events.APIGatewayProxyResponse
	deadline := time.Now().Add(60 * time.Second)
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 20*time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := emu.Invoke(ctx, ev)
		cancel()
		if err != nil && strings.Contains(string(out), "Runtime.Unavailable") && time.Now().Before(deadline) {
			unavailable.Add(1)
			time.Sleep(backoff)
			continue
		}
		if err != nil {
			return resp, err
		}
		return resp, json.Unmarshal(out, &resp)
	}
}
