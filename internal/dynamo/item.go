package dynamo

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
)

// Attribute names of the two tables: the storage schema other systems write.
const (
	attrPK       = "pk"
	attrClientID = "client_id"
	attrCCID     = "ccid"

	attrKeyHash   = "key_hash"
	attrStatus    = "status"
	attrLabel     = "label"
	attrCreatedAt = "created_at"
	attrExpiresAt = "expires_at"
	attrRotatedTo = "rotated_to"
	attrWasExpiry = "rotated_from_expires_at"
)

// CorruptItemError is a stored item that does not have the documented shape.
// Its text names the attribute, never its value.
type CorruptItemError struct {
	Attribute string // a path such as addresses[2].city
	Reason    string
}

func (e *CorruptItemError) Error() string {
	return "corrupt item: attribute " + e.Attribute + ": " + e.Reason
}

func corrupt(attr, reason string) error {
	return &CorruptItemError{Attribute: attr, Reason: reason}
}

func decodeCustomer(item map[string]types.AttributeValue) (customer.Customer, error) {
	var c customer.Customer
	for _, f := range customer.Fields() {
		v, err := stringValue(item[f.Attr], f.Attr)
		if err != nil {
			return customer.Customer{}, err
		}
		*f.Ref(&c) = v
	}
	var err error
	if c.Addresses, err = decodeList(item, customer.NameAddresses, customer.AddressFields()); err != nil {
		return customer.Customer{}, err
	}
	if c.NotificationChannels, err = decodeList(item, customer.NameNotificationChannels, customer.ChannelFields()); err != nil {
		return customer.Customer{}, err
	}

	switch v := item[customer.NameExt].(type) {
	case nil, *types.AttributeValueMemberNULL:
	case *types.AttributeValueMemberM:
		ext, err := extMap(v.Value, customer.NameExt, 1)
		if err != nil {
			return customer.Customer{}, err
		}
		c.Ext = ext
	default:
		return customer.Customer{}, corrupt(customer.NameExt, "want a map")
	}
	return c, nil
}

// decodeList decodes a list of maps whose documented attributes, fields,
// are strings. Undocumented attributes are ignored.
func decodeList[T any](item map[string]types.AttributeValue, name string, fields []customer.Field[T]) ([]T, error) {
	l, err := list(item, name)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(l))
	for i, av := range l {
		m, ok := av.(*types.AttributeValueMemberM)
		if !ok {
			return nil, corrupt(elem(name, i), "want a map")
		}
		for _, f := range fields {
			v, ok := m.Value[f.Attr]
			if !ok {
				continue
			}
			if *f.Ref(&out[i]), err = stringValue(v, f.Attr); err != nil {
				return nil, withPath(err, elem(name, i))
			}
		}
	}
	return out, nil
}

// optionalString reads a string attribute; absent or NULL means not stored.
func optionalString(item map[string]types.AttributeValue, name string) (*string, error) {
	return stringValue(item[name], name)
}

func stringValue(av types.AttributeValue, name string) (*string, error) {
	switch v := av.(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberS:
		return &v.Value, nil
	default:
		return nil, corrupt(name, "want a string")
	}
}

func withPath(err error, parent string) error {
	if ce, ok := err.(*CorruptItemError); ok {
		return corrupt(parent+"."+ce.Attribute, ce.Reason)
	}
	return err
}

func elem(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}

func list(item map[string]types.AttributeValue, name string) ([]types.AttributeValue, error) {
	switch v := item[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil, nil
	case *types.AttributeValueMemberL:
		return v.Value, nil
	default:
		return nil, corrupt(name, "want a list")
	}
}

// extMap converts a map at nesting level depth (ext itself being 1).
func extMap(m map[string]types.AttributeValue, path string, depth int) (customer.Object, error) {
	if depth > customer.MaxNesting {
		return nil, corrupt(path, "nested too deeply")
	}
	out := make(customer.Object, len(m))
	i := 0
	for k, av := range m {
		out[i].Key = k
		if err := extValue(&out[i].Value, av, path, depth); err != nil {
			return nil, err
		}
		i++
	}
	out.Sort()
	return out, nil
}

// extValue converts one attribute value into dst. Error paths stop at the
// ext level, so that no key of the customer's own data is logged.
func extValue(dst *customer.Value, av types.AttributeValue, path string, depth int) error {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		*dst = customer.Value{Kind: customer.KindString, Text: v.Value}
	case *types.AttributeValueMemberN:
		n, ok := jsonNumber(v.Value)
		if !ok {
			return corrupt(path, "number is not decimal text")
		}
		*dst = customer.Value{Kind: customer.KindNumber, Text: n}
	case *types.AttributeValueMemberBOOL:
		*dst = customer.Value{Kind: customer.KindBool, Bool: v.Value}
	case *types.AttributeValueMemberNULL:
		*dst = customer.Value{Kind: customer.KindNull}
	case *types.AttributeValueMemberB:
		*dst = customer.Value{Kind: customer.KindBinary, Text: string(v.Value)}
	case *types.AttributeValueMemberM:
		o, err := extMap(v.Value, path, depth+1)
		if err != nil {
			return err
		}
		*dst = customer.Value{Kind: customer.KindObject, Elems: o}
	case *types.AttributeValueMemberL:
		if depth+1 > customer.MaxNesting {
			return corrupt(path, "nested too deeply")
		}
		l := make([]customer.Member, len(v.Value))
		for i, e := range v.Value {
			if err := extValue(&l[i].Value, e, path, depth+1); err != nil {
				return err
			}
		}
		*dst = customer.Value{Kind: customer.KindList, Elems: l}
	case *types.AttributeValueMemberSS:
		l := make([]customer.Member, len(v.Value))
		for i, s := range v.Value {
			l[i].Value = customer.Value{Kind: customer.KindString, Text: s}
		}
		*dst = customer.Value{Kind: customer.KindList, Elems: l}
	case *types.AttributeValueMemberNS:
		l := make([]customer.Member, len(v.Value))
		for i, s := range v.Value {
			n, ok := jsonNumber(s)
			if !ok {
				return corrupt(path, "number is not decimal text")
			}
			l[i].Value = customer.Value{Kind: customer.KindNumber, Text: n}
		}
		*dst = customer.Value{Kind: customer.KindList, Elems: l}
	case *types.AttributeValueMemberBS:
		l := make([]customer.Member, len(v.Value))
		for i, b := range v.Value {
			l[i].Value = customer.Value{Kind: customer.KindBinary, Text: string(b)}
		}
		*dst = customer.Value{Kind: customer.KindList, Elems: l}
	default:
		return corrupt(path, "unknown attribute type")
	}
	return nil
}

// jsonNumber returns DynamoDB's decimal text as a JSON number with the same
// digits. DynamoDB accepts forms JSON does not ("+1", ".5", "5."); those are
// rewritten without changing their value.
func jsonNumber(s string) (string, bool) {
	if validJSONNumber(s) {
		return s, true
	}
	t := strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")
	mant, exp, hasExp := strings.Cut(t, "e")
	if !hasExp {
		mant, exp, hasExp = strings.Cut(t, "E")
	}
	if !strings.ContainsAny(mant, "0123456789") {
		return "", false
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasDot && frac != "" {
		out += "." + frac
	}
	if hasExp {
		out += "e" + strings.TrimPrefix(exp, "+")
	}
	if neg {
		out = "-" + out
	}
	if !validJSONNumber(out) {
		return "", false
	}
	return out, true
}

// validJSONNumber reports whether s is a number in JSON's grammar.
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

const maxUnixSeconds = 253402300799

func decodeKey(item map[string]types.AttributeValue) (apikey.Record, error) {
	var r apikey.Record
	strs := [...]struct {
		name string
		dst  *string
	}{
		{attrKeyHash, &r.Hash},
		{attrClientID, &r.ClientID},
		{attrStatus, &r.Status},
		{attrLabel, &r.Label},
		{attrRotatedTo, &r.RotatedTo},
	}
	for _, f := range strs {
		v, err := optionalString(item, f.name)
		if err != nil {
			return apikey.Record{}, err
		}
		if v != nil {
			*f.dst = *v
		}
	}
	created, err := optionalString(item, attrCreatedAt)
	if err != nil {
		return apikey.Record{}, err
	}
	if created != nil {
		if r.CreatedAt, err = time.Parse(time.RFC3339, *created); err != nil {
			return apikey.Record{}, corrupt(attrCreatedAt, "want RFC 3339 time")
		}
	}
	switch v := item[attrExpiresAt].(type) {
	case nil, *types.AttributeValueMemberNULL:
	case *types.AttributeValueMemberN:
		secs, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return apikey.Record{}, corrupt(attrExpiresAt, "want Unix seconds")
		}
		// Beyond year 9999 is never; it also keeps the conversion in range.
		secs = math.Max(math.Min(secs, maxUnixSeconds), -maxUnixSeconds)
		whole, frac := math.Modf(secs)
		r.ExpiresAt = time.Unix(int64(whole), int64(frac*1e9))
	default:
		return apikey.Record{}, corrupt(attrExpiresAt, "want a number")
	}
	return r, nil
}
