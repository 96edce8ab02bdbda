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

	"github.com/cdm/customer-api/internal/testenv"
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
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, generate(t, 95, changed))), "\n") {
		lines = append(lines, l)
	}
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
