package repocheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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

// samDeploy is one `sam deploy` line of the workflow, as the SAM CLI reads it.
type samDeploy struct {
	job, configEnv, s3Bucket string
	noResolveS3, roleArn     bool
}

var (
	flagValue  = regexp.MustCompile(`--([a-z0-9-]+)(?:[ =]("[^"]*"|[^\s-][^\s]*))?`)
	vars       = regexp.MustCompile(`^"?\$\{\{ vars\.([A-Z0-9_]+) \}\}"?$`)
	jsonBlocks = regexp.MustCompile("(?s)```json\n(.*?)```")
)

// samDeployActions are the CloudFormation calls `sam deploy` makes on the
// stack it deploys (samcli/lib/deploy/deployer.py).
var samDeployActions = []string{"CreateChangeSet", "DescribeChangeSet", "ExecuteChangeSet", "DescribeStacks", "DescribeStackEvents", "GetTemplateSummary"}

// TestDeployFlagsMatchDeployPolicy: the deploy role documented in
// docs/pipeline.md allows what the workflow's `sam deploy` does with the
// samconfig environment it names: the stack's change sets, and uploads to
// the named artifacts bucket; and the workflow never falls back to the SAM
// CLI's managed stack, which the role may not change.
func TestDeployFlagsMatchDeployPolicy(t *testing.T) {
	deploys := workflowDeploys(t)
	if len(deploys) < 2 {
		t.Fatalf("%d sam deploy lines in the workflow, want dev and prod", len(deploys))
	}
	cfg := samconfig(t)
	policy := deployPolicy(t)
	for _, p := range deployProblems(deploys, cfg, policy) {
		t.Error(p)
	}
	// The check must be able to fail: a deploy that resolves its bucket.
	broken := append([]samDeploy{}, deploys...)
	broken[0].noResolveS3, broken[0].s3Bucket = false, ""
	if len(deployProblems(broken, cfg, policy)) == 0 {
		t.Error("a deploy through the managed bucket stack was not caught")
	}
}

func deployProblems(deploys []samDeploy, cfg map[string]map[string]map[string]map[string]any, policy []policyStatement) []string {
	var p []string
	for _, d := range deploys {
		env := cfg[d.configEnv]
		if env == nil {
			p = append(p, fmt.Sprintf("job %s: samconfig.toml has no environment %q", d.job, d.configEnv))
			continue
		}
		stack, _ := env["global"]["parameters"]["stack_name"].(string)
		if s, ok := env["deploy"]["parameters"]["stack_name"].(string); ok {
			stack = s
		}
		region, _ := env["global"]["parameters"]["region"].(string)
		if r, ok := env["deploy"]["parameters"]["region"].(string); ok {
			region = r
		}
		resolve, _ := env["deploy"]["parameters"]["resolve_s3"].(bool)
		if d.noResolveS3 {
			resolve = false
		}
		switch {
		case resolve && d.s3Bucket != "":
			p = append(p, fmt.Sprintf("job %s: --s3-bucket with resolve_s3: the SAM CLI refuses both", d.job))
		case resolve:
			p = append(p, fmt.Sprintf("job %s: resolve_s3 makes the SAM CLI change stack aws-sam-cli-managed-default, which the deploy role may not; pass --s3-bucket and --no-resolve-s3", d.job))
		case d.s3Bucket == "":
			p = append(p, fmt.Sprintf("job %s: no artifacts bucket", d.job))
		default:
			for _, res := range []string{"arn:aws:s3:::" + d.s3Bucket + "/*"} {
				for _, a := range []string{"s3:PutObject", "s3:GetObject"} {
					if !allows(policy, a, res) {
						p = append(p, fmt.Sprintf("job %s: the deploy role does not allow %s on %s", d.job, a, res))
					}
				}
			}
			if !allows(policy, "s3:ListBucket", "arn:aws:s3:::"+d.s3Bucket) {
				p = append(p, fmt.Sprintf("job %s: the deploy role does not allow s3:ListBucket on the artifacts bucket (a missing artifact would read as 403)", d.job))
			}
		}
		if allowsAny(policy, "cloudformation:", "aws-sam-cli-managed-default") && !resolve {
			p = append(p, "the deploy role allows the managed bucket stack, which no deploy uses")
		}
		arn := fmt.Sprintf("arn:aws:cloudformation:%s:ACCOUNT:stack/%s/*", region, stack)
		for _, a := range samDeployActions {
			if !allows(policy, "cloudformation:"+a, arn) {
				p = append(p, fmt.Sprintf("job %s: the deploy role does not allow cloudformation:%s on %s", d.job, a, arn))
			}
		}
		if !d.roleArn || !allows(policy, "iam:PassRole", "arn:aws:iam::ACCOUNT:role/cdm-cfn-execution") {
			p = append(p, fmt.Sprintf("job %s: deploys without passing the documented execution role", d.job))
		}
	}
	return p
}

func workflowDeploys(t *testing.T) []samDeploy {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(readText(t, ".github/workflows/pipeline.yml")), &wf); err != nil {
		t.Fatal(err)
	}
	var out []samDeploy
	for name, job := range wf.Jobs {
		for _, st := range job.Steps {
			_, args, ok := strings.Cut(st.Run, "sam deploy")
			if !ok {
				continue
			}
			d := samDeploy{job: name, configEnv: "default"}
			for _, m := range flagValue.FindAllStringSubmatch(args, -1) {
				switch m[1] {
				case "config-env":
					d.configEnv = strings.Trim(m[2], `"`)
				case "s3-bucket":
					d.s3Bucket = m[2]
					if v := vars.FindStringSubmatch(m[2]); v != nil {
						d.s3Bucket = v[1] // the placeholder docs/pipeline.md uses
					}
				case "no-resolve-s3":
					d.noResolveS3 = true
				case "resolve-s3":
					d.noResolveS3 = false
				case "role-arn":
					d.roleArn = m[2] != ""
				}
			}
			out = append(out, d)
		}
	}
	return out
}

func samconfig(t *testing.T) map[string]map[string]map[string]map[string]any {
	t.Helper()
	var cfg map[string]any
	if _, err := toml.Decode(readText(t, "samconfig.toml"), &cfg); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[string]map[string]any{}
	for env, v := range cfg {
		cmds, ok := v.(map[string]any)
		if !ok {
			continue
		}
		out[env] = map[string]map[string]map[string]any{}
		for cmd, c := range cmds {
			sections, _ := c.(map[string]any)
			out[env][cmd] = map[string]map[string]any{}
			for sec, s := range sections {
				out[env][cmd][sec], _ = s.(map[string]any)
			}
		}
	}
	return out
}

type policyStatement struct {
	Effect   string
	Action   []string
	Resource []string
}

// deployPolicy is the permissions policy of the deploy role in
// docs/pipeline.md: its JSON block that grants cloudformation:CreateChangeSet.
func deployPolicy(t *testing.T) []policyStatement {
	t.Helper()
	for _, m := range jsonBlocks.FindAllStringSubmatch(readText(t, "docs/pipeline.md"), -1) {
		var doc struct {
			Statement []struct {
				Effect   string
				Action   any
				Resource any
			}
		}
		if err := json.Unmarshal([]byte(m[1]), &doc); err != nil {
			t.Fatalf("docs/pipeline.md: a JSON block does not parse: %v\n%s", err, m[1])
		}
		var out []policyStatement
		for _, s := range doc.Statement {
			out = append(out, policyStatement{s.Effect, strings1(s.Action), strings1(s.Resource)})
		}
		if allowsAny(out, "cloudformation:CreateChangeSet", "") {
			return out
		}
	}
	t.Fatal("docs/pipeline.md documents no deploy role policy")
	return nil
}

func strings1(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func allows(policy []policyStatement, action, resource string) bool {
	for _, s := range policy {
		if s.Effect == "Allow" && slices.Contains(s.Action, action) && slices.Contains(s.Resource, resource) {
			return true
		}
	}
	return false
}

func allowsAny(policy []policyStatement, actionPrefix, resourcePart string) bool {
	for _, s := range policy {
		for _, a := range s.Action {
			for _, r := range s.Resource {
				if s.Effect == "Allow" && strings.HasPrefix(a, actionPrefix) && strings.Contains(r, resourcePart) {
					return true
				}
			}
		}
	}
	return false
}
