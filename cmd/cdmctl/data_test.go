package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// richRecords are n import records that use every part of the format:
// unicode ccids, empty and full lists, ext with big numbers, nesting, null
// and booleans.
func richRecords(n int) []string {
	recs := make([]string, n)
	for i := range n {
		recs[i] = fmt.Sprintf(`{"ccid":"R-%05d-ü","first_name":"Zoë %d","last_name":"Ng","date_of_birth":"1970-03-%02d","ssn_last4":"%04d",`+
			`"addresses":[{"address1":"%d Main St","city":"Radnor","state_province":"PA","postal_code":"19087","country":"US"}],`+
			`"notification_channels":[],"ext":{"big":12345678901234567890123456789012345678,"small":-0.000000000000000000012345,"n":%d,`+
			`"nested":{"list":[1,"two",null,true,{"deep":[]}]},"flag":false,"nothing":null}}`, i, i, i%28+1, i%10000, i, i)
	}
	return recs
}

func writeLines(t *testing.T, name string, lines []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientItems scans the customers table, as a test may, and returns the
// items of clientID by pk.
func clientItems(t *testing.T, tb testenv.Tables, clientID string) map[string]map[string]types.AttributeValue {
	t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	p := dynamodb.NewScanPaginator(tb.DB, &dynamodb.ScanInput{TableName: aws.String(tb.Customers)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			if c, _ := item["client_id"].(*types.AttributeValueMemberS); c != nil && c.Value == clientID {
				out[item["pk"].(*types.AttributeValueMemberS).Value] = item
			}
		}
	}
	return out
}

func ccidsOf(t *testing.T, ndjson string) []string {
	t.Helper()
	var ids []string
	for line := range strings.SplitSeq(strings.TrimSpace(ndjson), "\n") {
		if line == "" {
			continue
		}
		var rec struct{ CCID string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		ids = append(ids, rec.CCID)
	}
	return ids
}

// TestExportImportRoundTrip: export writes every customer of the client
// and no other, in ccid order, in the import format; importing it into an
// empty table reproduces the stored items attribute for attribute, and
// exporting again gives the same bytes.
func TestExportImportRoundTrip(t *testing.T) {
	tb := useTables(t)
	recs := richRecords(250)
	file := writeLines(t, "customers.ndjson", recs)
	mustRun(t, "import", "--client", "acme", file)
	mustRun(t, "import", "--client", "other", file) // same ccids, another tenant
	before := clientItems(t, tb, "acme")

	out := filepath.Join(t.TempDir(), "acme.ndjson")
	_, msg := mustRun(t, "export", "--client", "acme", "--out", out)
	if !strings.Contains(msg, "exported 250 customers") {
		t.Errorf("export said %q", msg)
	}
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v, mode %v; want 0600 (patient data)", err, info.Mode().Perm())
	}
	data, _ := os.ReadFile(out)
	ids := ccidsOf(t, string(data))
	if len(ids) != 250 || !slices.IsSorted(ids) {
		t.Fatalf("export holds %d ccids, sorted %v", len(ids), slices.IsSorted(ids))
	}
	// The export's records are the imported ones, number for number.
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if !sameJSON(t, line, recs[i]) {
			t.Fatalf("record %d differs:\nexported %s\nimported %s", i, line, recs[i])
		}
	}

	fresh := useTables(t) // an empty pair of tables
	mustRun(t, "import", "--client", "acme", out)
	after := clientItems(t, fresh, "acme")
	if len(after) != len(before) {
		t.Fatalf("re-import stored %d items, want %d", len(after), len(before))
	}
	for pk, item := range before {
		if !reflect.DeepEqual(after[pk], item) {
			t.Fatalf("%s differs after export and import:\nbefore %v\nafter  %v", pk, item, after[pk])
		}
	}
	again := filepath.Join(t.TempDir(), "again.ndjson")
	mustRun(t, "export", "--client", "acme", "--out", again)
	if data2, _ := os.ReadFile(again); string(data2) != string(data) {
		t.Error("a second export differs from the first")
	}
	// To stdout as well.
	stdout, _ := mustRun(t, "export", "--client", "acme")
	if stdout != string(data) {
		t.Error("export to stdout differs from export to a file")
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	da, db := json.NewDecoder(strings.NewReader(a)), json.NewDecoder(strings.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func count(t *testing.T, tb testenv.Tables, clientID string) int {
	t.Helper()
	return len(clientItems(t, tb, clientID))
}

// auditLines returns stderr's JSON lines, each checked to hold exactly the
// audit fields.
func auditLines(t *testing.T, stderr string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for line := range strings.SplitSeq(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if _, ok := m["key_hash_prefix"]; ok {
			continue // a key's audit line, checked by keyAudit
		}
		for k := range m {
			if k != "time" && k != "operator" && k != "client_id" && k != "ccid" {
				t.Errorf("audit line has field %q: %s", k, line)
			}
		}
		if m["time"] == "" || m["client_id"] == "" || m["ccid"] == "" {
			t.Errorf("audit line lacks time, client or ccid: %s", line)
		}
		out = append(out, m)
	}
	return out
}

// TestDeleteErasesIdempotentlyWithAudit: delete erases the named customers
// of one client, reports the ones not stored, writes one audit line per
// erased customer, asks for --yes above its threshold, and leaves the other
// client's customers with the same ccids alone; the API then answers 404.
func TestDeleteErasesIdempotentlyWithAudit(t *testing.T) {
	tb := useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "0")
	file := generate(t, 30, nil)
	mustRun(t, "import", "--client", "acme", file)
	mustRun(t, "import", "--client", "other", file)
	key, _ := mustRun(t, "keys", "create", "--client", "acme")
	key = strings.TrimSpace(key)
	otherBefore := clientItems(t, tb, "other")

	_, stderr, err := cdmctl(t, "", "delete", "--client", "acme", "GEN-000001", "GEN-000002", "GEN-000003", "NOT-STORED", "GEN-000001")
	if err != nil {
		t.Fatalf("delete: %v\n%s", err, stderr)
	}
	if lines := auditLines(t, stderr); len(lines) != 3 {
		t.Errorf("%d audit lines, want 3:\n%s", len(lines), stderr)
	}
	if !strings.Contains(stderr, "erased 3, not stored 1") || !strings.Contains(stderr, "not stored: NOT-STORED") {
		t.Errorf("summary:\n%s", stderr)
	}
	if n := count(t, tb, "acme"); n != 27 {
		t.Errorf("%d acme customers left, want 27", n)
	}
	// Again: nothing left to erase, and no error.
	_, stderr, err = cdmctl(t, "", "delete", "--client", "acme", "GEN-000001", "GEN-000002", "GEN-000003")
	if err != nil || !strings.Contains(stderr, "erased 0, not stored 3") || len(auditLines(t, stderr)) != 0 {
		t.Errorf("second delete: %v\n%s", err, stderr)
	}
	// Above the threshold without --yes: refused, nothing erased.
	many := []string{"delete", "--client", "acme"}
	for i := 4; i <= 15; i++ {
		many = append(many, fmt.Sprintf("GEN-%06d", i))
	}
	if _, _, err := cdmctl(t, "", many...); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("12 ccids without --yes: %v", err)
	}
	if n := count(t, tb, "acme"); n != 27 {
		t.Errorf("a refused delete erased: %d left", n)
	}
	if _, _, err := cdmctl(t, "", append(many, "--yes")...); err == nil || !strings.Contains(err.Error(), "flags go before") {
		t.Errorf("--yes after the ccids: %v", err)
	}
	mustRun(t, append([]string{"delete", "--yes"}, many[1:]...)...)
	if n := count(t, tb, "acme"); n != 15 {
		t.Errorf("%d acme customers left, want 15", n)
	}
	// --file takes an export.
	out := filepath.Join(t.TempDir(), "rest.ndjson")
	mustRun(t, "export", "--client", "acme", "--out", out)
	mustRun(t, "delete", "--client", "acme", "--yes", "--file", out)
	if n := count(t, tb, "acme"); n != 0 {
		t.Errorf("%d acme customers left after deleting the export's", n)
	}
	if !reflect.DeepEqual(clientItems(t, tb, "other"), otherBefore) {
		t.Error("deleting acme's customers changed other's")
	}
	base := startServe(t, io.Discard)
	if status, _, _ := httpGet(t, "GET", base+"/cdm/client/acme/customer/GEN-000001", key); status != 404 {
		t.Errorf("erased customer: status %d, want 404", status)
	}
	for _, bad := range [][]string{{"delete", "--client", "acme"}, {"delete", "--client", "a#b", "X"}, {"delete", "--client", "acme", "--file", out, "X"}, {"delete", "--client", "acme", "bad\x00id"}} {
		if _, _, err := cdmctl(t, "", bad...); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestImportSync: --dry-run --sync counts what a sync would do and writes
// nothing; --sync makes the client's customers exactly the file's; it
// refuses to erase more than --max-erase without --force, an empty file,
// and a file with invalid records.
func TestImportSync(t *testing.T) {
	tb := useTables(t)
	mustRun(t, "import", "--client", "acme", generate(t, 100, nil))
	mustRun(t, "import", "--client", "other", generate(t, 100, nil))
	otherBefore := clientItems(t, tb, "other")
	before := clientItems(t, tb, "acme")

	// 95 of the 100 (5 of them changed) and 3 new: add 3, replace 5, 90 unchanged, erase 5.
	changed := map[int]string{}
	for i := 1; i <= 5; i++ {
		changed[i] = fmt.Sprintf(`{"ccid":"GEN-%06d","first_name":"Changed"}`, i)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, generate(t, 95, changed))), "\n")
	lines = append(lines, `{"ccid":"NEW-1"}`, `{"ccid":"NEW-2"}`, `{"ccid":"NEW-3"}`)
	file := writeLines(t, "sync.ndjson", lines)

	_, stderr := mustRun(t, "import", "--client", "acme", "--sync", "--dry-run", file)
	if !strings.Contains(stderr, "would add 3, replace 5, leave 90 unchanged, erase 5") {
		t.Errorf("dry run:\n%s", stderr)
	}
	if !reflect.DeepEqual(clientItems(t, tb, "acme"), before) {
		t.Fatal("a dry run changed the table")
	}
	_, stderr = mustRun(t, "import", "--client", "acme", "--sync", file)
	if !strings.Contains(stderr, "added 3, replaced 95, erased 5") || len(auditLines(t, stderr)) != 5 {
		t.Errorf("sync:\n%s", stderr)
	}
	after := clientItems(t, tb, "acme")
	if len(after) != 98 || after["acme#GEN-000100"] != nil || after["acme#NEW-1"] == nil {
		t.Errorf("after sync: %d customers", len(after))
	}
	// Again: nothing to add or erase.
	_, stderr = mustRun(t, "import", "--client", "acme", "--sync", "--dry-run", file)
	if !strings.Contains(stderr, "would add 0, replace 0, leave 98 unchanged, erase 0") {
		t.Errorf("dry run after sync:\n%s", stderr)
	}

	// A file with half the customers: refused without --force, dry run too.
	half := generate(t, 49, nil)
	for _, args := range [][]string{{"import", "--client", "acme", "--sync", half}, {"import", "--client", "acme", "--sync", "--dry-run", half}} {
		if _, _, err := cdmctl(t, "", args...); err == nil || !strings.Contains(err.Error(), "--max-erase") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if count(t, tb, "acme") != 98 {
		t.Fatal("a refused sync changed the table")
	}
	for name, args := range map[string][]string{
		"empty file":     {"import", "--client", "acme", "--sync", writeLines(t, "empty.ndjson", nil)},
		"invalid record": {"import", "--client", "acme", "--sync", "--skip-invalid", generate(t, 98, map[int]string{2: `{"ccid":"X","gender":"MF"}`})},
	} {
		if _, _, err := cdmctl(t, "", args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if count(t, tb, "acme") != 98 {
		t.Fatal("a refused sync changed the table")
	}
	mustRun(t, "import", "--client", "acme", "--sync", "--force", half)
	if n := count(t, tb, "acme"); n != 49 {
		t.Errorf("forced sync left %d, want 49", n)
	}
	if !reflect.DeepEqual(clientItems(t, tb, "other"), otherBefore) {
		t.Error("syncing acme changed other's customers")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path) // #nosec G304 -- a file this test wrote
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// useProxy points cdmctl at the local DynamoDB through a fault proxy.
func useProxy(t *testing.T, tb testenv.Tables) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(tb.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	t.Setenv("DYNAMODB_ENDPOINT", p.URL)
	return p
}

// TestOffboard: export, revoke every key, erase every customer; the API
// then refuses the client's keys. Interrupted by a storage failure during
// the erase, it is finished by running it again, and the export made by the
// first run is kept, never replaced by a partial one.
func TestOffboard(t *testing.T) {
	tb := useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "0")
	mustRun(t, "import", "--client", "acme", generate(t, 120, nil))
	mustRun(t, "import", "--client", "other", generate(t, 120, nil))
	key1, _ := mustRun(t, "keys", "create", "--client", "acme")
	key2, _ := mustRun(t, "keys", "create", "--client", "acme")
	otherKey, _ := mustRun(t, "keys", "create", "--client", "other")
	mustRun(t, "keys", "revoke", strings.TrimSpace(key2))
	otherBefore := clientItems(t, tb, "other")
	base := startServe(t, io.Discard)
	if status, _, _ := httpGet(t, "GET", base+"/cdm/client/acme/customer/GEN-000001", strings.TrimSpace(key1)); status != 200 {
		t.Fatalf("before offboarding: %d", status)
	}

	for _, args := range [][]string{{"offboard", "--client", "acme", "--yes"}, {"offboard", "--client", "acme", "--out", "x", "--no-export", "--yes"}} {
		if _, _, err := cdmctl(t, "", args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	out := filepath.Join(t.TempDir(), "acme-offboard.ndjson")
	if _, _, err := cdmctl(t, "", "offboard", "--client", "acme", "--out", out); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("offboard without --yes: %v", err)
	}

	// The erase fails after two batches: keys are revoked, some customers
	// erased, the export complete.
	proxy := useProxy(t, tb)
	proxy.Set(faultproxy.Config{Fault: faultproxy.InternalServerError, Operation: "BatchWriteItem", Skip: 2})
	_, stderr, err := cdmctl(t, "", "offboard", "--client", "acme", "--out", out, "--yes")
	if err == nil || !strings.Contains(err.Error(), "run again") {
		t.Fatalf("offboard over a failing DynamoDB: %v\n%s", err, stderr)
	}
	erasedFirst := len(auditLines(t, stderr))
	if n := strings.Count(stderr, `"action":"revoke","client_id":"acme"`); n == 0 {
		t.Errorf("offboard revoked keys without an audit line each:\n%s", stderr)
	}
	if left := count(t, tb, "acme"); erasedFirst == 0 || left != 120-erasedFirst || !strings.Contains(stderr, "not erased: GEN-") {
		t.Errorf("first run: %d audit lines, %d left\n%s", erasedFirst, left, stderr)
	}
	exported := readFile(t, out)
	if n := len(ccidsOf(t, exported)); n != 120 {
		t.Fatalf("export holds %d records, want 120", n)
	}

	proxy.Set(faultproxy.Config{})
	_, stderr, err = cdmctl(t, "", "offboard", "--client", "acme", "--out", out, "--yes")
	if err != nil {
		t.Fatalf("second offboard: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "holds every customer still stored") || !strings.Contains(stderr, "revoked 0, 2 were revoked already") {
		t.Errorf("second run:\n%s", stderr)
	}
	if erasedFirst+len(auditLines(t, stderr)) != 120 || count(t, tb, "acme") != 0 {
		t.Errorf("after both runs: %d left; %d + %d erased", count(t, tb, "acme"), erasedFirst, len(auditLines(t, stderr)))
	}
	if readFile(t, out) != exported {
		t.Error("the second run replaced the first run's export")
	}
	// A third run: nothing to do, and still fine.
	mustRun(t, "offboard", "--client", "acme", "--out", out, "--yes")

	if status, _, body := httpGet(t, "GET", base+"/cdm/client/acme/customer/GEN-000001", strings.TrimSpace(key1)); status != 401 {
		t.Errorf("offboarded client's key: %d %v, want 401", status, body)
	}
	if status, _, _ := httpGet(t, "GET", base+"/cdm/client/other/customer/GEN-000001", strings.TrimSpace(otherKey)); status != 200 {
		t.Errorf("other client after acme's offboarding: %d", status)
	}
	if !reflect.DeepEqual(clientItems(t, tb, "other"), otherBefore) {
		t.Error("offboarding acme changed other's customers")
	}
	// An export file that lacks stored customers is never taken for one.
	mustRun(t, "import", "--client", "acme", generate(t, 5, nil))
	stale := writeLines(t, "stale.ndjson", []string{`{"ccid":"GEN-000001"}`})
	if _, _, err := cdmctl(t, "", "offboard", "--client", "acme", "--out", stale, "--yes"); err == nil || !strings.Contains(err.Error(), "lacks 4") {
		t.Errorf("offboard with a stale export file: %v", err)
	}
	if count(t, tb, "acme") != 5 {
		t.Error("offboard erased after refusing its export file")
	}
}

// TestThrottledBatchesAreRetried: throttled and failing batch requests are
// retried (by the SDK's retryer, within awsclient.MaxAttempts a request), so
// a sync and an export over a DynamoDB that throttles now and then lose
// nothing.
func TestThrottledBatchesAreRetried(t *testing.T) {
	tb := useTables(t)
	mustRun(t, "import", "--client", "acme", generate(t, 200, nil))
	proxy := useProxy(t, tb)
	// Fewer throttles than the SDK's attempts: however they fall on the
	// batches, none is refused three times.
	proxy.Set(faultproxy.Config{Fault: faultproxy.Throttling, Operation: "BatchWriteItem", Times: awsclient.MaxAttempts - 1})
	_, stderr := mustRun(t, "import", "--client", "acme", "--sync", "--force", generate(t, 150, nil))
	if !strings.Contains(stderr, "erased 50") || count(t, tb, "acme") != 150 {
		t.Errorf("sync through throttling: %d left\n%s", count(t, tb, "acme"), stderr)
	}
	if _, faulted := proxy.Requests(); faulted != awsclient.MaxAttempts-1 {
		t.Errorf("%d requests throttled, want %d", faulted, awsclient.MaxAttempts-1)
	}
	proxy.Set(faultproxy.Config{Fault: faultproxy.ServiceUnavailable, Operation: "BatchGetItem", Times: awsclient.MaxAttempts - 1})
	stdout, _ := mustRun(t, "export", "--client", "acme")
	if n := len(ccidsOf(t, stdout)); n != 150 {
		t.Errorf("export through failures: %d records, want 150", n)
	}
}

// TestCommandsTouchOnlyTheirClient: every request export, delete, sync
// and offboard send for client acme names only acme's keys or index
// partition, though client "acme2" and "other" share acme's ccids.
func TestCommandsTouchOnlyTheirClient(t *testing.T) {
	tb := useTables(t)
	for _, c := range []string{"acme", "acme2", "other"} {
		mustRun(t, "import", "--client", c, generate(t, 40, nil))
	}
	mustRun(t, "keys", "create", "--client", "other")
	before := map[string]map[string]map[string]types.AttributeValue{"acme2": clientItems(t, tb, "acme2"), "other": clientItems(t, tb, "other")}
	proxy := useProxy(t, tb)
	mustRun(t, "export", "--client", "acme", "--out", filepath.Join(t.TempDir(), "x.ndjson"))
	mustRun(t, "delete", "--client", "acme", "GEN-000001", "GEN-000002")
	mustRun(t, "import", "--client", "acme", "--sync", "--force", generate(t, 20, nil))
	mustRun(t, "offboard", "--client", "acme", "--no-export", "--yes")
	seen := proxy.Seen()
	if len(seen) < 8 {
		t.Fatalf("only %d requests seen", len(seen))
	}
	for _, r := range seen {
		for _, other := range []string{`"acme2#`, `"other#`, `"S":"acme2"`, `"S":"other"`} {
			if strings.Contains(r.Body, other) && r.Operation != "Scan" {
				t.Errorf("%s names another client (%s): %.300s", r.Operation, other, r.Body)
			}
		}
		if r.Operation == "Scan" && !strings.Contains(r.Body, tb.Keys) {
			t.Errorf("a Scan of %.200s: only the keys table is ever scanned", r.Body)
		}
	}
	for c, items := range before {
		if !reflect.DeepEqual(clientItems(t, tb, c), items) {
			t.Errorf("commands for acme changed %s's customers", c)
		}
	}
	if count(t, tb, "acme") != 0 {
		t.Error("acme was not offboarded")
	}
}
