package apikey

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type lookupFunc func(hash string) (Record, error)

func (f lookupFunc) APIKey(_ context.Context, hash string) (Record, error) { return f(hash) }

func TestHash(t *testing.T) {
	// SHA-256 of "abc", from FIPS 180-2.
	if got := Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Hash(abc) = %s", got)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	records := map[string]Record{
		"active":  {ClientID: "acme", Status: StatusActive},
		"revoked": {ClientID: "acme", Status: StatusRevoked},
		"expired": {ClientID: "acme", Status: StatusActive, ExpiresAt: now},
		"later":   {ClientID: "acme", Status: StatusActive, ExpiresAt: now.Add(time.Second)},
	}
	storeErr := errors.New("throttled")
	lookup := lookupFunc(func(h string) (Record, error) {
		if h == "failing" {
			return Record{}, storeErr
		}
		r, ok := records[h]
		if !ok {
			return Record{}, ErrNotFound
		}
		return r, nil
	})
	a := NewAuthorizer(lookup, time.Minute)
	a.now = func() time.Time { return now }
	cases := []struct {
		hash, client string
		want         error
	}{
		{"active", "acme", nil},
		{"active", "acme2", ErrUnauthorized},
		{"active", "ACME", ErrUnauthorized},
		{"active", "acme ", ErrUnauthorized},
		{"revoked", "acme", ErrUnauthorized},
		{"expired", "acme", ErrUnauthorized},
		{"later", "acme", nil},
		{"unknown", "acme", ErrUnauthorized},
		{"failing", "acme", storeErr},
	}
	for _, c := range cases {
		if err := a.Authorize(context.Background(), c.hash, c.client); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("Authorize(%s, %q) = %v, want %v", c.hash, c.client, err, c.want)
		}
	}
}

func TestCachedKeyExpiresAndRevocationWaitsForTTL(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rec := Record{ClientID: "acme", Status: StatusActive, ExpiresAt: now.Add(10 * time.Second)}
	reads := 0
	a := NewAuthorizer(lookupFunc(func(string) (Record, error) { reads++; return rec, nil }), time.Minute)
	a.now = func() time.Time { return now }
	if err := a.Authorize(context.Background(), "h", "acme"); err != nil {
		t.Fatal(err)
	}
	rec.Status = StatusRevoked
	now = now.Add(5 * time.Second)
	if err := a.Authorize(context.Background(), "h", "acme"); err != nil {
		t.Errorf("within the TTL the cached key should still work: %v", err)
	}
	now = now.Add(6 * time.Second) // past expires_at, still within the TTL
	if err := a.Authorize(context.Background(), "h", "acme"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("an expired key was accepted from the cache: %v", err)
	}
	rec = Record{ClientID: "acme", Status: StatusRevoked}
	now = now.Add(time.Minute)
	if err := a.Authorize(context.Background(), "h", "acme"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("a revoked key still works after the TTL: %v", err)
	}
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k := Generate()
		if !strings.HasPrefix(k, KeyPrefix) || len(k) != len(KeyPrefix)+keyChars {
			t.Fatalf("key %q has the wrong form", k)
		}
		for _, c := range k[len(KeyPrefix):] {
			if !strings.ContainsRune(base62, c) {
				t.Fatalf("key %q has %q", k, c)
			}
		}
		if seen[k] {
			t.Fatal("repeated key")
		}
		seen[k] = true
	}
}
