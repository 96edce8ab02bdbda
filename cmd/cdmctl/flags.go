package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/cdm/customer-api/internal/customer"
)

// clientFlag is a --client flag, parsed into a customer.ClientID as the
// command line is: a command never holds a client ID it has not parsed.
type clientFlag struct{ id customer.ClientID }

func (f *clientFlag) String() string { return f.id.String() }

func (f *clientFlag) Set(s string) error {
	c, err := customer.ParseClientID(s)
	if err != nil {
		return fmt.Errorf("want 1 to %d bytes of UTF-8 without '#' or control characters", customer.MaxIDBytes)
	}
	f.id = c
	return nil
}

// clientVar defines the --client flag of fs.
func clientVar(fs *flag.FlagSet, usage string) *clientFlag {
	f := &clientFlag{}
	fs.Var(f, "client", usage)
	return f
}

// required returns the client given, or a usage error when none was.
func (f *clientFlag) required() (customer.ClientID, error) {
	if f.id.IsZero() {
		return f.id, fmt.Errorf("%w: --client ID is required", errUsage)
	}
	return f.id, nil
}

// parseMixed parses args into fs allowing flags after positional arguments
// (cdmctl keys rotate KEY --overlap 1h) and returns the positional ones.
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args, -1); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parse parses args into fs and requires exactly nargs positional arguments
// (-1: any number).
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fmt.Errorf("%w: %s", errUsage, fs.Name())
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if nargs >= 0 && fs.NArg() != nargs {
		return fmt.Errorf("%w: %s takes %d argument(s), got %d", errUsage, fs.Name(), nargs, fs.NArg())
	}
	return nil
}

// rateVar defines the --rate flag of a command that writes or erases many
// customers.
func rateVar(fs *flag.FlagSet) *float64 {
	return fs.Float64("rate", 0, "at most this many `records` a second, written or erased (0: as fast as the table takes them)")
}

// checkRate refuses a negative --rate.
func checkRate(rate float64) error {
	if rate < 0 {
		return fmt.Errorf("%w: --rate must not be negative", errUsage)
	}
	return nil
}
