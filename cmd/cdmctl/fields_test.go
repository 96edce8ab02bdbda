package main

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/customer"
)

// TestEveryFieldRoundTrips fills every field of customer.Customer, found by
// reflection so that a field added later is filled too, and sends the
// record through import, DynamoDB and GET: a codec that drops or alters any
// field fails it.
func TestEveryFieldRoundTrips(t *testing.T) {
	useTables(t)
	var want customer.Customer
	fill(t, reflect.ValueOf(&want).Elem(), "record")
	line, err := customer.EncodeJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "import", "--client", "acme", writeLines(t, "every-field.ndjson", []string{line}))
	key, _ := mustRun(t, "keys", "create", "--client", "acme")
	base := startServe(t, io.Discard)

	req, _ := http.NewRequest(http.MethodGet, base+"/cdm/client/acme/customer/"+*want.CCID, nil)
	req.Header.Set(apigw.APIKeyHeader, strings.TrimSpace(key))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	got, err := customer.ParseRecord(body)
	if err != nil {
		t.Fatalf("GET body does not parse as a record: %v\n%s", err, body)
	}
	for _, diff := range differences(reflect.ValueOf(want), reflect.ValueOf(got), "record") {
		t.Errorf("lost or altered on the way: %s", diff)
	}
}

// candidates are values tried for a string field, after one named for it,
// until one meets its documented rule and is not used by another field of
// the same struct.
var candidates = []string{"1990-02-03", "1234", "M", "PA", "US", "sms", "written", "5551234567", "express"}

// fill sets every field of the struct v: strings to values their rules
// accept, lists to two elements, ext to a nested object. A field of a kind
// it does not know fails the test, so that a new kind of field is noticed.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	used := map[string]bool{}
	for i := range v.NumField() {
		sf, fv := v.Type().Field(i), v.Field(i)
		name := path + "." + sf.Name
		switch {
		case sf.Type == reflect.TypeFor[*string]():
			s := valueFor(v.Type(), sf, used)
			used[s] = true
			fv.Set(reflect.ValueOf(&s))
		case sf.Type == reflect.TypeFor[customer.Object]():
			fv.Set(reflect.ValueOf(customer.MustObject(map[string]any{"plan": "gold", "tier": map[string]any{"n": "12345678901234567890"}})))
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct:
			s := reflect.MakeSlice(sf.Type, 2, 2)
			for j := range 2 {
				fill(t, s.Index(j), fmt.Sprintf("%s[%d]", name, j))
			}
			fv.Set(s)
		default:
			t.Fatalf("%s: a field of type %s, which this test does not fill yet", name, sf.Type)
		}
	}
}

// valueFor returns a value for a string field that its rule in the field
// table accepts; a field missing from the table gets one named after it.
func valueFor(typ reflect.Type, sf reflect.StructField, used map[string]bool) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	var problem func(*string) string
	switch typ {
	case reflect.TypeFor[customer.Customer]():
		problem = ruleOf(customer.Fields(), name)
	case reflect.TypeFor[customer.Address]():
		problem = ruleOf(customer.AddressFields(), name)
	case reflect.TypeFor[customer.NotificationChannel]():
		problem = ruleOf(customer.ChannelFields(), name)
	}
	for _, c := range append([]string{"v-" + sf.Name}, candidates...) {
		if !used[c] && (problem == nil || problem(&c) == "") {
			return c
		}
	}
	return "v-" + sf.Name
}

func ruleOf[T any](fields []customer.Field[T], name string) func(*string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Rule.Problem
		}
	}
	return nil
}

// differences names each field whose value differs between a and b.
func differences(a, b reflect.Value, path string) []string {
	if a.Kind() == reflect.Struct {
		var out []string
		for i := range a.NumField() {
			out = append(out, differences(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)...)
		}
		return out
	}
	if a.Kind() == reflect.Slice && a.Type().Elem().Kind() == reflect.Struct {
		if a.Len() != b.Len() {
			return []string{fmt.Sprintf("%s: %d elements, got %d", path, a.Len(), b.Len())}
		}
		var out []string
		for i := range a.Len() {
			out = append(out, differences(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return []string{fmt.Sprintf("%s: sent %s, got %s", path, show(a), show(b))}
	}
	return nil
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "nothing"
		}
		return fmt.Sprintf("%q", v.Elem().Interface())
	}
	return fmt.Sprintf("%v", v.Interface())
}
