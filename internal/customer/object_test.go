package customer

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestNewObject(t *testing.T) {
	o, err := NewObject(map[string]any{"b": json.Number("1"), "a": map[string]any{"z": true, "y": []any{map[string]any{"k": "v"}, nil}}, "é": []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		{"a", Value{Kind: KindObject, Elems: Object{
			{"y", Value{Kind: KindList, Elems: []Member{{Value: Value{Kind: KindObject, Elems: Object{{"k", Value{Kind: KindString, Text: "v"}}}}}, {Value: Value{Kind: KindNull}}}}},
			{"z", Value{Kind: KindBool, Bool: true}},
		}}},
		{"b", Value{Kind: KindNumber, Text: "1"}},
		{"é", Value{Kind: KindBinary, Text: "x"}},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %#v", o)
	}
	if _, err := NewObject(map[string]any{"f": 1.5}); err == nil {
		t.Error("a float64 was accepted: its digits would not be exact")
	}
}
