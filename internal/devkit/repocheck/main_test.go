package repocheck

import (
	"fmt"
	"os"
	"testing"

	"github.com/cdm/customer-api/internal/devkit/dynalite"
)

// TestMain runs the checks from the repository's root, where the paths
// they name are.
func TestMain(m *testing.M) {
	root, err := dynalite.RepoRoot()
	if err == nil {
		err = os.Chdir(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "repocheck:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
