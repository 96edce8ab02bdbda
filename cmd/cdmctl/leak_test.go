package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// leakRecords are customers whose every stored value but the ccid holds a
// marker that must never appear in an error or a log line.
func leakRecords(t *testing.T, variant string) string {
	t.Helper()
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, `{"ccid":"LEAK-%d","first_name":"Zqfirst%s","last_name":"Zqlast%s","date_of_birth":"1931-02-03","ssn_last4":"9876",`+
			`"addresses":[{"address1":"Zqstreet%s","city":"Zqcity","postal_code":"Zq999"}],`+
			`"notification_channels":[{"channel_type":"sms","channel_addr":"6105559876"}],"ext":{"zqnote":"Zqext%s","zqmail":"zqmail"}}`+"\n",
			i, variant, variant, variant, variant)
	}
	f := filepath.Join(t.TempDir(), "leak.ndjson")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// The SSN is looked for quoted, as a request's JSON holds it: bare, its
// digits can occur in a key's hash prefix or a time.
var leakMarkers = []string{"Zqfirst", "Zqlast", "1931-02-03", `"9876"`, "ssn_last4", "Zqstreet", "Zqcity", "Zq999", "6105559876", "zqmail", "Zqext", "zqnote"}

// TestErrorsCarryNoPatientData: when DynamoDB refuses a request with a
// message that repeats the request (as its ValidationException can), no
// operator command prints a stored value: not in its error, not on
// stderr, not on stdout (but for get and export, whose stdout is the data).
func TestErrorsCarryNoPatientData(t *testing.T) {
	tb := useTables(t)
	src := testenv.NewTables(t)
	live, restored := leakRecords(t, "a"), leakRecords(t, "b")
	proxy, err := faultproxy.Start(tb.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	out := filepath.Join(t.TempDir(), "export.ndjson")
	var hash string
	reset := func() {
		t.Setenv("DYNAMODB_ENDPOINT", tb.Endpoint)
		mustRun(t, "import", "--client", "leakco", "--sync", "--force", live)
		mustRun(t, "import", "--client", "leakco", "--customers-table", src.Customers, restored)
		raw := apikey.Generate()
		tb.PutKey(t, raw, "leakco", nil)
		hash = apikey.HashPrefix(apikey.Hash(raw))
		_ = os.Remove(out)
		t.Setenv("DYNAMODB_ENDPOINT", proxy.URL)
	}
	commands := []func() []string{
		func() []string { return []string{"import", "--client", "leakco", restored} },
		func() []string { return []string{"import", "--client", "leakco", "--sync", "--force", restored} },
		func() []string { return []string{"get", "--client", "leakco", "LEAK-1"} },
		func() []string { return []string{"export", "--client", "leakco", "--out", out} },
		func() []string { return []string{"delete", "--client", "leakco", "--yes", "LEAK-0", "LEAK-1"} },
		func() []string { return []string{"delete", "--client", "leakco", "--yes", "--file", live} },
		func() []string { return []string{"offboard", "--client", "leakco", "--no-export", "--yes"} },
		func() []string {
			return []string{"restore", "--from-table", src.Customers, "--keys-from-table", src.Keys, "--client", "leakco", "--yes"}
		},
		func() []string {
			return []string{"restore", "--from-table", src.Customers, "--all-clients", "--dry-run"}
		},
		func() []string { return []string{"keys", "create", "--client", "leakco"} },
		func() []string { return []string{"keys", "list", "--client", "leakco"} },
		func() []string { return []string{"keys", "revoke", "--hash", hash} },
		func() []string { return []string{"keys", "rotate", "--client", "leakco", "--hash", hash} },
		func() []string { return []string{"keys", "expire", "--hash", hash, "--in", "1h"} },
	}
	failures := 0
	for _, op := range []string{"PutItem", "UpdateItem", "DeleteItem", "GetItem", "BatchWriteItem", "BatchGetItem", "Query", "Scan", "DescribeTable"} {
		for _, cmd := range commands {
			reset()
			args := cmd()
			proxy.Set(faultproxy.Config{Fault: faultproxy.EchoingValidation, Operation: op})
			stdout, stderr, err := cdmctl(t, "", args...)
			proxy.Set(faultproxy.Config{})
			text := stderr
			if err != nil {
				failures++
				text += "\n" + err.Error()
			}
			if args[0] != "get" && args[0] != "export" {
				text += "\n" + stdout
			}
			for _, m := range leakMarkers {
				if strings.Contains(text, m) {
					t.Errorf("%s refused, cdmctl %s printed the stored value %q:\n%s", op, strings.Join(args, " "), m, text)
					break
				}
			}
		}
	}
	// The faults reached the commands: most of them failed.
	if failures < 30 {
		t.Errorf("only %d of the runs failed: the faults did not reach the commands", failures)
	}
}
