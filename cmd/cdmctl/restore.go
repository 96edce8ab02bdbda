package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

var restoreCommand = &command{name: "restore", args: "--from-table TABLE (--client ID | --all-clients) [--keys-from-table TABLE] [--from-endpoint URL] [--from-region REGION] [--keys-table-lost] [--dry-run] [--yes] [--rate N]",
	summary: "make live customers equal a restored table's", tables: true, run: restore}

// restore makes the live customers of one client, or of all, equal to
// those of a table restored beside the live one (point-in-time recovery or
// an AWS Backup recovery point); with --keys-from-table it also puts back
// the API keys the live table lacks.
func restore(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	fromTable := fs.String("from-table", "", "the restored customers `TABLE` to copy from")
	fromKeys := fs.String("keys-from-table", "", "the restored API keys `TABLE`: put back the keys the live table lacks")
	fromEndpoint := fs.String("from-endpoint", "", "the DynamoDB `URL` of the restored tables (default: the live tables')")
	fromRegion := fs.String("from-region", "", "the `REGION` of the restored tables (default: the live tables')")
	client := clientVar(fs, "restore only this client `ID`'s customers")
	all := fs.Bool("all-clients", false, "restore every client's customers")
	dryRun := fs.Bool("dry-run", false, "count what would change; write nothing")
	yes := fs.Bool("yes", false, fmt.Sprintf("replace or erase more than %d live customers", confirmAbove))
	lostKeys := fs.Bool("keys-table-lost", false, "the live API keys table was lost and is empty: put back the backup's keys (docs/operating.md)")
	rate := rateVar(fs)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := checkRate(*rate); err != nil {
		return err
	}
	s := inv.s
	switch {
	case *fromTable == "":
		return fmt.Errorf("%w: restore needs --from-table, the table restored beside the live one", errUsage)
	case *all == !client.id.IsZero():
		return fmt.Errorf("%w: restore needs exactly one of --client ID and --all-clients", errUsage)
	}
	clientID := client.id // zero with --all-clients
	src := s
	src.CustomersTable, src.APIKeysTable = *fromTable, *fromKeys
	if *fromEndpoint != "" {
		src.DynamoDBEndpoint = *fromEndpoint
	}
	if *fromRegion != "" {
		src.Region = *fromRegion
		if *fromEndpoint == "" {
			src.DynamoDBEndpoint = "" // the region's own endpoint
		}
	}
	sameStore := src.DynamoDBEndpoint == s.DynamoDBEndpoint && src.Region == s.Region
	if sameStore && (*fromTable == s.CustomersTable || *fromKeys == s.APIKeysTable || *fromKeys == s.CustomersTable) {
		return fmt.Errorf("%w: --from-table and --keys-from-table name the restored tables, not the live ones", errUsage)
	}

	liveDB, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	srcDB := liveDB
	if !sameStore {
		if srcDB, err = awsclient.DynamoDB(ctx, src); err != nil {
			return err
		}
	}
	source, err := dynamo.CheckSource(ctx, srcDB, dynamo.CustomersTableDef(""), *fromTable)
	if err != nil {
		return err
	}
	if *fromKeys != "" {
		if _, err := dynamo.CheckSource(ctx, srcDB, dynamo.APIKeysTableDef(""), *fromKeys); err != nil {
			return err
		}
	}
	if _, err := dynamo.CheckSource(ctx, liveDB, dynamo.CustomersTableDef(""), s.CustomersTable); err != nil {
		return fmt.Errorf("the live table: %w", err)
	}
	if !source.HasIndex && !*all {
		fmt.Fprintf(sio.err, "%s has no %s index: reading the whole table to find client %s's customers\n", *fromTable, dynamo.ClientIndex.Name, clientID)
	}
	live := dynamo.NewAdmin(liveDB, s.CustomersTable, s.APIKeysTable)
	from := dynamo.NewAdmin(srcDB, src.CustomersTable, src.APIKeysTable)
	who := "client " + clientID.String()
	if *all {
		who = "every client"
	}

	if *lostKeys && *fromKeys == "" {
		return fmt.Errorf("%w: --keys-table-lost goes with --keys-from-table", errUsage)
	}
	var keys dynamo.KeysResult
	// The plan, always: it reads every item to be copied first, so that an
	// item the restore refuses stops it before anything is written, and it
	// holds a large change until --yes.
	planned, err := live.RestoreCustomers(ctx, from, source, clientID, dynamo.RestoreOptions{DryRun: true})
	if err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	plan := planned.Total()
	if *fromKeys != "" {
		if keys, err = live.RestoreKeys(ctx, from, clientID, true, *lostKeys); err != nil {
			return err
		}
	}
	if *dryRun {
		fmt.Fprintf(sio.err, "dry run: %s from %s: would put back %d, replace %d, erase %d, leave %d unchanged%s; nothing written\n",
			who, *fromTable, plan.Restored, plan.Replaced, plan.Erased, plan.Unchanged, keysLine(*fromKeys, keys, "would put back"))
		byClient(sio, planned, *all)
		return nil
	}
	if plan.Changes() > confirmAbove && !*yes {
		return fmt.Errorf("%w: this replaces %d and erases %d live customers of %s (and puts back %d); check with --dry-run, then run again with --yes",
			errUsage, plan.Replaced, plan.Erased, who, plan.Restored)
	}
	start := time.Now()
	audit := newAuditLog(sio.err, inv.operator(ctx), customer.ClientID{})
	progress := newProgress(sio.err, "restoring", plan.Changes())
	done, err := live.RestoreCustomers(ctx, from, source, clientID, dynamo.RestoreOptions{Erased: audit.erasedOf,
		Batch: dynamo.BatchOptions{Rate: *rate, Written: progress.add}})
	progress.finish()
	if err != nil {
		fmt.Fprintf(sio.err, "restore of %s stopped: %v; run it again to finish (it changes only what still differs)\n", who, err)
		return batchFailure(sio, err)
	}
	// Only into a lost keys table does the keys restore write; otherwise the
	// plan's comparison is the whole of it.
	if *lostKeys {
		if keys, err = live.RestoreKeys(ctx, from, clientID, false, true); err != nil {
			return err
		}
	}
	res := done.Total()
	fmt.Fprintf(sio.err, "restored %s from %s: put back %d, replaced %d, erased %d, unchanged %d%s, in %v\n",
		who, *fromTable, res.Restored, res.Replaced, res.Erased, res.Unchanged, keysLine(*fromKeys, keys, "put back"), time.Since(start).Round(time.Millisecond))
	byClient(sio, done, *all)
	if *lostKeys {
		fmt.Fprintf(sio.err, "keys put back as the backup held them: now retire again every key retired since the backup (docs/operating.md, a lost keys table)\n")
	}
	return nil
}

// byClient prints one line of counts per client, for a restore of all.
func byClient(sio stdio, r dynamo.RestoreResult, all bool) {
	if !all {
		return
	}
	for _, c := range slices.Sorted(maps.Keys(r.ByClient)) {
		n := r.ByClient[c]
		fmt.Fprintf(sio.err, "  client %q: put back %d, replaced %d, erased %d, unchanged %d\n", c, n.Restored, n.Replaced, n.Erased, n.Unchanged)
	}
}

func keysLine(table string, k dynamo.KeysResult, verb string) string {
	if table == "" {
		return ""
	}
	if k.Missing > 0 {
		return fmt.Sprintf("; keys from %s: %d already here kept as they are, %d not here and not put back (a retired key's item stays, so these were never here or were removed by hand)", table, k.Kept, k.Missing)
	}
	return fmt.Sprintf("; keys from %s: %s %d, %d already here kept as they are", table, verb, k.Restored, k.Kept)
}
