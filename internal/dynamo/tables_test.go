package dynamo_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/samtemplate"
	"github.com/cdm/customer-api/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// shape is what must agree between template.yaml and the tables that make
// run, the tests and cdmctl create.
type shape struct {
	Attributes map[string]string // name → type
	Keys       map[string]string // name → HASH/RANGE
	Billing    string
	TTL        string
}

func templateShape(t *testing.T, resource string) shape {
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	props := samtemplate.Get(samtemplate.Resource(tmpl, resource), "Properties")
	s := shape{Attributes: map[string]string{}, Keys: map[string]string{}}
	for _, a := range samtemplate.Get(props, "AttributeDefinitions").([]any) {
		s.Attributes[samtemplate.Get(a, "AttributeName").(string)] = samtemplate.Get(a, "AttributeType").(string)
	}
	for _, k := range samtemplate.Get(props, "KeySchema").([]any) {
		s.Keys[samtemplate.Get(k, "AttributeName").(string)] = samtemplate.Get(k, "KeyType").(string)
	}
	s.Billing, _ = samtemplate.Get(props, "BillingMode").(string)
	if on, _ := samtemplate.Get(props, "TimeToLiveSpecification", "Enabled").(bool); on {
		s.TTL, _ = samtemplate.Get(props, "TimeToLiveSpecification", "AttributeName").(string)
	}
	return s
}

func localShape(d dynamo.TableDef) shape {
	in := d.CreateTableInput()
	s := shape{Attributes: map[string]string{}, Keys: map[string]string{}, Billing: string(in.BillingMode), TTL: d.TTLAttribute}
	for _, a := range in.AttributeDefinitions {
		s.Attributes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	for _, k := range in.KeySchema {
		s.Keys[aws.ToString(k.AttributeName)] = string(k.KeyType)
	}
	return s
}

func TestLocalTablesMatchTemplate(t *testing.T) {
	for resource, def := range map[string]dynamo.TableDef{
		"CustomersTable": dynamo.CustomersTableDef("x"),
		"ApiKeysTable":   dynamo.APIKeysTableDef("x"),
	} {
		if got, want := localShape(def), templateShape(t, resource); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: local %+v, template %+v", resource, got, want)
		}
	}
}

// TestCreatedTablesMatchTemplate checks the tables as the local DynamoDB
// describes them after EnsureTable, not only the request that made them.
func TestCreatedTablesMatchTemplate(t *testing.T) {
	tb := testenv.NewTables(t)
	for resource, name := range map[string]string{"CustomersTable": tb.Customers, "ApiKeysTable": tb.Keys} {
		out, err := tb.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		want := templateShape(t, resource)
		got := shape{Attributes: map[string]string{}, Keys: map[string]string{}}
		for _, a := range out.Table.AttributeDefinitions {
			got.Attributes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
		}
		for _, k := range out.Table.KeySchema {
			got.Keys[aws.ToString(k.AttributeName)] = string(k.KeyType)
		}
		if !reflect.DeepEqual(got.Attributes, want.Attributes) || !reflect.DeepEqual(got.Keys, want.Keys) {
			t.Errorf("%s: created %+v, template %+v", resource, got, want)
		}
		if s := out.Table.BillingModeSummary; s != nil && string(s.BillingMode) != want.Billing {
			t.Errorf("%s: billing %s, template %s", resource, s.BillingMode, want.Billing)
		}
	}
}

func TestEnsureTableIsIdempotentAndChecksKeys(t *testing.T) {
	tb := testenv.NewTables(t)
	res, err := dynamo.EnsureTable(context.Background(), tb.DB, dynamo.CustomersTableDef(tb.Customers))
	if err != nil || res.Created {
		t.Fatalf("second EnsureTable: %+v %v", res, err)
	}
	// A table of that name with another key is an error, not silently used.
	if _, err := dynamo.EnsureTable(context.Background(), tb.DB, dynamo.APIKeysTableDef(tb.Customers)); err == nil {
		t.Error("EnsureTable accepted a table with another key schema")
	}
}
