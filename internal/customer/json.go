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
	b, first := appendFields(append(b, '{'), customerFields[:], &c)
	if !first {
		b = append(b, ',')
	}
	b = appendList(append(b, `"`+NameAddresses+`":`...), addressFields[:], c.Addresses)
	b = appendList(append(b, `,"`+NameNotificationChannels+`":`...), channelFields[:], c.NotificationChannels)
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

// appendFields appends the stored string fields of v as JSON members, and
// reports whether there were none.
func appendFields[T any](b []byte, fields []Field[T], v *T) ([]byte, bool) {
	first := true
	for _, f := range fields {
		s := *f.Ref(v)
		if s == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, f.Name...)
		b = append(b, `":`...)
		b = jsontext.AppendString(b, *s)
	}
	return b, first
}

// appendList appends elems as a JSON array of objects.
func appendList[T any](b []byte, fields []Field[T], elems []T) []byte {
	b = append(b, '[')
	for i := range elems {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = appendFields(append(b, '{'), fields, &elems[i])
		b = append(b, '}')
	}
	return append(b, ']')
}

// estimateSize is about the length of c's JSON: field names and punctuation
// are counted generously, escapes not at all.
func estimateSize(c Customer) int {
	return 64 + fieldsSize(customerFields[:], &c, 24) +
		listSize(addressFields[:], c.Addresses, 96) + listSize(channelFields[:], c.NotificationChannels, 80) +
		estimateObject(c.Ext)
}

// fieldsSize is the length of v's stored strings, each with perField more.
func fieldsSize[T any](fields []Field[T], v *T, perField int) int {
	n := 0
	for _, f := range fields {
		if s := *f.Ref(v); s != nil {
			n += perField + len(*s)
		}
	}
	return n
}

// listSize is about the length of elems as JSON, perElem for the names and
// punctuation of each.
func listSize[T any](fields []Field[T], elems []T, perElem int) int {
	n := 0
	for i := range elems {
		n += perElem + fieldsSize(fields, &elems[i], 0)
	}
	return n
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
