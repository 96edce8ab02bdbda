package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
)

// confirmAbove is how many customers delete erases without --yes.
const confirmAbove = 10

var deleteCommand = &command{name: "delete", args: "--client ID [--yes] [--rate N] CCID... | --file FILE",
	summary: "erase customers (one audit line each on stderr)", tables: true, run: deleteCustomers}

func deleteCustomers(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	client := clientVar(fs, "client `ID` whose customers to erase")
	file := fs.String("file", "", "`FILE` of ccids, one a line (or NDJSON records, such as an export)")
	yes := fs.Bool("yes", false, fmt.Sprintf("erase more than %d customers", confirmAbove))
	rate := rateVar(fs)
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if err := checkRate(*rate); err != nil {
		return err
	}
	clientID, err := client.required()
	if err != nil {
		return err
	}
	ccids := fs.Args()
	for _, a := range ccids {
		if fs.Lookup(strings.TrimLeft(a, "-")) != nil && strings.HasPrefix(a, "-") {
			return fmt.Errorf("%w: %s after a ccid: flags go before the ccids", errUsage, a)
		}
	}
	switch {
	case *file != "" && len(ccids) > 0:
		return fmt.Errorf("%w: give ccids or --file, not both", errUsage)
	case *file == "" && len(ccids) == 0:
		return fmt.Errorf("%w: delete needs ccids or --file", errUsage)
	}
	for _, id := range ccids {
		if customer.ValidateCCID(id) != nil {
			return fmt.Errorf("%w: %q is not a valid ccid", errUsage, id)
		}
	}
	// The ccids, a chunk at a time: a file is read twice (checked and
	// counted first, then erased), never held whole.
	each := func(fn func(ids []string) error) error { return fn(ccids) }
	requested := len(ccids)
	if *file != "" {
		if requested, err = countCCIDs(*file); err != nil {
			return err
		}
		each = func(fn func(ids []string) error) error { return scanCCIDs(*file, fn) }
	}
	if requested > confirmAbove && !*yes {
		return fmt.Errorf("%w: this erases up to %d customers of client %s for good; run again with --yes", errUsage, requested, clientID)
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	audit := newAuditLog(sio.err, inv.operator(ctx), clientID)
	progress := newProgress(sio.err, "erasing", requested)
	erased, absent := 0, 0
	err = each(func(ids []string) error {
		res, err := admin.EraseCustomers(ctx, clientID, ids, dynamo.BatchOptions{Erased: audit.erased, Rate: *rate, Written: progress.add})
		for _, id := range res.Absent {
			fmt.Fprintf(sio.err, "not stored: %s\n", id)
		}
		erased, absent = erased+res.Erased, absent+len(res.Absent)
		return err
	})
	progress.finish()
	fmt.Fprintf(sio.err, "erased %d, not stored %d, of %d requested\n", erased, absent, requested)
	return batchFailure(sio, err)
}

// ccidChunk is how many ccids of a file delete erases at a time.
const ccidChunk = 1000

// countCCIDs checks every line of a file of ccids and counts them.
func countCCIDs(path string) (int, error) {
	n := 0
	err := scanCCIDs(path, func(ids []string) error {
		n += len(ids)
		return nil
	})
	return n, err
}

// scanCCIDs reads a file of ccids, one a line, and passes them to fn
// ccidChunk at a time; a line that starts with { is a JSON record whose
// ccid is taken, so an export or import file works. A line that holds no
// valid ccid stops it, named.
func scanCCIDs(path string, fn func(ids []string) error) error {
	f, err := os.Open(path) // #nosec G304 G703 -- the operator names the file
	if err != nil {
		return err
	}
	defer f.Close()
	ccids := make([]string, 0, ccidChunk)
	r := bufio.NewReader(f)
	for line := 1; ; line++ {
		text, err := r.ReadString('\n')
		text = strings.TrimRight(text, "\r\n")
		if strings.TrimSpace(text) != "" {
			id := text
			if strings.HasPrefix(strings.TrimSpace(text), "{") {
				var rec struct {
					CCID *string `json:"ccid"`
				}
				if json.Unmarshal([]byte(text), &rec) != nil || rec.CCID == nil {
					return fmt.Errorf("%w: %s:%d: ccid: want a JSON record with a ccid", errUsage, path, line)
				}
				id = *rec.CCID
			}
			if customer.ValidateCCID(id) != nil {
				return fmt.Errorf("%w: %s:%d: ccid: want 1 to %d bytes without control characters", errUsage, path, line, customer.MaxIDBytes)
			}
			if ccids = append(ccids, id); len(ccids) == ccidChunk {
				if err := fn(ccids); err != nil {
					return err
				}
				ccids = ccids[:0]
			}
		}
		if err == io.EOF {
			if len(ccids) > 0 {
				return fn(ccids)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}
