package customer

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	v := map[string]any{
		"z": []any{"a", json.Number("12345678901234567890"), true, false, nil, map[string]any{"b": "c", "a": []any{}}},
		"a": map[string]any{}, "m": []byte("bytes"), "é": "ü\n",
	}
	got, err := appendObject(nil, MustObject(v), 1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != buf.String() {
		t.Errorf("got  %s\nwant %s", got, buf.String())
	}
	if _, err := appendObject(nil, Object{{Key: "x", Value: Value{Kind: 99}}}, 1); err == nil {
		t.Error("an unencodable value was accepted")
	}
}
