package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

func keysCreate(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys create", sio, &s)
	client := clientVar(fs, "client `ID` the key may read")
	label := fs.String("label", "", "free `text` saying whose key it is")
	expires := fs.Duration("expires", 0, "lifetime such as 720h; 0: never expires")
	given := fs.String("key", "", "register this key `value` instead of generating one; - reads it from standard input")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *given == "-" {
		if *given, err = readKey(sio); err != nil {
			return err
		}
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if *expires < 0 {
		return fmt.Errorf("%w: --expires must not be negative", errUsage)
	}
	raw := *given
	if raw == "" {
		raw = apikey.Generate()
	} else if len(raw) < apikey.MinKeyBytes || strings.ContainsRune(raw, ' ') || !apikey.WellFormed(raw) {
		return fmt.Errorf("%w: --key must be %d to %d bytes of printable ASCII without spaces", errUsage, apikey.MinKeyBytes, apikey.MaxKeyBytes)
	}
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := apikey.Record{Hash: apikey.Hash(raw), ClientID: clientID.String(), Status: apikey.StatusActive, Label: *label, CreatedAt: now}
	if *expires > 0 {
		rec.ExpiresAt = now.Add(*expires)
	}
	if err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).PutAPIKey(ctx, rec); err != nil {
		if errors.Is(err, apikey.ErrExists) {
			return fmt.Errorf("key %s is already registered in %s (a revoked or retired key stays registered and cannot be reused)", apikey.HashPrefix(rec.Hash), s.APIKeysTable)
		}
		return err
	}
	auditKey(sio, keyEvent{Operator: awsclient.Operator(ctx, s), Action: "create", ClientID: rec.ClientID, Key: apikey.HashPrefix(rec.Hash), ExpiresAt: rfc3339OrNever(rec.ExpiresAt)})
	if *given != "" {
		// The operator has the key already: it is not printed again.
		fmt.Fprintf(sio.err, "key %s for client %s registered%s\n", apikey.HashPrefix(rec.Hash), rec.ClientID, expiry(rec))
		return nil
	}
	fmt.Fprintf(sio.err, "key %s for client %s created%s; it is printed once, on standard output: store it now\n", apikey.HashPrefix(rec.Hash), rec.ClientID, expiry(rec))
	fmt.Fprintln(sio.out, raw)
	return nil
}

// readKey reads one key from standard input: its first line, without
// surrounding white space; it fails on an empty one.
func readKey(sio stdio) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(sio.in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if line = strings.TrimSpace(line); line == "" {
		return "", fmt.Errorf("%w: no key on standard input", errUsage)
	}
	return line, nil
}

func expiry(r apikey.Record) string {
	if r.ExpiresAt.IsZero() {
		return ""
	}
	return ", expires " + r.ExpiresAt.UTC().Format(time.RFC3339)
}

func keysRevoke(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys revoke", sio, &s)
	prefix := fs.String("hash", "", "revoke the key whose hash starts with this `prefix`")
	raw, err := parseKeyArg(fs, args, prefix)
	if err != nil {
		return err
	}
	admin, k, err := storedKey(ctx, sio, s, raw, *prefix)
	if err != nil {
		return err
	}
	switch err := admin.RevokeAPIKey(ctx, k.Hash); {
	case errors.Is(err, dynamo.ErrAlreadyRevoked):
		fmt.Fprintf(sio.err, "key %s of client %s was revoked already; nothing changed\n", apikey.HashPrefix(k.Hash), k.ClientID)
		return nil
	case errors.Is(err, apikey.ErrNotFound):
		return fmt.Errorf("key %s is no longer in %s", apikey.HashPrefix(k.Hash), s.APIKeysTable)
	case err != nil:
		return fmt.Errorf("key %s: %w", apikey.HashPrefix(k.Hash), err)
	}
	auditKey(sio, keyEvent{Operator: awsclient.Operator(ctx, s), Action: "revoke", ClientID: k.ClientID, Key: apikey.HashPrefix(k.Hash)})
	fmt.Fprintf(sio.err, "key %s revoked; callers that hold it are refused within the key cache TTL (%v)\n", apikey.HashPrefix(k.Hash), s.KeyCacheTTL)
	return nil
}

// parseKeyArg parses a command's flags, before or after the one key it
// names by value, and returns that value ("" when --hash names it).
func parseKeyArg(fs *flag.FlagSet, args []string, prefix *string) (string, error) {
	pos, err := parseMixed(fs, args)
	if err != nil {
		return "", err
	}
	return keyArg(pos, *prefix, strings.TrimPrefix(fs.Name(), "cdmctl "))
}

// keyArg checks that a command names one key, by its value or by --hash.
func keyArg(args []string, prefix, cmd string) (string, error) {
	if (prefix == "") == (len(args) == 1) && len(args) <= 1 {
		if prefix != "" && len(prefix) < 4 {
			return "", fmt.Errorf("%w: --hash needs at least 4 hex digits", errUsage)
		}
		if len(args) == 1 {
			return args[0], nil // "-": read by storedKey
		}
		return "", nil
	}
	return "", fmt.Errorf("%w: %s takes a KEY or --hash PREFIX", errUsage, cmd)
}

// storedKey connects to the keys table and finds the key a command names:
// by its value (raw; "-" reads it from standard input) or by hash prefix.
func storedKey(ctx context.Context, sio stdio, s settings.Settings, raw, prefix string) (*dynamo.Admin, apikey.Record, error) {
	if raw == "-" {
		var err error
		if raw, err = readKey(sio); err != nil {
			return nil, apikey.Record{}, err
		}
	}
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return nil, apikey.Record{}, err
	}
	admin := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable)
	k, err := findKey(ctx, admin, s.APIKeysTable, raw, prefix)
	return admin, k, err
}

// findKey returns the stored key whose value is raw (one read by its hash)
// or, when raw is empty, whose hash starts with prefix. It fails when none
// does, or several do; its errors name the prefix and the table, never raw.
func findKey(ctx context.Context, admin *dynamo.Admin, table, raw, prefix string) (apikey.Record, error) {
	if raw != "" {
		k, err := admin.APIKey(ctx, apikey.Hash(raw))
		if errors.Is(err, apikey.ErrNotFound) {
			return k, fmt.Errorf("no key %s (the hash of the key given) in %s", apikey.HashPrefix(apikey.Hash(raw)), table)
		}
		return k, err
	}
	keys, err := admin.APIKeys(ctx, customer.ClientID{})
	if err != nil {
		return apikey.Record{}, err
	}
	var matches []apikey.Record
	for _, k := range keys {
		if strings.HasPrefix(k.Hash, strings.ToLower(prefix)) {
			matches = append(matches, k)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return apikey.Record{}, fmt.Errorf("no key in %s has a hash starting %s", table, prefix)
	}
	return apikey.Record{}, fmt.Errorf("%d keys in %s have a hash starting %s; give more digits", len(matches), table, prefix)
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

func rfc3339OrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func keysRotate(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys rotate", sio, &s)
	client := clientVar(fs, "client `ID` whose key is rotated")
	prefix := fs.String("hash", "", "the old key by its hash `prefix`")
	overlap := fs.Duration("overlap", 24*time.Hour, "how long the old key keeps working")
	expires := fs.Duration("expires", 0, "the new key's lifetime such as 720h; 0: never expires")
	label := fs.String("label", "", "free `text` saying whose the new key is")
	undo := fs.Bool("undo", false, "take back a rotation whose new key was never stored (as a failed rotation says)")
	raw, err := parseKeyArg(fs, args, prefix)
	if err != nil {
		return err
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if *overlap < 0 || *expires < 0 {
		return fmt.Errorf("%w: --overlap and --expires must not be negative", errUsage)
	}
	if *expires > 0 && *expires <= *overlap {
		return fmt.Errorf("%w: --expires %v ends the new key before the old one's overlap (%v) does", errUsage, *expires, *overlap)
	}
	admin, old, err := storedKey(ctx, sio, s, raw, *prefix)
	if err != nil {
		return err
	}
	if *undo {
		if err := admin.UndoRotation(ctx, old.Hash); err != nil {
			return err
		}
		auditKey(sio, keyEvent{Operator: awsclient.Operator(ctx, s), Action: "rotate-undo", ClientID: old.ClientID, Key: apikey.HashPrefix(old.Hash),
			NewKey: apikey.HashPrefix(old.RotatedTo), WasExpires: rfc3339OrNever(old.ExpiresAt)})
		fmt.Fprintf(sio.err, "rotation of key %s to %s (never stored) undone; %s can be rotated again\n", apikey.HashPrefix(old.Hash), apikey.HashPrefix(old.RotatedTo), apikey.HashPrefix(old.Hash))
		return nil
	}
	now := time.Now().UTC().Truncate(time.Second)
	if old.ClientID != clientID.String() {
		return fmt.Errorf("key %s is not client %s's", apikey.HashPrefix(old.Hash), clientID)
	}
	if err := old.Unusable(now); err != nil {
		return fmt.Errorf("%w: rotate a working key, or create a new one with keys create", err)
	}
	if old.RotatedTo != "" {
		return fmt.Errorf("key %s was rotated already, to key %s, and works until %s; rotate %s instead", apikey.HashPrefix(old.Hash),
			apikey.HashPrefix(old.RotatedTo), rfc3339OrNever(old.ExpiresAt), apikey.HashPrefix(old.RotatedTo))
	}
	if *label == "" {
		*label = old.Label
	}
	newRaw := apikey.Generate()
	rec := apikey.Record{Hash: apikey.Hash(newRaw), ClientID: clientID.String(), Status: apikey.StatusActive, Label: *label, CreatedAt: now}
	if *expires > 0 {
		rec.ExpiresAt = now.Add(*expires)
	}
	end := apikey.RotationEnd(old, now, *overlap)
	if err := admin.RotateAPIKey(ctx, old, rec, end); err != nil {
		if errors.Is(err, dynamo.ErrKeyChanged) {
			return fmt.Errorf("key %s in %s: %w; nothing was created or changed: see it with cdmctl keys list --client %s", apikey.HashPrefix(old.Hash), s.APIKeysTable, err, clientID)
		}
		return err
	}
	auditKey(sio, keyEvent{Operator: awsclient.Operator(ctx, s), Action: "rotate", ClientID: clientID.String(), Key: apikey.HashPrefix(old.Hash),
		NewKey: apikey.HashPrefix(rec.Hash), ExpiresAt: end.Format(time.RFC3339), WasExpires: rfc3339OrNever(old.ExpiresAt)})
	fmt.Fprintf(sio.err, "key %s for client %s created%s; it is printed once, on standard output: store it now. Old key %s works until %s\n",
		apikey.HashPrefix(rec.Hash), clientID, expiry(rec), apikey.HashPrefix(old.Hash), end.Format(time.RFC3339))
	if *overlap < s.KeyCacheTTL {
		fmt.Fprintf(sio.err, "the overlap is shorter than the key cache TTL (%v): a warm function may accept the old key until %s\n",
			s.KeyCacheTTL, end.Add(s.KeyCacheTTL).Format(time.RFC3339))
	}
	fmt.Fprintln(sio.out, newRaw)
	return nil
}

func keysExpire(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys expire", sio, &s)
	prefix := fs.String("hash", "", "the key by its hash `prefix`")
	in := fs.Duration("in", 0, "expire this long from now, such as 24h or 0s (now)")
	at := fs.String("at", "", "expire at this `time` (RFC 3339, such as 2027-01-31T00:00:00Z)")
	extend := fs.Bool("extend", false, "allow a later expiry than the key has")
	raw, err := parseKeyArg(fs, args, prefix)
	if err != nil {
		return err
	}
	inSet := false
	fs.Visit(func(f *flag.Flag) { inSet = inSet || f.Name == "in" })
	now := time.Now().UTC().Truncate(time.Second)
	var when time.Time
	switch {
	case inSet == (*at != ""):
		return fmt.Errorf("%w: keys expire needs exactly one of --in DURATION and --at TIME", errUsage)
	case inSet && *in < 0:
		return fmt.Errorf("%w: --in must not be negative", errUsage)
	case inSet:
		when = now.Add(*in)
	default:
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("%w: --at %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", errUsage, *at)
		}
		if t.Before(now) {
			t = now // a time passed: expire now
		}
		when = t.UTC().Truncate(time.Second)
	}
	admin, k, err := storedKey(ctx, sio, s, raw, *prefix)
	if err != nil {
		return err
	}
	if err := k.Unusable(now); err != nil {
		return err
	}
	if !*extend && !k.ExpiresAt.IsZero() && when.After(k.ExpiresAt) {
		return fmt.Errorf("key %s already expires at %s, before %s: add --extend to give it longer", apikey.HashPrefix(k.Hash), k.ExpiresAt.UTC().Format(time.RFC3339), when.Format(time.RFC3339))
	}
	if err := admin.SetKeyExpiry(ctx, k, when); err != nil {
		return err
	}
	auditKey(sio, keyEvent{Operator: awsclient.Operator(ctx, s), Action: "expire", ClientID: k.ClientID, Key: apikey.HashPrefix(k.Hash),
		ExpiresAt: when.Format(time.RFC3339), WasExpires: rfc3339OrNever(k.ExpiresAt)})
	fmt.Fprintf(sio.err, "key %s of client %s expires %s (was %s); a warm function refuses it from then on\n",
		apikey.HashPrefix(k.Hash), k.ClientID, when.Format(time.RFC3339), rfc3339OrNever(k.ExpiresAt))
	return nil
}

// errExpiring is keys list --expiring-within finding keys (exit status 3),
// so that a scheduled job can warn.
var errExpiring = errors.New("keys expire soon")

func keysList(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys list", sio, &s)
	client := clientVar(fs, "only keys of this client `ID`")
	within := fs.Duration("expiring-within", 0, "only working keys that expire within this `duration`, such as 336h; exit status 3 when there are any")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *within < 0 {
		return fmt.Errorf("%w: --expiring-within must not be negative", errUsage)
	}
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	keys, err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).APIKeys(ctx, client.id)
	if err != nil {
		return err
	}
	now := time.Now()
	if *within > 0 {
		keys = slices.DeleteFunc(keys, func(k apikey.Record) bool {
			return k.State(now) != apikey.StateWorking || k.ExpiresAt.IsZero() || k.ExpiresAt.After(now.Add(*within))
		})
		slices.SortFunc(keys, func(a, b apikey.Record) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
		if len(keys) == 0 {
			fmt.Fprintf(sio.err, "no working key expires within %v\n", *within)
			return nil
		}
	}
	w := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "HASH\tCLIENT\tLABEL\tSTATUS\tCREATED\tEXPIRES\tEXPIRES IN")
	for _, k := range keys {
		status := k.StatusAt(now)
		left := "-"
		if !k.ExpiresAt.IsZero() && now.Before(k.ExpiresAt) {
			left = roughly(k.ExpiresAt.Sub(now))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", apikey.HashPrefix(k.Hash), k.ClientID, k.Label, status, k.CreatedAt.UTC().Format(time.RFC3339), rfc3339OrNever(k.ExpiresAt), left)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if *within > 0 {
		return fmt.Errorf("%w: %d working key(s) expire within %v", errExpiring, len(keys), *within)
	}
	return nil
}

// roughly says a duration in days and hours, or minutes under an hour.
func roughly(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dm", int(d.Minutes())+1)
}
