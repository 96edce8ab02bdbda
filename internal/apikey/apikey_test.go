package apikey

import (
	"context"
	"errors"
	"github.com/cdm/customer-api/internal/customer"
	"strings"
	"sync"
	"sync/atomic"
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
		if err := a.Authorize(context.Background(), c.hash, customer.MustParseClientID(c.client)); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
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
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); err != nil {
		t.Fatal(err)
	}
	rec.Status = StatusRevoked
	now = now.Add(5 * time.Second)
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); err != nil {
		t.Errorf("within the TTL the cached key should still work: %v", err)
	}
	now = now.Add(6 * time.Second) // past expires_at, still within the TTL
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("an expired key was accepted from the cache: %v", err)
	}
	rec = Record{ClientID: "acme", Status: StatusRevoked}
	now = now.Add(time.Minute)
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); !errors.Is(err, ErrUnauthorized) {
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

// blockingLookup counts reads and holds each until release is closed.
type blockingLookup struct {
	reads   atomic.Int32
	started chan struct{}
	release chan struct{}
	rec     Record
}

func (b *blockingLookup) APIKey(ctx context.Context, _ string) (Record, error) {
	b.reads.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
		return b.rec, nil
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
}

func TestConcurrentMissesShareOneRead(t *testing.T) {
	b := &blockingLookup{started: make(chan struct{}, 64), release: make(chan struct{}), rec: Record{ClientID: "acme", Status: StatusActive}}
	a := NewAuthorizer(b, time.Minute)
	const n = 32
	errs := make(chan error, n)
	go func() { errs <- a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")) }()
	<-b.started // the first read is in flight
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- a.Authorize(context.Background(), "h", customer.MustParseClientID("acme"))
		}()
	}
	// Wait until every caller is waiting on the shared read, then let it answer.
	deadline := time.Now().Add(5 * time.Second)
	for a.waiting("h") < n-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(b.release)
	wg.Wait()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := b.reads.Load(); got != 1 {
		t.Errorf("%d concurrent misses made %d reads, want 1", n, got)
	}
}

func TestSharedReadHonoursEachDeadline(t *testing.T) {
	b := &blockingLookup{started: make(chan struct{}, 8), release: make(chan struct{}), rec: Record{ClientID: "acme", Status: StatusActive}}
	a := NewAuthorizer(b, time.Minute)
	go func() { _ = a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")) }() // slow: never released until the end
	<-b.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Authorize(ctx, "h", customer.MustParseClientID("acme"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the caller's own deadline", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a waiting caller was held %v by another request's read", took)
	}
	close(b.release)
}

func TestRevocationWithoutCacheIsSeenAtOnce(t *testing.T) {
	status := StatusActive
	var mu sync.Mutex
	a := NewAuthorizer(lookupFunc(func(string) (Record, error) {
		mu.Lock()
		defer mu.Unlock()
		return Record{ClientID: "acme", Status: status}, nil
	}), 0)
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	status = StatusRevoked
	mu.Unlock()
	if err := a.Authorize(context.Background(), "h", customer.MustParseClientID("acme")); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("revoked key with the cache off: %v", err)
	}
}

func TestWellFormed(t *testing.T) {
	for range 100 {
		if k := Generate(); !WellFormed(k) {
			t.Fatalf("generated key %q is not well-formed", k)
		}
	}
	for k, want := range map[string]bool{
		"cdmk_local_dev_key_do_not_use_in_prod": true, "k": true, "with inner space": true, strings.Repeat("~", 256): true,
		strings.Repeat("a", 257): false, "cdmk_tab\t_0000000": false, "cdmk_é_00000000000": false, "cdmk_nul\x00_000000": false,
		"cdmk_del\x7f_000000": false,
	} {
		if WellFormed(k) != want {
			t.Errorf("WellFormed(%q) = %v", k, !want)
		}
	}
}

// TestKeyLifecycleRules: the rules cdmctl calls, at the moments around an
// expiry: what a key can do, what an operator sees, why it is refused, and
// when a rotation ends it.
func TestKeyLifecycleRules(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	hash := Hash("cdmk_lifecycle_rules_key_0000")
	cases := []struct {
		name   string
		r      Record
		state  State
		status string
		reason string
	}{
		{"never expires", Record{Hash: hash, Status: StatusActive}, StateWorking, "active", ""},
		{"expires later", Record{Hash: hash, Status: StatusActive, ExpiresAt: now.Add(time.Nanosecond)}, StateWorking, "active", ""},
		{"expires now", Record{Hash: hash, Status: StatusActive, ExpiresAt: now}, StateExpired, "expired", "expired at 2026-12-06T12:00:00Z"},
		{"revoked", Record{Hash: hash, Status: StatusRevoked}, StateRevoked, "revoked", "is revoked"},
		{"revoked and past expiry", Record{Hash: hash, Status: StatusRevoked, ExpiresAt: now.Add(-time.Hour)}, StateRevoked, "revoked", "is revoked"},
		{"unknown status", Record{Hash: hash, Status: "paused"}, StateRevoked, "paused", "is paused"},
	}
	for _, c := range cases {
		if got := c.r.State(now); got != c.state {
			t.Errorf("%s: State = %s, want %s", c.name, got, c.state)
		}
		if got := c.r.StatusAt(now); got != c.status {
			t.Errorf("%s: StatusAt = %s, want %s", c.name, got, c.status)
		}
		err := c.r.Unusable(now)
		if (err == nil) != (c.reason == "") || err != nil && !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: Unusable = %v, want %q", c.name, err, c.reason)
		}
		if err != nil && !strings.Contains(err.Error(), HashPrefix(hash)) {
			t.Errorf("%s: %v does not name the key's hash prefix", c.name, err)
		}
		client := mustClient(t, "acme")
		if c.r.ClientID = "acme"; c.r.Allows(client, now) != (c.state == StateWorking) {
			t.Errorf("%s: Allows = %v", c.name, !(c.state == StateWorking))
		}
	}
	for _, c := range []struct {
		expires time.Time
		overlap time.Duration
		want    time.Time
	}{
		{time.Time{}, time.Hour, now.Add(time.Hour)},
		{now.Add(2 * time.Hour), time.Hour, now.Add(time.Hour)},
		{now.Add(30 * time.Minute), time.Hour, now.Add(30 * time.Minute)},
		{now.Add(time.Hour), time.Hour, now.Add(time.Hour)},
		{time.Time{}, 0, now},
	} {
		if got := RotationEnd(Record{ExpiresAt: c.expires}, now, c.overlap); !got.Equal(c.want) {
			t.Errorf("RotationEnd(expires %v, overlap %v) = %v, want %v", c.expires, c.overlap, got, c.want)
		}
	}
}

func mustClient(t *testing.T, id string) customer.ClientID {
	t.Helper()
	c, err := customer.ParseClientID(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
