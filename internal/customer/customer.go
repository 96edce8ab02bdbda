// Package customer defines a customer (or patient) record as the product
// understands it, and the rules for the identifiers that name one.
package customer

import (
	"errors"
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

// ValidateClientID returns ErrInvalidClientID unless id is 1 to MaxIDBytes
// bytes of UTF-8 without control characters or '#'. Such an ID is the only
// kind an API key can be bound to, and '#' separates it from the CCID in
// storage keys, so it can never reach another tenant's items.
func ValidateClientID(id string) error {
	if !validID(id) {
		return ErrInvalidClientID
	}
	for i := 0; i < len(id); i++ {
		if id[i] == '#' {
			return ErrInvalidClientID
		}
	}
	return nil
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
