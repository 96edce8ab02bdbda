package dynamo_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
)

// slowWriter answers each BatchWriteItem after a random pause, so that
// batches in flight finish out of order.
type slowWriter struct {
	*dynamodb.Client
	mu     sync.Mutex
	stored map[string]bool // by ccid, once the table has the item
}

func (s *slowWriter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond) // #nosec G404 -- test timing
	out, err := s.Client.BatchWriteItem(ctx, in, opts...)
	if err == nil && len(out.UnprocessedItems) == 0 {
		s.mu.Lock()
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				s.stored[r.PutRequest.Item["ccid"].(*types.AttributeValueMemberS).Value] = true
			}
		}
		s.mu.Unlock()
	}
	return out, err
}

// TestWriterThroughIsContiguous: batches finish out of order, yet Through
// only ever reports a ref below which every item is stored, never going
// back, and ends at the last ref with every item counted.
func TestWriterThroughIsContiguous(t *testing.T) {
	tb := testenv.NewTables(t)
	w := &slowWriter{Client: tb.DB, stored: map[string]bool{}}
	var mu sync.Mutex
	lastRef, lastN := 0, 0
	var problems []string
	cs := bench.GeneratedCustomers(1000)
	client := customer.MustParseClientID("w")
	wr := dynamo.NewAdmin(w, tb.Customers, tb.Keys).NewWriter(context.Background(), dynamo.BatchOptions{InFlight: 8,
		Written: func(int) {},
		Through: func(ref, n int) {
			mu.Lock()
			defer mu.Unlock()
			if ref <= lastRef || n <= lastN {
				problems = append(problems, "went back")
			}
			w.mu.Lock()
			for i := 0; 1+3*i <= ref; i++ {
				if !w.stored[*cs[i].CCID] {
					problems = append(problems, "an item below the mark is not stored yet")
					break
				}
			}
			w.mu.Unlock()
			lastRef, lastN = ref, n
		},
	})
	for i, c := range cs {
		ref := 1 + 3*i // refs with gaps, as lines with rejects between
		if err := wr.Put(client, c, ref); err != nil {
			t.Fatal(err)
		}
	}
	written, err := wr.Close()
	if err != nil || written != len(cs) {
		t.Fatalf("written %d: %v", written, err)
	}
	if len(problems) > 0 {
		t.Error(problems[0])
	}
	if lastRef != 1+3*(len(cs)-1) || lastN != len(cs) {
		t.Errorf("Through ended at ref %d (%d items), want %d (%d)", lastRef, lastN, 1+3*(len(cs)-1), len(cs))
	}
}

// TestWriterRate: at 2,000 items a second, 1,000 items take half a second
// or more, however many batches are in flight.
func TestWriterRate(t *testing.T) {
	tb := testenv.NewTables(t)
	start := time.Now()
	wr := tb.Admin().NewWriter(context.Background(), dynamo.BatchOptions{InFlight: 8, Rate: 2000})
	for i, c := range bench.GeneratedCustomers(1000) {
		if err := wr.Put(customer.MustParseClientID("r"), c, i); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := wr.Close(); err != nil || n != 1000 {
		t.Fatalf("%d: %v", n, err)
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("1,000 items at 2,000/s took %v", d)
	}
}
