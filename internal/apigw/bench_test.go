package apigw_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
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
			ev := bench.Payload(c)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if resp, _ := h.Invoke(ctx, ev); bench.Status(resp) != 200 {
					b.Fatalf("%s", resp)
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
	if err := tb.Admin().PutCustomer(ctx, customer.MustParseClientID(bench.Client), c); err != nil {
		b.Fatal(err)
	}
	tb.PutKey(b, bench.Key, bench.Client, nil)
	store := tb.Store()
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Hour), slog.New(emf.NewHandler(io.Discard, nil)), 2*time.Second)
	ev := bench.Payload(c)
	b.Run("handler", func(b *testing.B) {
		for b.Loop() {
			if resp, _ := h.Invoke(ctx, ev); bench.Status(resp) != 200 {
				b.Fatalf("%s", resp)
			}
		}
	})
	in := &dynamodb.GetItemInput{TableName: aws.String(tb.Customers), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: customer.Key(bench.ClientID, *c.CCID)}}}
	b.Run("GetItem", func(b *testing.B) {
		for b.Loop() {
			if _, err := tb.DB.GetItem(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// getItemCounter counts the GetItem calls a DynamoDB client sends.
type getItemCounter struct {
	next dynamodb.HTTPClient
	n    atomic.Int64
}

func (c *getItemCounter) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetItem") {
		c.n.Add(1)
	}
	return c.next.Do(r)
}

// BenchmarkRandomKeys: what requests with keys nobody issued cost in
// DynamoDB reads (reads/10k-requests), through the real handler and store,
// the key cache on: well-formed random keys (any of which could be a
// registered key) and keys no issued or registered key can be (over 256
// bytes, or bytes outside printable ASCII).
func BenchmarkRandomKeys(b *testing.B) {
	tb := testenv.NewTables(b)
	counter := &getItemCounter{}
	db := dynamodb.New(tb.DB.Options(), func(o *dynamodb.Options) {
		counter.next = o.HTTPClient
		o.HTTPClient = counter
	})
	store := dynamo.NewStore(db, tb.Customers, tb.Keys)
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Minute), slog.New(emf.NewHandler(io.Discard, nil)), 2*time.Second)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- junk keys for a benchmark
	junk := func(n int, lo, hi byte) string {
		k := make([]byte, n)
		for i := range k {
			k[i] = lo + byte(rnd.IntN(int(hi-lo)+1))
		}
		return string(k)
	}
	for _, kind := range []struct {
		name string
		key  func() string
	}{
		{"well-formed", func() string { return "cdmk_" + junk(22, '0', 'z') }},
		{"oversize", func() string { return junk(257+rnd.IntN(2000), '!', '~') }},
		{"non-printable", func() string { return junk(27, 0x80, 0xff) }},
	} {
		b.Run(kind.name, func(b *testing.B) {
			counter.n.Store(0)
			requests := 0
			for b.Loop() {
				ev := bench.Event(bench.ExampleCustomer())
				ev.Headers = map[string]string{apigw.APIKeyHeader: kind.key()}
				if resp, _ := handle(ctx, h, ev); resp.StatusCode != 401 {
					b.Fatal(resp.StatusCode)
				}
				requests++
			}
			b.ReportMetric(float64(counter.n.Load())*10000/float64(requests), "reads/10k-requests")
		})
	}
}
