package jsontext

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// stdlibString is encoding/json's rendering of s, without HTML escaping.
func stdlibString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\x1f\n\r\t\x7f", "é€😀", "\xff\xfe", "a\u2028b\u2029", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := string(AppendString(nil, s)), stdlibString(s)
		if utf8.ValidString(s) {
			if got != want {
				t.Errorf("AppendString(%q) = %s, encoding/json writes %s", s, got, want)
			}
			return
		}
		// Invalid UTF-8 becomes U+FFFD; encoding/json writes it escaped before
		// Go 1.27 and as is since. Either way the JSON must say the same.
		var gotS, wantS string
		if err := json.Unmarshal([]byte(got), &gotS); err != nil || !utf8.ValidString(got) {
			t.Fatalf("AppendString(%q) = %q: not valid UTF-8 JSON (%v)", s, got, err)
		}
		if err := json.Unmarshal([]byte(want), &wantS); err != nil || gotS != wantS {
			t.Errorf("AppendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
	})
}
