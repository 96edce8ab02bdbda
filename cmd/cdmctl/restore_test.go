package main

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/dynalite"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
)

// copyTable puts every item of one table into another, as a point-in-time
// or AWS Backup restore makes a table beside the live one.
func copyTable(t *testing.T, from *dynamodb.Client, fromName string, to *dynamodb.Client, toName string) {
	t.Helper()
	p := dynamodb.NewScanPaginator(from, &dynamodb.ScanInput{TableName: aws.String(fromName)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			if _, err := to.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(toName), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sideTables makes an empty pair of tables shaped like the live ones in db
// (another endpoint's, for a restore across regions), deleted at the end.
func sideTables(t *testing.T, db *dynamodb.Client, prefix string) (customers, keys string) {
	t.Helper()
	customers, keys = prefix+"-customers", prefix+"-keys"
	for _, d := range []dynamo.TableDef{dynamo.CustomersTableDef(customers), dynamo.APIKeysTableDef(keys)} {
		if _, err := dynamo.EnsureTable(context.Background(), db, d); err != nil {
			t.Fatal(err)
		}
		name := d.Name
		t.Cleanup(func() {
			_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		})
	}
	return customers, keys
}

func sameItems(t *testing.T, what string, got, want map[string]map[string]types.AttributeValue) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d items, want %d", what, len(got), len(want))
	}
	for pk, item := range want {
		if !reflect.DeepEqual(got[pk], item) {
			t.Errorf("%s: %s differs:\n got %v\nwant %v", what, pk, got[pk], item)
			return
		}
	}
}

// TestRestoreOneClient: after a bad import (records overwritten), an
// erasure and additions, restore --client makes the client's records
// exactly those of the table restored beside the live one, attribute for
// attribute (big numbers, nesting, an attribute another system wrote),
// erasing what was added since with an audit line each; the other client,
// changed since too, keeps its current records; a dry run and a second run
// change nothing.
func TestRestoreOneClient(t *testing.T) {
	tb := useTables(t)
	good := writeLines(t, "good.ndjson", richRecords(60))
	mustRun(t, "import", "--client", "acme", good)
	mustRun(t, "import", "--client", "other", good)
	// An attribute another system wrote, which no import format holds.
	_, err := tb.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(tb.Customers),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "acme#R-00007-ü"}},
		UpdateExpression:          aws.String("SET crm_score = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: "98765432109876543210.5"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	side, _ := sideTables(t, tb.DB, tb.Customers+"-pitr")
	copyTable(t, tb.DB, tb.Customers, tb.DB, side)
	want := clientItems(t, tb, "acme")

	// Yesterday's bad import, an erasure and three new customers.
	bad := richRecords(60)[:20]
	for i := range bad {
		bad[i] = strings.Replace(bad[i], `"first_name":"Zoë`, `"first_name":"WRONG`, 1)
	}
	mustRun(t, "import", "--client", "acme", writeLines(t, "bad.ndjson", bad))
	mustRun(t, "delete", "--client", "acme", "R-00050-ü", "R-00051-ü", "R-00052-ü", "R-00053-ü", "R-00054-ü")
	mustRun(t, "import", "--client", "acme", writeLines(t, "new.ndjson", []string{`{"ccid":"NEW-1"}`, `{"ccid":"NEW-2"}`, `{"ccid":"NEW-3"}`}))
	mustRun(t, "import", "--client", "other", writeLines(t, "other.ndjson", bad))
	otherNow := clientItems(t, tb, "other")
	damaged := clientItems(t, tb, "acme")

	_, msg := mustRun(t, "restore", "--from-table", side, "--client", "acme", "--dry-run")
	if !strings.Contains(msg, "would put back 5, replace 20, erase 3, leave 35 unchanged") {
		t.Errorf("dry run said %q", msg)
	}
	sameItems(t, "after the dry run", clientItems(t, tb, "acme"), damaged)

	_, _, err = cdmctl(t, "", "restore", "--from-table", side, "--client", "acme")
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("23 changes without --yes: %v", err)
	}
	sameItems(t, "after the refusal", clientItems(t, tb, "acme"), damaged)

	_, stderr, err := cdmctl(t, "", "restore", "--from-table", side, "--client", "acme", "--yes")
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "put back 5, replaced 20, erased 3, unchanged 35") {
		t.Errorf("restore said %q", stderr)
	}
	lines := auditLines(t, stderr)
	if len(lines) != 3 {
		t.Errorf("%d audit lines, want one per erased customer (3):\n%s", len(lines), stderr)
	}
	for _, l := range lines {
		if l["client_id"] != "acme" || !strings.HasPrefix(l["ccid"], "NEW-") {
			t.Errorf("audit line %v", l)
		}
	}
	sameItems(t, "acme after restore", clientItems(t, tb, "acme"), want)
	sameItems(t, "other after acme's restore", clientItems(t, tb, "other"), otherNow)

	_, msg = mustRun(t, "restore", "--from-table", side, "--client", "acme")
	if !strings.Contains(msg, "put back 0, replaced 0, erased 0, unchanged 60") {
		t.Errorf("a second restore said %q", msg)
	}
}

// TestRestoreAllClientsAcrossEndpoints: a stack deployed again elsewhere,
// its tables empty, is filled from tables restored on another endpoint (a
// region's DynamoDB): every client's customers attribute for attribute,
// and, the keys table being lost, the keys as the backup held them (only
// with --keys-table-lost, only into an empty table); the API then answers
// with a restored key.
func TestRestoreAllClientsAcrossEndpoints(t *testing.T) {
	old := testenv.NewTables(t) // the lost region's tables
	for _, kv := range old.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	file := writeLines(t, "c.ndjson", richRecords(40))
	mustRun(t, "import", "--client", "acme", file)
	mustRun(t, "import", "--client", "other", file)
	acmeKey, _ := mustRun(t, "keys", "create", "--client", "acme")
	otherKey, _ := mustRun(t, "keys", "create", "--client", "other")
	acmeKey, otherKey = strings.TrimSpace(acmeKey), strings.TrimSpace(otherKey)

	// The copied recovery point, restored in the other region.
	region, err := dynalite.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(region.Stop)
	regionDB := testenv.Client(t, region.Endpoint)
	customers, keys := sideTables(t, regionDB, "restored")
	copyTable(t, old.DB, old.Customers, regionDB, customers)
	copyTable(t, old.DB, old.Keys, regionDB, keys)

	// The new stack: empty tables.
	fresh := useTables(t)
	if _, _, err := cdmctl(t, "", "restore", "--from-table", customers, "--keys-from-table", keys, "--from-endpoint", region.Endpoint, "--all-clients"); err == nil ||
		!strings.Contains(err.Error(), "is empty: if it was lost") {
		t.Errorf("keys into an empty table without --keys-table-lost: %v", err)
	}
	if n := len(clientItems(t, fresh, "acme")); n != 0 {
		t.Errorf("the refused restore wrote %d customers", n)
	}
	_, msg := mustRun(t, "restore", "--from-table", customers, "--keys-from-table", keys, "--from-endpoint", region.Endpoint, "--all-clients", "--keys-table-lost", "--dry-run")
	if !strings.Contains(msg, "would put back 80, replace 0, erase 0, leave 0 unchanged; keys from "+keys+": would put back 2, 0 already here kept") {
		t.Errorf("dry run said %q", msg)
	}
	_, msg = mustRun(t, "restore", "--from-table", customers, "--keys-from-table", keys, "--from-endpoint", region.Endpoint, "--all-clients", "--keys-table-lost")
	if !strings.Contains(msg, "put back 80, replaced 0, erased 0, unchanged 0; keys from "+keys+": put back 2, 0 already here kept") ||
		!strings.Contains(msg, "retire again every key retired since the backup") {
		t.Errorf("restore said %q", msg)
	}
	mustRun(t, "keys", "revoke", "--hash", apikey.HashPrefix(apikey.Hash(otherKey)))
	for _, c := range []string{"acme", "other"} {
		sameItems(t, c, clientItems(t, fresh, c), clientItems(t, old, c))
	}
	if r, err := fresh.Store().APIKey(context.Background(), apikey.Hash(acmeKey)); err != nil || r.ClientID != "acme" || r.Status != "active" {
		t.Errorf("acme's key after restore: %+v, %v", r, err)
	}
	if r, err := fresh.Store().APIKey(context.Background(), apikey.Hash(otherKey)); err != nil || r.Status != "revoked" {
		t.Errorf("the key revoked in the new stack: %+v, %v; want it still revoked", r, err)
	}

	url := startServe(t, &syncBuffer{})
	status, _, body := httpGet(t, "GET", url+"/cdm/client/acme/customer/R-00003-%C3%BC", acmeKey)
	if status != 200 || body["first_name"] != "Zoë 3" {
		t.Errorf("GET with the restored key: %d %v", status, body)
	}
	if _, _, err := cdmctl(t, "", "restore", "--from-table", customers, "--keys-from-table", keys, "--from-endpoint", region.Endpoint, "--all-clients", "--keys-table-lost"); err == nil ||
		!strings.Contains(err.Error(), "holds keys, so it was not lost") {
		t.Errorf("--keys-table-lost into a table with keys: %v", err)
	}
	_, msg = mustRun(t, "restore", "--from-table", customers, "--keys-from-table", keys, "--from-endpoint", region.Endpoint, "--all-clients")
	if !strings.Contains(msg, "put back 0, replaced 0, erased 0, unchanged 80; keys from "+keys+": put back 0, 2 already here kept") {
		t.Errorf("a second restore said %q", msg)
	}
	if r, err := fresh.Store().APIKey(context.Background(), apikey.Hash(otherKey)); err != nil || r.Status != "revoked" {
		t.Errorf("the key revoked after the restore: %+v, %v; want it still revoked", r, err)
	}
}

// TestRestoreRefusals: every bad source or command line is refused, saying
// what is wrong, before anything is written; a source without the client
// index is read whole, and says so.
func TestRestoreRefusals(t *testing.T) {
	tb := useTables(t)
	mustRun(t, "import", "--client", "acme", writeLines(t, "c.ndjson", richRecords(3)))
	ctx := context.Background()
	wrong := tb.Customers + "-wrong"
	if _, err := dynamo.EnsureTable(ctx, tb.DB, dynamo.TableDef{Name: wrong, PartitionKey: "id"}); err != nil {
		t.Fatal(err)
	}
	noIndex := tb.Customers + "-noindex"
	if _, err := dynamo.EnsureTable(ctx, tb.DB, dynamo.TableDef{Name: noIndex, PartitionKey: "pk"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{wrong, noIndex} {
		t.Cleanup(func() { _, _ = tb.DB.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}) })
	}
	before := clientItems(t, tb, "acme")
	for _, c := range []struct {
		args  []string
		usage bool
		says  string
	}{
		{[]string{"--client", "acme"}, true, "needs --from-table"},
		{[]string{"--from-table", noIndex}, true, "exactly one of --client ID and --all-clients"},
		{[]string{"--from-table", noIndex, "--client", "acme", "--all-clients"}, true, "exactly one of"},
		{[]string{"--from-table", noIndex, "--client", "a#b"}, true, "client"},
		{[]string{"--from-table", tb.Customers, "--client", "acme"}, true, "not the live ones"},
		{[]string{"--from-table", "no-such-table", "--client", "acme"}, false, "table no-such-table does not exist"},
		{[]string{"--from-table", wrong, "--client", "acme"}, false, "key schema other than pk"},
		{[]string{"--from-table", noIndex, "--keys-from-table", wrong, "--client", "acme"}, false, "key schema other than key_hash"},
	} {
		_, stderr, err := cdmctl(t, "", append([]string{"restore"}, c.args...)...)
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.says) {
			t.Errorf("restore %v: %v (usage error %v), want one saying %q\n%s", c.args, err, errors.Is(err, errUsage), c.says, stderr)
		}
	}
	sameItems(t, "after the refusals", clientItems(t, tb, "acme"), before)

	// An empty source erases the client's three customers: without --yes
	// that is allowed (3 ≤ 10), and the source without an index is scanned.
	_, msg := mustRun(t, "restore", "--from-table", noIndex, "--client", "acme", "--dry-run")
	if !strings.Contains(msg, "no by-client index: reading the whole table") || !strings.Contains(msg, "would put back 0, replace 0, erase 3") {
		t.Errorf("dry run from a table without the index said %q", msg)
	}
	if n := count(t, tb, "acme"); n != 3 {
		t.Errorf("the dry run changed the table: %d customers", n)
	}
}
