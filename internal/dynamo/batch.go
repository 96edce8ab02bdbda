package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

// BatchSize is the most items one BatchWriteItem request takes.
const BatchSize = 25

// BatchOptions tune PutCustomers.
type BatchOptions struct {
	// InFlight bounds concurrent BatchWriteItem requests (default 4).
	InFlight int
	// MaxAttempts bounds the requests per batch while DynamoDB leaves items
	// unprocessed (default 10).
	MaxAttempts int
	// BaseBackoff is the first retry's ceiling; it doubles each attempt
	// (default 50ms, capped at 5s), with full jitter.
	BaseBackoff time.Duration
	// Written, when set, is told how many items each finished batch stored.
	Written func(n int)
}

// BatchError is a batch of customers DynamoDB did not store, by CCID, and why.
type BatchError struct {
	CCIDs []string
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d customers not stored: %v", len(e.CCIDs), e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// PutCustomers stores customers for clientID with BatchWriteItem, 25 a
// request, retrying unprocessed items with exponential backoff and jitter.
// Writing the same customers again leaves the table as it was. It returns
// how many were written and the first error, after which it starts no more
// batches; a batch that failed is a *BatchError naming its customers.
func (a *Admin) PutCustomers(ctx context.Context, clientID string, cs []customer.Customer, o BatchOptions) (int, error) {
	if o.InFlight <= 0 {
		o.InFlight = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 50 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	batches := make(chan []types.WriteRequest)
	var (
		mu       sync.Mutex
		written  int
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for range o.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if err := a.writeBatch(ctx, batch, o); err != nil {
					fail(&BatchError{CCIDs: batchCCIDs(batch), Err: err})
					continue
				}
				mu.Lock()
				written += len(batch)
				mu.Unlock()
				if o.Written != nil {
					o.Written(len(batch))
				}
			}
		}()
	}
	var batch []types.WriteRequest
	send := func() bool {
		select {
		case batches <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, c := range cs {
		item, err := CustomerItem(clientID, c)
		if err != nil {
			fail(err)
			break
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == BatchSize && !send() {
			break
		}
	}
	if len(batch) > 0 && ctx.Err() == nil {
		send()
	}
	close(batches)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return written, firstErr
}

func (a *Admin) writeBatch(ctx context.Context, batch []types.WriteRequest, o BatchOptions) error {
	pending := map[string][]types.WriteRequest{a.customers: batch}
	for attempt := 1; ; attempt++ {
		out, err := a.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		pending = out.UnprocessedItems
		if len(pending[a.customers]) == 0 {
			return nil
		}
		if attempt == o.MaxAttempts {
			return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(pending[a.customers]), attempt)
		}
		ceiling := min(o.BaseBackoff<<(attempt-1), 5*time.Second)
		select {
		case <-time.After(rand.N(ceiling) + time.Millisecond): // #nosec G404 -- backoff jitter, not a secret
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func batchCCIDs(batch []types.WriteRequest) []string {
	ids := make([]string, 0, len(batch))
	for _, w := range batch {
		if v, ok := w.PutRequest.Item["ccid"].(*types.AttributeValueMemberS); ok {
			ids = append(ids, v.Value)
		}
	}
	return ids
}
