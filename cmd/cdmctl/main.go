// Command cdmctl is the operator's and developer's tool for the customer API:
// it creates the tables, manages API keys, imports, reads, exports and
// erases customers, offboards clients, and serves the endpoint locally as
// API Gateway would.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cdm/customer-api/internal/settings"
)

const usage = `usage: cdmctl <command> [flags]

commands:
  serve   [--addr 127.0.0.1:3000] [--timeout 10s]   serve the API locally
  tables create                                     create both tables if absent
  keys create --client ID [--label TEXT] [--expires 720h] [--key -]
  keys revoke - | --hash PREFIX                     (-: the key on standard input)
  keys rotate --client ID (- | --hash PREFIX) [--overlap 24h] [--expires 720h] [--label TEXT] [--undo]
                                                    a new key; the old one works for the overlap, then expires
  keys expire (- | --hash PREFIX) (--in DURATION | --at RFC3339) [--extend]
  keys list [--client ID] [--expiring-within DURATION]   (exit status 3 when any expire within it)
  keys usage [--since DURATION] [FILE|-]            requests per key from access lines: first and last seen
  import --client ID [--skip-invalid] [--dry-run] [--sync [--max-erase 0.1] [--force]] FILE|-
  get --client ID CCID                              print a customer as the API returns it
  export --client ID [--out FILE|-]                 every customer of a client, as import NDJSON
  delete --client ID [--yes] CCID... | --file FILE  erase customers (one audit line each on stderr)
  offboard --client ID (--out FILE | --no-export) [--yes]
                                                    export, revoke every key, erase every customer
  restore --from-table TABLE (--client ID | --all-clients) [--keys-from-table TABLE]
          [--from-endpoint URL] [--from-region REGION] [--keys-table-lost] [--dry-run] [--yes]
                                                    make live customers equal a restored table's
  invoke --event FILE [--bootstrap bin/bootstrap]   run the function under the Lambda emulator
  smoke --url BASE --client ID --ccid CCID          check a deployed stage against the contract (key in SMOKE_KEY)
  template managed-instances [--template FILE]      print the template of a stack on Lambda Managed Instances

Every command reads CUSTOMERS_TABLE, API_KEYS_TABLE, DYNAMODB_ENDPOINT and the
AWS SDK's default credential chain; --customers-table and --keys-table override
the table names.
`

// errUsage marks a mistake in the command line (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "cdmctl:", err)
		os.Exit(2)
	case errors.Is(err, errExpiring):
		fmt.Fprintln(os.Stderr, "cdmctl:", err)
		os.Exit(3)
	default:
		fmt.Fprintln(os.Stderr, "cdmctl:", err)
		os.Exit(1)
	}
}

// io bundles the standard streams, so that tests can run commands in process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	sio := stdio{in: in, out: out, err: errOut}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, usage)
		if len(args) == 0 {
			return fmt.Errorf("%w: no command given", errUsage)
		}
		return nil
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if (cmd == "tables" || cmd == "keys") && len(rest) > 0 {
		sub, rest = rest[0], rest[1:]
	}
	switch cmd + " " + sub {
	case "serve ":
		return serve(ctx, sio, rest)
	case "tables create":
		return tablesCreate(ctx, sio, rest)
	case "keys create":
		return keysCreate(ctx, sio, rest)
	case "keys revoke":
		return keysRevoke(ctx, sio, rest)
	case "keys list":
		return keysList(ctx, sio, rest)
	case "keys rotate":
		return keysRotate(ctx, sio, rest)
	case "keys expire":
		return keysExpire(ctx, sio, rest)
	case "keys usage":
		return keysUsage(ctx, sio, rest)
	case "import ":
		return importCustomers(ctx, sio, rest)
	case "get ":
		return get(ctx, sio, rest)
	case "export ":
		return export(ctx, sio, rest)
	case "delete ":
		return deleteCustomers(ctx, sio, rest)
	case "offboard ":
		return offboard(ctx, sio, rest)
	case "restore ":
		return restore(ctx, sio, rest)
	case "invoke ":
		return invoke(ctx, sio, rest)
	case "smoke ":
		return smoke(ctx, sio, rest)
	case "template ":
		return template(ctx, sio, rest)
	}
	fmt.Fprint(errOut, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, (cmd + " " + sub))
}

// newFlags returns a flag set with the table-name flags every command takes.
func newFlags(name string, sio stdio, s *settings.Settings) *flag.FlagSet {
	fs := flag.NewFlagSet("cdmctl "+name, flag.ContinueOnError)
	fs.SetOutput(sio.err)
	fs.StringVar(&s.CustomersTable, "customers-table", s.CustomersTable, "customers table `name` (env CUSTOMERS_TABLE)")
	fs.StringVar(&s.APIKeysTable, "keys-table", s.APIKeysTable, "API keys table `name` (env API_KEYS_TABLE)")
	return fs
}
