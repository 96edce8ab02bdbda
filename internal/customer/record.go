package customer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits from the endpoint's documentation that a stored customer must meet.
const (
	MaxNameChars       = 100
	MaxPostalCodeChars = 10
	MaxPhoneTypeChars  = 10
	MaxChannels        = 50
)

// FieldError is one reason a record is invalid.
type FieldError struct {
	Field  string // such as addresses[0].country; empty for the record as a whole
	Reason string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// InvalidError lists every reason a record is invalid.
type InvalidError []FieldError

func (e InvalidError) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// jsonRecord reads a record with encoding/json, keeping ext as it came for
// parseExt; the outer Ext hides the Customer's.
type jsonRecord struct {
	*Customer
	Ext json.RawMessage `json:"ext"`
}

// ParseRecord reads one customer from its JSON object (the documented
// response shape) and checks it against the documented limits. It returns an
// InvalidError naming each field at fault; an unknown field is one, so that a
// misspelt field is never silently dropped.
func ParseRecord(data []byte) (Customer, error) {
	if !utf8.Valid(data) {
		return Customer{}, InvalidError{{Reason: "not valid UTF-8"}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Customer
	r := jsonRecord{Customer: &c}
	if err := dec.Decode(&r); err != nil {
		fe := decodeError(err)
		if fe.Reason == "unknown field" {
			if path := unknownFieldPath(data); path != "" {
				fe.Field = path
			}
		}
		return Customer{}, InvalidError{fe}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Customer{}, InvalidError{{Reason: "more than one JSON value"}}
	}
	if c.Addresses == nil {
		c.Addresses = []Address{}
	}
	if c.NotificationChannels == nil {
		c.NotificationChannels = []NotificationChannel{}
	}
	var errs InvalidError
	if len(r.Ext) > 0 && string(r.Ext) != "null" {
		ext, err := parseExt(r.Ext)
		if err != nil {
			errs = append(errs, FieldError{"ext", err.Error()})
		}
		c.Ext = ext
	}
	errs = append(errs, Validate(c)...)
	if len(errs) > 0 {
		return Customer{}, errs
	}
	return c, nil
}

func parseExt(raw json.RawMessage) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("want a JSON object")
	}
	return NewObject(m)
}

// documentedFields are the documented field names of a record, an address
// and a channel, for naming where an unknown field stands.
func documentedFields() [3]map[string]bool {
	var out [3]map[string]bool
	out[0] = names(customerFields[:], NameAddresses, NameNotificationChannels, NameExt)
	out[1] = names(addressFields[:])
	out[2] = names(channelFields[:])
	return out
}

func names[T any](fields []Field[T], more ...string) map[string]bool {
	set := map[string]bool{}
	for _, f := range fields {
		set[f.Name] = true
	}
	for _, n := range more {
		set[n] = true
	}
	return set
}

// unknownFieldPath returns the path of the first unknown field in a record,
// such as addresses[1].zip, or "" when it finds none.
func unknownFieldPath(data []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return ""
	}
	fields := documentedFields()
	recordFields, addressFields, channelFields := fields[0], fields[1], fields[2]
	for _, k := range sortedKeys(top) {
		if !recordFields[k] {
			return k
		}
	}
	for name, known := range map[string]map[string]bool{NameAddresses: addressFields, NameNotificationChannels: channelFields} {
		var elems []map[string]json.RawMessage
		if json.Unmarshal(top[name], &elems) != nil {
			continue
		}
		for i, e := range elems {
			for _, k := range sortedKeys(e) {
				if !known[k] {
					return fmt.Sprintf("%s[%d].%s", name, i, k)
				}
			}
		}
	}
	return ""
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func decodeError(err error) FieldError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return FieldError{typeErr.Field, "want " + kindName(typeErr.Type.Kind().String())}
	case errors.As(err, &syntaxErr):
		return FieldError{"", fmt.Sprintf("invalid JSON at byte %d", syntaxErr.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return FieldError{strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FieldError{"", "incomplete JSON"}
	default:
		return FieldError{"", "invalid JSON"}
	}
}

func kindName(kind string) string {
	switch kind {
	case "ptr", "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// Validate returns each way c breaks the documented limits; none means valid.
func Validate(c Customer) InvalidError {
	var errs InvalidError
	add := func(field, reason string) { errs = append(errs, FieldError{field, reason}) }
	check(add, "", customerFields[:], &c)
	numberProblems(add, NameExt, Value{Kind: KindObject, Elems: c.Ext})
	if c.Ext != nil && c.Ext.nesting() > MaxNesting {
		add(NameExt, fmt.Sprintf("nested more than %d levels", MaxNesting))
	}
	for i := range c.Addresses {
		check(add, fmt.Sprintf("%s[%d].", NameAddresses, i), addressFields[:], &c.Addresses[i])
	}
	if len(c.NotificationChannels) > MaxChannels {
		add(NameNotificationChannels, fmt.Sprintf("at most %d channels", MaxChannels))
	}
	for i := range c.NotificationChannels {
		check(add, fmt.Sprintf("%s[%d].", NameNotificationChannels, i), channelFields[:], &c.NotificationChannels[i])
	}
	return errs
}

func check[T any](add func(string, string), prefix string, fields []Field[T], v *T) {
	for _, f := range fields {
		if p := f.Rule.Problem(*f.Ref(v)); p != "" {
			add(prefix+f.Name, p)
		}
	}
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
