package apigw_test

import (
	"context"
	"testing"

	"github.com/cdm/customer-api/bench"
	"github.com/cdm/customer-api/internal/customer"
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
