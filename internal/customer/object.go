package customer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Object is a JSON object whose members are sorted by key, so that it is
// written the same way every time and without sorting on each response.
type Object []Member

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value Value
}

// Kind is the JSON type of a Value.
type Kind uint8

// The kinds of Value.
const (
	KindNull   Kind = iota
	KindString      // Text
	KindNumber      // Text: the exact decimal digits
	KindBool        // Bool
	KindBinary      // Text holds the bytes; written as base64
	KindList        // Elems, with empty keys
	KindObject      // Elems, sorted by key
)

// Value is one value of the free-form ext object. It is a small plain
// struct rather than an interface, so that a stored item decodes into it
// without an allocation per value and sorts cheaply.
type Value struct {
	Kind  Kind
	Bool  bool
	Text  string
	Elems []Member
}

// NewObject returns m as an Object, m being what encoding/json decodes with
// UseNumber (or the like): string, json.Number, bool, nil, []any,
// map[string]any, and also []byte. It fails on a value of another type.
func NewObject(m map[string]any) (Object, error) {
	o := make(Object, 0, len(m))
	for k, v := range m {
		val, err := valueOf(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		o = append(o, Member{Key: k, Value: val})
	}
	o.Sort()
	return o, nil
}

// MustObject is NewObject for values known to be valid; it panics otherwise.
func MustObject(m map[string]any) Object {
	o, err := NewObject(m)
	if err != nil {
		panic(err)
	}
	return o
}

func valueOf(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{Kind: KindNull}, nil
	case string:
		return Value{Kind: KindString, Text: x}, nil
	case json.Number:
		return Value{Kind: KindNumber, Text: string(x)}, nil
	case bool:
		return Value{Kind: KindBool, Bool: x}, nil
	case []byte:
		return Value{Kind: KindBinary, Text: string(x)}, nil
	case []any:
		l := make([]Member, len(x))
		for i, e := range x {
			var err error
			if l[i].Value, err = valueOf(e); err != nil {
				return Value{}, err
			}
		}
		return Value{Kind: KindList, Elems: l}, nil
	case map[string]any:
		o, err := NewObject(x)
		return Value{Kind: KindObject, Elems: o}, err
	}
	return Value{}, fmt.Errorf("unsupported value of type %T", v)
}

// Sort puts the members in key order.
func (o Object) Sort() {
	slices.SortFunc(o, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
}

// nesting is how many levels of objects and lists o holds, itself one.
func (o Object) nesting() int {
	deepest := 0
	for _, m := range o {
		deepest = max(deepest, m.Value.nesting())
	}
	return 1 + deepest
}

func (v Value) nesting() int {
	switch v.Kind {
	case KindObject:
		return Object(v.Elems).nesting()
	case KindList:
		deepest := 0
		for _, e := range v.Elems {
			deepest = max(deepest, e.Value.nesting())
		}
		return 1 + deepest
	}
	return 0
}
