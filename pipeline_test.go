package customerapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var pinned = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)

// TestPipelineIsPinnedAndKeyless reads the delivery workflows: every action
// is pinned to a full commit SHA (a tag can be moved to other code), AWS
// credentials come only from an assumed OIDC role, and prod waits for its
// protected environment after dev.
func TestPipelineIsPinnedAndKeyless(t *testing.T) {
	files, err := filepath.Glob(".github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f) // #nosec G304 -- a workflow of this repository
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, secret := range []string{"aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s: stored AWS credentials (%s); use the OIDC role", f, secret)
			}
		}
		var wf struct {
			Jobs map[string]struct {
				Needs       any            `yaml:"needs"`
				Environment any            `yaml:"environment"`
				Permissions map[string]any `yaml:"permissions"`
				Steps       []struct {
					Uses string         `yaml:"uses"`
					With map[string]any `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for name, job := range wf.Jobs {
			for _, st := range job.Steps {
				if st.Uses == "" {
					continue
				}
				if !pinned.MatchString(st.Uses) {
					t.Errorf("%s job %s: %s is not pinned to a full commit SHA", f, name, st.Uses)
				}
				if strings.HasPrefix(st.Uses, "aws-actions/configure-aws-credentials@") {
					if st.With["role-to-assume"] == nil || job.Permissions["id-token"] != "write" {
						t.Errorf("%s job %s: AWS credentials without an OIDC role (role-to-assume and id-token: write)", f, name)
					}
				}
			}
		}
		if prod, ok := wf.Jobs["prod"]; ok {
			if prod.Environment != "prod" || prod.Needs != "dev" {
				t.Errorf("%s: prod must run in the protected prod environment, after dev (environment %v, needs %v)", f, prod.Environment, prod.Needs)
			}
		}
	}
}
