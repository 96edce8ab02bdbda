package apigw_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/testenv"
)

// BenchmarkNonIO is a warm request without the network: validate, key check
// from cache, decode the item, encode the body, log the access line.
func BenchmarkNonIO(b *testing.B) {
	for name, c := range map[string]customer.Customer{"example": bench.ExampleCustomer(), "large": bench.LargeCustomer()} {
		b.Run(name, func(b *testing.B) {
			h, err := bench.NonIOHandler(c)
			if err != nil {
				b.Fatal(err)
			}
			ev := bench.Event(c)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if resp, _ := h.Handle(ctx, ev); resp.StatusCode != 200 {
					b.Fatal(resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkWarm compares a warm request through the handler with a bare
// GetItem of the same item, both against the local DynamoDB.
func BenchmarkWarm(b *testing.B) {
	tb := testenv.NewTables(b)
	c := bench.ExampleCustomer()
	ctx := context.Background()
	if err := tb.Admin().PutCustomer(ctx, bench.Client, c); err != nil {
		b.Fatal(err)
	}
	tb.PutKey(b, bench.Key, bench.Client, nil)
	store := tb.Store()
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Hour), slog.New(apigw.NewEMFHandler(io.Discard, nil)), 2*time.Second)
	ev := bench.Event(c)
	b.Run("handler", func(b *testing.B) {
		for b.Loop() {
			if resp, _ := h.Handle(ctx, ev); resp.StatusCode != 200 {
				b.Fatal(resp.StatusCode)
			}
		}
	})
	in := &dynamodb.GetItemInput{TableName: aws.String(tb.Customers), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: dynamo.CustomerKey(bench.Client, *c.CCID)}}}
	b.Run("GetItem", func(b *testing.B) {
		for b.Loop() {
			if _, err := tb.DB.GetItem(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
