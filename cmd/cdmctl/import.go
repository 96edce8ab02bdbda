package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

var importCommand = &command{name: "import", args: "--client ID [--skip-invalid] [--dry-run] [--sync [--max-erase 0.1] [--force]] FILE|-",
	summary: "store a client's customers from NDJSON or a JSON array; nothing is written while any record is invalid", tables: true, run: importCustomers}

func importCustomers(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` the customers belong to")
	skipInvalid := fs.Bool("skip-invalid", false, "write the valid records even if some are invalid")
	dryRun := fs.Bool("dry-run", false, "validate only; write nothing")
	inFlight := fs.Int("in-flight", 4, "BatchWriteItem requests in flight at once")
	sync := fs.Bool("sync", false, "then erase the client's stored customers the file does not hold")
	maxErase := fs.Float64("max-erase", 0.1, "with --sync: the largest `share` of the client's stored customers it erases without --force")
	force := fs.Bool("force", false, "with --sync: erase more than --max-erase")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if *inFlight < 1 || *inFlight > 64 {
		return fmt.Errorf("%w: --in-flight must be 1 to 64", errUsage)
	}
	if *maxErase < 0 || *maxErase > 1 {
		return fmt.Errorf("%w: --max-erase is a share from 0 to 1", errUsage)
	}
	in := sio.in
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 G703 -- the operator names the file to import
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	start := time.Now()
	entries, rejects, err := customer.ReadImport(in)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	for _, r := range rejects {
		for _, e := range r.Errors {
			field := e.Field
			if field == "" {
				field = "-"
			}
			fmt.Fprintf(sio.err, "%s:%d: %s: %s\n", name, r.Line, field, e.Reason)
		}
	}
	summary := func(written int) {
		d := time.Since(start)
		fmt.Fprintf(sio.err, "written %d, rejected %d, in %v (%.0f records/s)\n", written, len(rejects), d.Round(time.Millisecond), float64(written)/d.Seconds())
	}
	if *sync && len(rejects) > 0 {
		summary(0)
		return fmt.Errorf("%d invalid record(s); nothing written: --sync would erase their customers, so it needs every record valid", len(rejects))
	}
	if *sync && len(entries) == 0 {
		return fmt.Errorf("%w: --sync with no records would erase every customer of client %s; offboard does that on purpose", errUsage, clientID)
	}
	if len(rejects) > 0 && !*skipInvalid {
		summary(0)
		return fmt.Errorf("%d invalid record(s); nothing written (--skip-invalid writes the valid ones)", len(rejects))
	}
	if *sync {
		return importSync(ctx, inv, clientID, name, entries, syncOptions{dryRun: *dryRun, maxErase: *maxErase, force: *force, inFlight: *inFlight})
	}
	if *dryRun {
		fmt.Fprintf(sio.err, "dry run: %d valid, %d rejected, nothing written\n", len(entries), len(rejects))
		return nil
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	cs := make([]customer.Customer, len(entries))
	for i, e := range entries {
		cs[i] = e.Customer
	}
	opts := dynamo.BatchOptions{InFlight: *inFlight}
	if bar := progressBar(sio.err, len(cs)); bar != nil {
		opts.Written = func(n int) { _ = bar.Add(n) }
		defer bar.Finish()
	}
	written, err := admin.PutCustomers(ctx, clientID, cs, opts)
	reportUnstored(sio, name, entries, err)
	summary(written)
	return err
}

type syncOptions struct {
	dryRun   bool
	maxErase float64
	force    bool
	inFlight int
}

// importSync makes the client's stored customers exactly the file's: it
// plans first (from the client index), refuses to erase more than the
// stated share unless forced, writes the file's records, then erases the
// customers the file does not hold.
func importSync(ctx context.Context, inv *invocation, clientID customer.ClientID, name string, entries []customer.Entry, o syncOptions) error {
	sio := inv.stdio
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	inFile := make(map[string]bool, len(entries))
	for _, e := range entries {
		inFile[*e.Customer.CCID] = true
	}
	stored := map[string]bool{}
	var erase []string
	err = admin.ClientCCIDs(ctx, clientID, func(ccids []string) error {
		for _, id := range ccids {
			stored[id] = true
			if !inFile[id] {
				erase = append(erase, id)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	added, replaced := 0, 0
	for id := range inFile {
		if stored[id] {
			replaced++
		} else {
			added++
		}
	}
	tooMany := len(stored) > 0 && float64(len(erase)) > o.maxErase*float64(len(stored)) && !o.force
	refusal := fmt.Errorf("--sync would erase %d of client %s's %d stored customers, more than --max-erase %.0f%%; check the file, or add --force", len(erase), clientID, len(stored), 100*o.maxErase)
	if o.dryRun {
		var replacing []customer.Customer
		for _, e := range entries {
			if stored[*e.Customer.CCID] {
				replacing = append(replacing, e.Customer)
			}
		}
		unchanged, err := admin.Unchanged(ctx, clientID, replacing, dynamo.BatchOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.err, "dry run: %d valid; would add %d, replace %d, leave %d unchanged, erase %d; nothing written\n", len(entries), added, replaced-unchanged, unchanged, len(erase))
		if tooMany {
			return refusal
		}
		return nil
	}
	if tooMany {
		return refusal
	}
	cs := make([]customer.Customer, len(entries))
	for i, e := range entries {
		cs[i] = e.Customer
	}
	start := time.Now()
	written, err := admin.PutCustomers(ctx, clientID, cs, dynamo.BatchOptions{InFlight: o.inFlight})
	if err != nil {
		reportUnstored(sio, name, entries, err)
		fmt.Fprintf(sio.err, "written %d of %d; nothing erased\n", written, len(cs))
		return err
	}
	audit := newAuditLog(sio.err, inv.operator(ctx), clientID)
	res, err := admin.EraseCustomers(ctx, clientID, erase, dynamo.BatchOptions{InFlight: o.inFlight, Erased: audit.erased})
	fmt.Fprintf(sio.err, "synced client %s: added %d, replaced %d, erased %d, in %v\n", clientID, added, replaced, res.Erased, time.Since(start).Round(time.Millisecond))
	return batchFailure(sio, err)
}
