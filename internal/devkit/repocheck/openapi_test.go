package repocheck

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	customerapi "github.com/cdm/customer-api"
	"github.com/cdm/customer-api/internal/customer"
	"slices"
)

// TestOpenAPIParametersMatchServer: for identifiers at and around every
// limit, openapi.yaml's parameter schemas (with their x-max-bytes byte
// bound) accept exactly what the server accepts, so that a client or a
// generated request that follows the document is never refused.
func TestOpenAPIParametersMatchServer(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(customerapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/cdm/client/{client_id}/customer/{ccid}").Get
	candidates := []string{"", "a", "BAK-11984-007", strings.Repeat("a", 100), strings.Repeat("a", 101),
		strings.Repeat("é", 50), strings.Repeat("é", 51), strings.Repeat("😀", 25), strings.Repeat("😀", 26),
		"a\tb", "a\x00b", "a\x7fb", "a\u0085b", "a\u009fb", "a\u00a0b", "a#b", "#", "a b", "ü/ß", "日本"}
	for _, c := range []struct {
		param  string
		server func(string) error
	}{
		{"client_id", func(s string) error { _, err := customer.ParseClientID(s); return err }},
		{"ccid", customer.ValidateCCID},
	} {
		p := op.Parameters.GetByInAndName("path", c.param)
		if p == nil || p.Schema == nil || p.Schema.Value == nil {
			t.Fatalf("openapi.yaml has no schema for %s", c.param)
		}
		if p.Example == nil {
			t.Errorf("%s has no example (contract-test tools need one)", c.param)
		}
		for _, v := range candidates {
			if spec, server := documentedValid(p.Schema.Value, v), c.server(v) == nil; spec != server {
				t.Errorf("%s %q: openapi.yaml says valid=%v, the server says valid=%v", c.param, v, spec, server)
			}
		}
	}
}

// documentedValid is what a client that follows openapi.yaml decides: the
// schema, and the byte bound JSON Schema cannot state.
func documentedValid(s *openapi3.Schema, v string) bool {
	if s.VisitJSON(v) != nil {
		return false
	}
	maxBytes, ok := s.Extensions["x-max-bytes"].(float64)
	return ok && len(v) <= int(maxBytes)
}

// TestOpenAPIDocumentsEveryField: the properties of openapi.yaml's
// Customer, Address and NotificationChannel are the field table's names,
// so a field added in internal/customer is not served undocumented (the
// schemas forbid other properties), nor one documented but never served.
func TestOpenAPIDocumentsEveryField(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(customerapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	names := func(fields []string, more ...string) []string { return append(fields, more...) }
	for _, c := range []struct {
		schema string
		want   []string
	}{
		{"Customer", names(fieldNames(customer.Fields()), customer.NameAddresses, customer.NameNotificationChannels, customer.NameExt)},
		{"Address", fieldNames(customer.AddressFields())},
		{"NotificationChannel", fieldNames(customer.ChannelFields())},
	} {
		s := doc.Components.Schemas[c.schema]
		if s == nil || s.Value == nil {
			t.Fatalf("openapi.yaml has no schema %s", c.schema)
		}
		var have []string
		for name := range s.Value.Properties {
			have = append(have, name)
		}
		slices.Sort(have)
		slices.Sort(c.want)
		if !slices.Equal(have, c.want) {
			t.Errorf("openapi.yaml's %s has %v; the field table serves %v", c.schema, have, c.want)
		}
	}
}

func fieldNames[T any](fields []customer.Field[T]) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f.Name)
	}
	return out
}
