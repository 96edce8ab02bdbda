package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/devkit/samtemplate"
)

var (
	queryField  = regexp.MustCompile(`\b([a-z_]+)\s*!?=`)
	queryClause = regexp.MustCompile(`([a-z_]+)\s*(!=|=)\s*("[^"]*"|[0-9]+)`)
)

// savedQueries returns template.yaml's Logs Insights queries by resource.
func savedQueries(t *testing.T) map[string]string {
	t.Helper()
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range samtemplate.ResourceNames(tmpl) {
		r := samtemplate.Resource(tmpl, name)
		if samtemplate.Get(r, "Type") != "AWS::Logs::QueryDefinition" {
			continue
		}
		groups := samtemplate.Get(r, "Properties", "LogGroupNames")
		if groups == nil {
			t.Errorf("%s names no log group", name)
		}
		if !reflect.DeepEqual(groups, []any{map[string]any{"Ref": "GetCustomerLogGroup"}}) {
			continue // not over the access lines (WAF's log)
		}
		out[name], _ = samtemplate.Get(r, "Properties", "QueryString").(string)
	}
	return out
}

// queryFields lists the fields a query reads from the log lines: those it
// shows, filters on, groups or sorts by, less Logs Insights' own (@...)
// and the names it gives its results.
func queryFields(q string) []string {
	aliases := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bas\s+([a-z_]+)`).FindAllStringSubmatch(q, -1) {
		aliases[m[1]] = true
	}
	var fields []string
	add := func(f string) {
		f = strings.TrimSpace(f)
		if f != "" && !strings.HasPrefix(f, "@") && !aliases[f] && !strings.Contains(f, "(") {
			fields = append(fields, f)
		}
	}
	for _, cmd := range strings.Split(q, "|") {
		cmd = strings.TrimSpace(cmd)
		switch {
		case strings.HasPrefix(cmd, "fields "):
			for _, f := range strings.Split(strings.TrimPrefix(cmd, "fields "), ",") {
				add(f)
			}
		case strings.HasPrefix(cmd, "filter "):
			for _, m := range queryField.FindAllStringSubmatch(cmd, -1) {
				add(m[1])
			}
		case strings.HasPrefix(cmd, "stats "):
			if _, by, ok := strings.Cut(cmd, " by "); ok {
				for _, f := range strings.Split(by, ",") {
					add(strings.Fields(f)[0])
				}
			}
		}
	}
	return fields
}

// matches applies a query's filter (equalities and inequalities joined by
// and) to a line.
func matches(q string, line map[string]any) bool {
	for _, cmd := range strings.Split(q, "|") {
		cmd = strings.TrimSpace(cmd)
		if !strings.HasPrefix(cmd, "filter ") {
			continue
		}
		for _, m := range queryClause.FindAllStringSubmatch(cmd, -1) {
			want := strings.Trim(m[3], `"`)
			got, ok := line[m[1]]
			if !ok {
				return false
			}
			equal := got == want
			if n, isNum := got.(float64); isNum {
				w, err := strconv.ParseFloat(want, 64)
				equal = err == nil && w == n
			}
			if equal != (m[2] == "=") {
				return false
			}
		}
	}
	return true
}

// TestSavedQueriesFindReads runs the requests the queries are about through
// cdmctl serve, which writes the function's access lines, and checks that
// every field each saved query reads is in those lines and that its filter
// finds exactly the requests it is named for.
func TestSavedQueriesFindReads(t *testing.T) {
	useTables(t)
	mustRun(t, "import", "--client", "acme", generate(t, 5, nil))
	mustRun(t, "import", "--client", "other", generate(t, 5, nil))
	key, _ := mustRun(t, "keys", "create", "--client", "acme")
	key = strings.TrimSpace(key)
	var access syncBuffer
	base := startServe(t, &access)
	requests := []struct {
		client, ccid, key string
		status            int
	}{
		{"acme", "GEN-000001", key, 200},
		{"acme", "GEN-000001", key, 200},
		{"acme", "GEN-000002", key, 200},
		{"acme", "GEN-000001", "cdmk_not_a_key_0000000000", 401},
		{"other", "GEN-000001", key, 401},
		{"other", "GEN-000001", key, 401},
		{"acme", "NOPE", key, 404},
	}
	for _, r := range requests {
		if status, _, _ := httpGet(t, "GET", base+"/cdm/client/"+r.client+"/customer/"+r.ccid, r.key); status != r.status {
			t.Fatalf("%+v: status %d", r, status)
		}
	}
	var lines []map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines = nil
		sc := bufio.NewScanner(strings.NewReader(access.String()))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "request" {
				lines = append(lines, m)
			}
		}
		if len(lines) >= len(requests) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) != len(requests) {
		t.Fatalf("%d access lines for %d requests", len(lines), len(requests))
	}
	queries := savedQueries(t)
	if len(queries) != 4 {
		t.Fatalf("%d saved queries, want 4", len(queries))
	}
	for name, q := range queries {
		for _, f := range queryFields(q) {
			if !slicesContainsField(lines, f) {
				t.Errorf("%s reads field %q, which no access line has", name, f)
			}
		}
	}
	prefix := lines[0]["key_hash_prefix"].(string)
	find := func(q string) (n int) {
		for _, l := range lines {
			if matches(q, l) {
				n++
			}
		}
		return n
	}
	if n := find(strings.ReplaceAll(queries["ReadsOfOneCustomerQuery"], "CCID-HERE", "GEN-000001")); n != 5 {
		t.Errorf("reads of GEN-000001: the query finds %d, want 5 (two 200s, three 401s)", n)
	}
	if n := find(strings.ReplaceAll(queries["ReadsByKeyQuery"], "KEYPREFIX", prefix)); n != 6 {
		t.Errorf("reads by key %s: the query finds %d, want 6", prefix, n)
	}
	if n := find(queries["UnauthorizedByClientQuery"]); n != 3 {
		t.Errorf("401s: the query finds %d, want 3", n)
	}
	// keys-in-use groups the lines its filter keeps by key and client; cdmctl
	// keys usage gives the same groups and counts from the same lines.
	groups := map[string]int{}
	for _, l := range lines {
		if matches(queries["KeysInUseQuery"], l) {
			groups[fmt.Sprintf("%v %v", l["key_hash_prefix"], l["client_id"])]++
		}
	}
	if len(groups) != 3 || groups[prefix+" acme"] != 4 || groups[prefix+" other"] != 2 {
		t.Errorf("keys-in-use groups %v; want the key on acme (4), on other (2), the unknown key (1)", groups)
	}
	out, _, err := cdmctl(t, access.String(), "keys", "usage")
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]int{}
	for _, row := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(row)
		n, _ := strconv.Atoi(f[2])
		local[f[0]+" "+f[1]] = n
	}
	if !reflect.DeepEqual(local, groups) {
		t.Errorf("keys usage says %v, the saved query %v\n%s", local, groups, out)
	}
	// The check can fail: a query on a field the lines do not have.
	if f := queryFields(`fields ccid, key_prefix | filter status = 200`); len(f) != 3 || slicesContainsField(lines, "key_prefix") {
		t.Errorf("a misspelt field would pass: %v", f)
	}
}

func slicesContainsField(lines []map[string]any, f string) bool {
	for _, l := range lines {
		if _, ok := l[f]; ok {
			return true
		}
	}
	return false
}
