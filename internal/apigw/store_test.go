package apigw_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/testenv"
)

func dynamoStore(a *api, customers, keys string) *dynamo.Store {
	return dynamo.NewStore(a.DB, customers, keys)
}

func putRaw(t *testing.T, tb testenv.Tables, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := tb.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tb.Customers), Item: item}); err != nil {
		t.Fatal(err)
	}
}
