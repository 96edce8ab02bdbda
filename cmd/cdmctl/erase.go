package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

// confirmAbove is how many customers delete erases without --yes.
const confirmAbove = 10

func deleteCustomers(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("delete", sio, &s)
	client := clientVar(fs, "client `ID` whose customers to erase")
	file := fs.String("file", "", "`FILE` of ccids, one a line (or NDJSON records, such as an export)")
	yes := fs.Bool("yes", false, fmt.Sprintf("erase more than %d customers", confirmAbove))
	if err := parse(fs, args, -1); err != nil {
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
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	audit := newAuditLog(sio.err, awsclient.Operator(ctx, s), clientID)
	res, err := dynamo.NewAdmin(db, s.CustomersTable, s.APIKeysTable).EraseCustomers(ctx, clientID, ccids, dynamo.BatchOptions{Erased: audit.erased})
	for _, id := range res.Absent {
		fmt.Fprintf(sio.err, "not stored: %s\n", id)
	}
	fmt.Fprintf(sio.err, "erased %d, not stored %d, of %d requested\n", res.Erased, len(res.Absent), len(ccids))
	return batchFailure(sio, err)
}

// batchFailure names each customer of a failed batch, so that the operator
// knows exactly what to run again.
func batchFailure(sio stdio, err error) error {
	var be *dynamo.BatchError
	if errors.As(err, &be) {
		for _, id := range be.CCIDs {
			fmt.Fprintf(sio.err, "not erased: %s: %s\n", id, storageReason(be.Err))
		}
	}
	return err
}

// readCCIDs reads a file of ccids, one a line; a line that starts with {
// is a JSON record whose ccid is taken, so an export or import file works.
func readCCIDs(path string) ([]string, error) {
	f, err := os.Open(path) // #nosec G304 -- the operator names the file
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

// auditLog writes one JSON line per erased customer: when, by whom (the
// operator's AWS identity, when there is one), which client and ccid, and
// no other field.
type auditLog struct {
	mu       sync.Mutex
	enc      *json.Encoder
	operator string
	client   string
}

type auditLine struct {
	Time     string `json:"time"`
	Operator string `json:"operator,omitempty"`
	ClientID string `json:"client_id"`
	CCID     string `json:"ccid"`
}

func newAuditLog(w io.Writer, operator string, client customer.ClientID) *auditLog {
	return &auditLog{enc: json.NewEncoder(w), operator: operator, client: client.String()}
}

func (a *auditLog) erased(ccids []string) { a.erasedOf(a.client, ccids) }

// erasedOf writes the lines of the erased ccids of a client, as its pks name
// it, for a command that erases several clients' customers.
func (a *auditLog) erasedOf(client string, ccids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, id := range ccids {
		_ = a.enc.Encode(auditLine{Time: now, Operator: a.operator, ClientID: client, CCID: id})
	}
}
