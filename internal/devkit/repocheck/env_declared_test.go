package repocheck

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cdm/customer-api/internal/devkit/samtemplate"
)

var (
	getenvCall  = regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("([A-Z0-9_]+)"\)`)
	envVarsJSON = regexp.MustCompile(`--env-vars <\(printf '(\{.*\})'\)`)
	configRow   = regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)`")
)

// setByLambda are variables Lambda (and sam local invoke) sets itself, or
// the SDK's credential chain reads; a template may not declare them.
func setByLambda(name string) bool { return strings.HasPrefix(name, "AWS_") }

// TestLocalRunVariablesAreDeclared: sam local invoke overrides only the
// variables the function's Environment declares, so every variable the
// function reads, every one docs/development.md's --env-vars example sets
// and every one its configuration table lists is declared in template.yaml.
func TestLocalRunVariablesAreDeclared(t *testing.T) {
	declared := templateVariables(t)
	for _, p := range undeclared(t, declared) {
		t.Error(p)
	}
	// The check must be able to fail: without DYNAMODB_ENDPOINT.
	delete(declared, "DYNAMODB_ENDPOINT")
	if len(undeclared(t, declared)) == 0 {
		t.Error("a template without DYNAMODB_ENDPOINT was not caught")
	}
}

func templateVariables(t *testing.T) map[string]any {
	t.Helper()
	tmpl, err := samtemplate.Load("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars, _ := samtemplate.Get(samtemplate.Resource(tmpl, "GetCustomerFunction"), "Properties", "Environment", "Variables").(map[string]any)
	if vars["DYNAMODB_ENDPOINT"] != nil && vars["DYNAMODB_ENDPOINT"] != "" {
		t.Errorf("DYNAMODB_ENDPOINT = %v in template.yaml; it must be empty (the regional endpoint)", vars["DYNAMODB_ENDPOINT"])
	}
	return vars
}

func undeclared(t *testing.T, declared map[string]any) []string {
	t.Helper()
	var p []string
	check := func(where string, names []string) {
		if len(names) == 0 {
			p = append(p, where+": found no variables (has its shape changed?)")
		}
		for _, n := range names {
			if _, ok := declared[n]; !ok && !setByLambda(n) {
				p = append(p, where+" names "+n+", which template.yaml's GetCustomerFunction does not declare")
			}
		}
	}
	var read []string
	for _, f := range []string{"internal/settings/settings.go", "functions/get-customer/main.go"} {
		read = append(read, submatches(getenvCall, readText(t, f))...)
	}
	check("the function's code", read)

	doc := readText(t, "docs/development.md")
	var example []string
	for _, m := range envVarsJSON.FindAllStringSubmatch(doc, -1) {
		var overrides map[string]map[string]string
		if err := json.Unmarshal([]byte(m[1]), &overrides); err != nil {
			p = append(p, "docs/development.md --env-vars example: "+err.Error())
			continue
		}
		for fn, vars := range overrides {
			if fn != "GetCustomerFunction" {
				p = append(p, "docs/development.md --env-vars example names function "+fn)
			}
			for n := range vars {
				example = append(example, n)
			}
		}
	}
	check("docs/development.md's --env-vars example", example)
	check("docs/development.md's configuration table", submatches(configRow, doc))
	return p
}

func submatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path) // #nosec G304 -- a file of this repository
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
