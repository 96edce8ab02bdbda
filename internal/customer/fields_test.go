package customer

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestFieldTableIsCurrent regenerates the field table from customer.go's
// struct tags and fails when fields_gen.go differs: run go generate.
func TestFieldTableIsCurrent(t *testing.T) {
	out, err := exec.Command("go", "run", "../devkit/fieldgen", "-in", "customer.go").Output()
	if err != nil {
		t.Fatalf("fieldgen: %v", err)
	}
	have, err := os.ReadFile("fields_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, have) {
		t.Error("fields_gen.go is stale: run go generate ./internal/customer and commit it")
	}
}

func TestRuleProblems(t *testing.T) {
	s := func(v string) *string { return &v }
	cases := []struct {
		rule Rule
		v    *string
		want string
	}{
		{Rule{Kind: ruleCCID, Required: true}, nil, "required"},
		{Rule{Kind: ruleCCID, Required: true}, s(".."), "a dot segment: HTTP clients resolve it away, so no request can name this customer"},
		{Rule{Kind: ruleMaxChars, Max: 3}, s("éé€"), ""},
		{Rule{Kind: ruleMaxChars, Max: 3}, s("abcd"), "longer than 3 characters"},
		{Rule{Kind: ruleExactChars, Min: 2, Max: 2}, s("P"), "want exactly 2 characters"},
		{Rule{Kind: ruleDigits, Min: 4, Max: 4}, s("12a4"), "want 4 digits"},
		{Rule{Kind: ruleDigits, Min: 10, Max: 11}, s("123456789"), "want 10 or 11 digits"},
		{Rule{Kind: ruleDigits, Min: 10, Max: 11}, s("12345678901"), ""},
		{Rule{Kind: ruleDate}, s("2023-02-29"), "want a real date as yyyy-mm-dd"},
		{Rule{Kind: ruleOneOf, OneOf: []string{"a", "b"}}, s("c"), "want one of a, b"},
		{Rule{}, nil, ""},
	}
	for _, c := range cases {
		if got := c.rule.Problem(c.v); got != c.want {
			t.Errorf("%+v.Problem(%v) = %q, want %q", c.rule, c.v, got, c.want)
		}
	}
}

func TestExtNestingLimit(t *testing.T) {
	deep := map[string]any{"v": true}
	for range MaxNesting - 1 {
		deep = map[string]any{"v": deep}
	}
	ccid := "a"
	if errs := Validate(Customer{CCID: &ccid, Ext: MustObject(deep)}); len(errs) != 0 {
		t.Errorf("%d levels refused: %v", MaxNesting, errs)
	}
	if _, err := EncodeJSON(Customer{CCID: &ccid, Ext: MustObject(deep)}); err != nil {
		t.Errorf("%d levels not encoded: %v", MaxNesting, err)
	}
	deeper := Customer{CCID: &ccid, Ext: MustObject(map[string]any{"v": []any{deep}})}
	if errs := Validate(deeper); len(errs) != 1 || errs[0].Field != "ext" {
		t.Errorf("%d levels: %v, want one ext problem", MaxNesting+1, errs)
	}
	if _, err := EncodeJSON(deeper); err == nil {
		t.Errorf("%d levels encoded", MaxNesting+1)
	}
}
