// Package customer defines a customer (or patient) record as the product
// understands it, and the rules for the identifiers that name one.
package customer

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIDBytes is the longest client ID or CCID, in bytes.
const MaxIDBytes = 100

var (
	// ErrNotFound means no customer is stored under the requested ID.
	ErrNotFound = errors.New("customer: not found")
	// ErrInvalidID means a CCID is empty, too long, not UTF-8, or holds a control character.
	ErrInvalidID = errors.New("customer: invalid ccid")
	// ErrInvalidClientID means a client ID can never be bound to an API key.
	ErrInvalidClientID = errors.New("customer: invalid client id")
)

//go:generate go run ../devkit/fieldgen -in customer.go -out fields_gen.go

// Customer is one stored customer. A nil string field was not stored.
//
// These three types are the record's shape, declared once: each string
// field's json tag is its documented name (and stored attribute, unless an
// attr tag names another) and its check tag the documented limit. go
// generate writes from them the field table that the JSON body, the
// DynamoDB item, import and export all read, so a new documented string
// field is one line here.
type Customer struct {
	CCID                 *string               `json:"ccid" check:"ccid"`
	SecondaryAccountID   *string               `json:"secondary_account_id" check:"max=MaxNameChars"`
	FirstName            *string               `json:"first_name" check:"max=MaxNameChars"`
	MiddleName           *string               `json:"middle_name" check:"max=MaxNameChars"`
	LastName             *string               `json:"last_name" check:"max=MaxNameChars"`
	DateOfBirth          *string               `json:"date_of_birth" check:"date"`
	SSNLast4             *string               `json:"ssn_last4" check:"digits=4"`
	Gender               *string               `json:"gender" check:"exact=1"`
	Addresses            []Address             `json:"addresses"`
	NotificationChannels []NotificationChannel `json:"notification_channels"`
	// Ext is the free-form extension object, nil when not stored.
	Ext Object `json:"ext"`
}

// Address is one postal address of a customer.
type Address struct {
	Address1      *string `json:"address1" check:"max=MaxNameChars"`
	Address2      *string `json:"address2" check:"max=MaxNameChars"`
	City          *string `json:"city" check:"max=MaxNameChars"`
	StateProvince *string `json:"state_province" check:"exact=2"`
	PostalCode    *string `json:"postal_code" check:"max=MaxPostalCodeChars"`
	Country       *string `json:"country" check:"exact=2"`
}

// NotificationChannel is one way to reach a customer, with its consent.
type NotificationChannel struct {
	ChannelType *string `json:"channel_type" check:"oneof=sms"`
	ChannelAddr *string `json:"channel_addr" check:"digits=10-11"`
	ConsentType *string `json:"consent_type" check:"oneof=written|express|stop"`
	PhoneType   *string `json:"phone_type" check:"max=MaxPhoneTypeChars"`
}

// ValidateCCID returns ErrInvalidID unless ccid is 1 to MaxIDBytes bytes of
// UTF-8 without control characters.
func ValidateCCID(ccid string) error {
	if !validID(ccid) {
		return ErrInvalidID
	}
	return nil
}

// ClientID is a client (tenant) ID that ParseClientID accepted: 1 to
// MaxIDBytes bytes of UTF-8 without control characters or '#'. Such an ID
// is the only kind an API key can be bound to, and '#' separates it from
// the CCID in partition keys, so a ClientID can never reach another
// tenant's items. The zero ClientID is no client (for "all clients").
type ClientID struct{ id string }

// ParseClientID returns id as a ClientID, or ErrInvalidClientID.
func ParseClientID(id string) (ClientID, error) {
	if !validID(id) || strings.IndexByte(id, keySeparator) >= 0 {
		return ClientID{}, ErrInvalidClientID
	}
	return ClientID{id}, nil
}

// MustParseClientID is ParseClientID for IDs known to be valid, such as
// constants; it panics otherwise.
func MustParseClientID(id string) ClientID {
	c, err := ParseClientID(id)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the ID as given.
func (c ClientID) String() string { return c.id }

// IsZero reports whether c is no client.
func (c ClientID) IsZero() bool { return c.id == "" }

// keySeparator joins a client ID and a CCID in a partition key.
const keySeparator = '#'

// Key returns the partition key of client c's customer ccid: the one place
// a key is built.
func Key(c ClientID, ccid string) string { return c.KeyPrefix() + ccid }

// KeyPrefix is how every partition key of c's customers begins.
func (c ClientID) KeyPrefix() string { return c.id + string(keySeparator) }

// SplitKey returns the client and CCID parts of a partition key, split at
// its first '#', as stored (the client part is not checked); ok is false
// when pk has no '#'.
func SplitKey(pk string) (client, ccid string, ok bool) {
	return strings.Cut(pk, string(keySeparator))
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
