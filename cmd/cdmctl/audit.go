package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/cdm/customer-api/internal/customer"
)

// auditLog writes one JSON line per erased customer: when, by whom (the
// operator's AWS identity, when there is one), which client and ccid, and
// no other field.
type auditLog struct {
	mu       sync.Mutex
	enc      *json.Encoder
	operator string
	client   string
}

type auditLine struct {
	Time     string `json:"time"`
	Operator string `json:"operator,omitempty"`
	ClientID string `json:"client_id"`
	CCID     string `json:"ccid"`
}

func newAuditLog(w io.Writer, operator string, client customer.ClientID) *auditLog {
	return &auditLog{enc: json.NewEncoder(w), operator: operator, client: client.String()}
}

func (a *auditLog) erased(ccids []string) { a.erasedOf(a.client, ccids) }

// erasedOf writes the lines of the erased ccids of a client, as its pks name
// it, for a command that erases several clients' customers.
func (a *auditLog) erasedOf(client string, ccids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, id := range ccids {
		_ = a.enc.Encode(auditLine{Time: now, Operator: a.operator, ClientID: client, CCID: id})
	}
}

// keyEvent is the audit line of a change to a key's life: hash prefixes
// only, never a key.
type keyEvent struct {
	Time       string `json:"time"`
	Operator   string `json:"operator,omitempty"`
	Action     string `json:"action"`
	ClientID   string `json:"client_id"`
	Key        string `json:"key_hash_prefix"`
	NewKey     string `json:"new_key_hash_prefix,omitempty"`
	ExpiresAt  string `json:"expires_at,omitempty"`
	WasExpires string `json:"was_expires_at,omitempty"`
}

func auditKey(sio stdio, e keyEvent) {
	e.Time = time.Now().UTC().Format(time.RFC3339Nano)
	_ = json.NewEncoder(sio.err).Encode(e)
}
