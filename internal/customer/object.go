package customer

import (
	"slices"
	"strings"
)

// Object is a JSON object whose members are sorted by key, so that it is
// written the same way every time and without sorting on each response.
type Object []Member

// Member is one key and value of an Object.
type Member struct {
	Key   string
	Value any
}

// NewObject returns m as an Object, converting nested maps too. Values of
// other types are kept as they are.
func NewObject(m map[string]any) Object {
	o := make(Object, 0, len(m))
	for k, v := range m {
		o = append(o, Member{Key: k, Value: objectValue(v)})
	}
	o.Sort()
	return o
}

func objectValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return NewObject(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = objectValue(e)
		}
		return out
	}
	return v
}

// Sort puts the members in key order.
func (o Object) Sort() {
	slices.SortFunc(o, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
}

// Get returns the value under key, and whether there is one.
func (o Object) Get(key string) (any, bool) {
	i, found := slices.BinarySearchFunc(o, key, func(m Member, k string) int { return strings.Compare(m.Key, k) })
	if !found {
		return nil, false
	}
	return o[i].Value, true
}
