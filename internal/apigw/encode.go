package apigw

import (
	"encoding/base64"
	"errors"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/cdm/customer-api/internal/customer"
)

// The 200 body is written by hand, field names and order exactly as
// documented: reflection-based encoding cost more than everything else a
// warm request does besides its one DynamoDB read.

// bufPool holds buffers for log lines, which are written and then reused.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// EncodeCustomer returns the documented JSON of c. It fails only for an ext
// value JSON cannot hold.
func EncodeCustomer(c customer.Customer) (string, error) {
	return encodeCustomer(c)
}

func encodeCustomer(c customer.Customer) (string, error) {
	// One buffer of about the body's size, which becomes the string itself.
	b := make([]byte, 0, estimateSize(c))
	b = append(b, '{')
	first := true
	field := func(name string, v *string) {
		if v == nil {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = appendString(b, *v)
	}
	field("ccid", c.CCID)
	field("secondary_account_id", c.SecondaryAccountID)
	field("first_name", c.FirstName)
	field("middle_name", c.MiddleName)
	field("last_name", c.LastName)
	field("date_of_birth", c.DateOfBirth)
	field("ssn_last4", c.SSNLast4)
	field("gender", c.Gender)
	if !first {
		b = append(b, ',')
	}
	b = append(b, `"addresses":[`...)
	for i, a := range c.Addresses {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		first = true
		field("address1", a.Address1)
		field("address2", a.Address2)
		field("city", a.City)
		field("state_province", a.StateProvince)
		field("postal_code", a.PostalCode)
		field("country", a.Country)
		b = append(b, '}')
	}
	b = append(b, `],"notification_channels":[`...)
	for i, n := range c.NotificationChannels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		first = true
		field("channel_type", n.ChannelType)
		field("channel_addr", n.ChannelAddr)
		field("consent_type", n.ConsentType)
		field("phone_type", n.PhoneType)
		b = append(b, '}')
	}
	b = append(b, ']')
	if c.Ext != nil {
		b = append(b, `,"ext":`...)
		var err error
		if b, err = appendObject(b, c.Ext, 0); err != nil {
			return "", err
		}
	}
	b = append(b, '}')
	// b is not written again, so the string may share its memory.
	return unsafe.String(unsafe.SliceData(b), len(b)), nil // #nosec G103 -- b is never written after this
}

// estimateSize is about the length of c's JSON: field names and punctuation
// are counted generously, escapes not at all.
func estimateSize(c customer.Customer) int {
	n := 64
	for _, v := range []*string{c.CCID, c.SecondaryAccountID, c.FirstName, c.MiddleName, c.LastName, c.DateOfBirth, c.SSNLast4, c.Gender} {
		if v != nil {
			n += 24 + len(*v)
		}
	}
	for _, a := range c.Addresses {
		n += 96
		for _, v := range []*string{a.Address1, a.Address2, a.City, a.StateProvince, a.PostalCode, a.Country} {
			if v != nil {
				n += len(*v)
			}
		}
	}
	for _, ch := range c.NotificationChannels {
		n += 80
		for _, v := range []*string{ch.ChannelType, ch.ChannelAddr, ch.ConsentType, ch.PhoneType} {
			if v != nil {
				n += len(*v)
			}
		}
	}
	return n + estimateObject(c.Ext)
}

func estimateObject(o customer.Object) int {
	n := 2
	for _, m := range o {
		n += 4 + len(m.Key) + estimateValue(m.Value)
	}
	return n
}

func estimateValue(v customer.Value) int {
	switch v.Kind {
	case customer.KindString, customer.KindNumber:
		return 2 + len(v.Text)
	case customer.KindBinary:
		return 2 + base64.StdEncoding.EncodedLen(len(v.Text))
	case customer.KindList:
		n := 2
		for _, e := range v.Elems {
			n += 1 + estimateValue(e.Value)
		}
		return n
	case customer.KindObject:
		return estimateObject(v.Elems)
	}
	return 5
}

var errUnencodable = errors.New("encode customer: ext holds a value JSON cannot represent")

// maxDepth matches the deepest nesting DynamoDB stores.
const maxDepth = 64

func appendObject(b []byte, o customer.Object, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errUnencodable
	}
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.Key)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m.Value, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v customer.Value, depth int) ([]byte, error) {
	switch v.Kind {
	case customer.KindNull:
		return append(b, "null"...), nil
	case customer.KindString:
		return appendString(b, v.Text), nil
	case customer.KindNumber:
		if v.Text == "" {
			return b, errUnencodable
		}
		return append(b, v.Text...), nil
	case customer.KindBool:
		if v.Bool {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case customer.KindBinary:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, []byte(v.Text))
		return append(b, '"'), nil
	case customer.KindList:
		if depth > maxDepth {
			return b, errUnencodable
		}
		b = append(b, '[')
		for i, e := range v.Elems {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e.Value, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case customer.KindObject:
		return appendObject(b, v.Elems, depth)
	}
	return b, errUnencodable
}

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes a JSON string holds as they are.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s as a JSON string, as encoding/json writes it:
// invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
