// Package bench holds what the benchmarks share: the customers they read
// (the documentation's example and a large one) and the in-process handler
// whose only fake is the DynamoDB transport.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"bytes"
	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
	"strconv"
)

// Client and Key are whose requests the benchmarks make.
const (
	Client = "bench-clinic"
	Key    = "cdmk_benchmark_key_000000000000"
)

func str(s string) *string { return &s }

// ExampleCustomer is the documentation's example customer.
func ExampleCustomer() customer.Customer {
	return customer.Customer{
		CCID: str("BAK-11984-007"), SecondaryAccountID: str("ABC123"), FirstName: str("Roger"), MiddleName: str("Harold"),
		LastName: str("Moore"), DateOfBirth: str("1954-12-01"), SSNLast4: str("1234"), Gender: str("M"),
		Addresses: []customer.Address{{Address1: str("201 King of Prussia Road"), Address2: str("Suite 161"), City: str("Radnor"),
			StateProvince: str("PA"), PostalCode: str("19087"), Country: str("US")}},
		NotificationChannels: []customer.NotificationChannel{{ChannelType: str("sms"), ChannelAddr: str("6105551212"), ConsentType: str("written"), PhoneType: str("mobile")}},
		Ext:                  customer.MustObject(map[string]any{"member_since": "1999", "membership_level": "gold", "renewal_date": "05/01/2024"}),
	}
}

// LargeCustomer has 50 notification channels, 10 addresses and an ext of 20 keys.
func LargeCustomer() customer.Customer {
	c := ExampleCustomer()
	c.CCID = str("BAK-LARGE-050")
	c.Addresses = nil
	for i := range 10 {
		c.Addresses = append(c.Addresses, customer.Address{Address1: str(fmt.Sprintf("%d King of Prussia Road", 100+i)), Address2: str("Suite 161"),
			City: str("Radnor"), StateProvince: str("PA"), PostalCode: str("19087"), Country: str("US")})
	}
	c.NotificationChannels = nil
	for i := range 50 {
		c.NotificationChannels = append(c.NotificationChannels, customer.NotificationChannel{ChannelType: str("sms"),
			ChannelAddr: str(fmt.Sprintf("610555%04d", i)), ConsentType: str("express"), PhoneType: str("mobile")})
	}
	ext := map[string]any{}
	for i := range 20 {
		switch i % 4 {
		case 0:
			ext[fmt.Sprintf("text_%02d", i)] = "value " + fmt.Sprint(i)
		case 1:
			ext[fmt.Sprintf("number_%02d", i)] = json.Number("12345678901234567890")
		case 2:
			ext[fmt.Sprintf("flag_%02d", i)] = true
		case 3:
			ext[fmt.Sprintf("nested_%02d", i)] = map[string]any{"a": "b", "n": json.Number("1.5")}
		}
	}
	c.Ext = customer.MustObject(ext)
	return c
}

// Event returns the proxy event that reads c, as API Gateway sends it.
func Event(c customer.Customer) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{
		Resource:   apigw.Resource,
		Path:       "/cdm/client/" + Client + "/customer/" + *c.CCID,
		HTTPMethod: "GET",
		Headers: map[string]string{
			"Accept": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "bench",
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https", "xx-relay-api-key": Key,
		},
		PathParameters: map[string]string{"client_id": Client, "ccid": *c.CCID},
		RequestContext: events.APIGatewayProxyRequestContext{RequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", Stage: "v1"},
	}
}

// ClientID is Client, parsed.
var ClientID = customer.MustParseClientID(Client)

// Payload is Event(c) as the JSON API Gateway sends, what Handler.Invoke
// and Lambda take.
func Payload(c customer.Customer) []byte {
	b, err := json.Marshal(Event(c))
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// Status returns the status code of an encoded proxy response, 0 when it
// is not one. It reads only the prefix Invoke writes, so that checking an
// answer in a benchmark loop costs next to nothing.
func Status(resp []byte) int {
	rest, ok := bytes.CutPrefix(resp, []byte(`{"statusCode":`))
	if !ok || len(rest) < 4 || rest[3] != ',' {
		return 0
	}
	n, err := strconv.Atoi(string(rest[:3]))
	if err != nil {
		return 0
	}
	return n
}

// cannedDB answers GetItem from memory with the items the real store wrote,
// so only the network is left out.
type cannedDB map[string]map[string]types.AttributeValue

func (c cannedDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	for _, v := range in.Key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			return &dynamodb.GetItemOutput{Item: c[s.Value]}, nil
		}
	}
	return &dynamodb.GetItemOutput{}, nil
}

// NonIOHandler returns the real handler, store and key check over an
// in-memory GetItem holding c and the benchmark key, logging to io.Discard,
// with the key already cached: what a warm request costs besides I/O.
func NonIOHandler(c customer.Customer) (*apigw.Handler, error) {
	item, err := dynamo.CustomerItem(customer.MustParseClientID(Client), c)
	if err != nil {
		return nil, err
	}
	db := cannedDB{
		customer.Key(ClientID, *c.CCID): item,
		apikey.Hash(Key): {
			"key_hash":  &types.AttributeValueMemberS{Value: apikey.Hash(Key)},
			"client_id": &types.AttributeValueMemberS{Value: Client},
			"status":    &types.AttributeValueMemberS{Value: apikey.StatusActive},
		},
	}
	store := dynamo.NewStore(db, "customers", "keys")
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Hour), slog.New(emf.NewHandler(io.Discard, nil)), 2*time.Second)
	resp, _ := h.Invoke(context.Background(), Payload(c)) // warms the key cache
	if Status(resp) != 200 {
		return nil, fmt.Errorf("warm-up request: %s", resp)
	}
	return h, nil
}

// GeneratedCustomers returns n distinct valid customers, as an import file holds them.
func GeneratedCustomers(n int) []customer.Customer {
	cs := make([]customer.Customer, n)
	for i := range cs {
		c := ExampleCustomer()
		c.CCID = str(fmt.Sprintf("GEN-%07d", i))
		cs[i] = c
	}
	return cs
}
