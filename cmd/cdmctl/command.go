package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/cdm/customer-api/internal/awsclient"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/settings"
)

// command is one cdmctl command: how it is called, what it does, and its
// run function, which declares its own flags on the invocation's set. Each
// is defined beside its run function, in the file named for it.
type command struct {
	name    string // such as "keys rotate"
	args    string // its synopsis, after the name
	summary string // one line
	doc     string // more, when one line is not enough
	// tables: the command works on the tables, so its invocation starts
	// from the environment's settings and the table-name flags.
	tables bool
	run    func(ctx context.Context, in *invocation, args []string) error
}

// commands are every command, in the order usage lists them.
var commands = []*command{
	serveCommand, tablesCreateCommand,
	keysCreateCommand, keysRevokeCommand, keysRotateCommand, keysExpireCommand, keysListCommand, keysUsageCommand,
	importCommand, getCommand, exportCommand, deleteCommand, offboardCommand, restoreCommand,
	invokeCommand, smokeCommand, templateCommand,
}

// invocation is what a command runs with: the standard streams, the
// settings (from the environment, then the table-name flags) and the flag
// set its own flags join.
type invocation struct {
	stdio
	s  settings.Settings
	fs *flag.FlagSet
}

// newInvocation reads the settings a command needs and makes its flag set.
func newInvocation(c *command, sio stdio) (*invocation, error) {
	in := &invocation{stdio: sio, fs: flag.NewFlagSet("cdmctl "+c.name, flag.ContinueOnError)}
	in.fs.SetOutput(sio.err)
	in.fs.Usage = func() {
		fmt.Fprint(in.fs.Output(), c.usage())
		if hasFlags(in.fs) {
			fmt.Fprint(in.fs.Output(), "\nflags:\n")
			in.fs.PrintDefaults()
		}
	}
	if c.tables {
		var err error
		if in.s, err = settings.Read(); err != nil {
			return nil, err
		}
		in.fs.StringVar(&in.s.CustomersTable, "customers-table", in.s.CustomersTable, "customers table `name` (env CUSTOMERS_TABLE)")
		in.fs.StringVar(&in.s.APIKeysTable, "keys-table", in.s.APIKeysTable, "API keys table `name` (env API_KEYS_TABLE)")
	}
	return in, nil
}

// dynamoDB connects to DynamoDB as the settings say.
func (in *invocation) dynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	return awsclient.DynamoDB(ctx, in.s)
}

// admin connects and returns the operator's view of the two tables.
func (in *invocation) admin(ctx context.Context) (*dynamo.Admin, error) {
	db, err := in.dynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	return dynamo.NewAdmin(db, in.s.CustomersTable, in.s.APIKeysTable), nil
}

// store connects and returns the request path's view of the two tables.
func (in *invocation) store(ctx context.Context) (*dynamo.Store, error) {
	db, err := in.dynamoDB(ctx)
	if err != nil {
		return nil, err
	}
	return dynamo.NewStore(db, in.s.CustomersTable, in.s.APIKeysTable), nil
}

// operator names who runs the command, for audit lines.
func (in *invocation) operator(ctx context.Context) string { return awsclient.Operator(ctx, in.s) }

// find returns the command args start with (one word, or two for the keys
// and tables groups) and the arguments after its name.
func find(args []string) (*command, []string) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slicesEqual(args[:len(words)], words) {
			return c, args[len(words):]
		}
	}
	return nil, args
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// usage is the list of commands, printed by cdmctl help and on a mistake.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: cdmctl <command> [flags]\n       cdmctl help <command>   a command's flags\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n", strings.TrimSpace(c.name+" "+c.args))
		fmt.Fprintf(&b, "        %s\n", c.summary)
	}
	b.WriteString(`
The commands that work on the tables read CUSTOMERS_TABLE, API_KEYS_TABLE,
DYNAMODB_ENDPOINT and the AWS SDK's default credential chain;
--customers-table and --keys-table override the table names.
`)
	return b.String()
}

// usage is the command's synopsis and what it does.
func (c *command) usage() string {
	u := fmt.Sprintf("usage: cdmctl %s\n\n%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	if c.doc != "" {
		u += "\n" + c.doc
	}
	return u
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// help prints one command's usage and flags, as its flag set describes
// them when asked with -h.
func help(ctx context.Context, sio stdio, args []string) error {
	c, rest := find(args)
	if c == nil || len(rest) > 0 {
		fmt.Fprint(sio.err, usage())
		return fmt.Errorf("%w: help: no command %q", errUsage, strings.Join(args, " "))
	}
	in, err := newInvocation(c, stdio{in: strings.NewReader(""), out: io.Discard, err: sio.out})
	if err != nil {
		return err
	}
	if err := c.run(ctx, in, []string{"-h"}); !errors.Is(err, errUsage) {
		return fmt.Errorf("help %s: the command did not stop at -h: %v", c.name, err)
	}
	return nil
}
