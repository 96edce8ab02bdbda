package repocheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goFiles returns the tracked and untracked Go files below the repository
// root, by path from it, test files included when tests is true.
func goFiles(t *testing.T, tests bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || !tests && strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		out[filepath.ToSlash(path)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOneRequestPath: the decoded-event handler is the oracle of the
// equality test and fuzz target alone; every other caller runs Invoke,
// the raw-event path Lambda runs.
func TestOneRequestPath(t *testing.T) {
	oracle := map[string]bool{"internal/apigw/export_test.go": true, "internal/apigw/event_test.go": true}
	found := false
	for path, src := range goFiles(t, true) {
		if !strings.Contains(src, "HandleDecoded") || path == "internal/devkit/repocheck/requestpath_test.go" {
			continue
		}
		found = found || oracle[path]
		if !oracle[path] {
			t.Errorf("%s calls the decoded-event oracle; run Handler.Invoke", path)
		}
	}
	if !found {
		t.Error("the oracle is gone from internal/apigw; update this test")
	}
}
