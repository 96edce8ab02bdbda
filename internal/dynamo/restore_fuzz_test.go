package dynamo

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/cdm/customer-api/internal/customer"
)

// FuzzEqualValues: the comparison restore settles on is an equivalence
// over numbers and sets: a value equals itself, the order of a set's
// members never matters, and the comparison is symmetric.
func FuzzEqualValues(f *testing.F) {
	for _, s := range [][2]string{{"1", "1.0"}, {"1e2", "100"}, {"-0", "0"}, {"12345678901234567890123456789012345678", "1.2345678901234567890123456789012345678E37"}, {"x", "1"}} {
		f.Add(s[0], s[1], []byte{1, 2}, []byte{3})
	}
	f.Fuzz(func(t *testing.T, a, b string, p, q []byte) {
		values := []types.AttributeValue{
			&types.AttributeValueMemberN{Value: a},
			&types.AttributeValueMemberNS{Value: []string{a, b}},
			&types.AttributeValueMemberSS{Value: []string{a, b}},
			&types.AttributeValueMemberBS{Value: [][]byte{p, q}},
			&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: a}, &types.AttributeValueMemberN{Value: b}}},
			&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{a: &types.AttributeValueMemberB{Value: p}}},
		}
		reordered := []types.AttributeValue{
			&types.AttributeValueMemberN{Value: a},
			&types.AttributeValueMemberNS{Value: []string{b, a}},
			&types.AttributeValueMemberSS{Value: []string{b, a}},
			&types.AttributeValueMemberBS{Value: [][]byte{q, p}},
		}
		for i, v := range values {
			_, isNum := v.(*types.AttributeValueMemberN)
			_, isNS := v.(*types.AttributeValueMemberNS)
			_, isL := v.(*types.AttributeValueMemberL)
			parses := sameNumber(a, a) && (!isNS && !isL || sameNumber(b, b))
			if (isNum || isNS || isL) && !parses {
				continue // not a number DynamoDB would store
			}
			if !equalValues(v, v) {
				t.Fatalf("value %d is not equal to itself: %#v", i, v)
			}
			if i < len(reordered) && (!equalValues(v, reordered[i]) || !equalValues(reordered[i], v)) {
				t.Fatalf("value %d differs from itself reordered: %#v", i, v)
			}
		}
		x, y := &types.AttributeValueMemberN{Value: a}, &types.AttributeValueMemberN{Value: b}
		if equalValues(x, y) != equalValues(y, x) {
			t.Fatalf("numbers %q and %q: the comparison is not symmetric", a, b)
		}
	})
}

// FuzzCheckSourceItem: an item whose client_id and ccid are its pk's parts
// is always accepted, for all clients and for its own; one whose ccid is
// not its pk's is always refused, naming its pk.
func FuzzCheckSourceItem(f *testing.F) {
	for _, s := range []string{"acme#C-1", "acme#a#b", "loose", "#x", "acme#", ""} {
		f.Add(s, "other")
	}
	f.Fuzz(func(t *testing.T, pk, other string) {
		c, ccid, hasSep := strings.Cut(pk, "#")
		item := map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}}
		if hasSep {
			item[attrClientID] = &types.AttributeValueMemberS{Value: c}
			item[attrCCID] = &types.AttributeValueMemberS{Value: ccid}
		}
		if err := checkSourceItem("t", pk, item, customer.ClientID{}); err != nil {
			t.Fatalf("pk %q, consistent: %v", pk, err)
		}
		if client, err := customer.ParseClientID(c); hasSep && err == nil {
			if err := checkSourceItem("t", pk, item, client); err != nil {
				t.Fatalf("pk %q for its own client: %v", pk, err)
			}
		}
		if hasSep {
			if clientOf(pk) != c {
				t.Fatalf("clientOf(%q) = %q, want %q", pk, clientOf(pk), c)
			}
		}
		if other != ccid {
			item[attrCCID] = &types.AttributeValueMemberS{Value: other}
			err := checkSourceItem("t", pk, item, customer.ClientID{})
			var sie *SourceItemError
			if !errors.As(err, &sie) || sie.PK != pk {
				t.Fatalf("pk %q with ccid %q: %v, want a refusal naming the pk", pk, other, err)
			}
		}
	})
}
