package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// buildsKey reports whether a Go string or rune literal looks like part of a
// partition key built or split by hand: a lone '#', one at either end
// ("acme#", "#x"), or one beside a format verb ("%s#%s"). DynamoDB
// expression names ("#c", "#pk = :p") and prose ("without '#'") do not.
func buildsKey(lit string) bool {
	switch {
	case lit == "#", strings.HasSuffix(lit, "#"), strings.Contains(lit, "%s#"), strings.Contains(lit, "#%"):
		return true
	case strings.HasPrefix(lit, "#"):
		return len(lit) == 1 || !isLetter(lit[1])
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// TestOnlyCustomerBuildsKeys: customer.Key builds a partition key and
// customer.SplitKey splits one; no other product package joins or cuts
// client IDs and CCIDs with '#' itself. Tests and the devkit may, to write
// the raw items another system could.
func TestOnlyCustomerBuildsKeys(t *testing.T) {
	for lit, want := range map[string]bool{"#": true, "acme#": true, "%s#%s": true, "#1": true, "#c": false, "#pk = :p AND #c = :c": false, "without '#' or control characters": false} {
		if buildsKey(lit) != want {
			t.Errorf("buildsKey(%q) = %v, want %v", lit, !want, want)
		}
	}
	fset := token.NewFileSet()
	for path, src := range goFiles(t, false) {
		if strings.HasPrefix(path, "internal/customer/") || strings.HasPrefix(path, "internal/devkit/") {
			continue
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING && lit.Kind != token.CHAR {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err == nil && buildsKey(v) {
				t.Errorf("%s: %s builds or splits a partition key by hand; use customer.Key or customer.SplitKey", fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
}
