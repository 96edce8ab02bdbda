// Command floor is make bench's like-for-like floor: a Lambda that does the
// function's job and nothing else, the plain way. It decodes the REST proxy
// event, reads the customer with one GetItem, marshals the documented
// fields and answers; no key check, no logging, no metrics, no limits. The
// bench builds it with the function's flags and module versions and runs
// it beside the real bootstrap under the same model.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cdm/customer-api/internal/customer"
)

var documented = []string{"ccid", "secondary_account_id", "first_name", "middle_name", "last_name", "date_of_birth", "ssn_last4", "gender"}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if e := os.Getenv("DYNAMODB_ENDPOINT"); e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
	table := os.Getenv("CUSTOMERS_TABLE")
	lambda.Start(func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		client, err := customer.ParseClientID(req.PathParameters["client_id"])
		if err != nil {
			return events.APIGatewayProxyResponse{StatusCode: 401, Body: `{"message":"Unauthorized"}`}, nil
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: customer.Key(client, req.PathParameters["ccid"])}},
		})
		if err != nil {
			return events.APIGatewayProxyResponse{StatusCode: 500, Body: `{"message":"error"}`}, nil
		}
		if out.Item == nil {
			return events.APIGatewayProxyResponse{StatusCode: 404, Body: `{"message":"Not Found"}`}, nil
		}
		body := map[string]any{"addresses": list(out.Item["addresses"]), "notification_channels": list(out.Item["notification_channels"])}
		for _, f := range documented {
			if s, ok := out.Item[f].(*types.AttributeValueMemberS); ok {
				body[f] = s.Value
			}
		}
		if m, ok := out.Item["ext"].(*types.AttributeValueMemberM); ok {
			body["ext"] = value(m)
		}
		b, err := json.Marshal(body)
		if err != nil {
			return events.APIGatewayProxyResponse{StatusCode: 500, Body: `{"message":"error"}`}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
	})
}

// list is a stored list of maps of strings, as JSON values.
func list(av types.AttributeValue) []any {
	out := []any{}
	l, _ := av.(*types.AttributeValueMemberL)
	if l == nil {
		return out
	}
	for _, e := range l.Value {
		out = append(out, value(e))
	}
	return out
}

// value is any stored value as a JSON value; numbers keep their text.
func value(av types.AttributeValue) any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return json.Number(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			m[k] = value(e)
		}
		return m
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = value(e)
		}
		return l
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberNS:
		return v.Value
	}
	return nil
}
