package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

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
func storedKey(ctx context.Context, inv *invocation, raw, prefix string) (*dynamo.Admin, apikey.Record, error) {
	if raw == "-" {
		var err error
		if raw, err = readKey(inv.stdio); err != nil {
			return nil, apikey.Record{}, err
		}
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return nil, apikey.Record{}, err
	}
	k, err := findKey(ctx, admin, inv.s.APIKeysTable, raw, prefix)
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

func rfc3339OrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
