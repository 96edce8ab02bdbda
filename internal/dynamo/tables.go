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
	PartitionKey string // of type S; neither table has a sort key
	TTLAttribute string // empty: none
}

// BillingMode of both tables.
const BillingMode = types.BillingModePayPerRequest

// CustomersTableDef returns the customers table's definition under name.
func CustomersTableDef(name string) TableDef {
	return TableDef{Name: name, PartitionKey: attrPK}
}

// APIKeysTableDef returns the API keys table's definition under name.
func APIKeysTableDef(name string) TableDef {
	return TableDef{Name: name, PartitionKey: attrKeyHash, TTLAttribute: attrExpiresAt}
}

// CreateTableInput returns the request that creates the table.
func (d TableDef) CreateTableInput() *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(d.Name),
		BillingMode:          BillingMode,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(d.PartitionKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(d.PartitionKey), KeyType: types.KeyTypeHash}},
		SSESpecification:     &types.SSESpecification{Enabled: aws.Bool(true)},
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
				return res, fmt.Errorf("create table %s: %w", d.Name, err)
			}
		} else {
			res.Created = true
		}
	case err != nil:
		return res, fmt.Errorf("describe table %s: %w", d.Name, err)
	default:
		if err := d.matches(out.Table); err != nil {
			return res, err
		}
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.Name)}, 2*time.Minute); err != nil {
		return res, fmt.Errorf("wait for table %s: %w", d.Name, err)
	}
	if d.TTLAttribute != "" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(d.Name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(d.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			if !ttlUnsupported(err) && !ttlAlreadyOn(err) {
				return res, fmt.Errorf("enable TTL on %s: %w", d.Name, err)
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
