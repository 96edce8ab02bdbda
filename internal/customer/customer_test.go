package customer

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateIDs(t *testing.T) {
	for _, c := range []struct {
		id            string
		ccidOK, cidOK bool
	}{
		{"BAK-11984-007", true, true},
		{strings.Repeat("x", 100), true, true},
		{strings.Repeat("x", 101), false, false},
		{"", false, false},
		{"a#b", true, false},
		{"a\x00b", false, false},
		{"a\x7fb", false, false},
		{"a\u0085b", false, false},
		{"a\xffb", false, false},
		{"é€", true, true},
		{"\ufffd", true, true},
		{"a b", true, true},
	} {
		if err := ValidateCCID(c.id); (err == nil) != c.ccidOK || (err != nil && !errors.Is(err, ErrInvalidID)) {
			t.Errorf("ValidateCCID(%q) = %v", c.id, err)
		}
		if _, err := ParseClientID(c.id); (err == nil) != c.cidOK || (err != nil && !errors.Is(err, ErrInvalidClientID)) {
			t.Errorf("ParseClientID(%q) = %v", c.id, err)
		}
	}
}

func TestParseRecord(t *testing.T) {
	cases := []struct {
		json   string
		fields []string // fields at fault; none: valid
	}{
		{`{"ccid":"A","first_name":"Roger","date_of_birth":"1954-12-01","ssn_last4":"1234","gender":"M"}`, nil},
		{`{"ccid":"A","ext":{"n":12345678901234567890,"deep":{"l":[1,"x",null,true]}}}`, nil},
		{`{"ccid":"A","middle_name":null,"addresses":null}`, nil},
		{`{"first_name":"x"}`, []string{"ccid"}},
		{`{"ccid":"A","date_of_birth":"1954-02-29"}`, []string{"date_of_birth"}},
		{`{"ccid":"A","date_of_birth":"12/01/1954"}`, []string{"date_of_birth"}},
		{`{"ccid":"A","ssn_last4":"12a4"}`, []string{"ssn_last4"}},
		{`{"ccid":"A","gender":"MF"}`, []string{"gender"}},
		{`{"ccid":"A","first_name":"` + strings.Repeat("é", 101) + `"}`, []string{"first_name"}},
		{`{"ccid":"A","addresses":[{"country":"USA","state_province":"P","postal_code":"12345678901"}]}`, []string{"addresses[0].state_province", "addresses[0].postal_code", "addresses[0].country"}},
		{`{"ccid":"A","notification_channels":[{"channel_type":"email","channel_addr":"123","consent_type":"maybe","phone_type":"satellite-phone"}]}`, []string{"notification_channels[0].channel_type", "notification_channels[0].channel_addr", "notification_channels[0].consent_type", "notification_channels[0].phone_type"}},
		{`{"ccid":"A","addresses":[{"zip":"1"}]}`, []string{"addresses[0].zip"}},
		{`{"ccid":"A","frist_name":"x"}`, []string{"frist_name"}},
		{`{"ccid":1}`, []string{"ccid"}},
		{`{"ccid":"A","ext":[1]}`, []string{"ext"}},
		{`{"ccid":"A"} {"ccid":"B"}`, []string{""}},
		{`{"ccid":"A"`, []string{""}},
		{"{\"ccid\":\"A\xff\"}", []string{""}},
	}
	for _, c := range cases {
		_, err := ParseRecord([]byte(c.json))
		if c.fields == nil {
			if err != nil {
				t.Errorf("%s: %v", c.json, err)
			}
			continue
		}
		var inv InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("%s: %v, want an InvalidError", c.json, err)
			continue
		}
		var got []string
		for _, f := range inv {
			got = append(got, f.Field)
		}
		if strings.Join(got, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: fields %q, want %q (%v)", c.json, got, c.fields, err)
		}
	}
}

func TestReadImport(t *testing.T) {
	ndjson := "{\"ccid\":\"A\"}\n\n{\"ccid\":\"B\",\"gender\":\"XY\"}\n{\"ccid\":\"A\"}\n{\"ccid\":\"C\"}"
	entries, rejects, err := ReadImport(strings.NewReader(ndjson))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Line != 1 || entries[1].Line != 5 {
		t.Errorf("entries %+v", entries)
	}
	if len(rejects) != 2 || rejects[0].Line != 3 || rejects[1].Line != 4 || !strings.Contains(rejects[1].Errors.Error(), "duplicate of line 1") {
		t.Errorf("rejects %+v", rejects)
	}
	array := "[\n {\"ccid\":\"A\"},\n {\"ccid\":\"B\",\n  \"gender\":\"XY\"}\n]"
	entries, rejects, err = ReadImport(strings.NewReader(array))
	if err != nil || len(entries) != 1 || len(rejects) != 1 || rejects[0].Line != 3 {
		t.Errorf("array: %+v %+v %v", entries, rejects, err)
	}
	if _, _, err := ReadImport(strings.NewReader(`[{"ccid":"A"}`)); err == nil {
		t.Error("an unterminated array was accepted")
	}
	if e, r, err := ReadImport(strings.NewReader("  \n")); err != nil || len(e)+len(r) != 0 {
		t.Errorf("empty input: %v %v %v", e, r, err)
	}
}

func TestValidateNumber(t *testing.T) {
	ok := []string{"0", "-0", "0.000", "0e999999999", "1", "-1", "1.10", "12345678901234567890",
		"12345678901234567890123456789012345678", "1234567890123456789012345678901234567800000",
		"1E-130", "9.9999999999999999999999999999999999999E+125", "-9.9999999999999999999999999999999999999e125",
		"0." + strings.Repeat("0", 129) + "1",
		"100e-132", "0.01e127"}
	bad := []string{"123456789012345678901234567890123456789", "1.23456789012345678901234567890123456789",
		"1E126", "1E-131", "10E125", "0.01e-129", "1e9999999", "-1E126", "0.1e-130", "0." + strings.Repeat("0", 130) + "1", "1.", ".5", "1e", "x"}
	for _, n := range ok {
		if err := ValidateNumber(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	for _, n := range bad {
		if ValidateNumber(n) == nil {
			t.Errorf("%s: accepted", n)
		}
	}
}

func TestImportRefusesWhatDynamoDBOrHTTPCannotHold(t *testing.T) {
	for rec, want := range map[string]string{
		`{"ccid":"."}`:  "ccid",
		`{"ccid":".."}`: "ccid",
		`{"ccid":"a","ext":{"n":123456789012345678901234567890123456789}}`: "ext.n",
		`{"ccid":"a","ext":{"l":[1,{"deep":1e126}]}}`:                      "ext.l[1].deep",
		`{"ccid":"a","ext":{"tiny":1e-131}}`:                               "ext.tiny",
	} {
		_, err := ParseRecord([]byte(rec))
		var inv InvalidError
		if !errors.As(err, &inv) || len(inv) != 1 || inv[0].Field != want {
			t.Errorf("%s: got %v, want one error on %s", rec, err, want)
		}
	}
	if _, err := ParseRecord([]byte(`{"ccid":"...","ext":{"n":1.10,"big":12345678901234567890}}`)); err != nil {
		t.Errorf("valid record refused: %v", err)
	}
}
