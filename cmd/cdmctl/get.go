package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cdm/customer-api/internal/customer"
)

var getCommand = &command{name: "get", args: "--client ID CCID",
	summary: "print a customer as the API returns it", tables: true, run: get}

func get(ctx context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
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
	store, err := inv.store(ctx)
	if err != nil {
		return err
	}
	cust, err := store.Customer(ctx, clientID, ccid)
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
