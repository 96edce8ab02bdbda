package dynamo

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestEqualItemsComparesNumbersByValue: a stored 1.1 is the 1.10 a file
// holds (DynamoDB drops the zero), while any other difference counts.
func TestEqualItemsComparesNumbersByValue(t *testing.T) {
	item := func(n string, extra ...string) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{"ext": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"n": &types.AttributeValueMemberN{Value: n},
			"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberNULL{Value: true}}},
		}}}
		for _, k := range extra {
			m[k] = &types.AttributeValueMemberS{Value: k}
		}
		return m
	}
	for _, c := range []struct {
		a, b map[string]types.AttributeValue
		same bool
	}{
		{item("1.10"), item("1.1"), true},
		{item("-0"), item("0"), true},
		{item("1e3"), item("1000"), true},
		{item("12345678901234567890123456789012345678"), item("12345678901234567890123456789012345679"), false},
		{item("1"), item("1", "first_name"), false},
		{item("1", "a"), item("1", "b"), false},
	} {
		if got := equalItems(c.a, c.b); got != c.same {
			t.Errorf("%v vs %v: equal %v, want %v", c.a["ext"], c.b["ext"], got, c.same)
		}
	}
}
