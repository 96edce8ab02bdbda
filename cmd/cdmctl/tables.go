package main

import (
	"context"
	"fmt"

	"github.com/cdm/customer-api/internal/dynamo"
)

var tablesCreateCommand = &command{name: "tables create", args: "",
	summary: "create both tables if absent", tables: true, run: tablesCreate}

func tablesCreate(ctx context.Context, inv *invocation, args []string) error {
	sio := inv.stdio
	if err := parse(inv.fs, args, 0); err != nil {
		return err
	}
	s := inv.s
	db, err := inv.dynamoDB(ctx)
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
