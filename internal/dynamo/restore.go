package dynamo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

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

// RestoreResult counts what a restore changed or, in a dry run, would.
type RestoreResult struct {
	Restored  int // in the source, missing from the live table: put back
	Replaced  int // in both, different: the source's put back
	Unchanged int // in both, equal
	Erased    int // in the live table only (added since): erased
}

// Changes is how many live records the restore replaces or erases.
func (r RestoreResult) Changes() int { return r.Replaced + r.Erased }

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
func (a *Admin) RestoreCustomers(ctx context.Context, from *Admin, src Source, clientID string, o RestoreOptions) (RestoreResult, error) {
	o.Batch = o.Batch.withDefaults()
	var res RestoreResult
	if clientID != "" && customer.ValidateClientID(clientID) != nil {
		return res, customer.ErrInvalidClientID
	}
	seen := map[string]bool{}
	// Each page of source items: compare with the live items of the same
	// keys, then put back what differs.
	page := func(items map[string]map[string]types.AttributeValue) error {
		pks := make([]string, 0, len(items))
		for pk := range items {
			pks = append(pks, pk)
			seen[pk] = true
		}
		slices.Sort(pks)
		live, err := a.batchGet(ctx, a.customers, attrPK, pks, "", true, &ReadStats{}, o.Batch)
		if err != nil {
			return err
		}
		byClient := map[string][]types.WriteRequest{}
		for _, pk := range pks {
			cur, ok := live[pk]
			switch {
			case !ok:
				res.Restored++
			case !equalItems(cur, items[pk]):
				res.Replaced++
			default:
				res.Unchanged++
				continue
			}
			c, _, _ := strings.Cut(pk, "#")
			byClient[c] = append(byClient[c], types.WriteRequest{PutRequest: &types.PutRequest{Item: items[pk]}})
		}
		if o.DryRun {
			return nil
		}
		for _, c := range slices.Sorted(maps.Keys(byClient)) {
			if _, err := a.writeAll(ctx, c, byClient[c], o.Batch); err != nil {
				return err
			}
		}
		return nil
	}
	if err := from.sourceItems(ctx, src, clientID, o.Batch, page); err != nil {
		return res, err
	}
	// Then erase what the source does not hold.
	erase := map[string][]string{}
	err := a.liveKeys(ctx, clientID, func(pks []string) error {
		for _, pk := range pks {
			if !seen[pk] {
				c, id, _ := strings.Cut(pk, "#")
				erase[c] = append(erase[c], id)
				res.Erased++
			}
		}
		return nil
	})
	if err != nil || o.DryRun {
		return res, err
	}
	for _, c := range slices.Sorted(maps.Keys(erase)) {
		reqs := make([]types.WriteRequest, len(erase[c]))
		for i, id := range erase[c] {
			reqs[i] = deleteRequest(c, id)
		}
		bo := o.Batch
		if o.Erased != nil {
			bo.Erased = func(ccids []string) { o.Erased(c, ccids) }
		}
		if _, err := a.writeAll(ctx, c, reqs, bo); err != nil {
			return res, err
		}
	}
	return res, nil
}

// sourceItems passes the items of clientID ("" for all) in a's customers
// table to fn, a page at a time, by pk: through the client index where src
// has it, else by scanning the table.
func (a *Admin) sourceItems(ctx context.Context, src Source, clientID string, o BatchOptions, fn func(map[string]map[string]types.AttributeValue) error) error {
	if clientID != "" && src.HasIndex {
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
func (a *Admin) liveKeys(ctx context.Context, clientID string, fn func(pks []string) error) error {
	if clientID != "" {
		return a.clientCCIDs(ctx, clientID, &ReadStats{}, func(ccids []string) error {
			return fn(customerKeys(clientID, ccids))
		})
	}
	return a.scan(ctx, "", attrPK, func(items []map[string]types.AttributeValue) error {
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
func (a *Admin) scan(ctx context.Context, clientID, projection string, fn func([]map[string]types.AttributeValue) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(a.customers), ConsistentRead: aws.Bool(true)}
	if clientID != "" {
		in.FilterExpression = aws.String("#c = :c AND begins_with(#pk, :p)")
		in.ExpressionAttributeNames = map[string]string{"#c": attrClientID, "#pk": attrPK}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":c": &types.AttributeValueMemberS{Value: clientID},
			":p": &types.AttributeValueMemberS{Value: clientID + "#"},
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
	Restored int // missing from the live table: put back
	Kept     int // present in the live table: left as they are
}

// RestoreKeys puts back the API keys of clientID ("" for every client) in
// from's keys table that a's keys table lacks, attribute for attribute. A
// key a's table holds is never changed: a revocation or a shortened expiry
// made since the backup stays in force. It fails on DynamoDB's errors.
func (a *Admin) RestoreKeys(ctx context.Context, from *Admin, clientID string, dryRun bool) (KeysResult, error) {
	var res KeysResult
	err := from.scanKeys(ctx, clientID, true, func(items []map[string]types.AttributeValue) error {
		hashes := make([]string, len(items))
		for i, item := range items {
			h, ok := item[attrKeyHash].(*types.AttributeValueMemberS)
			if !ok {
				return fmt.Errorf("%w: an item of %s has no string key_hash", ErrNotRestorable, from.keys)
			}
			hashes[i] = h.Value
		}
		if dryRun {
			present, err := a.batchGet(ctx, a.keys, attrKeyHash, hashes, attrKeyHash, true, &ReadStats{}, BatchOptions{}.withDefaults())
			if err != nil {
				return err
			}
			res.Kept += len(present)
			res.Restored += len(hashes) - len(present)
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
