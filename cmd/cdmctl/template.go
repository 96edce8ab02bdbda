package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/cdm/customer-api/internal/devkit/samtemplate"
)

// template writes a template derived from template.yaml: today only the
// one for a stack on Lambda Managed Instances.
func template(_ context.Context, sio stdio, args []string) error {
	if len(args) == 0 || args[0] != "managed-instances" {
		return fmt.Errorf("%w: template takes managed-instances [--template FILE]", errUsage)
	}
	fs := flag.NewFlagSet("cdmctl template managed-instances", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	path := fs.String("template", "template.yaml", "the SAM template to derive from")
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	src, err := os.ReadFile(*path) // #nosec G304 -- the operator names the template
	if err != nil {
		return err
	}
	out, err := samtemplate.ManagedInstances(src)
	if err != nil {
		return err
	}
	_, err = sio.out.Write(out)
	return err
}
