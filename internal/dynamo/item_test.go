package dynamo

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
)

func str(s string) *string { return &s }

// TestCustomerItemRoundTrip stores customers as items and reads them back.
func TestCustomerItemRoundTrip(t *testing.T) {
	ext := customer.Object{
		{Key: "b", Value: customer.Value{Kind: customer.KindBool, Bool: true}},
		{Key: "bin", Value: customer.Value{Kind: customer.KindBinary, Text: "\x00\xff"}},
		{Key: "l", Value: customer.Value{Kind: customer.KindList, Elems: []customer.Member{
			{Value: customer.Value{Kind: customer.KindNumber, Text: "-1.5e10"}},
			{Value: customer.Value{Kind: customer.KindNull}},
		}}},
		{Key: "n", Value: customer.Value{Kind: customer.KindNumber, Text: "12345678901234567890"}},
		{Key: "o", Value: customer.Value{Kind: customer.KindObject, Elems: customer.Object{{Key: "a", Value: customer.Value{Kind: customer.KindString, Text: ""}}}}},
		{Key: "s", Value: customer.Value{Kind: customer.KindString, Text: "é\n"}},
	}
	for _, c := range []customer.Customer{
		{CCID: str("min"), Addresses: []customer.Address{}, NotificationChannels: []customer.NotificationChannel{}},
		{CCID: str("full"), FirstName: str(""), LastName: str("Moore"), Gender: str("M"),
			Addresses:            []customer.Address{{City: str("Radnor")}, {Address1: str("1 Main"), Country: str("US")}},
			NotificationChannels: []customer.NotificationChannel{{ChannelType: str("sms"), ChannelAddr: str("6105551212")}},
			Ext:                  ext},
	} {
		item, err := CustomerItem(customer.MustParseClientID("acme"), c)
		if err != nil {
			t.Fatal(err)
		}
		if got := item["pk"].(*types.AttributeValueMemberS).Value; got != "acme#"+*c.CCID {
			t.Errorf("pk %q", got)
		}
		back, err := decodeCustomer(item)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", *c.CCID, back, c)
		}
	}
}

func TestJSONNumber(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1", "-0.5": "-0.5", "1E+2": "1E+2", "+1": "1", ".5": "0.5", "-.5": "-0.5", "5.": "5", "007": "7", "1e5": "1e5",
		"12345678901234567890123456789012345678": "12345678901234567890123456789012345678",
	} {
		if got, ok := jsonNumber(in); !ok || got != want {
			t.Errorf("jsonNumber(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "1..2", "--1", "1e", "NaN", "Infinity", "0x10"} {
		if got, ok := jsonNumber(bad); ok {
			t.Errorf("jsonNumber(%q) = %q, want a refusal", bad, got)
		}
	}
}
