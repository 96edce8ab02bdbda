package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
)

var keysCreateCommand = &command{name: "keys create", args: "--client ID [--label TEXT] [--expires 720h] [--key -]",
	summary: "make a key for a client (printed once), or register one given on standard input (--key -)", tables: true, run: keysCreate}

func keysCreate(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` the key may read")
	label := fs.String("label", "", "free `text` saying whose key it is")
	expires := fs.Duration("expires", 0, "lifetime such as 720h; 0: never expires")
	given := fs.String("key", "", "register this key `value` instead of generating one; - reads it from standard input")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	s := inv.s
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if *given == "-" {
		if *given, err = readKey(sio); err != nil {
			return err
		}
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
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := apikey.Record{Hash: apikey.Hash(raw), ClientID: clientID.String(), Status: apikey.StatusActive, Label: *label, CreatedAt: now}
	if *expires > 0 {
		rec.ExpiresAt = now.Add(*expires)
	}
	if err := admin.PutAPIKey(ctx, rec); err != nil {
		if errors.Is(err, apikey.ErrExists) {
			return fmt.Errorf("key %s is already registered in %s (a revoked or retired key stays registered and cannot be reused)", apikey.HashPrefix(rec.Hash), s.APIKeysTable)
		}
		return err
	}
	auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "create", ClientID: rec.ClientID, Key: apikey.HashPrefix(rec.Hash), ExpiresAt: rfc3339OrNever(rec.ExpiresAt)})
	if *given != "" {
		// The operator has the key already: it is not printed again.
		fmt.Fprintf(sio.err, "key %s for client %s registered%s\n", apikey.HashPrefix(rec.Hash), rec.ClientID, expiry(rec))
		return nil
	}
	fmt.Fprintf(sio.err, "key %s for client %s created%s; it is printed once, on standard output: store it now\n", apikey.HashPrefix(rec.Hash), rec.ClientID, expiry(rec))
	fmt.Fprintln(sio.out, raw)
	return nil
}
