package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
)

var keysExpireCommand = &command{name: "keys expire", args: "(- | --hash PREFIX) (--in DURATION | --at RFC3339) [--extend]",
	summary: "set when a key stops working", tables: true, run: keysExpire}

func keysExpire(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
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
	admin, k, err := storedKey(ctx, inv, raw, *prefix)
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
	auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "expire", ClientID: k.ClientID, Key: apikey.HashPrefix(k.Hash),
		ExpiresAt: when.Format(time.RFC3339), WasExpires: rfc3339OrNever(k.ExpiresAt)})
	fmt.Fprintf(sio.err, "key %s of client %s expires %s (was %s); a warm function refuses it from then on\n",
		apikey.HashPrefix(k.Hash), k.ClientID, when.Format(time.RFC3339), rfc3339OrNever(k.ExpiresAt))
	return nil
}
