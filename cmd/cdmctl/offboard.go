package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

var offboardCommand = &command{name: "offboard", args: "--client ID (--out FILE | --no-export) [--yes] [--rate N]",
	summary: "export, revoke every key, erase every customer", tables: true, run: offboard}

// offboard ends a client: its data goes back to it (an export), its keys
// stop working, then its customers are erased. Each step is safe to run
// again, so an interrupted offboard is finished by running it again.
func offboard(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` to offboard")
	out := fs.String("out", "", "`FILE` the client's customers are exported to first")
	noExport := fs.Bool("no-export", false, "erase without exporting first")
	yes := fs.Bool("yes", false, "confirm: every key is revoked and every customer erased")
	rate := rateVar(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := checkRate(*rate); err != nil {
		return err
	}
	s := inv.s
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if (*out == "") == !*noExport {
		return fmt.Errorf("%w: offboard needs --out FILE or --no-export", errUsage)
	}
	if !*yes {
		return fmt.Errorf("%w: offboard revokes every key of client %s and erases every one of its customers for good; run again with --yes", errUsage, clientID)
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}

	if *noExport {
		fmt.Fprintln(sio.err, "offboard 1/3 export: skipped (--no-export)")
	} else if err := offboardExport(ctx, sio, admin, clientID, *out); err != nil {
		return fmt.Errorf("offboard 1/3 export: %w (nothing revoked or erased)", err)
	}

	keys, err := admin.APIKeys(ctx, clientID)
	if err != nil {
		return fmt.Errorf("offboard 2/3 revoke keys: %w", err)
	}
	revoked, already := 0, 0
	for _, k := range keys {
		if k.Status != apikey.StatusActive {
			already++
			continue
		}
		switch err := admin.RevokeAPIKey(ctx, k.Hash); {
		case errors.Is(err, dynamo.ErrAlreadyRevoked):
			already++
			continue
		case err != nil:
			return fmt.Errorf("offboard 2/3 revoke keys: key %s in %s: %w (%d revoked so far; run the same offboard again)", apikey.HashPrefix(k.Hash), s.APIKeysTable, err, revoked)
		}
		auditKey(sio, keyEvent{Operator: inv.operator(ctx), Action: "revoke", ClientID: k.ClientID, Key: apikey.HashPrefix(k.Hash)})
		revoked++
	}
	fmt.Fprintf(sio.err, "offboard 2/3 revoke keys: revoked %d, %d were revoked already; callers are refused within the key cache TTL (%v)\n", revoked, already, s.KeyCacheTTL)

	audit := newAuditLog(sio.err, inv.operator(ctx), clientID)
	progress := newProgress(sio.err, "erasing", -1)
	n, err := admin.EraseClient(ctx, clientID, dynamo.BatchOptions{Erased: audit.erased, Rate: *rate, Written: progress.add})
	progress.finish()
	if err != nil {
		return fmt.Errorf("offboard 3/3 erase: %w (%d erased; run again to erase the rest)", batchFailure(sio, err), n)
	}
	fmt.Fprintf(sio.err, "offboard 3/3 erase: erased %d customers; client %s is offboarded\n", n, clientID)
	return nil
}

// offboardExport writes the export, or keeps one an earlier, interrupted
// offboard wrote, provided it holds every customer still stored: an export
// made after some were erased must never replace the whole one.
func offboardExport(ctx context.Context, sio stdio, admin *dynamo.Admin, clientID customer.ClientID, path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) { // #nosec G703 -- the operator names the file
		n, _, err := exportTo(ctx, sio, admin, clientID, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.err, "offboard 1/3 export: %d customers to %s\n", n, path)
		return nil
	} else if err != nil {
		return err
	}
	// Exactly, as strings: an erasure must never rest on a hash.
	have := map[string]bool{}
	err := scanCCIDs(path, func(ids []string) error {
		for _, id := range ids {
			have[id] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s exists and is not an export: %w", path, err)
	}
	missing := 0
	err = admin.ClientCCIDs(ctx, clientID, func(ccids []string) error {
		for _, id := range ccids {
			if !have[id] {
				missing++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("%s exists but lacks %d stored customers of client %s; give another --out", path, missing, clientID)
	}
	fmt.Fprintf(sio.err, "offboard 1/3 export: %s exists and holds every customer still stored (%d records); kept\n", path, len(have))
	return nil
}
