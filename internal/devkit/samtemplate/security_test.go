package samtemplate

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// restAPISecurityPolicies are the security policies API Gateway accepts for
// a regional REST API or a regional custom domain (its "Supported security
// policies" page and the SDKs' SecurityPolicy enum, without the edge-only
// ones); cfn-lint does not check the value, so a typo would fail at deploy.
var restAPISecurityPolicies = []string{
	"TLS_1_0", "TLS_1_2",
	"SecurityPolicy_TLS13_1_3_2025_09", "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
	"SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
	"SecurityPolicy_TLS13_1_2_PQ_2025_09", "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
	"SecurityPolicy_TLS13_1_2_2021_06",
}

// acceptsOldTLS are the accepted policies that let a client in with TLS 1.0 or 1.1.
var acceptsOldTLS = []string{"TLS_1_0"}

// tlsProblems: a security policy API Gateway accepts, TLS 1.2 or newer, and
// the endpoint access mode an enhanced policy requires.
func tlsProblems(where string, props any) []string {
	policy, _ := Get(props, "SecurityPolicy").(string)
	mode, _ := Get(props, "EndpointAccessMode").(string)
	switch {
	case policy == "":
		return []string{where + ": no SecurityPolicy, so API Gateway's default (TLS_1_0 for a regional REST API) applies"}
	case !slices.Contains(restAPISecurityPolicies, policy):
		return []string{fmt.Sprintf("%s: SecurityPolicy %q is not one API Gateway accepts", where, policy)}
	case slices.Contains(acceptsOldTLS, policy):
		return []string{fmt.Sprintf("%s: SecurityPolicy %q accepts TLS 1.0 and 1.1", where, policy)}
	case strings.HasPrefix(policy, "SecurityPolicy_") && mode != "STRICT" && mode != "BASIC":
		return []string{fmt.Sprintf("%s: the enhanced policy %s needs EndpointAccessMode STRICT or BASIC, not %q", where, policy, mode)}
	}
	return nil
}

// securityProblems lists each way a stack deployed from tmpl with params
// falls short of the security review (docs/deploying.md, "Security").
func securityProblems(tmpl map[string]any, params map[string]string) []string {
	r := NewResolver(tmpl, Stack{Name: "cdm-customer-api-test", Parameters: params, Physical: map[string]string{"CustomerApi": "a1b2c3d4e5"}})
	var p []string
	resolved := func(v any) any {
		out, err := r.Resolve(v)
		if err != nil {
			p = append(p, err.Error())
		}
		return out
	}
	on := func(cond string) bool {
		v, err := r.Condition(cond)
		if err != nil {
			p = append(p, err.Error())
		}
		return v
	}
	api := Get(Resource(tmpl, "CustomerApi"), "Properties")
	p = append(p, tlsProblems("CustomerApi", api)...)
	if Resource(tmpl, "ApiDomain") == nil {
		p = append(p, "no optional custom domain")
	} else {
		p = append(p, tlsProblems("ApiDomain", Get(Resource(tmpl, "ApiDomain"), "Properties"))...)
	}

	// Execution logging: errors, never bodies, into a kept, encrypted group.
	settings, _ := Get(api, "MethodSettings").([]any)
	if len(settings) == 0 {
		p = append(p, "no method settings")
	}
	for i, ms := range settings {
		if Get(ms, "LoggingLevel") != "ERROR" && Get(ms, "LoggingLevel") != "INFO" {
			p = append(p, fmt.Sprintf("MethodSettings[%d]: execution logging %v, want ERROR", i, Get(ms, "LoggingLevel")))
		}
		if Get(ms, "DataTraceEnabled") != false {
			p = append(p, fmt.Sprintf("MethodSettings[%d]: data trace (request and response bodies in the logs) is not off", i))
		}
	}
	exec := Get(Resource(tmpl, "ApiExecutionLogGroup"), "Properties")
	if name, _ := resolved(Get(exec, "LogGroupName")).(string); name != "API-Gateway-Execution-Logs_a1b2c3d4e5/"+fmt.Sprint(resolved(map[string]any{"Ref": "StageName"})) {
		p = append(p, fmt.Sprintf("the execution log group is %q, not the one API Gateway writes (API-Gateway-Execution-Logs_{rest-api-id}/{stage})", name))
	}

	// WAF: on when asked, associated with the stage, both rate rules.
	if on("WafOn") {
		assoc := resolved(Get(Resource(tmpl, "WebAclAssociation"), "Properties"))
		if Resource(tmpl, "WebAclAssociation") == nil || Get(Resource(tmpl, "WebAclAssociation"), "Condition") != "WafOn" ||
			!strings.HasSuffix(fmt.Sprint(Get(assoc, "ResourceArn")), "/restapis/a1b2c3d4e5/stages/"+fmt.Sprint(resolved(map[string]any{"Ref": "StageName"}))) ||
			!reflect.DeepEqual(Get(Resource(tmpl, "WebAclAssociation"), "Properties", "WebACLArn"), map[string]any{"Fn::GetAtt": []any{"WebAcl", "Arn"}}) {
			p = append(p, "the web ACL is not associated with the API's stage")
		}
		acl := Get(Resource(tmpl, "WebAcl"), "Properties")
		if Get(acl, "Scope") != "REGIONAL" || Get(acl, "VisibilityConfig", "SampledRequestsEnabled") != false {
			p = append(p, "the web ACL is not REGIONAL, or keeps sampled requests (their headers hold API keys)")
		}
		var perKey, perIP bool
		rules, _ := Get(acl, "Rules").([]any)
		for _, rule := range rules {
			rate := Get(rule, "Statement", "RateBasedStatement")
			blocks := Get(rule, "Action", "Block") != nil
			if Get(rule, "VisibilityConfig", "SampledRequestsEnabled") != false {
				p = append(p, fmt.Sprintf("rule %v keeps sampled requests", Get(rule, "Name")))
			}
			if rate == nil || !blocks {
				continue
			}
			if Get(rate, "AggregateKeyType") == "IP" {
				perIP = true
			}
			keys, _ := Get(rate, "CustomKeys").([]any)
			if Get(rate, "AggregateKeyType") == "CUSTOM_KEYS" && len(keys) == 1 && strings.EqualFold(fmt.Sprint(Get(keys[0], "Header", "Name")), "xx-relay-api-key") {
				perKey = true
			}
			if Get(rule, "Action", "Block", "CustomResponse", "ResponseCode") != float64(429) {
				p = append(p, fmt.Sprintf("rule %v does not answer 429", Get(rule, "Name")))
			}
		}
		if !perKey {
			p = append(p, "no blocking rate-based rule keyed on the xx-relay-api-key header")
		}
		if !perIP {
			p = append(p, "no blocking rate-based rule per IP")
		}
	}

	// Tables: deletion protection; with a customer-managed key, that key.
	key := resolved(map[string]any{"Fn::If": []any{"CreateKey", map[string]any{"Fn::GetAtt": []any{"DataKey", "Arn"}}, map[string]any{"Ref": "EncryptionKey"}}})
	customerKey := on("CustomerKey")
	for _, name := range ResourceNames(tmpl) {
		res := Resource(tmpl, name)
		switch Get(res, "Type") {
		case "AWS::DynamoDB::Table":
			if Get(res, "Properties", "DeletionProtectionEnabled") != true {
				p = append(p, name+": no deletion protection")
			}
			if got := resolved(Get(res, "Properties", "SSESpecification", "KMSMasterKeyId")); customerKey && !reflect.DeepEqual(got, key) {
				p = append(p, fmt.Sprintf("%s is encrypted with %v, not the chosen key %v", name, got, key))
			}
		case "AWS::Logs::LogGroup":
			if got := resolved(Get(res, "Properties", "KmsKeyId")); customerKey && !reflect.DeepEqual(got, key) {
				p = append(p, fmt.Sprintf("%s is encrypted with %v, not the chosen key %v", name, got, key))
			}
			if Get(res, "Properties", "RetentionInDays") == nil {
				p = append(p, name+" keeps its logs forever")
			}
		}
	}
	if on("CreateKey") {
		k := Get(Resource(tmpl, "DataKey"), "Properties")
		if Get(k, "EnableKeyRotation") != true || Get(Resource(tmpl, "DataKey"), "DeletionPolicy") != "Retain" {
			p = append(p, "the created key is not rotated or not retained")
		}
	}
	// The function's permissions are one managed policy (no inline
	// statements); it decrypts through DynamoDB with the chosen key only.
	if policies := Get(Resource(tmpl, "GetCustomerFunction"), "Properties", "Policies"); !reflect.DeepEqual(policies, []any{map[string]any{"Ref": "FunctionDataPolicy"}}) {
		p = append(p, fmt.Sprintf("the function's policies are %v, not the managed policy FunctionDataPolicy alone", policies))
	}
	var kms []any
	statements, _ := resolved(Get(Resource(tmpl, "FunctionDataPolicy"), "Properties", "PolicyDocument", "Statement")).([]any)
	for _, st := range statements {
		if strings.Contains(fmt.Sprint(Get(st, "Action")), "kms:") {
			kms = append(kms, st)
		}
	}
	p = append(p, recoveryProblems(tmpl, r, resolved, on, key)...)
	switch {
	case !customerKey && len(kms) > 0:
		p = append(p, "the function has KMS permissions without a customer-managed key")
	case customerKey && (len(kms) != 1 || !reflect.DeepEqual(Get(kms[0], "Resource"), key) ||
		!reflect.DeepEqual(Get(kms[0], "Action"), []any{"kms:Decrypt", "kms:DescribeKey"}) || Get(kms[0], "Condition", "StringEquals", "kms:ViaService") == nil):
		p = append(p, fmt.Sprintf("the function's KMS permissions are not Decrypt and DescribeKey through DynamoDB on the chosen key: %v", kms))
	}
	return p
}

// recoveryProblems: both tables backed up into the kept vault under the
// chosen key, copied when a copy vault is named; the function in the
// private subnets when PrivateNetwork is on, behind an endpoint that lets
// through only its GetItem on the two tables; every alarm notifies.
func recoveryProblems(tmpl map[string]any, r *Resolver, resolved func(any) any, on func(string) bool, key any) []string {
	var p []string
	tables := []any{map[string]any{"Fn::GetAtt": []any{"CustomersTable", "Arn"}}, map[string]any{"Fn::GetAtt": []any{"ApiKeysTable", "Arn"}}}
	if got := Get(Resource(tmpl, "BackupSelection"), "Properties", "BackupSelection", "Resources"); !reflect.DeepEqual(got, tables) {
		p = append(p, fmt.Sprintf("the backup selection holds %v, not both tables", got))
	}
	vault := Resource(tmpl, "BackupVault")
	if Get(vault, "DeletionPolicy") != "Retain" {
		p = append(p, "the backup vault is not retained")
	}
	if got := resolved(Get(vault, "Properties", "EncryptionKeyArn")); on("CustomerKey") && !reflect.DeepEqual(got, key) {
		p = append(p, fmt.Sprintf("the backup vault is encrypted with %v, not the chosen key %v", got, key))
	}
	if !strings.Contains(fmt.Sprint(Get(vault, "Properties", "AccessPolicy")), "backup:DeleteRecoveryPoint") {
		p = append(p, "the backup vault does not refuse deleting recovery points")
	}
	copyTo, _ := r.String(map[string]any{"Ref": "BackupCopyVaultArn"})
	rules, _ := resolved(Get(Resource(tmpl, "BackupPlan"), "Properties", "BackupPlan", "BackupPlanRule")).([]any)
	if len(rules) == 0 {
		p = append(p, "the backup plan has no rule")
	}
	for _, rule := range rules {
		if Get(rule, "TargetBackupVault") == nil || Get(rule, "Lifecycle", "DeleteAfterDays") == nil {
			p = append(p, fmt.Sprintf("backup rule %v has no vault or no retention", Get(rule, "RuleName")))
		}
		copies := fmt.Sprint(Get(rule, "CopyActions"))
		if copyTo != "" && !strings.Contains(copies, copyTo) {
			p = append(p, fmt.Sprintf("BackupCopyVaultArn is %s but backup rule %v copies to %s", copyTo, Get(rule, "RuleName"), copies))
		}
	}
	if Get(tmpl, "Conditions", "PrivateNetworkOn") != nil && on("PrivateNetworkOn") {
		vpc := resolved(Get(Resource(tmpl, "GetCustomerFunction"), "Properties", "VpcConfig"))
		if subnets, _ := Get(vpc, "SubnetIds").([]any); len(subnets) < 2 {
			p = append(p, fmt.Sprintf("PrivateNetwork is on but the function's VpcConfig is %v (want subnets in two zones)", vpc))
		}
		for _, name := range ResourceNames(tmpl) {
			switch Get(Resource(tmpl, name), "Type") {
			case "AWS::EC2::Route", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway":
				p = append(p, name+": the private subnets get a route out")
			}
		}
		ep := Get(Resource(tmpl, "DynamoDBEndpoint"), "Properties", "PolicyDocument", "Statement")
		if !reflect.DeepEqual(Get(ep, 0, "Action"), []any{"dynamodb:GetItem"}) || !reflect.DeepEqual(Get(ep, 0, "Resource"), tables) ||
			Get(ep, 0, "Condition", "ArnEquals", "aws:PrincipalArn") == nil || len(ep.([]any)) != 1 {
			p = append(p, fmt.Sprintf("the DynamoDB endpoint allows more than the function's GetItem on the two tables: %v", ep))
		}
	}
	for _, name := range ResourceNames(tmpl) {
		if Get(Resource(tmpl, name), "Type") != "AWS::CloudWatch::Alarm" {
			continue
		}
		if actions, _ := resolved(Get(Resource(tmpl, name), "Properties", "AlarmActions")).([]any); len(actions) == 0 {
			p = append(p, name+" notifies no one")
		}
	}
	return p
}

// securityCases are the parameter sets every check runs with: the
// defaults, and every new option turned on.
var securityCases = []map[string]string{
	nil,
	{"EncryptionKey": "create", "WafEnabled": "true", "DomainName": "api.example.com", "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x", "TruststoreUri": "s3://bucket/truststore.pem",
		"PrivateNetwork": "true", "AlarmEmail": "oncall@example.com", "BackupCopyVaultArn": "arn:aws:backup:us-west-2:123456789012:backup-vault:cdm-copies", "BackupVaultLock": "true"},
	{"EncryptionKey": "arn:aws:kms:us-east-1:123456789012:key/0f3c5a4e-7b61-11e6-9a41-93e8deadbeef", "WafEnabled": "true"},
}

func TestSecurityReview(t *testing.T) {
	tmpl := load(t)
	for _, params := range securityCases {
		for _, p := range securityProblems(tmpl, params) {
			t.Errorf("%v: %s", params, p)
		}
	}
	derived := managedInstances(t)
	for _, p := range securityProblems(derived, securityCases[1]) {
		t.Errorf("Managed Instances template: %s", p)
	}
}

// TestLoosenedSecurityIsCaught: each control edit the review guards
// against fails the check.
func TestLoosenedSecurityIsCaught(t *testing.T) {
	props := func(m map[string]any, name string) map[string]any {
		return Get(Resource(m, name), "Properties").(map[string]any)
	}
	loosen := map[string]func(map[string]any){
		"no SecurityPolicy":     func(m map[string]any) { delete(props(m, "CustomerApi"), "SecurityPolicy") },
		"TLS 1.0":               func(m map[string]any) { props(m, "CustomerApi")["SecurityPolicy"] = "TLS_1_0" },
		"misspelt policy":       func(m map[string]any) { props(m, "CustomerApi")["SecurityPolicy"] = "SecurityPolicy_TLS13_1_2_2025_09" },
		"enhanced without mode": func(m map[string]any) { delete(props(m, "CustomerApi"), "EndpointAccessMode") },
		"domain on TLS 1.0":     func(m map[string]any) { props(m, "ApiDomain")["SecurityPolicy"] = "TLS_1_0" },
		"no WAF association":    func(m map[string]any) { delete(m["Resources"].(map[string]any), "WebAclAssociation") },
		"execution logging off": func(m map[string]any) {
			Get(props(m, "CustomerApi"), "MethodSettings", 0).(map[string]any)["LoggingLevel"] = "OFF"
		},
		"data trace on": func(m map[string]any) {
			Get(props(m, "CustomerApi"), "MethodSettings", 0).(map[string]any)["DataTraceEnabled"] = true
		},
		"no deletion protection":    func(m map[string]any) { delete(props(m, "CustomersTable"), "DeletionProtectionEnabled") },
		"keys table unprotected":    func(m map[string]any) { props(m, "ApiKeysTable")["DeletionProtectionEnabled"] = false },
		"log group without the key": func(m map[string]any) { delete(props(m, "GetCustomerLogGroup"), "KmsKeyId") },
		"exec logs without the key": func(m map[string]any) { delete(props(m, "ApiExecutionLogGroup"), "KmsKeyId") },
		"table with the managed key": func(m map[string]any) {
			delete(props(m, "CustomersTable")["SSESpecification"].(map[string]any), "KMSMasterKeyId")
		},
		"no per-key rate rule": func(m map[string]any) {
			acl := props(m, "WebAcl")
			acl["Rules"] = slices.DeleteFunc(acl["Rules"].([]any), func(r any) bool { return Get(r, "Name") == "rate-per-api-key" })
		},
		"no per-IP rate rule": func(m map[string]any) {
			acl := props(m, "WebAcl")
			acl["Rules"] = slices.DeleteFunc(acl["Rules"].([]any), func(r any) bool { return Get(r, "Name") == "rate-per-ip" })
		},
		"sampled requests on": func(m map[string]any) {
			props(m, "WebAcl")["VisibilityConfig"].(map[string]any)["SampledRequestsEnabled"] = true
		},
		"KMS on every key": func(m map[string]any) {
			Get(props(m, "FunctionDataPolicy"), "PolicyDocument", "Statement", 1, "Fn::If", 1).(map[string]any)["Resource"] = "*"
		},
		"no copy though a copy vault is named": func(m map[string]any) {
			delete(Get(props(m, "BackupPlan"), "BackupPlan", "BackupPlanRule", 0).(map[string]any), "CopyActions")
		},
		"keys table not backed up": func(m map[string]any) {
			sel := props(m, "BackupSelection")["BackupSelection"].(map[string]any)
			sel["Resources"] = sel["Resources"].([]any)[:1]
		},
		"backup vault not retained": func(m map[string]any) { Resource(m, "BackupVault")["DeletionPolicy"] = "Delete" },
		"backups deletable":         func(m map[string]any) { delete(props(m, "BackupVault"), "AccessPolicy") },
		"function out of the VPC":   func(m map[string]any) { delete(props(m, "GetCustomerFunction"), "VpcConfig") },
		"endpoint allows every action": func(m map[string]any) {
			Get(props(m, "DynamoDBEndpoint"), "PolicyDocument", "Statement", 0).(map[string]any)["Action"] = "dynamodb:*"
		},
		"a route to the internet": func(m map[string]any) {
			m["Resources"].(map[string]any)["InternetRoute"] = map[string]any{"Type": "AWS::EC2::Route", "Properties": map[string]any{}}
		},
		"alarm without an action": func(m map[string]any) { delete(props(m, "Api5xxRateAlarm"), "AlarmActions") },
		"inline function policy": func(m map[string]any) {
			props(m, "GetCustomerFunction")["Policies"] = []any{map[string]any{"Ref": "FunctionDataPolicy"}, map[string]any{"Statement": []any{}}}
		},
	}
	for name, f := range loosen {
		tmpl := load(t)
		f(tmpl)
		caught := false
		for _, params := range securityCases {
			if len(securityProblems(tmpl, params)) > 0 {
				caught = true
			}
		}
		if !caught {
			t.Errorf("%s: not caught", name)
		}
	}
}

// withDefaults returns the template text with the given parameter defaults,
// so that a linter that reads only defaults sees those options on.
func withDefaults(t *testing.T, src []byte, params map[string]string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	ps := mapValue(doc.Content[0], "Parameters")
	for name, v := range params {
		p := mapValue(ps, name)
		if p == nil {
			t.Fatalf("no parameter %s", name)
		}
		if d := mapValue(p, "Default"); d != nil {
			d.Value, d.Tag, d.Style = v, "!!str", yaml.DoubleQuotedStyle
		} else {
			p.Content = append(p.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "Default"}, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: yaml.DoubleQuotedStyle})
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCfnLintWithEveryOptionOn runs cfn-lint (what sam validate --lint
// runs) on template.yaml and the Managed Instances template with every
// security option on: a created key, WAF, a custom domain with mutual TLS.
func TestCfnLintWithEveryOptionOn(t *testing.T) {
	cfnLint := cfnLintPath(t)
	src, mi := templateTexts(t)
	on := map[string]string{"ProvisionedConcurrency": "5", "Tracing": "true", "RecoveryPeriodDays": "7"}
	for k, v := range securityCases[1] {
		on[k] = v
	}
	miOn := map[string]string{"CapacityProviderArn": "arn:aws:lambda:us-east-1:123456789012:capacity-provider:test"}
	for k, v := range securityCases[1] {
		if k != "PrivateNetwork" { // the capacity provider's VPC holds the instances
			miOn[k] = v
		}
	}
	dir := t.TempDir()
	for name, text := range map[string][]byte{
		"template.yaml":                   withDefaults(t, src, on),
		"template.managed-instances.yaml": withDefaults(t, mi, miOn),
		"template-existing-key.yaml":      withDefaults(t, src, securityCases[2]),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(cfnLint, "--include-checks", "I", "--", path).CombinedOutput(); err != nil { // #nosec G204 -- cfn-lint on a file this test wrote
			t.Errorf("cfn-lint on %s with every option on: %v\n%s", name, err, out)
		}
	}
	// The linter must see the options: a bogus key choice fails it.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, withDefaults(t, src, map[string]string{"EncryptionKey": "bogus"}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(cfnLint, "--", bad).Run(); err == nil { // #nosec G204 -- cfn-lint on a file this test wrote
		t.Error("cfn-lint accepted EncryptionKey=bogus: it does not read the defaults this test sets")
	}
}
