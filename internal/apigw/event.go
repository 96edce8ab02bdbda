package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/cdm/customer-api/internal/jsontext"
)

// event is what the handler reads of a REST API proxy event: the request
// ID, the two path parameters and the key header's values. Lambda decodes
// only these; the headers' other entries, the identity block, the stage
// variables and the rest are skipped, not built.
type event struct {
	RequestContext    requestContext
	PathParameters    pathParameters
	Headers           keyHeader
	MultiValueHeaders keyHeaders
}

// decodeEvent reads ev from a proxy event without reflection, as
// encoding/json decodes such a struct: names matched as bytes.EqualFold
// does, a name given twice decoded twice into the same field, null a no-op,
// other names skipped, and every error encoding/json reports an error here.
func decodeEvent(payload []byte, ev *event) error {
	if !json.Valid(payload) {
		return json.Unmarshal(payload, ev) // the syntax error, as encoding/json words it
	}
	return eachEntry(payload, func(name, value []byte) error {
		switch {
		case nameFolds(name, "requestContext"):
			return ev.RequestContext.decode(value)
		case nameFolds(name, "pathParameters"):
			return ev.PathParameters.UnmarshalJSON(value)
		case nameFolds(name, "headers"):
			return ev.Headers.UnmarshalJSON(value)
		case nameFolds(name, "multiValueHeaders"):
			return ev.MultiValueHeaders.UnmarshalJSON(value)
		}
		return nil
	})
}

// requestContext keeps the requestId of the event's requestContext.
type requestContext struct{ RequestID string }

func (r *requestContext) decode(data []byte) error {
	return eachEntry(data, func(name, value []byte) error {
		if !nameFolds(name, "requestId") || string(value) == "null" {
			return nil
		}
		if value[0] != '"' {
			return errEventShape
		}
		s, err := stringOrNull(value)
		r.RequestID = s
		return err
	})
}

// nameFolds reports whether a JSON object key (still quoted) equals want
// under bytes.EqualFold, as encoding/json matches a struct's field names.
func nameFolds(name []byte, want string) bool {
	if bytes.IndexByte(name, '\\') < 0 {
		return len(name) >= 2 && bytes.EqualFold(name[1:len(name)-1], []byte(want))
	}
	var n string
	return json.Unmarshal(name, &n) == nil && strings.EqualFold(n, want)
}

// pathParameters keeps client_id and ccid of the event's pathParameters
// object, matched exactly, as a map would.
type pathParameters struct{ clientID, ccid string }

// keyHeader keeps, of the event's headers object, the value of each name
// that is the key header in some letter case (the last one given, as a map
// would).
type keyHeader struct{ values map[string]string }

// keyHeaders is keyHeader for multiValueHeaders.
type keyHeaders struct{ values map[string][]string }

var errEventShape = errors.New("proxy event: want an object of strings")

func (p *pathParameters) UnmarshalJSON(data []byte) error {
	return eachEntry(data, func(name, value []byte) error {
		s, err := stringOrNull(value)
		if err != nil {
			return err
		}
		switch {
		case nameIs(name, "client_id"):
			p.clientID = s
		case nameIs(name, "ccid"):
			p.ccid = s
		}
		return nil
	})
}

func (k *keyHeader) UnmarshalJSON(data []byte) error {
	return eachEntry(data, func(name, value []byte) error {
		n, ok := keyHeaderName(name)
		if !ok {
			// Only its shape matters, and nothing of it is built.
			if !isStringOrNull(value) {
				return errEventShape
			}
			return nil
		}
		s, err := stringOrNull(value)
		if err != nil {
			return err
		}
		if k.values == nil {
			k.values = map[string]string{}
		}
		k.values[n] = s
		return nil
	})
}

func (k *keyHeaders) UnmarshalJSON(data []byte) error {
	return eachEntry(data, func(name, value []byte) error {
		n, ok := keyHeaderName(name)
		if !ok {
			// Only its shape matters: a list of strings, or null.
			return skipStrings(value)
		}
		var vs []string
		if err := json.Unmarshal(value, &vs); err != nil {
			return err
		}
		if k.values == nil {
			k.values = map[string][]string{}
		}
		k.values[n] = vs
		return nil
	})
}

// keyHeaderName reports whether a JSON object key (still quoted) names the
// API key header in any letter case, as strings.EqualFold decides (which
// also folds such letters as the Kelvin sign to k), and returns the name.
func keyHeaderName(name []byte) (string, bool) {
	if len(name) < len(APIKeyHeader)+2 {
		return "", false // folding never makes a name longer than its bytes
	}
	if bytes.IndexByte(name, '\\') < 0 {
		// The common case, compared before any string is made of it.
		raw := name[1 : len(name)-1]
		if !bytes.EqualFold(raw, apiKeyHeaderBytes) {
			return "", false
		}
		return string(raw), true
	}
	var n string
	if json.Unmarshal(name, &n) != nil {
		return "", false
	}
	return n, strings.EqualFold(n, APIKeyHeader)
}

var apiKeyHeaderBytes = []byte(APIKeyHeader)

// isStringOrNull reports whether a JSON value (checked as JSON already) is
// a string or null.
func isStringOrNull(value []byte) bool {
	return string(value) == "null" || len(value) > 0 && value[0] == '"'
}

// nameIs reports whether a JSON object key (still quoted) is exactly want.
func nameIs(name []byte, want string) bool {
	if bytes.IndexByte(name, '\\') < 0 {
		return len(name) == len(want)+2 && string(name[1:len(name)-1]) == want
	}
	var n string
	return json.Unmarshal(name, &n) == nil && n == want
}

// stringOrNull decodes a JSON string, or null as "", and refuses anything
// else, as decoding into a map of strings does.
func stringOrNull(value []byte) (string, error) {
	switch {
	case string(value) == "null":
		return "", nil
	case len(value) > 0 && value[0] == '"':
		if bytes.IndexByte(value, '\\') < 0 && isPlainASCII(value) {
			return string(value[1 : len(value)-1]), nil
		}
		var s string
		err := json.Unmarshal(value, &s)
		return s, err
	}
	return "", errEventShape
}

func isPlainASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c < 0x20 {
			return false
		}
	}
	return true
}

// skipStrings checks that a value is null or a list of strings and nulls.
func skipStrings(value []byte) error {
	if string(value) == "null" {
		return nil
	}
	if len(value) == 0 || value[0] != '[' {
		return errEventShape
	}
	i := skipSpace(value, 1)
	if i < len(value) && value[i] == ']' {
		return nil
	}
	for i < len(value) {
		end := valueEnd(value, i)
		if _, err := stringOrNull(value[i:end]); err != nil {
			return err
		}
		i = skipSpace(value, end)
		if i < len(value) && value[i] == ']' {
			return nil
		}
		i = skipSpace(value, i+1) // the comma
	}
	return errEventShape
}

// eachEntry calls fn with the quoted name and the raw value of each entry
// of a JSON object, in order; null is no object and no error. encoding/json
// has checked the bytes before it hands them to an UnmarshalJSON method, so
// this only splits them.
func eachEntry(data []byte, fn func(name, value []byte) error) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) < 2 || data[0] != '{' {
		return errEventShape
	}
	i := skipSpace(data, 1)
	if data[i] == '}' {
		return nil
	}
	for i < len(data) {
		nameEnd := valueEnd(data, i)
		name := data[i:nameEnd]
		i = skipSpace(data, nameEnd)
		i = skipSpace(data, i+1) // the colon
		end := valueEnd(data, i)
		if err := fn(name, data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // the comma
	}
	return errEventShape
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = valueEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[j])) {
		j++
	}
	return j
}

// Lambda is the function as main starts it with aws-lambda-go: the event
// arrives as raw JSON, which aws-lambda-go only checks and copies; only what
// the handler reads is decoded, and the proxy response is written without
// reflection as a value that encodes itself, so aws-lambda-go posts it as
// application/json (a lambda.Handler's bytes go as application/octet-stream,
// which Lambda Managed Instances hands on to the invoker). An event with the
// wrong types where the handler reads is an invocation error, as
// aws-lambda-go's own decoding of the whole event would make it (the
// equality test's oracle).
func (h *Handler) Lambda() func(context.Context, json.RawMessage) (ProxyResponse, error) {
	return func(ctx context.Context, event json.RawMessage) (ProxyResponse, error) {
		return h.Invoke(ctx, event)
	}
}

// ProxyResponse is an encoded proxy response; it marshals as itself.
type ProxyResponse []byte

// MarshalJSON returns the response as it is.
func (r ProxyResponse) MarshalJSON() ([]byte, error) { return r, nil }

// Invoke answers one proxy event, as raw JSON, with the encoded proxy
// response: the one request path, which Lambda, the local gateway, the tests
// and the benchmarks all run. It fails only for an event whose fields the
// handler reads have the wrong JSON types, which Lambda reports as an
// invocation error.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev event
	if err := decodeEvent(payload, &ev); err != nil {
		return nil, err
	}
	status, body := h.serve(ctx, request{
		requestID: ev.RequestContext.RequestID, clientID: ev.PathParameters.clientID, ccid: ev.PathParameters.ccid,
		key: keyIn(ev.Headers.values, ev.MultiValueHeaders.values),
	})
	return appendResponse(make([]byte, 0, len(body)+len(body)/8+200), status, body), nil
}

// appendResponse appends the proxy response as aws-lambda-go's encoder
// writes events.APIGatewayProxyResponse{StatusCode, Headers, Body}: keys in
// its order, headers sorted, no HTML escaping, no final newline.
func appendResponse(b []byte, status int, body string) []byte {
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"headers":{`...)
	for i, hd := range responseHeaders {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, hd.Name)
		b = append(b, ':')
		b = jsontext.AppendString(b, hd.Value)
	}
	b = append(b, `},"multiValueHeaders":null,"body":`...)
	b = jsontext.AppendString(b, body)
	return append(b, '}')
}
