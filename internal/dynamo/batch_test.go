package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
)

// BenchmarkImport writes 10,000 customers with PutCustomers into the local
// DynamoDB and reports records/s.
func BenchmarkImport(b *testing.B) {
	tb := testenv.NewTables(b)
	cs := bench.GeneratedCustomers(10000)
	admin := tb.Admin()
	start := time.Now()
	n := 0
	for b.Loop() {
		written, err := admin.PutCustomers(context.Background(), customer.MustParseClientID(bench.Client), cs, dynamo.BatchOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n += written
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
}

// flakyWriter leaves half of each batch unprocessed the first two times.
type flakyWriter struct {
	*dynamodb.Client
	calls int
}

func (f *flakyWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.calls++
	if f.calls <= 2 {
		for table, reqs := range in.RequestItems {
			half := len(reqs) / 2
			out, err := f.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs[:half]}}, opts...)
			if err != nil {
				return out, err
			}
			return &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{table: reqs[half:]}}, nil
		}
	}
	return f.Client.BatchWriteItem(ctx, in, opts...)
}

func TestPutCustomersRetriesUnprocessedItems(t *testing.T) {
	tb := testenv.NewTables(t)
	w := &flakyWriter{Client: tb.DB}
	cs := bench.GeneratedCustomers(20)
	written, err := dynamo.NewAdmin(w, tb.Customers, tb.Keys).PutCustomers(context.Background(), customer.MustParseClientID("c"), cs, dynamo.BatchOptions{InFlight: 1, BaseBackoff: time.Millisecond})
	if err != nil || written != 20 {
		t.Fatalf("written %d: %v", written, err)
	}
	out, err := tb.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tb.Customers), Select: types.SelectCount})
	if err != nil || out.Count != 20 {
		t.Fatalf("%d items stored: %v", out.Count, err)
	}
	if w.calls < 3 {
		t.Errorf("%d BatchWriteItem calls; unprocessed items were not retried", w.calls)
	}
}

func TestPutCustomersGivesUpAfterMaxAttempts(t *testing.T) {
	tb := testenv.NewTables(t)
	w := &flakyWriter{Client: tb.DB, calls: -100} // always leaves half unprocessed
	_, err := dynamo.NewAdmin(w, tb.Customers, tb.Keys).PutCustomers(context.Background(), customer.MustParseClientID("c"), bench.GeneratedCustomers(4), dynamo.BatchOptions{MaxAttempts: 3, BaseBackoff: time.Millisecond})
	if err == nil {
		t.Fatal("no error though items stayed unprocessed")
	}
}
