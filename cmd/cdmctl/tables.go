package main

import (
	"context"
	"fmt"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

func tablesCreate(ctx context.Context, sio stdio, args []string) error {
	s, err := settings.Read()
	if err != nil {
		return err
	}
	if err := parse(newFlags("tables create", sio, &s), args, 0); err != nil {
		return err
	}
	db, err := awsclient.DynamoDB(ctx, s)
	if err != nil {
		return err
	}
	for _, d := range []dynamo.TableDef{dynamo.CustomersTableDef(s.CustomersTable), dynamo.APIKeysTableDef(s.APIKeysTable)} {
		res, err := dynamo.EnsureTable(ctx, db, d)
		if err != nil {
			return err
		}
		what := "exists"
		if res.Created {
			what = "created"
		}
		fmt.Fprintf(sio.err, "table %s: %s\n", d.Name, what)
		if res.TTLUnsupported {
			fmt.Fprintf(sio.err, "table %s: this DynamoDB does not support TTL; expired keys stay stored, and are refused all the same\n", d.Name)
		}
	}
	return nil
}
