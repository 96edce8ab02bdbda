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
	RouteNotFoundMessage    = "Not Found"
	MethodNotAllowedMessage = "Method Not Allowed"
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

// ResponseHeaders returns a copy of the headers every response carries.
func ResponseHeaders() map[string]string {
	h := make(map[string]string, len(responseHeaders))
	for k, v := range responseHeaders {
		h[k] = v
	}
	return h
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

func errorResponse(status int, requestID string) events.APIGatewayProxyResponse {
	return response(status, ErrorBody(messageOf(status), requestID))
}

// The 200 body, field names and order exactly as documented.
type customerBody struct {
	CCID                 *string        `json:"ccid,omitempty"`
	SecondaryAccountID   *string        `json:"secondary_account_id,omitempty"`
	FirstName            *string        `json:"first_name,omitempty"`
	MiddleName           *string        `json:"middle_name,omitempty"`
	LastName             *string        `json:"last_name,omitempty"`
	DateOfBirth          *string        `json:"date_of_birth,omitempty"`
	SSNLast4             *string        `json:"ssn_last4,omitempty"`
	Gender               *string        `json:"gender,omitempty"`
	Addresses            []addressBody  `json:"addresses"`
	NotificationChannels []channelBody  `json:"notification_channels"`
	Ext                  map[string]any `json:"ext,omitzero"`
}

type addressBody struct {
	Address1      *string `json:"address1,omitempty"`
	Address2      *string `json:"address2,omitempty"`
	City          *string `json:"city,omitempty"`
	StateProvince *string `json:"state_province,omitempty"`
	PostalCode    *string `json:"postal_code,omitempty"`
	Country       *string `json:"country,omitempty"`
}

type channelBody struct {
	ChannelType *string `json:"channel_type,omitempty"`
	ChannelAddr *string `json:"channel_addr,omitempty"`
	ConsentType *string `json:"consent_type,omitempty"`
	PhoneType   *string `json:"phone_type,omitempty"`
}

// EncodeCustomer returns the documented JSON of c. It fails only for an ext
// value JSON cannot hold.
func EncodeCustomer(c customer.Customer) (string, error) {
	return encodeCustomer(c)
}

func encodeCustomer(c customer.Customer) (string, error) {
	b := customerBody{
		CCID:                 c.CCID,
		SecondaryAccountID:   c.SecondaryAccountID,
		FirstName:            c.FirstName,
		MiddleName:           c.MiddleName,
		LastName:             c.LastName,
		DateOfBirth:          c.DateOfBirth,
		SSNLast4:             c.SSNLast4,
		Gender:               c.Gender,
		Addresses:            make([]addressBody, len(c.Addresses)),
		NotificationChannels: make([]channelBody, len(c.NotificationChannels)),
		Ext:                  c.Ext,
	}
	for i, a := range c.Addresses {
		b.Addresses[i] = addressBody(a)
	}
	for i, n := range c.NotificationChannels {
		b.NotificationChannels[i] = channelBody(n)
	}
	out, err := json.Marshal(b)
	if err != nil {
		return "", errors.New("encode customer: ext holds a value JSON cannot represent")
	}
	return string(out), nil
}
