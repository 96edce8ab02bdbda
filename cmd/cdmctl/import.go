package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

var importCommand = &command{name: "import", args: "--client ID [--skip-invalid] [--dry-run] [--sync [--max-erase 0.1] [--force]] [--rate N] [--resume] FILE|-",
	summary: "store a client's customers from NDJSON or a JSON array; nothing is written while any record is invalid", tables: true, run: importCustomers,
	doc: `The file is read twice, a record at a time: first to check every record
(and find CCIDs given twice), then to write. Standard input is first copied
to a private temporary file, unlinked at once. A run of a FILE keeps a
checkpoint beside it (FILE.checkpoint); stopped half way (Ctrl-C, a lost
connection, throttling past the retry budget), it prints how to continue:
the same command with --resume, which skips what is stored already.
`}

// importOptions are the flags of import that shape its writing.
type importOptions struct {
	dryRun, sync, force, resume bool
	maxErase, rate              float64
	inFlight                    int
	again                       string // the command line that resumes this run
}

func importCustomers(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` the customers belong to")
	skipInvalid := fs.Bool("skip-invalid", false, "write the valid records even if some are invalid")
	var o importOptions
	fs.BoolVar(&o.dryRun, "dry-run", false, "validate only; write nothing")
	fs.IntVar(&o.inFlight, "in-flight", 4, "BatchWriteItem requests in flight at once")
	fs.BoolVar(&o.sync, "sync", false, "then erase the client's stored customers the file does not hold")
	fs.Float64Var(&o.maxErase, "max-erase", 0.1, "with --sync: the largest `share` of the client's stored customers it erases without --force")
	fs.BoolVar(&o.force, "force", false, "with --sync: erase more than --max-erase")
	fs.Float64Var(&o.rate, "rate", 0, "at most this many `records` a second, written or erased (0: as fast as the table takes them)")
	fs.BoolVar(&o.resume, "resume", false, "continue a run that stopped, from FILE.checkpoint")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	switch {
	case o.inFlight < 1 || o.inFlight > 64:
		return fmt.Errorf("%w: --in-flight must be 1 to 64", errUsage)
	case o.maxErase < 0 || o.maxErase > 1:
		return fmt.Errorf("%w: --max-erase is a share from 0 to 1", errUsage)
	case o.rate < 0:
		return fmt.Errorf("%w: --rate must not be negative", errUsage)
	case o.resume && fs.Arg(0) == "-":
		return fmt.Errorf("%w: --resume needs the FILE the stopped run read (standard input leaves nothing to resume)", errUsage)
	}
	again := []string{"cdmctl", "import"}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "resume" && f.Name != "dry-run" {
			again = append(again, "--"+f.Name+"="+f.Value.String())
		}
	})
	o.again = quoteArgs(append(again, "--resume", fs.Arg(0)))
	src, err := openImport(sio, fs.Arg(0))
	if err != nil {
		return err
	}
	defer src.close()
	start := time.Now()
	check, err := checkImport(src, sio.err)
	if err != nil {
		return err
	}
	summary := func(written int) {
		d := time.Since(start)
		fmt.Fprintf(sio.err, "written %d, rejected %d, in %v (%.0f records/s)\n", written, check.rejected, d.Round(time.Millisecond), float64(written)/d.Seconds())
	}
	switch {
	case o.sync && check.rejected > 0:
		summary(0)
		return fmt.Errorf("%d invalid record(s); nothing written: --sync would erase their customers, so it needs every record valid", check.rejected)
	case o.sync && check.valid == 0:
		return fmt.Errorf("%w: --sync with no records would erase every customer of client %s; offboard does that on purpose", errUsage, clientID)
	case check.rejected > 0 && !*skipInvalid:
		summary(0)
		return fmt.Errorf("%d invalid record(s); nothing written (--skip-invalid writes the valid ones)", check.rejected)
	case o.dryRun && !o.sync:
		fmt.Fprintf(sio.err, "dry run: %d valid, %d rejected, nothing written\n", check.valid, check.rejected)
		return nil
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	if o.sync {
		return importSync(ctx, inv, admin, clientID, src, check, o)
	}
	written, err := writeImport(ctx, inv, admin, clientID, src, check, o)
	summary(written)
	return err
}

// importSource is the file an import reads: the operator's, or a private
// copy of standard input.
type importSource struct {
	name string   // as the operator gave it: a path, or -
	path string   // what is read, for a path
	copy *os.File // the copy of standard input, already unlinked
}

// openImport returns the file to read, copying standard input (-) to a
// private temporary file first, so that it can be read twice. The copy is
// unlinked as soon as it is made: the open file is all that is left of it,
// so that not even a kill -9 leaves patient data behind in the temporary
// folder.
func openImport(sio stdio, name string) (*importSource, error) {
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 G703 -- the operator names the file to import
		if err != nil {
			return nil, err
		}
		return &importSource{name: name, path: name}, f.Close()
	}
	f, err := os.CreateTemp("", "cdmctl-import-*.ndjson") // mode 0600
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil { // #nosec G703 -- the temporary file this command made
		_ = f.Close()
		return nil, fmt.Errorf("unlink the copy of standard input: %w", err)
	}
	src := &importSource{name: name, copy: f}
	if _, err := io.Copy(f, sio.in); err != nil {
		src.close()
		return nil, fmt.Errorf("copy standard input: %w", err)
	}
	return src, nil
}

// close lets go of the copy of standard input, which then is gone.
func (s *importSource) close() {
	if s.copy != nil {
		_ = s.copy.Close()
	}
}

// scan reads the file's records, with each one's line.
func (s *importSource) scan(take func(line int, data []byte) error) error {
	var r io.Reader
	if s.copy != nil {
		if _, err := s.copy.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r = s.copy
	} else {
		f, err := os.Open(s.path) // #nosec G304 G703 -- the operator names the file to import
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := customer.ScanImport(r, take); err != nil {
		return fmt.Errorf("read %s: %w", s.name, err)
	}
	return nil
}

// importCheck is what the first pass learns of a file, in memory that
// grows by 8 bytes a record: the hash of each valid record's CCID. Two
// CCIDs whose hashes collide are told apart by comparing them, so no
// record is wrongly called a duplicate; a sync keeps, never erases, a
// stored customer whose CCID's hash is a file record's.
type importCheck struct {
	valid, rejected int
	ccids           *customer.IDSet
	duplicates      map[int]bool // lines of records whose CCID an earlier line holds
	sum             string       // SHA-256 of the file, for a checkpoint
}

// checkImport reads the file once, printing each invalid record's line
// and reasons, and once more when two records' CCIDs may be the same, to
// find which: a record whose CCID an earlier one holds is rejected.
func checkImport(src *importSource, w io.Writer) (*importCheck, error) {
	check := &importCheck{ccids: customer.NewIDSet(), duplicates: map[int]bool{}}
	reject := func(line int, errs customer.InvalidError) {
		check.rejected++
		for _, e := range errs {
			field := e.Field
			if field == "" {
				field = "-"
			}
			fmt.Fprintf(w, "%s:%d: %s: %s\n", src.name, line, field, e.Reason)
		}
	}
	sum := sha256.New()
	err := src.scan(func(line int, data []byte) error {
		fmt.Fprintf(sum, "%d:", line) // a line moved is a file changed: the checkpoint counts lines
		sum.Write(data)
		c, err := customer.ParseRecord(data)
		if err != nil {
			reject(line, err.(customer.InvalidError))
			return nil
		}
		check.valid++
		check.ccids.Add(*c.CCID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	check.sum = hex.EncodeToString(sum.Sum(nil))
	shared := check.ccids.Seal()
	if len(shared) == 0 {
		return check, nil
	}
	first := map[string]int{} // only the CCIDs whose hashes are shared
	err = src.scan(func(line int, data []byte) error {
		c, err := customer.ParseRecord(data)
		if err != nil || !shared[check.ccids.Hash(*c.CCID)] {
			return nil
		}
		if at, dup := first[*c.CCID]; dup {
			check.duplicates[line] = true
			check.valid--
			reject(line, customer.DuplicateOf(at))
			return nil
		}
		first[*c.CCID] = line
		return nil
	})
	return check, err
}

// eachValid passes each valid record of the file, past line after, to fn,
// and fails if the file no longer holds what the first pass checked (an
// operator's edit in the meantime), naming what to do.
func (s *importSource) eachValid(check *importCheck, after int, fn func(line int, c customer.Customer) error) error {
	sum := sha256.New()
	err := s.scan(func(line int, data []byte) error {
		fmt.Fprintf(sum, "%d:", line)
		sum.Write(data)
		if line <= after || check.duplicates[line] {
			return nil
		}
		c, err := customer.ParseRecord(data)
		if err != nil {
			return nil // rejected in the first pass, or the file changed: see below
		}
		return fn(line, c)
	})
	if err == nil && hex.EncodeToString(sum.Sum(nil)) != check.sum {
		err = fmt.Errorf("%s changed while it was being imported: what was written may not be what was checked; import it again, unchanged", s.name)
	}
	return err
}

// writeImport is the second pass: it stores the file's valid records as it
// reads them, keeping a checkpoint of the line up to which all are stored.
func writeImport(ctx context.Context, inv *invocation, admin *dynamo.Admin, clientID customer.ClientID, src *importSource, check *importCheck, o importOptions) (int, error) {
	sio := inv.stdio
	cp, err := startCheckpoint(src, check, clientID, inv.s.CustomersTable, o, sio.err)
	if err != nil {
		return 0, err
	}
	todo := check.valid - cp.base
	progress := newProgress(sio.err, "importing", todo)
	opts := dynamo.BatchOptions{InFlight: o.inFlight, Rate: o.rate, Written: progress.add, Through: cp.through}
	w := admin.NewWriter(ctx, opts)
	stopped := src.eachValid(check, cp.state.Through, func(line int, c customer.Customer) error {
		return w.Put(clientID, c, line)
	})
	written, err := w.Close()
	progress.finish()
	if err == nil {
		err = stopped
	}
	if err == nil {
		cp.done()
		return written, nil
	}
	reportUnstored(sio, src.name, err)
	cp.stopped(err)
	return written, err
}

// syncCounts plans a sync from the client index: what it adds, replaces
// and erases.
type syncCounts struct{ stored, replaced, erase int }

// importSync makes the client's stored customers exactly the file's: it
// plans first (from the client index), refuses to erase more than the
// stated share unless forced, writes the file's records, then erases the
// customers the file does not hold, reading the index again.
func importSync(ctx context.Context, inv *invocation, admin *dynamo.Admin, clientID customer.ClientID, src *importSource, check *importCheck, o importOptions) error {
	sio := inv.stdio
	var plan syncCounts
	err := admin.ClientCCIDs(ctx, clientID, func(ccids []string) error {
		for _, id := range ccids {
			plan.stored++
			if check.ccids.Has(id) {
				plan.replaced++
			} else {
				plan.erase++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	added := check.valid - plan.replaced
	tooMany := plan.stored > 0 && float64(plan.erase) > o.maxErase*float64(plan.stored) && !o.force
	refusal := fmt.Errorf("--sync would erase %d of client %s's %d stored customers, more than --max-erase %.0f%%; check the file, or add --force", plan.erase, clientID, plan.stored, 100*o.maxErase)
	if o.dryRun {
		unchanged, err := countUnchanged(ctx, admin, clientID, src, check)
		if err != nil {
			return err
		}
		fmt.Fprintf(sio.err, "dry run: %d valid; would add %d, replace %d, leave %d unchanged, erase %d; nothing written\n", check.valid, added, plan.replaced-unchanged, unchanged, plan.erase)
		if tooMany {
			return refusal
		}
		return nil
	}
	if tooMany {
		return refusal
	}
	start := time.Now()
	written, err := writeImport(ctx, inv, admin, clientID, src, check, o)
	if err != nil {
		fmt.Fprintf(sio.err, "written %d of %d; nothing erased\n", written, check.valid)
		return err
	}
	audit := newAuditLog(sio.err, inv.operator(ctx), clientID)
	progress := newProgress(sio.err, "erasing", plan.erase)
	w := admin.NewWriter(ctx, dynamo.BatchOptions{InFlight: o.inFlight, Rate: o.rate, Erased: audit.erased, Written: progress.add})
	err = admin.ClientCCIDs(ctx, clientID, func(ccids []string) error {
		for _, id := range ccids {
			if check.ccids.Has(id) {
				continue
			}
			if err := w.Erase(customer.Key(clientID, id), 0); err != nil {
				return err
			}
		}
		return nil
	})
	erased, werr := w.Close()
	progress.finish()
	if err == nil {
		err = werr
	}
	fmt.Fprintf(sio.err, "synced client %s: added %d, replaced %d, erased %d, in %v\n", clientID, added, plan.replaced, erased, time.Since(start).Round(time.Millisecond))
	if err != nil {
		fmt.Fprintf(sio.err, "the erasing stopped; run the same command again to finish it (what is stored already is written again)\n")
	}
	return batchFailure(sio, err)
}

// countUnchanged counts the file's records stored exactly so, reading
// them 100 at a time.
func countUnchanged(ctx context.Context, admin *dynamo.Admin, clientID customer.ClientID, src *importSource, check *importCheck) (int, error) {
	n := 0
	chunk := make([]customer.Customer, 0, 100)
	flush := func() error {
		u, err := admin.Unchanged(ctx, clientID, chunk, dynamo.BatchOptions{})
		n += u
		chunk = chunk[:0]
		return err
	}
	err := src.eachValid(check, 0, func(_ int, c customer.Customer) error {
		if chunk = append(chunk, c); len(chunk) == cap(chunk) {
			return flush()
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = flush()
	}
	return n, err
}

// quoteArgs is the command line again, for a message saying what to run.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\;&|<>*?()[]{}`#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
