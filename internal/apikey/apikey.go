// Package apikey authorizes callers by API key: keys are known only by the
// SHA-256 of their raw bytes, each bound to one client ID.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cdm/customer-api/internal/customer"
	"sync"
	"time"
)

// Status values a stored key can have.
const (
	StatusActive  = "active"
	StatusRevoked = "revoked"
)

var (
	// ErrUnauthorized means the caller may not read the client's records. It
	// never says why.
	ErrUnauthorized = errors.New("apikey: unauthorized")
	// ErrNotFound means no key is stored under a hash.
	ErrNotFound = errors.New("apikey: not found")
	// ErrExists means a key with the same hash is stored already.
	ErrExists = errors.New("apikey: key already registered")
)

// Record is a stored API key. The raw key is never part of it.
type Record struct {
	Hash      string
	ClientID  string
	Status    string
	Label     string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never expires
	// RotatedTo is the hash of the key this one was rotated to; a key is
	// rotated once.
	RotatedTo string
}

// State is what a key can do at a moment.
type State string

// The states of a key.
const (
	StateWorking State = "active"  // reads its client's records
	StateRevoked State = "revoked" // revoked: refused
	StateExpired State = "expired" // past its expiry: refused
)

// State says whether r works at now, or why it does not.
func (r Record) State(now time.Time) State {
	switch {
	case r.Status != StatusActive:
		return StateRevoked
	case !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt):
		return StateExpired
	}
	return StateWorking
}

// Unusable returns why r can no longer read anything at now (revoked or
// expired), or nil when it works; the text names the key by hash prefix.
func (r Record) Unusable(now time.Time) error {
	switch r.State(now) {
	case StateRevoked:
		return fmt.Errorf("key %s is %s", HashPrefix(r.Hash), r.Status)
	case StateExpired:
		return fmt.Errorf("key %s expired at %s", HashPrefix(r.Hash), r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// StatusAt is the status an operator sees at now: the stored status, or
// "expired" for an active key past its expiry.
func (r Record) StatusAt(now time.Time) string {
	if r.State(now) == StateExpired {
		return string(StateExpired)
	}
	return r.Status
}

// RotationEnd returns when a key rotated at now with overlap stops
// working: after the overlap, never later than it already would.
func RotationEnd(r Record, now time.Time, overlap time.Duration) time.Time {
	end := now.Add(overlap)
	if !r.ExpiresAt.IsZero() && r.ExpiresAt.Before(end) {
		return r.ExpiresAt
	}
	return end
}

// Allows reports whether r lets a caller read client's records at now.
func (r Record) Allows(client customer.ClientID, now time.Time) bool {
	return !client.IsZero() && r.ClientID == client.String() && r.State(now) == StateWorking
}

// Bounds of a key: cdmctl registers keys of MinKeyBytes or more; no key
// the API looks up is longer than MaxKeyBytes.
const (
	MinKeyBytes = 16
	MaxKeyBytes = 256
)

// WellFormed reports whether raw could be a stored key: at most
// MaxKeyBytes, every byte printable ASCII (space to tilde). A request
// carrying anything else is refused without a storage read, so a flood of
// junk keys costs no DynamoDB capacity. Systems other than cdmctl may
// register shorter keys, so there is no lower bound here.
func WellFormed(raw string) bool {
	if len(raw) > MaxKeyBytes {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < ' ' || raw[i] > '~' {
			return false
		}
	}
	return true
}

// Hash returns the lowercase hex SHA-256 of the raw key's bytes.
func Hash(rawKey string) string {
	sum := sha256.Sum256([]byte(rawKey))
	return hex.EncodeToString(sum[:])
}

// HashPrefix returns the first eight hex digits of a key hash: enough to tell
// keys apart in logs, too little to look one up.
func HashPrefix(hash string) string {
	if len(hash) < 8 {
		return hash
	}
	return hash[:8]
}

// Lookup finds a stored key by its hash. It returns ErrNotFound when there is
// none, and any other error when the store failed.
type Lookup interface {
	APIKey(ctx context.Context, hash string) (Record, error)
}

// Authorizer checks keys against a Lookup and remembers keys it found for a
// short TTL, so that a warm caller costs no key read. A revoked key therefore
// keeps working for at most the TTL; an expired one stops at once.
type Authorizer struct {
	lookup Lookup
	ttl    time.Duration
	max    int
	now    func() time.Time

	mu       sync.Mutex
	cache    map[string]cached
	inflight map[string]*keyRead
}

// keyRead is one read of a key that concurrent requests for the same key
// share: under Lambda Managed Instances many requests run in one process,
// and a cold cache must not turn N requests into N identical reads.
type keyRead struct {
	done    chan struct{}
	rec     Record
	err     error
	waiters int // requests waiting on it besides its starter; tests read it
}

type cached struct {
	rec   Record
	until time.Time
}

// maxCachedKeys bounds the cache; it only holds keys that exist, so the bound
// is reached only by a very large fleet of clients.
const maxCachedKeys = 10000

// NewAuthorizer returns an Authorizer that reads keys through lookup and
// caches found ones for ttl (zero disables the cache).
func NewAuthorizer(lookup Lookup, ttl time.Duration) *Authorizer {
	return &Authorizer{lookup: lookup, ttl: ttl, max: maxCachedKeys, now: time.Now, cache: make(map[string]cached), inflight: make(map[string]*keyRead)}
}

// Authorize returns nil when the key whose hash is given may read
// client's records, ErrUnauthorized when it may not, and the store's error
// when the key could not be read; a failure never authorizes.
func (a *Authorizer) Authorize(ctx context.Context, hash string, client customer.ClientID) error {
	now := a.now()
	rec, ok := a.cached(hash, now)
	if !ok {
		var err error
		rec, err = a.read(ctx, hash, now)
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthorized
		}
		if err != nil {
			return err
		}
	}
	if !rec.Allows(client, now) {
		return ErrUnauthorized
	}
	return nil
}

// read looks the key up, sharing a read already in flight for the same hash.
// A request waits for a shared read only as long as its own context allows,
// and reads for itself when the shared read ended with its starter's
// deadline or cancellation rather than an answer. With the cache off
// (ttl 0) every request reads on its own, so a revocation is seen at once.
func (a *Authorizer) read(ctx context.Context, hash string, now time.Time) (Record, error) {
	if a.ttl <= 0 {
		return a.lookup.APIKey(ctx, hash)
	}
	a.mu.Lock()
	if r, ok := a.inflight[hash]; ok {
		r.waiters++
		a.mu.Unlock()
		select {
		case <-r.done:
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
		if !isContextError(r.err) {
			return r.rec, r.err
		}
		return a.lookup.APIKey(ctx, hash)
	}
	r := &keyRead{done: make(chan struct{})}
	a.inflight[hash] = r
	a.mu.Unlock()

	r.rec, r.err = a.lookup.APIKey(ctx, hash)
	a.mu.Lock()
	delete(a.inflight, hash)
	if r.err == nil {
		a.rememberLocked(hash, r.rec, now)
	}
	a.mu.Unlock()
	close(r.done)
	return r.rec, r.err
}

// waiting returns how many requests wait on the read in flight for hash.
func (a *Authorizer) waiting(hash string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.inflight[hash]; ok {
		return r.waiters
	}
	return 0
}

func isContextError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func (a *Authorizer) cached(hash string, now time.Time) (Record, bool) {
	if a.ttl <= 0 {
		return Record{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.cache[hash]
	if !ok || !now.Before(c.until) {
		return Record{}, false
	}
	return c.rec, true
}

// rememberLocked caches rec; a.mu is held.
func (a *Authorizer) rememberLocked(hash string, rec Record, now time.Time) {
	// Only usable keys are worth remembering; a revoked one is read again.
	if a.ttl <= 0 || rec.Status != StatusActive {
		return
	}
	if len(a.cache) >= a.max {
		for h, c := range a.cache {
			if !now.Before(c.until) {
				delete(a.cache, h)
			}
		}
		if len(a.cache) >= a.max {
			clear(a.cache)
		}
	}
	a.cache[hash] = cached{rec: rec, until: now.Add(a.ttl)}
}

// KeyPrefix starts every generated key, so that a leaked one is easy to
// recognise and to search for.
const KeyPrefix = "cdmk_"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// keyChars of base62 carry 131 bits.
const keyChars = 22

// Generate returns a new random key: KeyPrefix and 22 base62 characters
// from crypto/rand. It panics only if the system's randomness fails.
func Generate() string {
	b := make([]byte, 0, len(KeyPrefix)+keyChars)
	b = append(b, KeyPrefix...)
	var buf [64]byte
	for len(b) < cap(b) {
		if _, err := rand.Read(buf[:]); err != nil {
			panic("apikey: no randomness: " + err.Error())
		}
		for _, x := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every character equally likely.
			if x < 248 && len(b) < cap(b) {
				b = append(b, base62[x%62])
			}
		}
	}
	return string(b)
}
