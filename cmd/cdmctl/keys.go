package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/env"
)

func keysCreate(ctx context.Context, sio stdio, args []string) error {
	s, err := env.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys create", sio, &s)
	client := fs.String("client", "", "client `ID` the key may read")
	label := fs.String("label", "", "free `text` saying whose key it is")
	expires := fs.Duration("expires", 0, "lifetime such as 720h; 0: never expires")
	given := fs.String("key", "", "register this key `value` instead of generating one")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := checkClient(*client); err != nil {
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
	db, err := env.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := apikey.Record{Hash: apikey.Hash(raw), ClientID: *client, Status: apikey.StatusActive, Label: *label, CreatedAt: now}
	if *expires > 0 {
		rec.ExpiresAt = now.Add(*expires)
	}
	if err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).PutAPIKey(ctx, rec); err != nil {
		return err
	}
	fmt.Fprintf(sio.err, "key %s for client %s created%s; it is shown once, store it now\n", apikey.HashPrefix(rec.Hash), rec.ClientID, expiry(rec))
	fmt.Fprintln(sio.out, raw)
	return nil
}

func expiry(r apikey.Record) string {
	if r.ExpiresAt.IsZero() {
		return ""
	}
	return ", expires " + r.ExpiresAt.UTC().Format(time.RFC3339)
}

func keysRevoke(ctx context.Context, sio stdio, args []string) error {
	s, err := env.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys revoke", sio, &s)
	prefix := fs.String("hash", "", "revoke the key whose hash starts with this `prefix`")
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if (*prefix == "") == (fs.NArg() != 1) || fs.NArg() > 1 {
		return fmt.Errorf("%w: keys revoke takes a KEY or --hash PREFIX", errUsage)
	}
	db, err := env.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	admin := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable)
	hash := ""
	if *prefix == "" {
		hash = apikey.Hash(fs.Arg(0))
	} else {
		if len(*prefix) < 4 {
			return fmt.Errorf("%w: --hash needs at least 4 hex digits", errUsage)
		}
		keys, err := admin.APIKeys(ctx, "")
		if err != nil {
			return err
		}
		var matches []string
		for _, k := range keys {
			if strings.HasPrefix(k.Hash, strings.ToLower(*prefix)) {
				matches = append(matches, k.Hash)
			}
		}
		switch len(matches) {
		case 0:
			return fmt.Errorf("no key has a hash starting %s", *prefix)
		case 1:
			hash = matches[0]
		default:
			return fmt.Errorf("%d keys have a hash starting %s; give more digits", len(matches), *prefix)
		}
	}
	if err := admin.RevokeAPIKey(ctx, hash); err != nil {
		if errors.Is(err, apikey.ErrNotFound) {
			return errors.New("no such key")
		}
		return err
	}
	fmt.Fprintf(sio.err, "key %s revoked; callers that hold it are refused within the key cache TTL (%v)\n", apikey.HashPrefix(hash), s.KeyCacheTTL)
	return nil
}

func keysList(ctx context.Context, sio stdio, args []string) error {
	s, err := env.Read()
	if err != nil {
		return err
	}
	fs := newFlags("keys list", sio, &s)
	client := fs.String("client", "", "only keys of this client `ID`")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	db, err := env.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	keys, err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).APIKeys(ctx, *client)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "HASH\tCLIENT\tLABEL\tSTATUS\tCREATED\tEXPIRES")
	now := time.Now()
	for _, k := range keys {
		status := k.Status
		if status == apikey.StatusActive && !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt) {
			status = "expired"
		}
		expires := "never"
		if !k.ExpiresAt.IsZero() {
			expires = k.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", apikey.HashPrefix(k.Hash), k.ClientID, k.Label, status, k.CreatedAt.UTC().Format(time.RFC3339), expires)
	}
	return w.Flush()
}
