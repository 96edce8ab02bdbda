package customer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits from the endpoint's documentation that a stored customer must meet.
const (
	MaxNameChars       = 100
	MaxPostalCodeChars = 10
	MaxPhoneTypeChars  = 10
	MaxChannels        = 50
)

// Values the documentation allows.
var (
	ChannelTypes = []string{"sms"}
	ConsentTypes = []string{"written", "express", "stop"}
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

// record is a customer as the import format writes it: the 200 body's shape.
type record struct {
	CCID                 *string         `json:"ccid"`
	SecondaryAccountID   *string         `json:"secondary_account_id"`
	FirstName            *string         `json:"first_name"`
	MiddleName           *string         `json:"middle_name"`
	LastName             *string         `json:"last_name"`
	DateOfBirth          *string         `json:"date_of_birth"`
	SSNLast4             *string         `json:"ssn_last4"`
	Gender               *string         `json:"gender"`
	Addresses            []addressRecord `json:"addresses"`
	NotificationChannels []channelRecord `json:"notification_channels"`
	Ext                  json.RawMessage `json:"ext"`
}

type addressRecord struct {
	Address1      *string `json:"address1"`
	Address2      *string `json:"address2"`
	City          *string `json:"city"`
	StateProvince *string `json:"state_province"`
	PostalCode    *string `json:"postal_code"`
	Country       *string `json:"country"`
}

type channelRecord struct {
	ChannelType *string `json:"channel_type"`
	ChannelAddr *string `json:"channel_addr"`
	ConsentType *string `json:"consent_type"`
	PhoneType   *string `json:"phone_type"`
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
	var r record
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
	c := Customer{
		CCID: r.CCID, SecondaryAccountID: r.SecondaryAccountID, FirstName: r.FirstName,
		MiddleName: r.MiddleName, LastName: r.LastName, DateOfBirth: r.DateOfBirth,
		SSNLast4: r.SSNLast4, Gender: r.Gender,
		Addresses:            make([]Address, len(r.Addresses)),
		NotificationChannels: make([]NotificationChannel, len(r.NotificationChannels)),
	}
	for i, a := range r.Addresses {
		c.Addresses[i] = Address(a)
	}
	for i, n := range r.NotificationChannels {
		c.NotificationChannels[i] = NotificationChannel(n)
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
// and a channel, for naming where an unknown field stands; built on first
// use, since only importing records needs them, not the Lambda.
var documentedFields = sync.OnceValue(func() [3]map[string]bool {
	return [3]map[string]bool{fieldSet(record{}), fieldSet(addressRecord{}), fieldSet(channelRecord{})}
})

func fieldSet(v any) map[string]bool {
	set := map[string]bool{}
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		set[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
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
	for name, known := range map[string]map[string]bool{"addresses": addressFields, "notification_channels": channelFields} {
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
	if c.CCID == nil {
		add("ccid", "required")
	} else if ValidateCCID(*c.CCID) != nil {
		add("ccid", fmt.Sprintf("want 1 to %d bytes without control characters", MaxIDBytes))
	} else if *c.CCID == "." || *c.CCID == ".." {
		add("ccid", "a dot segment: HTTP clients resolve it away, so no request can name this customer")
	}
	numberProblems(add, "ext", Value{Kind: KindObject, Elems: c.Ext})
	maxChars(add, "secondary_account_id", c.SecondaryAccountID, MaxNameChars)
	maxChars(add, "first_name", c.FirstName, MaxNameChars)
	maxChars(add, "middle_name", c.MiddleName, MaxNameChars)
	maxChars(add, "last_name", c.LastName, MaxNameChars)
	if v := c.DateOfBirth; v != nil {
		if t, err := time.Parse(time.DateOnly, *v); err != nil || t.Format(time.DateOnly) != *v {
			add("date_of_birth", "want a real date as yyyy-mm-dd")
		}
	}
	if v := c.SSNLast4; v != nil && (len(*v) != 4 || !digits(*v)) {
		add("ssn_last4", "want 4 digits")
	}
	exactChars(add, "gender", c.Gender, 1)
	for i, a := range c.Addresses {
		p := fmt.Sprintf("addresses[%d].", i)
		maxChars(add, p+"address1", a.Address1, MaxNameChars)
		maxChars(add, p+"address2", a.Address2, MaxNameChars)
		maxChars(add, p+"city", a.City, MaxNameChars)
		exactChars(add, p+"state_province", a.StateProvince, 2)
		maxChars(add, p+"postal_code", a.PostalCode, MaxPostalCodeChars)
		exactChars(add, p+"country", a.Country, 2)
	}
	if len(c.NotificationChannels) > MaxChannels {
		add("notification_channels", fmt.Sprintf("at most %d channels", MaxChannels))
	}
	for i, n := range c.NotificationChannels {
		p := fmt.Sprintf("notification_channels[%d].", i)
		oneOf(add, p+"channel_type", n.ChannelType, ChannelTypes)
		if v := n.ChannelAddr; v != nil && (len(*v) < 10 || len(*v) > 11 || !digits(*v)) {
			add(p+"channel_addr", "want 10 or 11 digits")
		}
		oneOf(add, p+"consent_type", n.ConsentType, ConsentTypes)
		maxChars(add, p+"phone_type", n.PhoneType, MaxPhoneTypeChars)
	}
	return errs
}

func maxChars(add func(string, string), field string, v *string, max int) {
	if v != nil && utf8.RuneCountInString(*v) > max {
		add(field, fmt.Sprintf("longer than %d characters", max))
	}
}

func exactChars(add func(string, string), field string, v *string, n int) {
	if v != nil && utf8.RuneCountInString(*v) != n {
		add(field, fmt.Sprintf("want exactly %d characters", n))
	}
}

func oneOf(add func(string, string), field string, v *string, allowed []string) {
	if v == nil {
		return
	}
	for _, a := range allowed {
		if *v == a {
			return
		}
	}
	add(field, "want one of "+strings.Join(allowed, ", "))
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
