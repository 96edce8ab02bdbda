package samtemplate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hipaaScript runs make hipaa's script with args and returns its output and
// whether it passed; it skips, saying why, where cfn-lint (which translates
// SAM) is missing, and CI requires it.
func hipaaScript(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	if exec.Command("python3", "-c", "import cfnlint").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed; CI requires it (pip install cfn-lint)")
		}
		t.Skip("SKIPPED: cfn-lint is not installed (pip install cfn-lint)")
	}
	cmd := exec.Command("python3", append([]string{"../../../scripts/hipaa.py"}, args...)...) // #nosec G204 -- the repository's own script
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("hipaa.py: %v\n%s", err, out)
	}
	return string(out), err == nil
}

// TestHIPAAChecks: every stack passes the HIPAA Security rules but for the
// accepted exceptions (make hipaa).
func TestHIPAAChecks(t *testing.T) {
	out, ok := hipaaScript(t)
	if !ok {
		t.Fatalf("make hipaa fails:\n%s", out)
	}
	for _, rule := range []string{"DYNAMODB_IN_BACKUP_PLAN", "LAMBDA_INSIDE_VPC", "CLOUDWATCH_ALARM_ACTION_CHECK", "WAFV2_LOGGING_ENABLED", "WAFV2_LOGS_REDACT_API_KEY", "IAM_NO_INLINE_POLICY_CHECK"} {
		if !strings.Contains(out, "PASS      "+rule) {
			t.Errorf("%s is not evaluated and passed on any stack:\n%s", rule, out)
		}
	}
}

// TestHIPAAChecksCatchLoosening: each control edit of template.yaml fails
// make hipaa's check of the prod stack, naming the rule.
func TestHIPAAChecksCatchLoosening(t *testing.T) {
	props := func(m map[string]any, name string) map[string]any {
		return Get(Resource(m, name), "Properties").(map[string]any)
	}
	controls := []struct {
		name, rule string
		edit       func(map[string]any)
	}{
		{"backup selection without a table", "DYNAMODB_IN_BACKUP_PLAN", func(m map[string]any) {
			sel := props(m, "BackupSelection")["BackupSelection"].(map[string]any)
			sel["Resources"] = sel["Resources"].([]any)[:1]
		}},
		{"function out of the VPC", "LAMBDA_INSIDE_VPC", func(m map[string]any) { delete(props(m, "GetCustomerFunction"), "VpcConfig") }},
		{"alarm without an action", "CLOUDWATCH_ALARM_ACTION_CHECK", func(m map[string]any) { delete(props(m, "Api5xxRateAlarm"), "AlarmActions") }},
		{"WAF logs without the key redacted", "WAFV2_LOGS_REDACT_API_KEY", func(m map[string]any) {
			w := props(m, "WafLogging")
			w["RedactedFields"] = slices.DeleteFunc(w["RedactedFields"].([]any), func(f any) bool { return Get(f, "SingleHeader") != nil })
		}},
		{"WAF not logged", "WAFV2_LOGGING_ENABLED", func(m map[string]any) { delete(m["Resources"].(map[string]any), "WafLogging") }},
		{"inline role policy", "IAM_NO_INLINE_POLICY_CHECK", func(m map[string]any) {
			props(m, "BackupRole")["Policies"] = []any{map[string]any{"PolicyName": "x", "PolicyDocument": map[string]any{"Statement": []any{}}}}
		}},
		{"unencrypted alarm topic", "SNS_ENCRYPTED_KMS", func(m map[string]any) { delete(props(m, "AlarmTopic"), "KmsMasterKeyId") }},
		{"log group without a key", "CLOUDWATCH_LOG_GROUP_ENCRYPTED", func(m map[string]any) { delete(props(m, "WafLogGroup"), "KmsKeyId") }},
	}
	dir := t.TempDir()
	for _, c := range controls {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			tmpl := load(t)
			c.edit(tmpl)
			data, err := json.Marshal(tmpl)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.rule+".json")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			out, ok := hipaaScript(t, "--template", path, "--config-env", "prod")
			if ok || !strings.Contains(out, "FAIL      "+c.rule) || strings.Count(out, "FAIL      ") != 1 {
				t.Errorf("%s: make hipaa did not fail on %s alone:\n%s", c.name, c.rule, out)
			}
		})
	}
}
