package apigw_test

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/apigw"
)

// handle sends req through the raw-event path Lambda runs (Invoke) as the
// JSON API Gateway would send, and decodes the answer.
func handle(ctx context.Context, h *apigw.Handler, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	out, err := h.Invoke(ctx, payload)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var resp events.APIGatewayProxyResponse
	err = json.Unmarshal(out, &resp)
	return resp, err
}
