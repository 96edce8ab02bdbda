package repocheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	module = "github.com/cdm/customer-api"
	devkit = module + "/internal/devkit/"
)

// cdmctlLocalRun are the devkit packages cmd/cdmctl may import: its
// local-run and build commands, serve (the local gateway), invoke (the
// Lambda emulator) and template (the Managed Instances template). Nothing
// else of the product may.
var cdmctlLocalRun = []string{devkit + "localgateway", devkit + "lambdarun", devkit + "samtemplate"}

// importGraph returns, for every package the programs build, the packages
// it imports (tests excluded), from go list.
func importGraph(t *testing.T, programs ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, programs...)
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		graph[f[0]] = f[1:]
	}
	return graph
}

// devkitImports lists the product's imports of the devkit: any by a
// package of this module outside the devkit, but for cmd/cdmctl's named
// exceptions.
func devkitImports(graph map[string][]string) []string {
	var p []string
	for pkg, imports := range graph {
		if !strings.HasPrefix(pkg, module) || strings.HasPrefix(pkg, devkit) {
			continue
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, devkit) || pkg == module+"/cmd/cdmctl" && slices.Contains(cdmctlLocalRun, imp) {
				continue
			}
			p = append(p, pkg+" imports "+imp)
		}
	}
	slices.Sort(p)
	return p
}

// TestProductImportsNoDevkit: what functions/ and cmd/cdmctl build never
// imports the devkit (test, benchmark and local-run support), except
// cmd/cdmctl's local-run and build commands; the Lambda links none of it.
func TestProductImportsNoDevkit(t *testing.T) {
	graph := importGraph(t, "./functions/...", "./cmd/cdmctl")
	for _, p := range devkitImports(graph) {
		t.Error(p)
	}
	for pkg := range importGraph(t, "./functions/...") {
		if strings.HasPrefix(pkg, devkit) {
			t.Errorf("the Lambda links %s", pkg)
		}
	}
	// The check can fail: a product package that imports the devkit.
	graph[module+"/internal/apigw"] = append(graph[module+"/internal/apigw"], devkit+"testenv")
	graph[module+"/cmd/cdmctl"] = append(graph[module+"/cmd/cdmctl"], devkit+"faultproxy")
	if got := devkitImports(graph); len(got) != 2 {
		t.Errorf("control edits: caught %v, want apigw → testenv and cdmctl → faultproxy", got)
	}
}
