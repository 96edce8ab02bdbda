package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
)

// status asks the local API for acme's GEN-000001 with key.
func status(t *testing.T, base, key string) int {
	t.Helper()
	code, _, _ := httpGet(t, "GET", base+"/cdm/client/acme/customer/GEN-000001", key)
	return code
}

// keyEvents returns stderr's key audit lines.
func keyEvents(t *testing.T, stderr string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for line := range strings.SplitSeq(stderr, "\n") {
		if strings.HasPrefix(line, "{") {
			var m map[string]string
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("audit line %q: %v", line, err)
			}
			out = append(out, m)
		}
	}
	return out
}

// TestKeyRotation: against cdmctl serve, a rotation with a few seconds'
// overlap keeps both keys working during it and only the new one after:
// the old key is refused from its new expiry on (within the key cache's
// TTL), the new one keeps working; one audit line names both prefixes and
// neither key.
func TestKeyRotation(t *testing.T) {
	useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "1s")
	mustRun(t, "import", "--client", "acme", generate(t, 3, nil))
	old, _ := mustRun(t, "keys", "create", "--client", "acme", "--label", "acme prod")
	old = strings.TrimSpace(old)
	base := startServe(t, &syncBuffer{})
	if got := status(t, base, old); got != 200 {
		t.Fatalf("old key before rotation: %d", got)
	}

	newKey, stderr := mustRun(t, "keys", "rotate", "--client", "acme", old, "--overlap", "3s")
	rotated := time.Now()
	newKey = strings.TrimSpace(newKey)
	if newKey == "" || newKey == old || strings.Contains(stderr, newKey) || strings.Contains(stderr, old) {
		t.Fatalf("rotate printed %q on stdout and on stderr:\n%s", newKey, stderr)
	}
	ev := keyEvents(t, stderr)
	if len(ev) != 1 || ev[0]["action"] != "rotate" || ev[0]["key_hash_prefix"] != apikey.HashPrefix(apikey.Hash(old)) ||
		ev[0]["new_key_hash_prefix"] != apikey.HashPrefix(apikey.Hash(newKey)) || ev[0]["was_expires_at"] != "never" {
		t.Errorf("audit lines %v", ev)
	}
	end, err := time.Parse(time.RFC3339, ev[0]["expires_at"])
	if err != nil || end.Before(rotated.Add(time.Second)) || end.After(rotated.Add(4*time.Second)) {
		t.Fatalf("old key's new expiry %v (%v), rotated at %v with a 3s overlap", ev[0]["expires_at"], err, rotated)
	}
	if got := status(t, base, newKey); got != 200 {
		t.Errorf("new key during the overlap: %d", got)
	}
	if got := status(t, base, old); got != 200 && time.Now().Before(end) {
		t.Errorf("old key during the overlap: %d", got)
	}
	// After the overlap, within the cache's TTL, only the new key works.
	deadline := end.Add(5 * time.Second)
	for status(t, base, old) == 200 {
		if time.Now().After(deadline) {
			t.Fatalf("the old key still works at %v, its expiry %v", time.Now(), end)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if refused := time.Now(); refused.Before(end) {
		t.Errorf("the old key was refused at %v, before its expiry %v", refused, end)
	}
	if got := status(t, base, newKey); got != 200 {
		t.Errorf("new key after the overlap: %d", got)
	}
	list, _ := mustRun(t, "keys", "list", "--client", "acme")
	if !strings.Contains(list, "expired") || strings.Count(list, "acme prod") != 2 {
		t.Errorf("keys list after rotation:\n%s", list)
	}
}

// TestKeyRotationRefusals: rotate refuses another client's key, a revoked
// or expired one, a prefix several keys share, and an overlap the new key
// would not outlive; nothing is created when it refuses.
func TestKeyRotationRefusals(t *testing.T) {
	tb := useTables(t)
	mine, _ := mustRun(t, "keys", "create", "--client", "acme")
	mine = strings.TrimSpace(mine)
	theirs, _ := mustRun(t, "keys", "create", "--client", "other")
	theirs = strings.TrimSpace(theirs)
	revoked, _ := mustRun(t, "keys", "create", "--client", "acme")
	revoked = strings.TrimSpace(revoked)
	mustRun(t, "keys", "revoke", revoked)
	tb.PutKey(t, "expired-key-0000000001", "acme", func(r *apikey.Record) { r.ExpiresAt = time.Now().Add(-time.Minute) })
	// Two keys whose hashes share their first four hex digits.
	seen := map[string]string{}
	var shared string
	for i := 0; shared == ""; i++ {
		raw := fmt.Sprintf("colliding-key-%08d", i)
		p := apikey.Hash(raw)[:4]
		if other, ok := seen[p]; ok {
			tb.PutKey(t, other, "acme", nil)
			tb.PutKey(t, raw, "acme", nil)
			shared = p
		}
		seen[p] = raw
	}
	before, _ := mustRun(t, "keys", "list")
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--client", "acme", theirs}, "is not client acme's"},
		{[]string{"--client", "acme", revoked}, "is revoked"},
		{[]string{"--client", "acme", "expired-key-0000000001"}, "expired at"},
		{[]string{"--client", "acme", "--hash", shared}, "2 keys in keys-"},
		{[]string{"--client", "acme", "--hash", "ffffffffffff"}, "has a hash starting ffffffffffff"},
		{[]string{"--client", "acme", "no-such-key-000000001"}, "(the hash of the key given) in keys-"},
		{[]string{"--client", "acme", mine, "--overlap", "48h", "--expires", "24h"}, "ends the new key before"},
		{[]string{"--client", "acme"}, "takes a KEY or --hash PREFIX"},
		{[]string{"--client", "acme", mine, "--hash", "abcd"}, "takes a KEY or --hash PREFIX"},
		{[]string{mine}, "client"},
	} {
		out, stderr, err := cdmctl(t, "", append([]string{"keys", "rotate"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.says) || out != "" {
			t.Errorf("keys rotate %v: %v, stdout %q; want an error saying %q\n%s", c.args, err, out, c.says, stderr)
		}
	}
	if after, _ := mustRun(t, "keys", "list"); after != before {
		t.Errorf("a refused rotation changed the keys:\n%s\nthen\n%s", before, after)
	}
}

// TestKeysExpire: expire sets or shortens an expiry, takes effect for a
// warm function within the key cache's TTL, never extends one without
// --extend, and refuses what it cannot do; keys list --expiring-within
// lists the working keys that expire in the window (exit status 3) or says
// there are none.
func TestKeysExpire(t *testing.T) {
	useTables(t)
	t.Setenv("API_KEY_CACHE_TTL", "1s")
	mustRun(t, "import", "--client", "acme", generate(t, 3, nil))
	key, _ := mustRun(t, "keys", "create", "--client", "acme", "--label", "soon")
	key = strings.TrimSpace(key)
	later, _ := mustRun(t, "keys", "create", "--client", "acme", "--label", "later", "--expires", "2000h")
	later = strings.TrimSpace(later)
	base := startServe(t, &syncBuffer{})

	_, stderr := mustRun(t, "keys", "expire", key, "--in", "240h")
	if ev := keyEvents(t, stderr); len(ev) != 1 || ev[0]["action"] != "expire" || ev[0]["was_expires_at"] != "never" {
		t.Errorf("audit lines %v", ev)
	}
	out, _, err := cdmctl(t, "", "keys", "list", "--expiring-within", "336h")
	if !errors.Is(err, errExpiring) || !strings.Contains(out, "soon") || strings.Contains(out, "later") || !strings.Contains(out, "9d23h") {
		t.Errorf("keys list --expiring-within 336h: %v\n%s", err, out)
	}
	_, stderr, err = cdmctl(t, "", "keys", "list", "--expiring-within", "24h")
	if err != nil || !strings.Contains(stderr, "no working key expires within 24h0m0s") {
		t.Errorf("keys list --expiring-within 24h: %v %q", err, stderr)
	}

	// Never later without --extend; later with it.
	at := time.Now().Add(400 * time.Hour).UTC().Format(time.RFC3339)
	if _, _, err := cdmctl(t, "", "keys", "expire", key, "--at", at); err == nil || !strings.Contains(err.Error(), "add --extend") {
		t.Errorf("extending without --extend: %v", err)
	}
	mustRun(t, "keys", "expire", key, "--at", at, "--extend")
	if list, _ := mustRun(t, "keys", "list", "--client", "acme"); !strings.Contains(list, at) {
		t.Errorf("after --extend the list does not show %s:\n%s", at, list)
	}

	// Now: a warm function refuses it within the cache's TTL; the other key works.
	if got := status(t, base, key); got != 200 {
		t.Fatalf("key before expire --in 0s: %d", got)
	}
	mustRun(t, "keys", "expire", "--hash", apikey.HashPrefix(apikey.Hash(key)), "--in", "0s")
	deadline := time.Now().Add(5 * time.Second)
	for status(t, base, key) == 200 {
		if time.Now().After(deadline) {
			t.Fatal("an expired key still works after the key cache's TTL")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := status(t, base, later); got != 200 {
		t.Errorf("the other key: %d", got)
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{key, "--in", "1h"}, "expired at"},
		{[]string{later}, "exactly one of --in DURATION and --at TIME"},
		{[]string{later, "--in", "1h", "--at", at}, "exactly one of"},
		{[]string{later, "--at", "tomorrow"}, "not an RFC 3339 time"},
		{[]string{later, "--in", "-1h"}, "must not be negative"},
		{[]string{"--in", "1h"}, "takes a KEY or --hash PREFIX"},
		{[]string{"--hash", "abc", "--in", "1h"}, "at least 4 hex digits"},
	} {
		if _, _, err := cdmctl(t, "", append([]string{"keys", "expire"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("keys expire %v: %v, want an error saying %q", c.args, err, c.says)
		}
	}
}
