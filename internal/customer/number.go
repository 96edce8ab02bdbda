package customer

import (
	"fmt"
	"strings"
)

// DynamoDB's limits on a number (its N type): at most 38 significant
// digits, and a magnitude from 1E-130 up to 9.99…E+125, or zero.
const (
	MaxNumberDigits   = 38
	MinNumberExponent = -130
	MaxNumberExponent = 125
)

// ValidateNumber reports why DynamoDB would refuse the JSON number text,
// or nil when it can store it. Leading and trailing zeros are not
// significant (DynamoDB drops them: 1.10 is stored as 1.1).
func ValidateNumber(text string) error {
	s := strings.TrimPrefix(text, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	whole, frac, dot := strings.Cut(mant, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) || dot && frac == "" {
		return fmt.Errorf("%q is not a number", text)
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return nil // zero, whatever its exponent
	}
	// The leading digit's power of ten: digits beyond it in whole, less
	// the zeros dropped from the front of the fraction, plus the exponent.
	lead := len(strings.TrimLeft(whole, "0")) - 1
	if strings.TrimLeft(whole, "0") == "" {
		lead = -(len(frac) - len(strings.TrimLeft(frac, "0")) + 1)
	}
	if hasExp {
		e := strings.TrimPrefix(strings.TrimPrefix(exp, "+"), "-")
		if e == "" || !allDigits(e) {
			return fmt.Errorf("%q is not a number", text)
		}
		e = strings.TrimLeft(e, "0")
		if len(e) > 6 {
			return fmt.Errorf("magnitude outside DynamoDB's range (1E%d to 1E%d)", MinNumberExponent, MaxNumberExponent+1)
		}
		n := 0
		for _, c := range e {
			n = n*10 + int(c-'0')
		}
		if strings.HasPrefix(exp, "-") {
			n = -n
		}
		lead += n
	}
	if sig := len(strings.TrimRight(digits, "0")); sig > MaxNumberDigits {
		return fmt.Errorf("%d significant digits; DynamoDB stores at most %d", sig, MaxNumberDigits)
	}
	if lead < MinNumberExponent || lead > MaxNumberExponent {
		return fmt.Errorf("magnitude outside DynamoDB's range (1E%d to 1E%d)", MinNumberExponent, MaxNumberExponent+1)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// numberProblems walks v and names each number DynamoDB would refuse.
func numberProblems(add func(field, reason string), path string, v Value) {
	switch v.Kind {
	case KindNumber:
		if err := ValidateNumber(v.Text); err != nil {
			add(path, err.Error())
		}
	case KindList:
		for i, e := range v.Elems {
			numberProblems(add, fmt.Sprintf("%s[%d]", path, i), e.Value)
		}
	case KindObject:
		for _, m := range v.Elems {
			numberProblems(add, path+"."+m.Key, m.Value)
		}
	}
}
