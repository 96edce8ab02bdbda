package customer

import (
	"encoding/base64"
	"errors"
	"unsafe"

	"github.com/cdm/customer-api/internal/jsontext"
)

// The 200 body is written by hand from the field table, names and order
// exactly as documented: reflection-based encoding cost more than
// everything else a warm request does besides its one DynamoDB read.

// MaxNesting is the deepest an ext value may nest: DynamoDB stores nested
// attributes up to 32 levels deep (its documented limit), so nothing deeper
// is ever read back, and import refuses it.
const MaxNesting = 32

// EncodeJSON returns the documented JSON of c, the 200 body: fields in
// documented order, a field not stored left out. It fails only for an ext
// value JSON cannot hold.
func EncodeJSON(c Customer) (string, error) {
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
		b = jsontext.AppendString(b, *v)
	}
	for _, f := range customerFields {
		field(f.Name, *f.Ref(&c))
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, `"`+NameAddresses+`":[`...)
	for i := range c.Addresses {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		first = true
		for _, f := range addressFields {
			field(f.Name, *f.Ref(&c.Addresses[i]))
		}
		b = append(b, '}')
	}
	b = append(b, `],"`+NameNotificationChannels+`":[`...)
	for i := range c.NotificationChannels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		first = true
		for _, f := range channelFields {
			field(f.Name, *f.Ref(&c.NotificationChannels[i]))
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if c.Ext != nil {
		b = append(b, `,"`+NameExt+`":`...)
		var err error
		if b, err = appendObject(b, c.Ext, 1); err != nil {
			return "", err
		}
	}
	b = append(b, '}')
	// b is not written again, so the string may share its memory.
	return unsafe.String(unsafe.SliceData(b), len(b)), nil // #nosec G103 -- b is never written after this
}

// estimateSize is about the length of c's JSON: field names and punctuation
// are counted generously, escapes not at all.
func estimateSize(c Customer) int {
	n := 64
	for _, f := range customerFields {
		if v := *f.Ref(&c); v != nil {
			n += 24 + len(*v)
		}
	}
	for i := range c.Addresses {
		n += 96
		for _, f := range addressFields {
			if v := *f.Ref(&c.Addresses[i]); v != nil {
				n += len(*v)
			}
		}
	}
	for i := range c.NotificationChannels {
		n += 80
		for _, f := range channelFields {
			if v := *f.Ref(&c.NotificationChannels[i]); v != nil {
				n += len(*v)
			}
		}
	}
	return n + estimateObject(c.Ext)
}

func estimateObject(o Object) int {
	n := 2
	for _, m := range o {
		n += 4 + len(m.Key) + estimateValue(m.Value)
	}
	return n
}

func estimateValue(v Value) int {
	switch v.Kind {
	case KindString, KindNumber:
		return 2 + len(v.Text)
	case KindBinary:
		return 2 + base64.StdEncoding.EncodedLen(len(v.Text))
	case KindList:
		n := 2
		for _, e := range v.Elems {
			n += 1 + estimateValue(e.Value)
		}
		return n
	case KindObject:
		return estimateObject(v.Elems)
	}
	return 5
}

var errUnencodable = errors.New("encode customer: ext holds a value JSON cannot represent")

func appendObject(b []byte, o Object, depth int) ([]byte, error) {
	if depth > MaxNesting {
		return b, errUnencodable
	}
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, m.Key)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m.Value, depth+1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v Value, depth int) ([]byte, error) {
	switch v.Kind {
	case KindNull:
		return append(b, "null"...), nil
	case KindString:
		return jsontext.AppendString(b, v.Text), nil
	case KindNumber:
		if v.Text == "" {
			return b, errUnencodable
		}
		return append(b, v.Text...), nil
	case KindBool:
		if v.Bool {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case KindBinary:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, []byte(v.Text))
		return append(b, '"'), nil
	case KindList:
		if depth > MaxNesting {
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
	case KindObject:
		return appendObject(b, v.Elems, depth)
	}
	return b, errUnencodable
}
