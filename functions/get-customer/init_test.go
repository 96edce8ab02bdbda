package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// initLine is one line of GODEBUG=inittrace=1: a package's init, its clock
// time, and what it allocated.
var initLine = regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

// Budgets for each of the product's packages at init: no encoding, no
// reflection, no regexp compilation, only a few small values. Allocations
// are counted, not timed, so the check does not depend on the machine.
const (
	maxInitAllocs = 4
	maxInitBytes  = 1024
)

// productInits returns the init lines of this module's packages in the
// bootstrap built as sam build builds it (for this machine).
func productInits(t *testing.T) [][]string {
	t.Helper()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Without a Runtime API the bootstrap stops after init, which is all
	// this reads.
	run := exec.Command(bootstrap) // #nosec G204 -- the bootstrap this test built
	run.Env = []string{"GODEBUG=inittrace=1", "AWS_REGION=us-east-1", "DYNAMODB_WARM_UP=false", "HOME=" + t.TempDir()}
	out, _ := run.CombinedOutput()
	var own [][]string
	for _, m := range initLine.FindAllStringSubmatch(string(out), -1) {
		if strings.HasPrefix(m[1], "github.com/cdm/customer-api/") {
			own = append(own, m)
		}
	}
	if len(initLine.FindAllString(string(out), -1)) == 0 {
		t.Fatalf("no inittrace lines from the bootstrap:\n%s", out)
	}
	return own
}

// TestProductInitIsCheap: the product's packages do nothing at init that
// the first request does not need (a json.Marshal and a reflection walk
// there once cost 0.25 ms and 40 kB before every cold start's first request).
func TestProductInitIsCheap(t *testing.T) {
	for _, m := range productInits(t) {
		bytes, _ := strconv.Atoi(m[3])
		allocs, _ := strconv.Atoi(m[4])
		t.Logf("init %s: %s ms clock, %d bytes, %d allocs", m[1], m[2], bytes, allocs)
		if allocs > maxInitAllocs || bytes > maxInitBytes {
			t.Errorf("init of %s allocates %d bytes in %d allocs; the budget is %d bytes, %d allocs: build it on first use, or write it out",
				m[1], bytes, allocs, maxInitBytes, maxInitAllocs)
		}
	}
}
