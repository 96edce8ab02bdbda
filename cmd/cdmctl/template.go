package main

import (
	"context"
	"os"

	"github.com/cdm/customer-api/internal/devkit/samtemplate"
)

var templateCommand = &command{name: "template managed-instances", args: "[--template FILE]",
	summary: "print the template of a stack on Lambda Managed Instances", run: template}

// template writes a template derived from template.yaml: today only the
// one for a stack on Lambda Managed Instances.
func template(_ context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	path := fs.String("template", "template.yaml", "the SAM template to derive from")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	src, err := os.ReadFile(*path) // #nosec G304 G703 -- the operator names the template
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
