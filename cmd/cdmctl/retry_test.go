package main

import (
	"strings"
	"testing"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
)

// TestRetryBudgetIsTheDocumentedOne: a throttled DynamoDB is asked exactly
// as often as awsclient.MaxAttempts says, for an import's batch write and
// for the batch reads of export and delete: errors are retried once, by
// the SDK's retryer, never again by a batch loop on top of it.
func TestRetryBudgetIsTheDocumentedOne(t *testing.T) {
	tb := useTables(t)
	proxy, err := faultproxy.Start(tb.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	file := generate(t, 3, nil)
	mustRun(t, "import", "--client", "acme", file)
	t.Setenv("DYNAMODB_ENDPOINT", proxy.URL)
	for _, c := range []struct {
		op   string
		args []string
	}{
		{"BatchWriteItem", []string{"import", "--client", "acme", file}},
		{"BatchGetItem", []string{"export", "--client", "acme", "--out", "-"}},
		{"BatchGetItem", []string{"delete", "--client", "acme", "GEN-000001"}},
	} {
		proxy.Set(faultproxy.Config{Fault: faultproxy.Throttling, Operation: c.op})
		proxy.ResetCounts()
		_, errOut, err := cdmctl(t, "", c.args...)
		if err == nil {
			t.Fatalf("%s succeeded against a DynamoDB that throttles every %s", strings.Join(c.args, " "), c.op)
		}
		_, faulted := proxy.Requests()
		if faulted != awsclient.MaxAttempts {
			t.Errorf("%s: %d throttled %s requests, want awsclient.MaxAttempts = %d\n%s", c.args[0], faulted, c.op, awsclient.MaxAttempts, errOut)
		}
	}
	proxy.Set(faultproxy.Config{})
}
