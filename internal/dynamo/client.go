package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

// ReadStats counts what listing or exporting one client's customers read.
type ReadStats struct {
	Requests     int     // Query and BatchGetItem requests
	IndexEntries int     // entries of the client index read
	Items        int     // customer items read
	Capacity     float64 // read capacity units DynamoDB reported consumed
}

func (s *ReadStats) add(c *types.ConsumedCapacity) {
	s.Requests++
	if c != nil {
		s.Capacity += aws.ToFloat64(c.CapacityUnits)
	}
}

// ClientCCIDs passes the CCIDs of clientID's stored customers to fn, a page
// at a time, in ccid order (by UTF-8 bytes), reading only that client's
// entries of the client index. The index is eventually consistent: a
// customer written a moment ago may be missing. It fails on DynamoDB's
// errors, on fn's, and on an index entry of another client.
func (a *Admin) ClientCCIDs(ctx context.Context, clientID customer.ClientID, fn func(ccids []string) error) error {
	return a.clientCCIDs(ctx, clientID, &ReadStats{}, fn)
}

func (a *Admin) clientCCIDs(ctx context.Context, clientID customer.ClientID, st *ReadStats, fn func(ccids []string) error) error {
	p := dynamodb.NewQueryPaginator(a.db, &dynamodb.QueryInput{
		TableName:                 aws.String(a.customers),
		IndexName:                 aws.String(ClientIndex.Name),
		KeyConditionExpression:    aws.String("#c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": attrClientID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: clientID.String()}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return storageError("Query", a.customers+"/index/"+ClientIndex.Name, err)
		}
		st.add(page.ConsumedCapacity)
		st.IndexEntries += len(page.Items)
		ccids := make([]string, 0, len(page.Items))
		for _, e := range page.Items {
			c, _ := e[attrClientID].(*types.AttributeValueMemberS)
			id, _ := e[attrCCID].(*types.AttributeValueMemberS)
			pk, _ := e[attrPK].(*types.AttributeValueMemberS)
			if c == nil || id == nil || pk == nil || c.Value != clientID.String() || pk.Value != customer.Key(clientID, id.Value) {
				where := "(no string pk)"
				if pk != nil {
					where = pk.Value
				}
				return &SourceItemError{Table: a.customers, PK: where, Reason: "its " + ClientIndex.Name + " index entry, read for client " + clientID.String() + ", disagrees with its pk (client_id or ccid)"}
			}
			ccids = append(ccids, id.Value)
		}
		if len(ccids) > 0 {
			if err := fn(ccids); err != nil {
				return err
			}
		}
	}
	return nil
}

// ExportCustomers passes each of clientID's stored customers to emit, in
// ccid order, reading the client index and then the items (BatchGetItem,
// 100 a request, unprocessed keys retried). Its cost follows the client's
// data, not the table's. A customer erased while the export runs is
// skipped; a corrupt item fails it, naming the ccid and attribute.
func (a *Admin) ExportCustomers(ctx context.Context, clientID customer.ClientID, o BatchOptions, emit func(c customer.Customer) error) (ReadStats, error) {
	o = o.withDefaults()
	var st ReadStats
	err := a.clientCCIDs(ctx, clientID, &st, func(ccids []string) error {
		items, err := a.getItems(ctx, clientID, ccids, "", &st, o)
		if err != nil {
			return err
		}
		for _, id := range ccids {
			item, ok := items[id]
			if !ok {
				continue
			}
			c, err := decodeCustomer(item)
			if err != nil {
				return fmt.Errorf("customer %s: %w", id, err)
			}
			if err := emit(c); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
}

// Unchanged counts the customers of cs that clientID has stored exactly so:
// writing them again would change nothing. It reads their items.
func (a *Admin) Unchanged(ctx context.Context, clientID customer.ClientID, cs []customer.Customer, o BatchOptions) (int, error) {
	ccids := make([]string, len(cs))
	for i, c := range cs {
		ccids[i] = *c.CCID
	}
	stored, err := a.getItems(ctx, clientID, ccids, "", &ReadStats{}, o.withDefaults())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		item, ok := stored[*c.CCID]
		if !ok {
			continue
		}
		want, err := CustomerItem(clientID, c)
		if err != nil {
			return 0, err
		}
		if equalItems(item, want) {
			n++
		}
	}
	return n, nil
}

// getItems reads clientID's items of ccids (all attributes, or only those
// projection names), 100 keys a request, and returns them by ccid.
func (a *Admin) getItems(ctx context.Context, clientID customer.ClientID, ccids []string, projection string, st *ReadStats, o BatchOptions) (map[string]map[string]types.AttributeValue, error) {
	items, err := a.batchGet(ctx, a.customers, attrPK, customerKeys(clientID, ccids), projection, false, st, o)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]types.AttributeValue, len(items))
	for pk, item := range items {
		if _, ok := item[attrCCID].(*types.AttributeValueMemberS); !ok && projection == "" {
			return nil, errors.New("batch get: an item without its keys")
		}
		c, ccid, _ := customer.SplitKey(pk)
		if c != clientID.String() {
			return nil, fmt.Errorf("batch get: an item read for client %s is not that client's", clientID)
		}
		out[ccid] = item
	}
	return out, nil
}

// customerKeys are the pks of clientID's customers ccids.
func customerKeys(clientID customer.ClientID, ccids []string) []string {
	pks := make([]string, len(ccids))
	for i, id := range ccids {
		pks[i] = customer.Key(clientID, id)
	}
	return pks
}

// batchGet reads the items of table whose string key keyAttr is one of
// keys (all attributes, or only those projection names), 100 keys a
// request, unprocessed keys retried, and returns them by key.
func (a *Admin) batchGet(ctx context.Context, table, keyAttr string, keys []string, projection string, consistent bool, st *ReadStats, o BatchOptions) (map[string]map[string]types.AttributeValue, error) {
	out := make(map[string]map[string]types.AttributeValue, len(keys))
	for chunk := range slices.Chunk(keys, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, k := range chunk {
			keys[i] = map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: k}}
		}
		ka := types.KeysAndAttributes{Keys: keys, ConsistentRead: aws.Bool(consistent)}
		if projection != "" {
			ka.ProjectionExpression = aws.String(projection)
		}
		pending := map[string]types.KeysAndAttributes{table: ka}
		keyless := false
		err := resendUnprocessed(ctx, o, "BatchGetItem", table, func() (int, error) {
			res, err := a.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				return 0, err
			}
			for _, c := range res.ConsumedCapacity {
				st.add(&c)
			}
			if len(res.ConsumedCapacity) == 0 {
				st.add(nil)
			}
			for _, item := range res.Responses[table] {
				k, _ := item[keyAttr].(*types.AttributeValueMemberS)
				if k == nil {
					keyless = true
					return 0, nil
				}
				out[k.Value] = item
				st.Items++
			}
			pending = res.UnprocessedKeys
			return len(pending[table].Keys), nil
		})
		if err != nil {
			return nil, err
		}
		if keyless {
			return nil, errors.New("batch get: an item without its keys")
		}
	}
	return out, nil
}

// EraseResult says what EraseCustomers did.
type EraseResult struct {
	Erased int
	Absent []string // CCIDs not stored: nothing to erase
}

// EraseCustomers deletes clientID's customers ccids (duplicates count
// once). A ccid not stored is reported in Absent, not an error, so running
// it again is harmless. o.Erased hears of each batch DynamoDB confirmed.
// It returns the first failed batch as a *BatchError naming its CCIDs;
// batches started before it are finished.
func (a *Admin) EraseCustomers(ctx context.Context, clientID customer.ClientID, ccids []string, o BatchOptions) (EraseResult, error) {
	o = o.withDefaults()
	var res EraseResult
	ccids = slices.Compact(slices.Sorted(slices.Values(ccids)))
	present, err := a.getItems(ctx, clientID, ccids, attrPK, &ReadStats{}, o)
	if err != nil {
		return res, err
	}
	w := a.NewWriter(ctx, o)
	for _, id := range ccids {
		if _, ok := present[id]; !ok {
			res.Absent = append(res.Absent, id)
			continue
		}
		if w.Erase(customer.Key(clientID, id), 0) != nil {
			break
		}
	}
	res.Erased, err = w.Close()
	return res, err
}

// EraseClient deletes every customer of clientID the client index lists,
// as it reads the index, and returns how many it erased. Run again after
// an interruption, it erases what is left.
func (a *Admin) EraseClient(ctx context.Context, clientID customer.ClientID, o BatchOptions) (int, error) {
	w := a.NewWriter(ctx, o)
	err := a.ClientCCIDs(ctx, clientID, func(ccids []string) error {
		for _, id := range ccids {
			if err := w.Erase(customer.Key(clientID, id), 0); err != nil {
				return err
			}
		}
		return nil
	})
	n, werr := w.Close()
	if err == nil {
		err = werr
	}
	return n, err
}

func equalItems(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !equalValues(v, w) {
			return false
		}
	}
	return true
}

// equalValues compares attribute values as DynamoDB stores them: numbers
// by value (it keeps 1.10 as 1.1), everything else exactly.
func equalValues(a, b types.AttributeValue) bool {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		y, ok := b.(*types.AttributeValueMemberS)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberN:
		y, ok := b.(*types.AttributeValueMemberN)
		return ok && sameNumber(x.Value, y.Value)
	case *types.AttributeValueMemberBOOL:
		y, ok := b.(*types.AttributeValueMemberBOOL)
		return ok && x.Value == y.Value
	case *types.AttributeValueMemberNULL:
		_, ok := b.(*types.AttributeValueMemberNULL)
		return ok
	case *types.AttributeValueMemberB:
		y, ok := b.(*types.AttributeValueMemberB)
		return ok && string(x.Value) == string(y.Value)
	case *types.AttributeValueMemberL:
		y, ok := b.(*types.AttributeValueMemberL)
		return ok && slices.EqualFunc(x.Value, y.Value, equalValues)
	case *types.AttributeValueMemberM:
		y, ok := b.(*types.AttributeValueMemberM)
		return ok && equalItems(x.Value, y.Value)
	case *types.AttributeValueMemberSS:
		y, ok := b.(*types.AttributeValueMemberSS)
		return ok && slices.Equal(slices.Sorted(slices.Values(x.Value)), slices.Sorted(slices.Values(y.Value)))
	case *types.AttributeValueMemberNS:
		y, ok := b.(*types.AttributeValueMemberNS)
		return ok && sameSet(x.Value, y.Value, sameNumber)
	case *types.AttributeValueMemberBS:
		y, ok := b.(*types.AttributeValueMemberBS)
		return ok && sameSet(x.Value, y.Value, func(p, q []byte) bool { return string(p) == string(q) })
	}
	return false
}

// sameSet compares two sets (DynamoDB keeps no order, nor duplicates) with
// eq as their members' equality.
func sameSet[T any](a, b []T, eq func(T, T) bool) bool {
	contains := func(s []T, v T) bool { return slices.ContainsFunc(s, func(w T) bool { return eq(v, w) }) }
	for _, v := range a {
		if !contains(b, v) {
			return false
		}
	}
	for _, v := range b {
		if !contains(a, v) {
			return false
		}
	}
	return true
}

func sameNumber(a, b string) bool {
	x, okA := new(big.Rat).SetString(a)
	y, okB := new(big.Rat).SetString(b)
	return okA && okB && x.Cmp(y) == 0
}
