// Command cdmctl is the operator's and developer's tool for the customer API:
// it creates the tables, manages API keys, imports, reads, exports and
// erases customers, offboards clients, and serves the endpoint locally as
// API Gateway would.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

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
	switch {
	case len(args) == 0:
		fmt.Fprint(out, usage())
		return fmt.Errorf("%w: no command given", errUsage)
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1:
		fmt.Fprint(out, usage())
		return nil
	case args[0] == "help":
		return help(ctx, sio, args[1:])
	}
	c, rest := find(args)
	if c == nil {
		fmt.Fprint(errOut, usage())
		return fmt.Errorf("%w: unknown command %q", errUsage, strings.Join(args[:min(2, len(args))], " "))
	}
	inv, err := newInvocation(c, sio)
	if err != nil {
		return err
	}
	return c.run(ctx, inv, rest)
}
