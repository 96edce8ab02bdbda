package apigw_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
)

// TestTenantIsolation tries every way of steering client_id or ccid into
// another tenant's item: each must read the caller's own item or fail.
func TestTenantIsolation(t *testing.T) {
	a := newAPI(t)
	const victim, attacker = "acme", "evil"
	const attackerKey = "cdmk_attacker_key_000000000000"
	a.PutKey(t, attackerKey, attacker, nil)
	ctx := context.Background()
	secret := "VICTIM-SECRET"
	put := func(client, ccid, name string) {
		c := customer.Customer{CCID: &ccid, FirstName: &name}
		if err := a.Admin().PutCustomer(ctx, customer.MustParseClientID(client), c); err != nil {
			t.Fatal(err)
		}
	}
	put(victim, "123", secret)
	put(victim, "x#123", secret)
	put(attacker, "own", "attacker's own")

	clients := []string{
		victim, victim + "#", attacker + "#" + victim, victim + "#123",
		"ACME", "Acme", victim + " ", " " + victim, victim + "\t",
		"аcme",       // Cyrillic а
		"ａｃｍｅ",       // full-width
		"acme\u200b", // zero-width space
		"acme\x00", "acme%23123", "acme%00",
	}
	ccids := []string{"123", "x#123", "#123", "../acme#123", "acme#123", "123 ", "%23123", "own#acme#123"}
	for _, client := range clients {
		for _, ccid := range ccids {
			resp := a.get(t, request(client, ccid, withKey(attackerKey)))
			if resp.StatusCode == 200 || strings.Contains(resp.Body, secret) {
				t.Errorf("client %q ccid %q: %d %s", client, ccid, resp.StatusCode, resp.Body)
			}
			if client != attacker && resp.StatusCode != 401 {
				t.Errorf("client %q: status %d, want 401 for a key bound to %q", client, resp.StatusCode, attacker)
			}
		}
	}
	// Through its own client_id, the attacker reaches only its own items.
	for _, ccid := range ccids {
		resp := a.get(t, request(attacker, ccid, withKey(attackerKey)))
		if strings.Contains(resp.Body, secret) || resp.StatusCode == 200 {
			t.Errorf("ccid %q under the attacker's client: %d %s", ccid, resp.StatusCode, resp.Body)
		}
	}
	if resp := a.get(t, request(attacker, "own", withKey(attackerKey))); resp.StatusCode != 200 {
		t.Errorf("own item: %d", resp.StatusCode)
	}
}

// TestNoPHIInLogs runs every path with a customer whose every field is a
// unique marker and fails if a marker, or the raw key, reaches the log.
func TestNoPHIInLogs(t *testing.T) {
	tb := testenv.NewTables(t)
	const rawKey = "cdmk_RAWKEYMARKER_0000000000"
	tb.PutKey(t, rawKey, "clinic", nil)
	markers := []string{}
	m := func(name string) *string {
		v := "PHI" + name + "MARK"
		markers = append(markers, v)
		return &v
	}
	ccid := "C-1"
	c := customer.Customer{
		CCID: &ccid, SecondaryAccountID: m("secondary"), FirstName: m("first"), MiddleName: m("middle"),
		LastName: m("last"), DateOfBirth: m("dob"), SSNLast4: m("ssn"), Gender: m("gender"),
		Addresses: []customer.Address{{Address1: m("addr1"), Address2: m("addr2"), City: m("city"),
			StateProvince: m("state"), PostalCode: m("postal"), Country: m("country")}},
		NotificationChannels: []customer.NotificationChannel{{ChannelType: m("ctype"), ChannelAddr: m("phone"), ConsentType: m("consent"), PhoneType: m("ptype")}},
		Ext:                  customer.MustObject(map[string]any{"key": *m("extval"), "nested": map[string]any{"deep": *m("extdeep")}}),
	}
	ctx := context.Background()
	if err := tb.Admin().PutCustomer(ctx, customer.MustParseClientID("clinic"), c); err != nil {
		t.Fatal(err)
	}
	// The same customer, corrupted in one attribute, for the 500 path.
	bad := c
	badID := "C-corrupt"
	bad.CCID = &badID
	item, _ := dynamo.CustomerItem(customer.MustParseClientID("clinic"), bad)
	item["gender"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: *c.Gender}}}
	putRaw(t, tb, item)

	var log bytes.Buffer
	store := tb.Store()
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, time.Minute), slog.New(emf.NewHandler(&log, nil)), time.Second)
	broken := dynamo.NewStore(tb.DB, "missing-table", tb.Keys)
	hBroken := apigw.NewHandler(broken, apikey.NewAuthorizer(broken, 0), slog.New(emf.NewHandler(&log, nil)), time.Second)
	hPanic := apigw.NewHandler(&fakeCustomers{fn: func(context.Context) error { panic(*c.FirstName) }}, allowAll{}, slog.New(emf.NewHandler(&log, nil)), time.Second)

	statuses := map[int]bool{}
	for _, r := range []struct {
		h   *apigw.Handler
		req events.APIGatewayProxyRequest
	}{
		{h, request("clinic", "C-1", withKey(rawKey))},
		{h, request("clinic", "C-1", map[string]string{"XX-RELAY-API-KEY": rawKey})},
		{h, request("clinic", "nope", withKey(rawKey))},
		{h, request("clinic", strings.Repeat("z", 101), withKey(rawKey))},
		{h, request("clinic", "C-1", withKey(rawKey+"x"))},
		{h, request("other", "C-1", withKey(rawKey))},
		{h, request("clinic", "C-1", nil)},
		{h, request("clinic", "C-corrupt", withKey(rawKey))},
		{hBroken, request("clinic", "C-1", withKey(rawKey))},
		{hPanic, request("clinic", "C-1", withKey(rawKey))},
	} {
		resp, _ := handle(ctx, r.h, r.req)
		statuses[resp.StatusCode] = true
	}
	for _, s := range []int{200, 400, 401, 404, 500} {
		if !statuses[s] {
			t.Errorf("no request ended in %d; every path must be logged once", s)
		}
	}
	out := log.String()
	if n := strings.Count(out, "\n"); n != 10 {
		t.Errorf("%d log lines for 10 requests", n)
	}
	// The key's distinctive middle, so that a partial key is caught too.
	for _, marker := range append(markers, "RAWKEYMARKER") {
		if strings.Contains(out, marker) {
			t.Errorf("log holds %s", marker)
		}
	}
}
