package customer

import (
	"reflect"
	"testing"
)

func TestNewObject(t *testing.T) {
	o := NewObject(map[string]any{"b": 1, "a": map[string]any{"z": true, "y": []any{map[string]any{"k": "v"}}}, "é": nil})
	want := Object{
		{"a", Object{{"y", []any{Object{{"k", "v"}}}}, {"z", true}}},
		{"b", 1},
		{"é", nil},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got %#v", o)
	}
	if v, ok := o.Get("b"); !ok || v != 1 {
		t.Errorf("Get(b) = %v %v", v, ok)
	}
	if _, ok := o.Get("c"); ok {
		t.Error("Get(c) found a member")
	}
}
