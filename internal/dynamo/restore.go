package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

// ErrNotRestorable marks a source table a restore cannot read from:
// missing, not active, or not shaped like the table it restores.
var ErrNotRestorable = errors.New("not a table to restore from")

// Source describes a table a restore reads: what CheckSource found.
type Source struct {
	Table    string
	HasIndex bool // the client index, so one client's entries can be read alone
}

// CheckSource describes table and checks that it can stand in for the
// table d defines: it exists, is ACTIVE, and has d's key. It fails with
// ErrNotRestorable saying what is wrong.
func CheckSource(ctx context.Context, db TableAdmin, d TableDef, table string) (Source, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		return Source{}, fmt.Errorf("%w: table %s does not exist here (check its name, region and endpoint)", ErrNotRestorable, table)
	case err != nil:
		return Source{}, storageError("DescribeTable", table, err)
	}
	if s := out.Table.TableStatus; s != types.TableStatusActive {
		return Source{}, fmt.Errorf("%w: table %s is %s; wait until it is ACTIVE (a restore into it may still be running)", ErrNotRestorable, table, s)
	}
	d.Name = table
	if err := d.matches(out.Table); err != nil {
		return Source{}, fmt.Errorf("%w: %v", ErrNotRestorable, err)
	}
	return Source{Table: table, HasIndex: d.Index != nil && hasIndex(out.Table, d.Index.Name)}, nil
}

// RestoreCounts counts what a restore changed or, in a dry run, would.
type RestoreCounts struct {
	Restored  int // in the source, missing from the live table: put back
	Replaced  int // in both, different: the source's put back
	Unchanged int // in both, equal
	Erased    int // in the live table only (added since): erased
}

// RestoreResult is a restore's counts by client (the part of each pk
// before its first #; "" for a pk without one).
type RestoreResult struct {
	ByClient map[string]*RestoreCounts
}

// Total adds up the counts of every client.
func (r RestoreResult) Total() RestoreCounts {
	var t RestoreCounts
	for _, c := range r.ByClient {
		t.Restored += c.Restored
		t.Replaced += c.Replaced
		t.Unchanged += c.Unchanged
		t.Erased += c.Erased
	}
	return t
}

func (r *RestoreResult) client(pk string) *RestoreCounts {
	c := clientOf(pk)
	if r.ByClient == nil {
		r.ByClient = map[string]*RestoreCounts{}
	}
	if r.ByClient[c] == nil {
		r.ByClient[c] = &RestoreCounts{}
	}
	return r.ByClient[c]
}

// clientOf returns the client part of a pk, or "" when it has none.
func clientOf(pk string) string {
	c, _, _ := customer.SplitKey(pk)
	return c
}

// SourceItemError is an item of a restored table that a restore will not
// copy because its keys disagree with each other; nothing is written when
// one is found (a restore plans before it writes).
type SourceItemError struct {
	Table, PK, Reason string
}

func (e *SourceItemError) Error() string {
	return fmt.Sprintf("%s: item pk %q: %s (correct or delete that item in %s, then run again)", e.Table, e.PK, e.Reason, e.Table)
}

// checkSourceItem refuses an item whose pk is not clientID's (when
// clientID is not "") or disagrees with its client_id or ccid attribute.
func checkSourceItem(table, pk string, item map[string]types.AttributeValue, clientID customer.ClientID) error {
	c, ccid, hasSep := customer.SplitKey(pk)
	bad := func(reason string) error { return &SourceItemError{Table: table, PK: pk, Reason: reason} }
	if !clientID.IsZero() && (!hasSep || c != clientID.String()) {
		return bad("read as client " + clientID.String() + "'s, but its pk is not " + clientID.KeyPrefix() + "CCID")
	}
	switch v := item[attrClientID].(type) {
	case nil:
	case *types.AttributeValueMemberS:
		if !hasSep || v.Value != c {
			return bad("its client_id attribute is not the client in its pk")
		}
	default:
		return bad("its client_id attribute is not a string")
	}
	switch v := item[attrCCID].(type) {
	case nil:
	case *types.AttributeValueMemberS:
		if !hasSep || v.Value != ccid {
			return bad("its ccid attribute is not the ccid in its pk")
		}
	default:
		return bad("its ccid attribute is not a string")
	}
	return nil
}

// Changes is how many live records the restore replaces or erases.
func (r RestoreCounts) Changes() int { return r.Replaced + r.Erased }

// RestoreOptions tune RestoreCustomers.
type RestoreOptions struct {
	Batch  BatchOptions
	DryRun bool // count, write nothing
	// Erased, when set, hears of each batch of one client's customers
	// erased, as soon as DynamoDB confirms it.
	Erased func(clientID string, ccids []string)
}

// RestoreCustomers makes the customers of clientID ("" for every client)
// in a's table equal, attribute for attribute, to those in from's: items
// missing or different are put back as from holds them, items from does
// not hold are erased, equal ones are left alone, so running it again
// changes nothing. It touches no other client's items. from is another
// Admin, on any endpoint or region; src is what CheckSource said of its
// table. It returns the counts and the first error; a failed batch is a
// *BatchError naming its customers.
func (a *Admin) RestoreCustomers(ctx context.Context, from *Admin, src Source, clientID customer.ClientID, o RestoreOptions) (RestoreResult, error) {
	o.Batch = o.Batch.withDefaults()
	var res RestoreResult
	seen := customer.NewIDSet() // every pk the source holds: 8 bytes each
	// Each page of source items: compare with the live items of the same
	// keys, then put back what differs.
	page := func(items map[string]map[string]types.AttributeValue) error {
		pks := make([]string, 0, len(items))
		for pk, item := range items {
			if err := checkSourceItem(from.customers, pk, item, clientID); err != nil {
				return err
			}
			pks = append(pks, pk)
			seen.Add(pk)
		}
		slices.Sort(pks)
		live, err := a.batchGet(ctx, a.customers, attrPK, pks, "", true, &ReadStats{}, o.Batch)
		if err != nil {
			return err
		}
		byClient := map[string][]types.WriteRequest{}
		for _, pk := range pks {
			cur, ok := live[pk]
			counts := res.client(pk)
			switch {
			case !ok:
				counts.Restored++
			case !equalItems(cur, items[pk]):
				counts.Replaced++
			default:
				counts.Unchanged++
				continue
			}
			c := clientOf(pk)
			byClient[c] = append(byClient[c], types.WriteRequest{PutRequest: &types.PutRequest{Item: items[pk]}})
		}
		if o.DryRun {
			return nil
		}
		for _, c := range slices.Sorted(maps.Keys(byClient)) {
			if _, err := a.writeAll(ctx, byClient[c], o.Batch); err != nil {
				return err
			}
		}
		return nil
	}
	if err := from.sourceItems(ctx, src, clientID, o.Batch, page); err != nil {
		return res, err
	}
	// Then erase what the source does not hold, as the live keys are read,
	// by pk as stored: a pk without # (which no customer has, but another
	// system may write) is erased as it is. A live pk whose hash is a source
	// pk's is kept (see customer.IDSet): never an erasure too many.
	seen.Seal()
	writers := map[string]*Writer{} // one a client, for its audit lines
	err := a.liveKeys(ctx, clientID, func(pks []string) error {
		for _, pk := range pks {
			if seen.Has(pk) {
				continue
			}
			res.client(pk).Erased++
			if o.DryRun {
				continue
			}
			c := clientOf(pk)
			w := writers[c]
			if w == nil {
				bo := o.Batch
				if o.Erased != nil {
					bo.Erased = func(ccids []string) { o.Erased(c, ccids) }
				}
				w = a.NewWriter(ctx, bo)
				writers[c] = w
			}
			if err := w.Erase(pk, 0); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range slices.Sorted(maps.Keys(writers)) {
		_, werr := writers[c].Close()
		if err == nil {
			err = werr
		}
	}
	return res, err
}

// sourceItems passes the items of clientID ("" for all) in a's customers
// table to fn, a page at a time, by pk: through the client index where src
// has it, else by scanning the table.
func (a *Admin) sourceItems(ctx context.Context, src Source, clientID customer.ClientID, o BatchOptions, fn func(map[string]map[string]types.AttributeValue) error) error {
	if !clientID.IsZero() && src.HasIndex {
		return a.clientCCIDs(ctx, clientID, &ReadStats{}, func(ccids []string) error {
			items, err := a.batchGet(ctx, a.customers, attrPK, customerKeys(clientID, ccids), "", true, &ReadStats{}, o)
			if err != nil {
				return err
			}
			return fn(items)
		})
	}
	return a.scan(ctx, clientID, "", func(items []map[string]types.AttributeValue) error {
		page := make(map[string]map[string]types.AttributeValue, len(items))
		for _, item := range items {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			if pk == nil {
				return fmt.Errorf("%w: an item of %s has no string pk", ErrNotRestorable, a.customers)
			}
			page[pk.Value] = item
		}
		return fn(page)
	})
}

// liveKeys passes the pks of clientID's items ("" for all) in a's customers
// table to fn, a page at a time.
func (a *Admin) liveKeys(ctx context.Context, clientID customer.ClientID, fn func(pks []string) error) error {
	if !clientID.IsZero() {
		return a.clientCCIDs(ctx, clientID, &ReadStats{}, func(ccids []string) error {
			return fn(customerKeys(clientID, ccids))
		})
	}
	return a.scan(ctx, customer.ClientID{}, attrPK, func(items []map[string]types.AttributeValue) error {
		pks := make([]string, 0, len(items))
		for _, item := range items {
			if pk, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
				pks = append(pks, pk.Value)
			}
		}
		return fn(pks)
	})
}

// scan reads a's customers table a page at a time: only clientID's items
// when it is not "" (their pk starts with the client and #), only the
// projection's attributes when it is not "".
func (a *Admin) scan(ctx context.Context, clientID customer.ClientID, projection string, fn func([]map[string]types.AttributeValue) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(a.customers), ConsistentRead: aws.Bool(true)}
	if !clientID.IsZero() {
		in.FilterExpression = aws.String("#c = :c AND begins_with(#pk, :p)")
		in.ExpressionAttributeNames = map[string]string{"#c": attrClientID, "#pk": attrPK}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":c": &types.AttributeValueMemberS{Value: clientID.String()},
			":p": &types.AttributeValueMemberS{Value: clientID.KeyPrefix()},
		}
	}
	if projection != "" {
		in.ProjectionExpression = aws.String(projection)
	}
	p := dynamodb.NewScanPaginator(a.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return storageError("Scan", a.customers, err)
		}
		if len(page.Items) > 0 {
			if err := fn(page.Items); err != nil {
				return err
			}
		}
	}
	return nil
}

// KeysResult counts what RestoreKeys did or, in a dry run, would.
type KeysResult struct {
	Restored int // put back (into a lost keys table only)
	Kept     int // in the live table too: left as they are
	Missing  int // not in the live table, which is not lost: not put back
}

// ErrKeysTable means the live keys table is not in the state the keys
// restore was asked for: empty without LostTable, or holding keys with it.
var ErrKeysTable = errors.New("keys table")

// RestoreKeys compares the API keys of clientID ("" for every client) in
// from's keys table with a's. A retired key's item stays in the live table
// for good, so a key the live table lacks was never there, or was removed
// by hand: it is never put back, and a key the live table holds is never
// changed (a revocation or rotation made since the backup stays in force).
// Only when lostTable says the live keys table was lost (it must then be
// empty) are the backup's keys put back as they were; keys retired after
// the backup must then be retired again (docs/operating.md).
func (a *Admin) RestoreKeys(ctx context.Context, from *Admin, clientID customer.ClientID, dryRun, lostTable bool) (KeysResult, error) {
	var res KeysResult
	// One item is enough to know the table is not empty.
	page, err := a.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(a.keys), Limit: aws.Int32(1), ProjectionExpression: aws.String(attrKeyHash)})
	if err != nil {
		return res, storageError("Scan", a.keys, err)
	}
	empty := len(page.Items) == 0 && len(page.LastEvaluatedKey) == 0
	switch {
	case lostTable && !empty:
		return res, fmt.Errorf("%w %s holds keys, so it was not lost: restore without --keys-table-lost (no key is then put back)", ErrKeysTable, a.keys)
	case !lostTable && empty:
		return res, fmt.Errorf("%w %s is empty: if it was lost, follow docs/operating.md (a lost keys table) and run again with --keys-table-lost", ErrKeysTable, a.keys)
	}
	err = from.scanKeys(ctx, clientID, true, func(items []map[string]types.AttributeValue) error {
		hashes := make([]string, len(items))
		for i, item := range items {
			h, ok := item[attrKeyHash].(*types.AttributeValueMemberS)
			if !ok {
				return fmt.Errorf("%w: an item of %s has no string key_hash", ErrNotRestorable, from.keys)
			}
			hashes[i] = h.Value
		}
		if dryRun || !lostTable {
			present, err := a.batchGet(ctx, a.keys, attrKeyHash, hashes, attrKeyHash, true, &ReadStats{}, BatchOptions{}.withDefaults())
			if err != nil {
				return err
			}
			res.Kept += len(present)
			if lostTable {
				res.Restored += len(hashes) - len(present)
			} else {
				res.Missing += len(hashes) - len(present)
			}
			return nil
		}
		for _, item := range items {
			_, err := a.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                aws.String(a.keys),
				Item:                     item,
				ConditionExpression:      aws.String("attribute_not_exists(#h)"),
				ExpressionAttributeNames: map[string]string{"#h": attrKeyHash},
			})
			var exists *types.ConditionalCheckFailedException
			switch {
			case errors.As(err, &exists):
				res.Kept++
			case err != nil:
				return storageError("PutItem", a.keys, err)
			default:
				res.Restored++
			}
		}
		return nil
	})
	var scan *scanError
	if errors.As(err, &scan) {
		return res, storageError("Scan", from.keys, scan.err)
	}
	return res, err
}
