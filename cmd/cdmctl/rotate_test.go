package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// workingKeys returns the hashes of clientID's keys that work now.
func workingKeys(t *testing.T, tb testenv.Tables, clientID string) map[string]apikey.Record {
	t.Helper()
	keys, err := tb.Admin().APIKeys(context.Background(), customer.MustParseClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]apikey.Record{}
	for _, k := range keys {
		if k.State(time.Now()) == apikey.StateWorking {
			out[k.Hash] = k
		}
	}
	return out
}

// TestConcurrentRotationsMintOneKey: rotations of one key at once (the
// same command from several terminals) leave exactly one new working key,
// the one printed by the only rotation that succeeded; a rotated key is
// then refused, naming the key it was rotated to.
func TestConcurrentRotationsMintOneKey(t *testing.T) {
	tb := useTables(t)
	const trials, at = 15, 4
	for trial := range trials {
		client := "rot" + string(rune('a'+trial))
		raw := apikey.Generate()
		tb.PutKey(t, raw, client, nil)
		var wg sync.WaitGroup
		outs, errs := make([]string, at), make([]error, at)
		for i := range at {
			wg.Go(func() {
				outs[i], _, errs[i] = cdmctl(t, raw+"\n", "keys", "rotate", "--client", client, "--overlap", "1h", "-")
			})
		}
		wg.Wait()
		var printed []string
		for i := range at {
			switch {
			case errs[i] == nil:
				printed = append(printed, strings.TrimSpace(outs[i]))
			case outs[i] != "":
				t.Errorf("trial %d: a failed rotation printed %q", trial, outs[i])
			case !strings.Contains(errs[i].Error(), "nothing was created") && !strings.Contains(errs[i].Error(), "was rotated already"):
				t.Errorf("trial %d: a failed rotation says %v", trial, errs[i])
			}
		}
		if len(printed) != 1 {
			t.Fatalf("trial %d: %d of %d rotations succeeded, want exactly 1", trial, len(printed), at)
		}
		working := workingKeys(t, tb, client)
		newKey, ok := working[apikey.Hash(printed[0])]
		if len(working) != 2 || !ok || working[apikey.Hash(raw)].RotatedTo != newKey.Hash {
			t.Fatalf("trial %d: working keys %v, want the old one (rotated to the printed one) and the printed one", trial, working)
		}
	}

	// A key in its overlap is not rotated again.
	raw := apikey.Generate()
	tb.PutKey(t, raw, "acme", nil)
	out, _, err := cdmctl(t, raw+"\n", "keys", "rotate", "--client", "acme", "-")
	if err != nil {
		t.Fatal(err)
	}
	next := apikey.HashPrefix(apikey.Hash(strings.TrimSpace(out)))
	_, _, err = cdmctl(t, raw+"\n", "keys", "rotate", "--client", "acme", "-")
	if err == nil || !strings.Contains(err.Error(), "rotated already, to key "+next) {
		t.Errorf("rotating a rotated key: %v, want a refusal naming %s", err, next)
	}
	if n := len(workingKeys(t, tb, "acme")); n != 2 {
		t.Errorf("%d working keys after the refused rotation, want 2", n)
	}
}

// TestRotationFailingHalfWay: when the new key cannot be stored, the old
// key is as it was and no other key works; when the undo fails too, the
// message names the state and the command that undoes it, which works.
func TestRotationFailingHalfWay(t *testing.T) {
	tb := useTables(t)
	raw := apikey.Generate()
	tb.PutKey(t, raw, "acme", func(r *apikey.Record) { r.ExpiresAt = time.Now().Add(48 * time.Hour).Truncate(time.Second) })
	proxy := useProxy(t, tb)
	before := workingKeys(t, tb, "acme")

	// GetItem (the key by its value) and the mark pass; storing the new key fails.
	proxy.Set(faultproxy.Config{Fault: faultproxy.EchoingValidation, Operation: "PutItem"})
	out, _, err := cdmctl(t, raw+"\n", "keys", "rotate", "--client", "acme", "-")
	if err == nil || out != "" || !strings.Contains(err.Error(), "is as it was") {
		t.Fatalf("rotation with the new key refused: %v, stdout %q", err, out)
	}
	proxy.Set(faultproxy.Config{})
	after := workingKeys(t, tb, "acme")
	if len(after) != 1 || after[apikey.Hash(raw)] != before[apikey.Hash(raw)] {
		t.Fatalf("after a failed rotation: %v, want only the old key as it was (%v)", after, before)
	}

	// The new key and the undo both fail.
	proxy.Set(faultproxy.Config{Fault: faultproxy.EchoingValidation, Skip: 2})
	out, _, err = cdmctl(t, raw+"\n", "keys", "rotate", "--client", "acme", "-")
	proxy.Set(faultproxy.Config{})
	prefix := apikey.HashPrefix(apikey.Hash(raw))
	if err == nil || out != "" || !strings.Contains(err.Error(), "no new key works") || !strings.Contains(err.Error(), "cdmctl keys rotate --undo --hash "+prefix) {
		t.Fatalf("rotation failing half way: %v, stdout %q", err, out)
	}
	if w := workingKeys(t, tb, "acme"); len(w) != 1 || w[apikey.Hash(raw)].RotatedTo == "" {
		t.Fatalf("half way: working keys %v, want only the old one, marked rotated", w)
	}
	mustRun(t, "keys", "rotate", "--client", "acme", "--undo", "--hash", prefix)
	if w := workingKeys(t, tb, "acme"); len(w) != 1 || w[apikey.Hash(raw)] != before[apikey.Hash(raw)] {
		t.Fatalf("after --undo: %v, want the old key as it was (%v)", w, before)
	}
	// And it rotates again.
	out, _ = mustRunIn(t, raw+"\n", "keys", "rotate", "--client", "acme", "-")
	if _, ok := workingKeys(t, tb, "acme")[apikey.Hash(strings.TrimSpace(out))]; !ok {
		t.Error("the rotation after the undo did not store the printed key")
	}
}
