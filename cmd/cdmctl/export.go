package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

var exportCommand = &command{name: "export", args: "--client ID [--out FILE|-]",
	summary: "every customer of a client, as import NDJSON", tables: true, run: export}

func export(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` whose customers to export")
	out := fs.String("out", "-", "`FILE` to write (created with mode 0600, whole or not at all), or - for stdout")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	n, st, err := exportTo(ctx, sio, admin, clientID, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(sio.err, "exported %d customers of client %s to %s (%d index entries, %d items read in %d requests)\n", n, clientID, *out, st.IndexEntries, st.Items, st.Requests)
	return nil
}

// exportTo writes clientID's customers as NDJSON in the import format to
// path (- for stdout). A file appears only when the export is complete:
// it is written beside path and renamed over it at the end.
func exportTo(ctx context.Context, sio stdio, admin *dynamo.Admin, clientID customer.ClientID, path string) (int, dynamo.ReadStats, error) {
	var w io.Writer = sio.out
	var tmp *os.File
	if path != "-" {
		var err error
		tmp, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
		if err != nil {
			return 0, dynamo.ReadStats{}, err
		}
		defer func() {
			if tmp != nil {
				// An unfinished export: drop it, whatever the errors.
				_ = tmp.Close()
				_ = os.Remove(tmp.Name()) // #nosec G703 -- the temporary file this command made
			}
		}()
		w = tmp
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	n := 0
	last := time.Now()
	st, err := admin.ExportCustomers(ctx, clientID, dynamo.BatchOptions{}, func(c customer.Customer) error {
		body, err := customer.EncodeJSON(c)
		if err != nil {
			return fmt.Errorf("customer %s: %w", *c.CCID, err)
		}
		if _, err := bw.WriteString(body + "\n"); err != nil {
			return err
		}
		n++
		if time.Since(last) > 2*time.Second {
			fmt.Fprintf(sio.err, "exported %d customers so far\n", n)
			last = time.Now()
		}
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil || tmp == nil {
		return n, st, err
	}
	if err := tmp.Sync(); err != nil {
		return n, st, err
	}
	if err := tmp.Close(); err != nil {
		return n, st, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil { // #nosec G703 -- the operator names the file
		return n, st, err
	}
	tmp = nil
	return n, st, nil
}
