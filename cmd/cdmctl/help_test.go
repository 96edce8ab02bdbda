package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestHelpEveryCommand: cdmctl help lists every command, and cdmctl help
// COMMAND prints that command's synopsis and each flag it takes.
func TestHelpEveryCommand(t *testing.T) {
	all, _ := mustRun(t, "help")
	for _, c := range commands {
		if !strings.Contains(all, "  "+c.name) {
			t.Errorf("cdmctl help does not list %s", c.name)
		}
		out, _ := mustRun(t, append([]string{"help"}, strings.Fields(c.name)...)...)
		if !strings.HasPrefix(out, "usage: cdmctl "+c.name) || !strings.Contains(out, c.summary) {
			t.Errorf("cdmctl help %s:\n%s", c.name, out)
		}
		inv, err := newInvocation(c, stdio{in: strings.NewReader(""), out: io.Discard, err: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		_ = c.run(t.Context(), inv, []string{"-h"})
		n := 0
		inv.fs.VisitAll(func(f *flag.Flag) {
			n++
			if !strings.Contains(out, "  -"+f.Name) {
				t.Errorf("cdmctl help %s does not describe -%s", c.name, f.Name)
			}
		})
		if c.tables && n < 2 {
			t.Errorf("%s works on the tables but takes %d flags", c.name, n)
		}
	}
	if _, _, err := cdmctl(t, "", "help", "keys", "nope"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("help of an unknown command: %v, want a usage error", err)
	}
}
