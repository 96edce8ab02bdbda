package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/dynamo"
)

var keysRevokeCommand = &command{name: "keys revoke", args: "- | --hash PREFIX",
	summary: "revoke a key: - reads it from standard input", tables: true, run: keysRevoke}

func keysRevoke(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	prefix := fs.String("hash", "", "revoke the key whose hash starts with this `prefix`")
	raw, err := parseKeyArg(fs, args, prefix)
	if err != nil {
		return err
	}
	s := inv.s
	admin, k, err := storedKey(ctx, inv, raw, *prefix)
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
	auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "revoke", ClientID: k.ClientID, Key: apikey.HashPrefix(k.Hash)})
	fmt.Fprintf(sio.err, "key %s revoked; callers that hold it are refused within the key cache TTL (%v)\n", apikey.HashPrefix(k.Hash), s.KeyCacheTTL)
	return nil
}
