package apigw

import (
	"encoding/json"
	"errors"

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

// Header is one response header.
type Header struct{ Name, Value string }

// responseHeaders go on every response, sorted by name: the body is patient
// data, so no cache may keep it and no browser may sniff it.
var responseHeaders = [...]Header{
	{"Cache-Control", "no-store"},
	{"Content-Type", "application/json"},
	{"X-Content-Type-Options", "nosniff"},
}

// ResponseHeaders returns the headers every response carries, for those
// that answer as the API does (the local gateway) or check that it does.
func ResponseHeaders() []Header { return append([]Header(nil), responseHeaders[:]...) }

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
