package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
)

// AdminAPI is the part of the DynamoDB client that operators' work uses:
// writing, listing and erasing items.
type AdminAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Admin writes, lists and erases customers and keys, for operators and tests.
type Admin struct {
	db        AdminAPI
	customers string
	keys      string
}

// NewAdmin returns an Admin working on the named tables through db.
func NewAdmin(db AdminAPI, customersTable, keysTable string) *Admin {
	return &Admin{db: db, customers: customersTable, keys: keysTable}
}

// PutAPIKey stores r under r.Hash. It returns apikey.ErrExists when a key
// with that hash is stored already: registering a key again must not bring
// a revoked one back to life.
func (a *Admin) PutAPIKey(ctx context.Context, r apikey.Record) error {
	_, err := a.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(a.keys),
		Item:                     keyItem(r),
		ConditionExpression:      aws.String("attribute_not_exists(#h)"),
		ExpressionAttributeNames: map[string]string{"#h": attrKeyHash},
	})
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		return apikey.ErrExists
	}
	if err != nil {
		return storageError("PutItem", a.keys, err)
	}
	return nil
}

// ErrAlreadyRevoked means a key to revoke was revoked already.
var ErrAlreadyRevoked = errors.New("the key is revoked already")

// RevokeAPIKey marks the key with hash revoked; the item stays, so that no
// restore of an older backup brings the key back. It returns
// apikey.ErrNotFound when no key has that hash and ErrAlreadyRevoked when
// it was revoked already (nothing changed).
func (a *Admin) RevokeAPIKey(ctx context.Context, hash string) error {
	_, err := a.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.keys),
		Key:                       keyOf(hash),
		UpdateExpression:          aws.String("SET #s = :revoked"),
		ConditionExpression:       aws.String("attribute_exists(#h) AND #s <> :revoked"),
		ExpressionAttributeNames:  map[string]string{"#s": attrStatus, "#h": attrKeyHash},
		ExpressionAttributeValues: map[string]types.AttributeValue{":revoked": &types.AttributeValueMemberS{Value: apikey.StatusRevoked}},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		if _, err := a.APIKey(ctx, hash); err != nil {
			return err
		}
		return ErrAlreadyRevoked
	}
	if err != nil {
		return storageError("UpdateItem", a.keys, err)
	}
	return nil
}

// ErrExpiryChanged means a key's expiry or status changed between reading
// it and setting its expiry; read it again.
var ErrExpiryChanged = errors.New("the key changed while its expiry was being set; run the command again")

// SetKeyExpiry sets the expiry of r's key to at, provided the stored key is
// still active and still expires when r says (so two operators cannot
// overwrite each other's change unseen). It returns ErrExpiryChanged when
// the stored key is gone or differs from r.
func (a *Admin) SetKeyExpiry(ctx context.Context, r apikey.Record, at time.Time) error {
	cond := "#s = :active AND attribute_not_exists(#e)"
	values := map[string]types.AttributeValue{
		":active": &types.AttributeValueMemberS{Value: apikey.StatusActive},
		":at":     unixSeconds(at),
	}
	if !r.ExpiresAt.IsZero() {
		cond = "#s = :active AND #e = :was"
		values[":was"] = unixSeconds(r.ExpiresAt)
	}
	_, err := a.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(a.keys),
		Key:                       keyOf(r.Hash),
		UpdateExpression:          aws.String("SET #e = :at"),
		ConditionExpression:       aws.String("attribute_exists(#h) AND " + cond),
		ExpressionAttributeNames:  map[string]string{"#s": attrStatus, "#e": attrExpiresAt, "#h": attrKeyHash},
		ExpressionAttributeValues: values,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return ErrExpiryChanged
	}
	if err != nil {
		return storageError("UpdateItem", a.keys, err)
	}
	return nil
}

// APIKeys returns the stored keys, of one client when clientID is not empty.
func (a *Admin) APIKeys(ctx context.Context, clientID customer.ClientID) ([]apikey.Record, error) {
	var out []apikey.Record
	err := a.scanKeys(ctx, clientID, false, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			r, err := decodeKey(item)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	var scan *scanError
	if errors.As(err, &scan) {
		return nil, storageError("Scan", a.keys, scan.err)
	}
	return out, err
}

// scanError is a Scan of the keys table that failed, for its caller to name.
type scanError struct{ err error }

func (e *scanError) Error() string { return e.err.Error() }

// scanKeys reads the keys table, of one client when clientID is not empty,
// a page at a time, consistently or not; a failed Scan is a *scanError.
func (a *Admin) scanKeys(ctx context.Context, clientID customer.ClientID, consistent bool, fn func([]map[string]types.AttributeValue) error) error {
	in := &dynamodb.ScanInput{TableName: aws.String(a.keys), ConsistentRead: aws.Bool(consistent)}
	if !clientID.IsZero() {
		in.FilterExpression = aws.String("#c = :c")
		in.ExpressionAttributeNames = map[string]string{"#c": attrClientID}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: clientID.String()}}
	}
	p := dynamodb.NewScanPaginator(a.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return &scanError{err}
		}
		if err := fn(page.Items); err != nil {
			return err
		}
	}
	return nil
}

// PutCustomer stores c for clientID, replacing any customer with its CCID.
func (a *Admin) PutCustomer(ctx context.Context, clientID customer.ClientID, c customer.Customer) error {
	item, err := CustomerItem(clientID, c)
	if err != nil {
		return err
	}
	if _, err := a.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a.customers), Item: item}); err != nil {
		return storageError("PutItem", a.customers, err)
	}
	return nil
}

func keyItem(r apikey.Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrKeyHash:   &types.AttributeValueMemberS{Value: r.Hash},
		attrClientID:  &types.AttributeValueMemberS{Value: r.ClientID},
		attrStatus:    &types.AttributeValueMemberS{Value: r.Status},
		attrCreatedAt: &types.AttributeValueMemberS{Value: r.CreatedAt.UTC().Format(time.RFC3339)},
	}
	if r.Label != "" {
		item[attrLabel] = &types.AttributeValueMemberS{Value: r.Label}
	}
	if !r.ExpiresAt.IsZero() {
		item[attrExpiresAt] = unixSeconds(r.ExpiresAt)
	}
	if r.RotatedTo != "" {
		item[attrRotatedTo] = &types.AttributeValueMemberS{Value: r.RotatedTo}
	}
	return item
}

// CustomerItem returns the stored item of c for clientID. It fails when c
// has no CCID or its ext holds a value DynamoDB cannot store.
func CustomerItem(clientID customer.ClientID, c customer.Customer) (map[string]types.AttributeValue, error) {
	if c.CCID == nil {
		return nil, fmt.Errorf("customer item: no ccid")
	}
	item := map[string]types.AttributeValue{
		attrPK:       &types.AttributeValueMemberS{Value: customer.Key(clientID, *c.CCID)},
		attrClientID: &types.AttributeValueMemberS{Value: clientID.String()},
	}
	for _, f := range customer.Fields() {
		putString(item, f.Attr, *f.Ref(&c))
	}
	item[customer.NameAddresses] = listItem(c.Addresses, customer.AddressFields())
	item[customer.NameNotificationChannels] = listItem(c.NotificationChannels, customer.ChannelFields())
	if c.Ext != nil {
		ext, err := objectAttribute(c.Ext)
		if err != nil {
			return nil, err
		}
		item[customer.NameExt] = ext
	}
	return item, nil
}

// listItem is the stored list of elems, each a map of its set fields.
func listItem[T any](elems []T, fields []customer.Field[T]) types.AttributeValue {
	l := make([]types.AttributeValue, len(elems))
	for i := range elems {
		m := make(map[string]types.AttributeValue, len(fields))
		for _, f := range fields {
			putString(m, f.Attr, *f.Ref(&elems[i]))
		}
		l[i] = &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberL{Value: l}
}

func putString(item map[string]types.AttributeValue, name string, v *string) {
	if v != nil {
		item[name] = &types.AttributeValueMemberS{Value: *v}
	}
}

// extAttribute converts an ext value into its attribute.
func extAttribute(v customer.Value) (types.AttributeValue, error) {
	switch v.Kind {
	case customer.KindNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case customer.KindString:
		return &types.AttributeValueMemberS{Value: v.Text}, nil
	case customer.KindNumber:
		if _, ok := jsonNumber(v.Text); !ok {
			return nil, fmt.Errorf("ext: %q is not a number", v.Text)
		}
		return &types.AttributeValueMemberN{Value: v.Text}, nil
	case customer.KindBool:
		return &types.AttributeValueMemberBOOL{Value: v.Bool}, nil
	case customer.KindBinary:
		return &types.AttributeValueMemberB{Value: []byte(v.Text)}, nil
	case customer.KindList:
		l := make([]types.AttributeValue, len(v.Elems))
		for i, e := range v.Elems {
			av, err := extAttribute(e.Value)
			if err != nil {
				return nil, err
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case customer.KindObject:
		return objectAttribute(v.Elems)
	}
	return nil, fmt.Errorf("ext: unknown value kind %d", v.Kind)
}

func objectAttribute(o customer.Object) (types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, len(o))
	for _, e := range o {
		av, err := extAttribute(e.Value)
		if err != nil {
			return nil, err
		}
		m[e.Key] = av
	}
	return &types.AttributeValueMemberM{Value: m}, nil
}
