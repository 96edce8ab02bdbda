package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDef is what the product requires of a table; template.yaml declares
// the same, and a test holds the two together.
type TableDef struct {
	Name         string
	PartitionKey string    // of type S; neither table has a sort key
	TTLAttribute string    // empty: none
	Index        *IndexDef // a global secondary index; nil: none
}

// IndexDef is a global secondary index with string keys.
type IndexDef struct {
	Name         string
	PartitionKey string
	SortKey      string
	Projection   types.ProjectionType
}

// ClientIndex is the customers table's index of each client's customers in
// ccid order. It projects only the keys: it is read to list a client's
// customers (export, erase, sync) without reading other clients' items, and
// a keys-only entry costs the least to write and store.
var ClientIndex = IndexDef{Name: "by-client", PartitionKey: attrClientID, SortKey: attrCCID, Projection: types.ProjectionTypeKeysOnly}

// BillingMode of both tables.
const BillingMode = types.BillingModePayPerRequest

// CustomersTableDef returns the customers table's definition under name.
func CustomersTableDef(name string) TableDef {
	return TableDef{Name: name, PartitionKey: attrPK, Index: &ClientIndex}
}

// APIKeysTableDef returns the API keys table's definition under name.
func APIKeysTableDef(name string) TableDef {
	// No TTL: a retired key's item stays, so that no restore revives it.
	return TableDef{Name: name, PartitionKey: attrKeyHash}
}

// CreateTableInput returns the request that creates the table.
func (d TableDef) CreateTableInput() *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(d.Name),
		BillingMode:          BillingMode,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(d.PartitionKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(d.PartitionKey), KeyType: types.KeyTypeHash}},
		SSESpecification:     &types.SSESpecification{Enabled: aws.Bool(true)},
	}
	if d.Index != nil {
		in.AttributeDefinitions = append(in.AttributeDefinitions, d.Index.attributes()...)
		in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{d.Index.create()}
	}
	return in
}

func (x IndexDef) attributes() []types.AttributeDefinition {
	return []types.AttributeDefinition{
		{AttributeName: aws.String(x.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(x.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
}

func (x IndexDef) create() types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName: aws.String(x.Name),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(x.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(x.SortKey), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{ProjectionType: x.Projection},
	}
}

// TableAdmin is the part of the DynamoDB client that manages tables.
type TableAdmin interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateResult says what EnsureTable did.
type CreateResult struct {
	Created bool // false: the table already existed
	// TTLUnsupported is set when the DynamoDB in use does not implement
	// UpdateTimeToLive (as local ones may not); the key check refuses
	// expired keys either way.
	TTLUnsupported bool
}

// EnsureTable creates the table unless it exists, waits until it is active,
// and turns on its TTL attribute. It fails if an existing table has a
// different key schema.
func EnsureTable(ctx context.Context, db TableAdmin, d TableDef) (CreateResult, error) {
	var res CreateResult
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.Name)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if _, err := db.CreateTable(ctx, d.CreateTableInput()); err != nil {
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) {
				return res, storageError("CreateTable", d.Name, err)
			}
		} else {
			res.Created = true
		}
	case err != nil:
		return res, storageError("DescribeTable", d.Name, err)
	default:
		if err := d.matches(out.Table); err != nil {
			return res, err
		}
		if d.Index != nil && !hasIndex(out.Table, d.Index.Name) {
			// A deployed table gets the index from template.yaml; a local
			// one made before it is recreated (dynalite cannot add one).
			return res, fmt.Errorf("table %s has no index %s: deploy the stack (CloudFormation adds it) or, for a local table, delete and create it again", d.Name, d.Index.Name)
		}
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.Name)}, 2*time.Minute); err != nil {
		return res, storageError("DescribeTable", d.Name, err)
	}
	if d.Index != nil {
		if err := waitIndexActive(ctx, db, d.Name, d.Index.Name); err != nil {
			return res, err
		}
	}
	if d.TTLAttribute != "" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(d.Name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(d.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			if !ttlUnsupported(err) && !ttlAlreadyOn(err) {
				return res, storageError("UpdateTimeToLive", d.Name, err)
			}
			res.TTLUnsupported = ttlUnsupported(err)
		}
	}
	return res, nil
}

func (d TableDef) matches(t *types.TableDescription) error {
	if t == nil || len(t.KeySchema) != 1 || aws.ToString(t.KeySchema[0].AttributeName) != d.PartitionKey || t.KeySchema[0].KeyType != types.KeyTypeHash {
		return fmt.Errorf("table %s exists with a key schema other than %s (S, HASH)", d.Name, d.PartitionKey)
	}
	return nil
}

func hasIndex(t *types.TableDescription, name string) bool {
	for _, x := range t.GlobalSecondaryIndexes {
		if aws.ToString(x.IndexName) == name {
			return true
		}
	}
	return false
}

// waitIndexActive polls until the index can be queried.
func waitIndexActive(ctx context.Context, db TableAdmin, table, index string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return storageError("DescribeTable", table, err)
		}
		if !hasIndex(out.Table, index) {
			return fmt.Errorf("table %s has no index %s", table, index)
		}
		for _, x := range out.Table.GlobalSecondaryIndexes {
			if aws.ToString(x.IndexName) == index && x.IndexStatus == types.IndexStatusActive {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("index %s of %s not active after 10 minutes", index, table)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func ttlUnsupported(err error) bool {
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "UnknownOperationException", "UnrecognizedClientException", "InvalidAction":
		return true
	}
	return false
}

func ttlAlreadyOn(err error) bool {
	var v interface {
		ErrorCode() string
		ErrorMessage() string
	}
	// DynamoDB refuses to enable TTL twice with a ValidationException.
	return errors.As(err, &v) && v.ErrorCode() == "ValidationException" && strings.Contains(v.ErrorMessage(), "already enabled")
}
