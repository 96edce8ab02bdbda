package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

func get(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	fs := newFlags("get", sio, &s)
	client := clientVar(fs, "client `ID`")
	if err := parse(fs, args, 1); err != nil {
		return err
	}
	ccid := fs.Arg(0)
	clientID, err := client.required()
	if err != nil {
		return err
	}
	if customer.ValidateCCID(ccid) != nil {
		return fmt.Errorf("%w: %q is not a valid ccid", errUsage, ccid)
	}
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	cust, err := dynamo.NewStore(db, s.CustomersTable, s.APIKeysTable).Customer(ctx, clientID, ccid)
	if errors.Is(err, customer.ErrNotFound) {
		return fmt.Errorf("no customer %s for client %s", ccid, clientID)
	}
	if err != nil {
		return err
	}
	body, err := customer.EncodeJSON(cust)
	if err != nil {
		return err
	}
	fmt.Fprintln(sio.out, body)
	return nil
}
