package apigw

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// HandleDecoded is the test oracle for Invoke: the same request served from
// aws-lambda-go's decoded event, answered as its response type. Only the
// equality test and the fuzz targets compare the two; every other test and
// benchmark runs Invoke.
func (h *Handler) HandleDecoded(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	status, body := h.serve(ctx, request{
		requestID: req.RequestContext.RequestID,
		clientID:  req.PathParameters["client_id"],
		ccid:      req.PathParameters["ccid"],
		key:       keyIn(req.Headers, req.MultiValueHeaders),
	})
	headers := make(map[string]string, len(responseHeaders))
	for _, hd := range responseHeaders {
		headers[hd.Name] = hd.Value
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: headers, Body: body}, nil
}
