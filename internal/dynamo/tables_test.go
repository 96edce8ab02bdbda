package dynamo_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/devkit/samtemplate"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// shape is what must agree between template.yaml and the tables that make
// run, the tests and cdmctl create.
type shape struct {
	Attributes map[string]string // name → type
	Keys       map[string]string // name → HASH/RANGE
	Billing    string
	TTL        string
	Indexes    map[string]string // name → "HASH key, RANGE key, projection"
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
	s.Indexes = map[string]string{}
	indexes, _ := samtemplate.Get(props, "GlobalSecondaryIndexes").([]any)
	for _, x := range indexes {
		var keys []string
		for _, k := range samtemplate.Get(x, "KeySchema").([]any) {
			keys = append(keys, fmt.Sprint(samtemplate.Get(k, "KeyType"), " ", samtemplate.Get(k, "AttributeName")))
		}
		s.Indexes[samtemplate.Get(x, "IndexName").(string)] = strings.Join(keys, ", ") + ", " + fmt.Sprint(samtemplate.Get(x, "Projection", "ProjectionType"))
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
	s.Indexes = indexShapes(in.GlobalSecondaryIndexes)
	return s
}

func indexShapes[T types.GlobalSecondaryIndex | types.GlobalSecondaryIndexDescription](xs []T) map[string]string {
	out := map[string]string{}
	for _, x := range xs {
		var name *string
		var keys []types.KeySchemaElement
		var proj *types.Projection
		switch v := any(x).(type) {
		case types.GlobalSecondaryIndex:
			name, keys, proj = v.IndexName, v.KeySchema, v.Projection
		case types.GlobalSecondaryIndexDescription:
			name, keys, proj = v.IndexName, v.KeySchema, v.Projection
		}
		var ks []string
		for _, k := range keys {
			ks = append(ks, string(k.KeyType)+" "+aws.ToString(k.AttributeName))
		}
		out[aws.ToString(name)] = strings.Join(ks, ", ") + ", " + string(proj.ProjectionType)
	}
	return out
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
		got.Indexes = indexShapes(out.Table.GlobalSecondaryIndexes)
		if !reflect.DeepEqual(got.Attributes, want.Attributes) || !reflect.DeepEqual(got.Keys, want.Keys) || !reflect.DeepEqual(got.Indexes, want.Indexes) {
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

// TestEnsureTableRequiresTheIndex: a customers table made before the
// client index is refused with what to do, not used without it.
func TestEnsureTableRequiresTheIndex(t *testing.T) {
	tb := testenv.NewTables(t)
	ctx := context.Background()
	old := dynamo.CustomersTableDef(tb.Customers + "-old")
	old.Index = nil
	if _, err := dynamo.EnsureTable(ctx, tb.DB, old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = tb.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(old.Name)})
	})
	_, err := dynamo.EnsureTable(ctx, tb.DB, dynamo.CustomersTableDef(old.Name))
	if err == nil || !strings.Contains(err.Error(), "no index by-client") {
		t.Fatalf("EnsureTable on a table without the index: %v", err)
	}
}
