package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

// BatchSize is the most items one BatchWriteItem request takes.
const BatchSize = 25

// BatchOptions tune batched writes and reads.
type BatchOptions struct {
	// InFlight bounds concurrent batch requests (default 4).
	InFlight int
	// MaxAttempts bounds the requests per batch while DynamoDB leaves items
	// unprocessed (default 10). Errors are retried by the SDK's retryer
	// alone (awsclient.MaxAttempts per request).
	MaxAttempts int
	// BaseBackoff is the first retry's ceiling; it doubles each attempt
	// (default 50ms, capped at 5s), with full jitter.
	BaseBackoff time.Duration
	// Written, when set, is told how many items each finished batch stored
	// or erased.
	Written func(n int)
	// Erased, when set, is told the CCIDs of each batch erased, as soon as
	// DynamoDB confirms it.
	Erased func(ccids []string)
	// Through, when set, is told the highest ref (see Writer) up to which
	// every item is stored or erased, and how many items that is.
	Through func(ref, n int)
	// Rate caps the items sent a second (0: no cap), so that a load leaves
	// the table's capacity to the live API.
	Rate float64
}

func (o BatchOptions) withDefaults() BatchOptions {
	if o.InFlight <= 0 {
		o.InFlight = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = 50 * time.Millisecond
	}
	return o
}

// BatchError is a batch of customers DynamoDB did not store or erase, by
// CCID, and why.
type BatchError struct {
	CCIDs []string
	Refs  []int // the refs the items were given with (see Writer)
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d customers not written: %v", len(e.CCIDs), e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// PutCustomers stores customers for clientID with BatchWriteItem, 25 a
// request, retrying unprocessed items with exponential backoff and jitter.
// Writing the same customers again leaves the table as it was. It returns
// how many were written and the first error, after which it starts no more
// batches; a batch that failed is a *BatchError naming its customers.
func (a *Admin) PutCustomers(ctx context.Context, clientID customer.ClientID, cs []customer.Customer, o BatchOptions) (int, error) {
	reqs := make([]types.WriteRequest, 0, len(cs))
	for _, c := range cs {
		item, err := CustomerItem(clientID, c)
		if err != nil {
			return 0, err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return a.writeAll(ctx, reqs, o)
}

// writeAll sends reqs through a Writer and returns how many were written
// and the first error, a *BatchError.
func (a *Admin) writeAll(ctx context.Context, reqs []types.WriteRequest, o BatchOptions) (int, error) {
	w := a.NewWriter(ctx, o)
	for i, r := range reqs {
		if w.add(r, i) != nil {
			break
		}
	}
	return w.Close()
}

func (a *Admin) writeBatch(ctx context.Context, batch []types.WriteRequest, o BatchOptions) error {
	pending := map[string][]types.WriteRequest{a.customers: batch}
	return resendUnprocessed(ctx, o, "BatchWriteItem", a.customers, func() (int, error) {
		out, err := a.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return 0, err
		}
		pending = out.UnprocessedItems
		return len(pending[a.customers]), nil
	})
}

// resendUnprocessed calls send, which sends a batch request and returns
// how many of its items DynamoDB left unprocessed, until none are, at most
// o.MaxAttempts times, with backoff between. A failed request is not sent
// again here: the SDK's retryer (awsclient) has retried it already, so a
// batch makes at most o.MaxAttempts requests, each retried by the SDK on
// errors it can retry.
func resendUnprocessed(ctx context.Context, o BatchOptions, op, table string, send func() (left int, err error)) error {
	for attempt := 1; ; attempt++ {
		left, err := send()
		if err != nil {
			return storageError(op, table, err)
		}
		if left == 0 {
			return nil
		}
		if attempt == o.MaxAttempts {
			return fmt.Errorf("dynamodb %s %s: %d items still unprocessed after %d requests", op, table, left, attempt)
		}
		if err := backoff(ctx, o, attempt); err != nil {
			return err
		}
	}
}

// backoff waits before retry attempt+1: full jitter under a ceiling that
// doubles each attempt.
func backoff(ctx context.Context, o BatchOptions, attempt int) error {
	ceiling := min(o.BaseBackoff<<(attempt-1), 5*time.Second)
	select {
	case <-time.After(rand.N(ceiling) + time.Millisecond): // #nosec G404 -- backoff jitter, not a secret
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// batchCCIDs names the customers of a batch: the ccid of each item put, or
// the ccid part of each key erased.
func batchCCIDs(batch []types.WriteRequest) []string {
	ids := make([]string, 0, len(batch))
	for _, w := range batch {
		switch {
		case w.PutRequest != nil:
			if v, ok := w.PutRequest.Item[attrCCID].(*types.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		case w.DeleteRequest != nil:
			if v, ok := w.DeleteRequest.Key[attrPK].(*types.AttributeValueMemberS); ok {
				_, ccid, ok := customer.SplitKey(v.Value)
				if !ok {
					ccid = v.Value
				}
				ids = append(ids, ccid)
			}
		}
	}
	return ids
}
