package main

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// randomValue returns a random attribute value of any type DynamoDB
// stores, nested up to depth.
func randomValue(r *rand.Rand, depth int) types.AttributeValue {
	num := func() string {
		switch r.IntN(4) {
		case 0:
			return strconv.Itoa(r.IntN(2000) - 1000)
		case 1:
			return fmt.Sprintf("%d.%d", r.IntN(100), r.IntN(100))
		case 2:
			return fmt.Sprintf("%de%d", 1+r.IntN(9), r.IntN(20)-10)
		}
		return "12345678901234567890123456789012345678"
	}
	kinds := 10
	if depth <= 0 {
		kinds = 8
	}
	switch r.IntN(kinds) {
	case 0:
		return &types.AttributeValueMemberS{Value: fmt.Sprintf("s%d #ü", r.IntN(50))}
	case 1:
		return &types.AttributeValueMemberN{Value: num()}
	case 2:
		return &types.AttributeValueMemberB{Value: []byte{byte(r.IntN(256)), 0, 7}}
	case 3:
		return &types.AttributeValueMemberBOOL{Value: r.IntN(2) == 0}
	case 4:
		return &types.AttributeValueMemberNULL{Value: true}
	case 5:
		return &types.AttributeValueMemberSS{Value: []string{"b", "a", fmt.Sprint(r.IntN(9))}}
	case 6:
		// num never writes a negative fraction, so the two never equal.
		return &types.AttributeValueMemberNS{Value: []string{num(), "-0.5"}}
	case 7:
		return &types.AttributeValueMemberBS{Value: [][]byte{{1, 2}, {byte(3 + r.IntN(9))}}}
	case 8:
		return &types.AttributeValueMemberL{Value: []types.AttributeValue{randomValue(r, depth-1), randomValue(r, depth-1)}}
	}
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": randomValue(r, depth-1), "j": randomValue(r, depth-1)}}
}

// randomItem is an item under pk: a customer's (client_id and ccid from
// the pk) when the pk has a #, else one another system wrote.
func randomItem(r *rand.Rand, pk string) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}}
	if c, id, ok := strings.Cut(pk, "#"); ok {
		item["client_id"] = &types.AttributeValueMemberS{Value: c}
		item["ccid"] = &types.AttributeValueMemberS{Value: id}
	}
	for i := range 1 + r.IntN(4) {
		item[fmt.Sprintf("a%d", i)] = randomValue(r, 2)
	}
	return item
}

// rewritten returns an item (as a map value) equal to item as DynamoDB
// compares: every set in reverse order, every number with a trailing 0
// after a decimal point.
func rewritten(v any) types.AttributeValue {
	num := func(n string) string {
		if strings.ContainsAny(n, "eE") {
			return n
		}
		if !strings.Contains(n, ".") {
			return n + ".0"
		}
		return n + "0"
	}
	switch x := v.(type) {
	case map[string]types.AttributeValue:
		m := map[string]types.AttributeValue{}
		for k, e := range x {
			m[k] = rewritten(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	case *types.AttributeValueMemberM:
		return rewritten(x.Value)
	case *types.AttributeValueMemberL:
		l := make([]types.AttributeValue, len(x.Value))
		for i, e := range x.Value {
			l[i] = rewritten(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberN:
		return &types.AttributeValueMemberN{Value: num(x.Value)}
	case *types.AttributeValueMemberNS:
		var ns []string
		for _, n := range slices.Backward(x.Value) {
			ns = append(ns, num(n))
		}
		return &types.AttributeValueMemberNS{Value: ns}
	case *types.AttributeValueMemberSS:
		ss := slices.Clone(x.Value)
		slices.Reverse(ss)
		return &types.AttributeValueMemberSS{Value: ss}
	case *types.AttributeValueMemberBS:
		b := slices.Clone(x.Value)
		slices.Reverse(b)
		return &types.AttributeValueMemberBS{Value: b}
	}
	return v.(types.AttributeValue)
}

// canonical writes a value so that two values DynamoDB holds equal (numbers
// by value, sets in any order) are written the same.
func canonical(v types.AttributeValue) string {
	num := func(s string) string {
		x, ok := new(big.Rat).SetString(s)
		if !ok {
			return "bad:" + s
		}
		return x.RatString()
	}
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return "S" + strconv.Quote(x.Value)
	case *types.AttributeValueMemberN:
		return "N" + num(x.Value)
	case *types.AttributeValueMemberB:
		return "B" + fmt.Sprint(x.Value)
	case *types.AttributeValueMemberBOOL:
		return "BOOL" + strconv.FormatBool(x.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		return "SS" + fmt.Sprint(slices.Sorted(slices.Values(x.Value)))
	case *types.AttributeValueMemberNS:
		var s []string
		for _, n := range x.Value {
			s = append(s, num(n))
		}
		slices.Sort(s)
		return "NS" + fmt.Sprint(s)
	case *types.AttributeValueMemberBS:
		var s []string
		for _, b := range x.Value {
			s = append(s, fmt.Sprint(b))
		}
		slices.Sort(s)
		return "BS" + fmt.Sprint(s)
	case *types.AttributeValueMemberL:
		var s []string
		for _, e := range x.Value {
			s = append(s, canonical(e))
		}
		return "L" + fmt.Sprint(s)
	case *types.AttributeValueMemberM:
		return "M" + canonicalItem(x.Value)
	}
	return fmt.Sprintf("?%T", v)
}

func canonicalItem(item map[string]types.AttributeValue) string {
	var s []string
	for _, k := range slices.Sorted(maps.Keys(item)) {
		s = append(s, k+"="+canonical(item[k]))
	}
	return "{" + strings.Join(s, ",") + "}"
}

// tableItems reads every item of a table, canonical, by pk.
func tableItems(t *testing.T, db *dynamodb.Client, table string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			out[item["pk"].(*types.AttributeValueMemberS).Value] = canonicalItem(item)
		}
	}
	return out
}

func putItems(t *testing.T, db *dynamodb.Client, table string, items []map[string]types.AttributeValue) {
	t.Helper()
	for _, item := range items {
		if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatalf("put %v: %v", item["pk"], err)
		}
	}
}

var restoreCounts = regexp.MustCompile(`put back (\d+), replaced (\d+), erased (\d+), unchanged (\d+)`)

// TestRestoreProperties: over random live and restored tables (every
// attribute type, three clients, ccids with #, pks without #), a restore of
// one client or of all makes the live items in its scope equal to the
// restored ones, attribute for attribute, leaves the rest alone, reports
// exactly what changed, and a second run changes nothing.
func TestRestoreProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 29))
	for trial := range 8 {
		tb := useTables(t)
		src := testenv.NewTables(t)
		clients := []string{"acme", "b-2", "c_3"}
		var pks []string
		for i := range 30 {
			c := clients[r.IntN(len(clients))]
			switch r.IntN(6) {
			case 0:
				pks = append(pks, fmt.Sprintf("%s#X#%d", c, i)) // # inside the ccid
			case 1:
				pks = append(pks, fmt.Sprintf("loose-%d", i)) // no #
			default:
				pks = append(pks, fmt.Sprintf("%s#C-%d", c, i))
			}
		}
		var live, restored []map[string]types.AttributeValue
		for _, pk := range pks {
			item := randomItem(r, pk)
			switch r.IntN(5) {
			case 0: // erased since
				restored = append(restored, item)
			case 1: // added since
				live = append(live, item)
			case 2: // changed since
				restored = append(restored, item)
				live = append(live, randomItem(r, pk))
			default: // the same, sets in another order, numbers written another way
				restored = append(restored, item)
				live = append(live, rewritten(item).(*types.AttributeValueMemberM).Value)
			}
		}
		putItems(t, tb.DB, tb.Customers, live)
		putItems(t, src.DB, src.Customers, restored)
		before, want := tableItems(t, tb.DB, tb.Customers), tableItems(t, src.DB, src.Customers)

		scope, args := "", []string{"--all-clients"}
		if trial%2 == 0 {
			scope = clients[trial%3]
			args = []string{"--client", scope}
		}
		in := func(pk string) bool { return scope == "" || strings.HasPrefix(pk, scope+"#") }
		var exp [4]int // put back, replaced, erased, unchanged
		for pk, w := range want {
			switch b, ok := before[pk]; {
			case !in(pk):
			case !ok:
				exp[0]++
			case b != w:
				exp[1]++
			default:
				exp[3]++
			}
		}
		for pk := range before {
			if _, ok := want[pk]; !ok && in(pk) {
				exp[2]++
			}
		}
		_, msg := mustRun(t, append([]string{"restore", "--from-table", src.Customers, "--yes"}, args...)...)
		got := restoreCounts.FindStringSubmatch(msg)
		if got == nil || fmt.Sprint(got[1:]) != fmt.Sprint([]string{strconv.Itoa(exp[0]), strconv.Itoa(exp[1]), strconv.Itoa(exp[2]), strconv.Itoa(exp[3])}) {
			t.Errorf("trial %d (%v): restore said %q, want counts %v", trial, args, msg, exp)
		}
		after := tableItems(t, tb.DB, tb.Customers)
		for pk := range merge(before, want) {
			switch {
			case in(pk) && after[pk] != want[pk]:
				t.Errorf("trial %d (%v): %s is %s, want the restored %s", trial, args, pk, after[pk], want[pk])
			case !in(pk) && after[pk] != before[pk]:
				t.Errorf("trial %d (%v): %s, out of scope, changed from %s to %s", trial, args, pk, before[pk], after[pk])
			}
		}
		_, msg = mustRun(t, append([]string{"restore", "--from-table", src.Customers, "--yes"}, args...)...)
		if !strings.Contains(msg, "put back 0, replaced 0, erased 0,") {
			t.Errorf("trial %d (%v): a second restore said %q", trial, args, msg)
		}
	}
}

func merge(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// TestRestoreRefusesCorruptItems: a restored item whose pk disagrees with
// its ccid or client_id stops the restore by table and pk, with nothing
// written, for one client and for all.
func TestRestoreRefusesCorruptItems(t *testing.T) {
	tb := useTables(t)
	src := testenv.NewTables(t)
	r := rand.New(rand.NewPCG(1, 2))
	var items []map[string]types.AttributeValue
	for i := range 40 {
		items = append(items, randomItem(r, fmt.Sprintf("acme#C-%02d", i)))
	}
	putItems(t, src.DB, src.Customers, items)
	for _, corrupt := range []map[string]types.AttributeValue{
		{"pk": &types.AttributeValueMemberS{Value: "acme#C-99"}, "client_id": &types.AttributeValueMemberS{Value: "acme"}, "ccid": &types.AttributeValueMemberS{Value: "C-98"}},
		{"pk": &types.AttributeValueMemberS{Value: "other#C-99"}, "client_id": &types.AttributeValueMemberS{Value: "acme"}, "ccid": &types.AttributeValueMemberS{Value: "C-99"}},
	} {
		putItems(t, src.DB, src.Customers, []map[string]types.AttributeValue{corrupt})
		pk := corrupt["pk"].(*types.AttributeValueMemberS).Value
		for _, scope := range [][]string{{"--client", "acme"}, {"--all-clients"}} {
			_, _, err := cdmctl(t, "", append([]string{"restore", "--from-table", src.Customers, "--yes"}, scope...)...)
			if err == nil || !strings.Contains(err.Error(), src.Customers) || !strings.Contains(err.Error(), strconv.Quote(pk)) || !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("restore %v with corrupt item %s: %v", scope, pk, err)
			}
			if n := len(tableItems(t, tb.DB, tb.Customers)); n != 0 {
				t.Fatalf("restore %v wrote %d items before refusing", scope, n)
			}
		}
		_, _ = src.DB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(src.Customers), Key: map[string]types.AttributeValue{"pk": corrupt["pk"]}})
	}
}

// TestRetiredKeyStaysRetiredThroughRestore: a key retired after a backup
// (revoked, rotated out, expired), whose live item is then deleted as a
// TTL would delete it, does not work after any restore of that backup.
func TestRetiredKeyStaysRetiredThroughRestore(t *testing.T) {
	tb := useTables(t)
	backup := testenv.NewTables(t)
	raws := map[string]string{"revoked": apikey.Generate(), "rotated": apikey.Generate(), "expired": apikey.Generate()}
	for _, raw := range raws {
		tb.PutKey(t, raw, "acme", nil)
	}
	mustRun(t, "import", "--client", "acme", writeLines(t, "c.ndjson", richRecords(3)))
	copyTable(t, tb.DB, tb.Keys, backup.DB, backup.Keys)
	copyTable(t, tb.DB, tb.Customers, backup.DB, backup.Customers)

	mustRunIn(t, raws["revoked"]+"\n", "keys", "revoke", "-")
	mustRunIn(t, raws["rotated"]+"\n", "keys", "rotate", "--client", "acme", "--overlap", "0s", "-")
	mustRunIn(t, raws["expired"]+"\n", "keys", "expire", "--in", "0s", "-")
	authorized := func(raw string) bool {
		r, err := tb.Store().APIKey(context.Background(), apikey.Hash(raw))
		return err == nil && r.Allows(customer.MustParseClientID("acme"), time.Now())
	}
	for what, raw := range raws {
		if authorized(raw) {
			t.Fatalf("the %s key still works before any restore", what)
		}
		// As a TTL on the key's end would.
		if _, err := tb.DB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(tb.Keys),
			Key: map[string]types.AttributeValue{"key_hash": &types.AttributeValueMemberS{Value: apikey.Hash(raw)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, scope := range [][]string{{"--client", "acme"}, {"--all-clients"}} {
		_, msg := mustRun(t, append([]string{"restore", "--from-table", backup.Customers, "--keys-from-table", backup.Keys, "--yes"}, scope...)...)
		for what, raw := range raws {
			if authorized(raw) {
				t.Errorf("restore %v: the %s key works again\n%s", scope, what, msg)
			}
		}
		if !strings.Contains(msg, "not put back") {
			t.Errorf("restore %v does not say the missing keys were not put back: %s", scope, msg)
		}
	}
}

// TestRestoreKilledAndRunAgain: a restore killed (SIGKILL) while it writes,
// run again, ends where an uninterrupted one would, and a third run changes
// nothing.
func TestRestoreKilledAndRunAgain(t *testing.T) {
	tb := useTables(t)
	src := testenv.NewTables(t)
	r := rand.New(rand.NewPCG(3, 4))
	var live, restored []map[string]types.AttributeValue
	for i := range 400 {
		pk := fmt.Sprintf("acme#K-%03d", i)
		switch i % 3 {
		case 0:
			restored = append(restored, randomItem(r, pk))
		case 1:
			live = append(live, randomItem(r, pk))
		default:
			restored = append(restored, randomItem(r, pk))
			live = append(live, randomItem(r, pk))
		}
	}
	putItems(t, tb.DB, tb.Customers, live)
	putItems(t, src.DB, src.Customers, restored)
	want := tableItems(t, src.DB, src.Customers)

	bin := buildCdmctl(t)
	// Slow writes, so that the kill lands between batches.
	proxy := useProxy(t, tb)
	proxy.Set(faultproxy.Config{Fault: faultproxy.Delay, Delay: 100 * time.Millisecond, Operation: "BatchWriteItem"})
	cmd := exec.Command(bin, "restore", "--from-table", src.Customers, "--client", "acme", "--yes") // #nosec G204 -- the binary this test built
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		n := 0
		for _, req := range proxy.Seen() {
			if req.Operation == "BatchWriteItem" {
				n++
			}
		}
		return n
	}
	for end := time.Now().Add(30 * time.Second); writes() < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the restore made no writes within 30 s")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	proxy.Set(faultproxy.Config{})
	if got := tableItems(t, tb.DB, tb.Customers); fmt.Sprint(got) == fmt.Sprint(want) {
		t.Fatal("the restore had finished before it was killed; the test proves nothing")
	}
	mustRun(t, "restore", "--from-table", src.Customers, "--client", "acme", "--yes")
	if got := tableItems(t, tb.DB, tb.Customers); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after the killed restore and a rerun, the live table differs from the restored one (%d items, want %d)", len(got), len(want))
	}
	_, msg := mustRun(t, "restore", "--from-table", src.Customers, "--client", "acme", "--yes")
	if !strings.Contains(msg, "put back 0, replaced 0, erased 0,") {
		t.Errorf("a third run said %q", msg)
	}
}
