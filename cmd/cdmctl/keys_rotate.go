package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/dynamo"
)

var keysRotateCommand = &command{name: "keys rotate", args: "--client ID (- | --hash PREFIX) [--overlap 24h] [--expires 720h] [--label TEXT] [--undo]",
	summary: "a new key; the old one works for the overlap, then expires", tables: true, run: keysRotate}

func keysRotate(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
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
	s := inv.s
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
	admin, old, err := storedKey(ctx, inv, raw, *prefix)
	if err != nil {
		return err
	}
	if *undo {
		if err := admin.UndoRotation(ctx, old.Hash); err != nil {
			return err
		}
		auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "rotate-undo", ClientID: old.ClientID, Key: apikey.HashPrefix(old.Hash),
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
	auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "rotate", ClientID: clientID.String(), Key: apikey.HashPrefix(old.Hash),
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
