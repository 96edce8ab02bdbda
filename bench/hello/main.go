// Command hello is the smallest aws-lambda-go proxy function: the baseline
// that make bench compares the real bootstrap's cold start with.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"message":"hello"}`}, nil
	})
}
