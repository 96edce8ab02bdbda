package customer

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Field is one documented string field of a record, an address (T Address)
// or a notification channel (T NotificationChannel): its documented name,
// its stored attribute, its limit, and where it is kept in a T. The tables
// are generated from the struct tags in customer.go.
type Field[T any] struct {
	Name string
	Attr string
	Rule Rule
	Ref  func(*T) **string
}

// Fields, AddressFields and ChannelFields are the string fields of a record,
// of each of its addresses and of each of its channels, in documented order.
// The slices are shared; callers do not change them.
func Fields() []Field[Customer]                   { return customerFields[:] }
func AddressFields() []Field[Address]             { return addressFields[:] }
func ChannelFields() []Field[NotificationChannel] { return channelFields[:] }

type ruleKind uint8

const (
	ruleNone ruleKind = iota
	ruleCCID
	ruleDate
	ruleMaxChars
	ruleExactChars
	ruleDigits
	ruleOneOf
)

// Rule is the documented limit of a string field.
type Rule struct {
	Kind     ruleKind
	Required bool
	Min, Max int
	OneOf    []string
}

// Problem returns why v breaks the rule, or "" when it does not. v nil is a
// field not stored.
func (r Rule) Problem(v *string) string {
	if v == nil {
		if r.Required {
			return "required"
		}
		return ""
	}
	s := *v
	switch r.Kind {
	case ruleCCID:
		if ValidateCCID(s) != nil {
			return fmt.Sprintf("want 1 to %d bytes without control characters", MaxIDBytes)
		}
		if s == "." || s == ".." {
			return "a dot segment: HTTP clients resolve it away, so no request can name this customer"
		}
	case ruleDate:
		if t, err := time.Parse(time.DateOnly, s); err != nil || t.Format(time.DateOnly) != s {
			return "want a real date as yyyy-mm-dd"
		}
	case ruleMaxChars:
		if utf8.RuneCountInString(s) > r.Max {
			return fmt.Sprintf("longer than %d characters", r.Max)
		}
	case ruleExactChars:
		if utf8.RuneCountInString(s) != r.Max {
			return fmt.Sprintf("want exactly %d characters", r.Max)
		}
	case ruleDigits:
		if len(s) < r.Min || len(s) > r.Max || !digits(s) {
			if r.Min == r.Max {
				return fmt.Sprintf("want %d digits", r.Max)
			}
			return fmt.Sprintf("want %d or %d digits", r.Min, r.Max)
		}
	case ruleOneOf:
		for _, a := range r.OneOf {
			if s == a {
				return ""
			}
		}
		return "want one of " + strings.Join(r.OneOf, ", ")
	}
	return ""
}
