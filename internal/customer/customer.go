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

// Customer is one stored customer. A nil string field was not stored.
type Customer struct {
	CCID                 *string
	SecondaryAccountID   *string
	FirstName            *string
	MiddleName           *string
	LastName             *string
	DateOfBirth          *string
	SSNLast4             *string
	Gender               *string
	Addresses            []Address
	NotificationChannels []NotificationChannel
	// Ext is the free-form extension object, nil when not stored.
	Ext Object
}

// Address is one postal address of a customer.
type Address struct {
	Address1      *string
	Address2      *string
	City          *string
	StateProvince *string
	PostalCode    *string
	Country       *string
}

// NotificationChannel is one way to reach a customer, with its consent.
type NotificationChannel struct {
	ChannelType *string
	ChannelAddr *string
	ConsentType *string
	PhoneType   *string
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
