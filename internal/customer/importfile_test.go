package customer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// FuzzScanImportArray: for any valid JSON array, ScanImport hands over
// exactly its elements, each with the line it starts on; for any other
// input it returns without panicking.
func FuzzScanImportArray(f *testing.F) {
	for _, s := range []string{`[]`, ` [ {"ccid":"A"} , {"ccid":"B","x":"]}\"["} ]`, "[\n  {\"ccid\": \"A\",\n   \"n\": [1, 2]},\n  \"s\",\n  12, null, true\n]\n", `[{"a":"\\"}]`, `[1,]`, `[1 2]`, `[{"a":1}`, `[]x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got [][]byte
		var lines []int
		err := ScanImport(bytes.NewReader(data), func(line int, rec []byte) error {
			got = append(got, bytes.Clone(rec))
			lines = append(lines, line)
			return nil
		})
		trimmed := bytes.TrimSpace(data)
		if !json.Valid(data) || len(trimmed) == 0 || trimmed[0] != '[' {
			return
		}
		if err != nil {
			t.Fatalf("valid array %q: %v", data, err)
		}
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, want %d", data, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: element %d is %q, want %q", data, i, got[i], want[i])
			}
			start := bytes.Index(data, want[i])
			if l := 1 + bytes.Count(data[:start], []byte("\n")); lines[i] != l && bytes.Count(data, want[i]) == 1 {
				t.Fatalf("%q: element %d at line %d, want %d", data, i, lines[i], l)
			}
		}
	})
}

// TestScanImportHoldsOneRecord: a long NDJSON file and a long array are read
// a record at a time, each record's bytes reused for the next.
func TestScanImportHoldsOneRecord(t *testing.T) {
	var nd, arr strings.Builder
	arr.WriteString("[\n")
	for i := range 5000 {
		fmt.Fprintf(&nd, `{"ccid":"C-%d"}`+"\n", i)
		if i > 0 {
			arr.WriteString(",\n")
		}
		fmt.Fprintf(&arr, `  {"ccid":"C-%d"}`, i)
	}
	arr.WriteString("\n]\n")
	for name, in := range map[string]string{"ndjson": nd.String(), "array": arr.String()} {
		n, maxCap := 0, 0
		err := ScanImport(strings.NewReader(in), func(line int, rec []byte) error {
			c, err := ParseRecord(rec)
			if err != nil || *c.CCID != fmt.Sprintf("C-%d", n) || line != n+1+btoi(name == "array") {
				t.Fatalf("%s: record %d at line %d: %s %v", name, n, line, rec, err)
			}
			n++
			maxCap = max(maxCap, cap(rec))
			return nil
		})
		if err != nil || n != 5000 {
			t.Fatalf("%s: %d records: %v", name, n, err)
		}
		if maxCap > 1<<17 {
			t.Errorf("%s: a record buffer of %d bytes: the reader holds more than a record", name, maxCap)
		}
	}
	if err := ScanImport(strings.NewReader(strings.Repeat("x", maxRecordBytes+10)), func(int, []byte) error { return nil }); err == nil {
		t.Error("a record over the limit was read")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
