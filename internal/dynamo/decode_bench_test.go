package dynamo_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

type oneItem map[string]types.AttributeValue

func (o oneItem) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: o}, nil
}

// BenchmarkDecodeLarge reads the large benchmark customer from memory: the
// store's decoding alone.
func BenchmarkDecodeLarge(b *testing.B) {
	c := bench.LargeCustomer()
	item, err := dynamo.CustomerItem(customer.MustParseClientID("c"), c)
	if err != nil {
		b.Fatal(err)
	}
	store := dynamo.NewStore(oneItem(item), "t", "k")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Customer(ctx, customer.MustParseClientID("c"), *c.CCID); err != nil {
			b.Fatal(err)
		}
	}
}
