// Package dynamo stores customers and API keys in DynamoDB. It is the only
// package that speaks to the DynamoDB SDK, and it owns the item shapes and
// table definitions that other systems write to.
package dynamo

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
)

// Local table names, used when the environment names none.
const (
	DefaultCustomersTable = "cdm-customers"
	DefaultAPIKeysTable   = "cdm-api-keys" // #nosec G101 -- a table name, not a credential
)

// ItemReader is the part of the DynamoDB client a Store reads with.
type ItemReader interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Store reads customers and API keys from their two tables.
type Store struct {
	db        ItemReader
	customers *string
	keys      *string
}

// NewStore returns a Store reading the named tables through db.
func NewStore(db ItemReader, customersTable, keysTable string) *Store {
	return &Store{db: db, customers: aws.String(customersTable), keys: aws.String(keysTable)}
}

// Customer returns the customer stored under (clientID, ccid). It returns
// customer.ErrNotFound when there is none, a *CorruptItemError when the item
// does not have the documented shape, and a *StorageError when DynamoDB
// failed.
//
// It reads the whole item: a projection costs the same read capacity plus
// expression parsing, and decoding skips undocumented attributes anyway.
func (s *Store) Customer(ctx context.Context, clientID customer.ClientID, ccid string) (customer.Customer, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.customers,
		Key:       map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: customer.Key(clientID, ccid)}},
	})
	if err != nil {
		return customer.Customer{}, storageError("GetItem", *s.customers, err)
	}
	if len(out.Item) == 0 {
		return customer.Customer{}, customer.ErrNotFound
	}
	return decodeCustomer(out.Item)
}

// APIKey returns the key stored under hash, apikey.ErrNotFound when there is
// none, a *CorruptItemError when the item is malformed and a *StorageError
// when DynamoDB failed.
func (s *Store) APIKey(ctx context.Context, hash string) (apikey.Record, error) {
	return readKey(ctx, s.db, s.keys, hash, nil)
}

// readKey reads the key stored under hash from table, consistently when
// consistent says so (nil: eventually, as the request path does).
func readKey(ctx context.Context, db ItemReader, table *string, hash string, consistent *bool) (apikey.Record, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: keyOf(hash), ConsistentRead: consistent})
	if err != nil {
		return apikey.Record{}, storageError("GetItem", *table, err)
	}
	if len(out.Item) == 0 {
		return apikey.Record{}, apikey.ErrNotFound
	}
	return decodeKey(out.Item)
}

// StorageError is a failed DynamoDB call. Its text names the operation, the
// table and the error code, never request or item values.
type StorageError struct {
	Op, Table string
	Code      string // the DynamoDB error code, "timeout", "network" or "unknown"
	Err       error
}

func (e *StorageError) Error() string {
	return "dynamodb " + e.Op + " " + e.Table + ": " + e.Code
}

func (e *StorageError) Unwrap() error { return e.Err }

func storageError(op, table string, err error) error {
	code := "unknown"
	var apiErr smithy.APIError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = "timeout"
	case errors.Is(err, context.Canceled):
		code = "canceled"
	case errors.As(err, &apiErr):
		code = apiErr.ErrorCode()
	case errors.As(err, &netErr):
		code = "network"
		if netErr.Timeout() {
			code = "timeout"
		}
	}
	return &StorageError{Op: op, Table: table, Code: code, Err: err}
}

// Warm reads a key that cannot exist from the keys table, so that the
// connection to DynamoDB is open before the first request needs it. Its
// outcome does not matter: a failure here is retried by the first request.
func (s *Store) Warm(ctx context.Context) {
	_, _ = s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: s.keys,
		Key:       map[string]types.AttributeValue{attrKeyHash: &types.AttributeValueMemberS{Value: "warm-up"}},
	})
}
