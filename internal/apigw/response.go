package apigw

import (
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
)

// errorTable maps the errors a request can end with to a status and a fixed
// public message. Anything else is a 500 whose cause is logged, never sent.
var errorTable = []struct {
	err     error
	status  int
	message string
}{
	{apikey.ErrUnauthorized, 401, "Unauthorized"},
	{customer.ErrInvalidID, 400, "Invalid request"},
	{customer.ErrNotFound, 404, "Not Found - The requested resource was not found. Please verify the route parameter."},
}

const internalErrorMessage = "An unexpected server error occurred. Please retry your request."

// Messages of the errors the local gateway answers itself.
const (
	routeNotFoundMessage    = "Not Found"
	methodNotAllowedMessage = "Method Not Allowed"
)

func statusOf(err error) int {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return 500
}

func messageOf(status int) string {
	for _, e := range errorTable {
		if e.status == status {
			return e.message
		}
	}
	return internalErrorMessage
}

// responseHeaders go on every response; the body is patient data. The map is
// shared by all responses and never written after init.
var responseHeaders = map[string]string{
	"Content-Type":           "application/json",
	"Cache-Control":          "no-store",
	"X-Content-Type-Options": "nosniff",
}

func response(status int, body string) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: responseHeaders, Body: body}
}

type errorBody struct {
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// ErrorBody returns the JSON error body {message, request_id}.
func ErrorBody(message, requestID string) string {
	b, err := json.Marshal(errorBody{Message: message, RequestID: requestID})
	if err != nil {
		// Two strings always marshal.
		panic(err)
	}
	return string(b)
}

// failure is the status and error body a request that ended with err
// answers.
func failure(err error, requestID string) (int, string) {
	status := statusOf(err)
	return status, ErrorBody(messageOf(status), requestID)
}
