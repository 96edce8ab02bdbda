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
	case *file != "":
		if ccids, err = readCCIDs(*file); err != nil {
			return err
		}
	case len(ccids) == 0:
		return fmt.Errorf("%w: delete needs ccids or --file", errUsage)
	}
	for _, id := range ccids {
		if customer.ValidateCCID(id) != nil {
			return fmt.Errorf("%w: %q is not a valid ccid", errUsage, id)
		}
	}
	if len(ccids) > confirmAbove && !*yes {
		return fmt.Errorf("%w: this erases up to %d customers of client %s for good; run again with --yes", errUsage, len(ccids), clientID)
	}
	admin, err := inv.admin(ctx)
	if err != nil {
		return err
	}
	audit := newAuditLog(sio.err, inv.operator(ctx), clientID)
	progress := newProgress(sio.err, "erasing", len(ccids))
	res, err := admin.EraseCustomers(ctx, clientID, ccids, dynamo.BatchOptions{Erased: audit.erased, Rate: *rate, Written: progress.add})
	progress.finish()
	for _, id := range res.Absent {
		fmt.Fprintf(sio.err, "not stored: %s\n", id)
	}
	fmt.Fprintf(sio.err, "erased %d, not stored %d, of %d requested\n", res.Erased, len(res.Absent), len(ccids))
	return batchFailure(sio, err)
}

// readCCIDs reads a file of ccids, one a line; a line that starts with {
// is a JSON record whose ccid is taken, so an export or import file works.
func readCCIDs(path string) ([]string, error) {
	f, err := os.Open(path) // #nosec G304 G703 -- the operator names the file
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ccids []string
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
					return nil, fmt.Errorf("%w: %s:%d: ccid: want a JSON record with a ccid", errUsage, path, line)
				}
				id = *rec.CCID
			}
			if customer.ValidateCCID(id) != nil {
				return nil, fmt.Errorf("%w: %s:%d: ccid: want 1 to %d bytes without control characters", errUsage, path, line, customer.MaxIDBytes)
			}
			ccids = append(ccids, id)
		}
		if err == io.EOF {
			return ccids, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
