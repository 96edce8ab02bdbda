package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/smithy-go"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/env"
)

func importCustomers(ctx context.Context, sio stdio, args []string) error {
	s, err := env.Read()
	if err != nil {
		return err
	}
	fs := newFlags("import", sio, &s)
	client := fs.String("client", "", "client `ID` the customers belong to")
	skipInvalid := fs.Bool("skip-invalid", false, "write the valid records even if some are invalid")
	dryRun := fs.Bool("dry-run", false, "validate only; write nothing")
	inFlight := fs.Int("in-flight", 4, "BatchWriteItem requests in flight at once")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	if customer.ValidateClientID(*client) != nil {
		return fmt.Errorf("%w: --client %q: want 1 to %d bytes of UTF-8 without '#' or control characters", errUsage, *client, customer.MaxIDBytes)
	}
	if *inFlight < 1 || *inFlight > 64 {
		return fmt.Errorf("%w: --in-flight must be 1 to 64", errUsage)
	}
	in := sio.in
	name := fs.Arg(0)
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 -- the operator names the file to import
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
	if len(rejects) > 0 && !*skipInvalid {
		summary(0)
		return fmt.Errorf("%d invalid record(s); nothing written (--skip-invalid writes the valid ones)", len(rejects))
	}
	if *dryRun {
		fmt.Fprintf(sio.err, "dry run: %d valid, %d rejected, nothing written\n", len(entries), len(rejects))
		return nil
	}
	db, err := env.DynamoDB(ctx, s)
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
	written, err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).PutCustomers(ctx, *client, cs, opts)
	var batchErr *dynamo.BatchError
	if errors.As(err, &batchErr) {
		lines := make(map[string]int, len(entries))
		for _, e := range entries {
			lines[*e.Customer.CCID] = e.Line
		}
		reason := storageReason(batchErr.Err)
		for _, id := range batchErr.CCIDs {
			fmt.Fprintf(sio.err, "%s:%d: -: not stored: %s\n", name, lines[id], reason)
		}
	}
	summary(written)
	return err
}

// storageReason is DynamoDB's error code and message, which name limits,
// not stored values; anything else as it is.
func storageReason(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// progressBar returns a bar on w when w is a terminal, else nil.
func progressBar(w io.Writer, total int) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}
