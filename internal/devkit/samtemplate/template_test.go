package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/dlclark/regexp2/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const templatePath = "../../../template.yaml"

func load(t *testing.T) map[string]any {
	t.Helper()
	tmpl, err := Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool { ok, _ := r.re.MatchString(s); return ok }
func (r ecmaRegexp) String() string            { return r.re.String() }

// TestTemplateMatchesSAMSchema validates template.yaml against AWS SAM's own
// JSON Schema, whose patterns use look-ahead (hence regexp2). The schema is
// not vendored: SAM_SCHEMA names it (.ci/run and make test set it).
func TestTemplateMatchesSAMSchema(t *testing.T) {
	path := os.Getenv("SAM_SCHEMA")
	if path == "" {
		t.Skip("SAM_SCHEMA is not set, so template.yaml is not checked against the SAM JSON Schema; set it to sam.schema.json (make test does when ../shared/spec/sam is there)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("SAM_SCHEMA=%s: %v", path, err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	if err := c.AddResource("sam.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sam.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateAgainst(schema, load(t)); err != nil {
		t.Fatalf("template.yaml does not match the SAM schema:\n%v", err)
	}
	// The schema must be able to fail: a function with a misspelt property.
	bad := load(t)
	Resource(bad, "GetCustomerFunction")["Properties"].(map[string]any)["Runtim"] = "go1.x"
	if validateAgainst(schema, bad) == nil {
		t.Error("the schema accepted a misspelt function property")
	}
	derived := managedInstances(t)
	if err := validateAgainst(schema, derived); err != nil {
		t.Fatalf("the Managed Instances template does not match the SAM schema:\n%v", err)
	}
}

// validateAgainst round-trips tmpl through JSON, so that numbers and maps
// have the types the validator expects, and validates it.
func validateAgainst(schema *jsonschema.Schema, tmpl map[string]any) error {
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	return schema.Validate(inst)
}

// templateTexts returns template.yaml's text and the Managed Instances
// template derived from it.
func templateTexts(t *testing.T) (src, derived []byte) {
	t.Helper()
	src, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	derived, err = ManagedInstances(src)
	if err != nil {
		t.Fatal(err)
	}
	return src, derived
}

// cfnLintPath returns cfn-lint's path, or skips saying why; CI requires it.
func cfnLintPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed; CI requires it (pip install cfn-lint)")
		}
		t.Skip("SKIPPED: cfn-lint is not installed (pip install cfn-lint)")
	}
	return path
}

func managedInstances(t *testing.T) map[string]any {
	t.Helper()
	_, out := templateTexts(t)
	tmpl, err := Parse(out)
	if err != nil {
		t.Fatalf("derived template: %v", err)
	}
	return tmpl
}

// TestManagedInstancesTemplate: the derived template is template.yaml with
// exactly the Managed Instances edits, and cfn-lint (what sam validate
// --lint runs) finds nothing in it.
func TestManagedInstancesTemplate(t *testing.T) {
	got := managedInstances(t)
	want := load(t)
	params := want["Parameters"].(map[string]any)
	delete(params, "ProvisionedConcurrency")
	delete(want["Conditions"].(map[string]any), "HasProvisionedConcurrency")
	props := Get(Resource(want, "GetCustomerFunction"), "Properties").(map[string]any)
	delete(props, "ProvisionedConcurrencyConfig")
	delete(params, "PrivateNetwork")
	delete(want["Conditions"].(map[string]any), "PrivateNetworkOn")
	delete(props, "VpcConfig")
	for _, section := range []string{"Resources", "Outputs"} {
		for name, v := range want[section].(map[string]any) {
			if Get(v, "Condition") == "PrivateNetworkOn" {
				delete(want[section].(map[string]any), name)
			}
		}
	}
	props["MemorySize"] = float64(2048)
	props["CapacityProviderConfig"] = map[string]any{
		"Arn":                                   map[string]any{"Ref": "CapacityProviderArn"},
		"PerExecutionEnvironmentMaxConcurrency": map[string]any{"Ref": "PerExecutionEnvironmentMaxConcurrency"},
		"ExecutionEnvironmentMemoryGiBPerVCpu":  float64(2),
	}
	for _, p := range []string{"CapacityProviderArn", "PerExecutionEnvironmentMaxConcurrency"} {
		if Get(got, "Parameters", p) == nil {
			t.Fatalf("no parameter %s", p)
		}
		params[p] = Get(got, "Parameters", p)
	}
	// Folded scalars are written on one line; the text is the same.
	want["Description"] = strings.Join(strings.Fields(want["Description"].(string)), " ")
	got["Description"] = strings.Join(strings.Fields(got["Description"].(string)), " ")
	if !reflect.DeepEqual(got, want) {
		for _, name := range ResourceNames(want) {
			if !reflect.DeepEqual(Resource(got, name), Resource(want, name)) {
				t.Errorf("resource %s differs:\n got %v\nwant %v", name, Resource(got, name), Resource(want, name))
			}
		}
		t.Fatal("the Managed Instances template differs from template.yaml beyond its edits")
	}

	cfnLint := cfnLintPath(t)
	_, derived := templateTexts(t)
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, derived, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cfnLint, "--include-checks", "I", "--", path).CombinedOutput(); err != nil { // #nosec G204 -- cfn-lint on a file this test wrote
		t.Errorf("cfn-lint on the Managed Instances template: %v\n%s", err, out)
	}
}

// TestManagedInstancesTemplateIsCommitted: the committed derived template
// is what template.yaml derives today, so sam build --config-env managed
// on a clean clone builds the current stack.
func TestManagedInstancesTemplateIsCommitted(t *testing.T) {
	_, want := templateTexts(t)
	got, err := os.ReadFile(filepath.Join("../../..", ManagedTemplatePath))
	if err != nil {
		t.Fatalf("%v: run make managed-template and commit it", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is out of date with template.yaml: run make managed-template and commit it", ManagedTemplatePath)
	}
}

// problems lists each way the template falls short of what we deploy.
func problems(tmpl map[string]any) []string {
	var p []string
	want := func(what string, got, expected any) {
		if !reflect.DeepEqual(got, expected) {
			p = append(p, fmt.Sprintf("%s = %#v, want %#v", what, got, expected))
		}
	}
	fn := Resource(tmpl, "GetCustomerFunction")
	props := Get(fn, "Properties")
	want("Transform", tmpl["Transform"], "AWS::Serverless-2016-10-31")
	want("function type", Get(fn, "Type"), "AWS::Serverless::Function")
	want("runtime", Get(props, "Runtime"), "provided.al2023")
	want("architectures", Get(props, "Architectures"), []any{"arm64"})
	want("handler", Get(props, "Handler"), "bootstrap")
	want("build method", Get(fn, "Metadata", "BuildMethod"), "makefile")
	want("CUSTOMERS_TABLE", Get(props, "Environment", "Variables", "CUSTOMERS_TABLE"), map[string]any{"Ref": "CustomersTable"})
	want("API_KEYS_TABLE", Get(props, "Environment", "Variables", "API_KEYS_TABLE"), map[string]any{"Ref": "ApiKeysTable"})
	want("function log group", Get(props, "LoggingConfig", "LogGroup"), map[string]any{"Ref": "GetCustomerLogGroup"})
	if _, ok := Get(props, "ReservedConcurrentExecutions").(map[string]any); !ok {
		p = append(p, "reserved concurrency is not left to a parameter")
	}
	if m, _ := Get(props, "MemorySize").(float64); m != 1024 {
		p = append(p, fmt.Sprintf("memory %v MB, not the 1024 MB the power-tuning table chose", m))
	}
	if s, _ := Get(props, "Timeout").(float64); s < 3 || s > 10 {
		p = append(p, fmt.Sprintf("timeout %v s", s))
	}

	// Least privilege: exactly GetItem on exactly the two tables, in one
	// managed policy and, with a customer-managed key, its KMS statement.
	want("function policies", Get(props, "Policies"), []any{map[string]any{"Ref": "FunctionDataPolicy"}})
	want("data policy type", Get(Resource(tmpl, "FunctionDataPolicy"), "Type"), "AWS::IAM::ManagedPolicy")
	statements, _ := Get(Resource(tmpl, "FunctionDataPolicy"), "Properties", "PolicyDocument", "Statement").([]any)
	if len(statements) != 2 || Get(statements, 1, "Fn::If", 0) != "CustomerKey" || Get(statements, 1, "Fn::If", 2) == nil {
		p = append(p, fmt.Sprintf("%d statements in FunctionDataPolicy, want the read and, with a customer-managed key, its KMS statement", len(statements)))
	}
	want("policy statements", Get(statements, 0), map[string]any{
		"Sid":      "ReadCustomersAndKeys",
		"Effect":   "Allow",
		"Action":   []any{"dynamodb:GetItem"},
		"Resource": []any{map[string]any{"Fn::GetAtt": []any{"CustomersTable", "Arn"}}, map[string]any{"Fn::GetAtt": []any{"ApiKeysTable", "Arn"}}},
	})

	for _, name := range []string{"CustomersTable", "ApiKeysTable"} {
		tbl := Resource(tmpl, name)
		want(name+" type", Get(tbl, "Type"), "AWS::DynamoDB::Table")
		want(name+" DeletionPolicy", Get(tbl, "DeletionPolicy"), "Retain")
		want(name+" UpdateReplacePolicy", Get(tbl, "UpdateReplacePolicy"), "Retain")
		want(name+" billing", Get(tbl, "Properties", "BillingMode"), "PAY_PER_REQUEST")
		want(name+" PITR", Get(tbl, "Properties", "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"), true)
		want(name+" SSE", Get(tbl, "Properties", "SSESpecification", "SSEEnabled"), true)
	}
	want("customers PITR period", Get(Resource(tmpl, "CustomersTable"), "Properties", "PointInTimeRecoverySpecification", "RecoveryPeriodInDays"), map[string]any{"Ref": "RecoveryPeriodDays"})
	want("PITR period bounds", []any{Get(tmpl, "Parameters", "RecoveryPeriodDays", "MinValue"), Get(tmpl, "Parameters", "RecoveryPeriodDays", "MaxValue")}, []any{float64(1), float64(35)})
	queries := 0
	for _, name := range ResourceNames(tmpl) {
		if Get(Resource(tmpl, name), "Type") == "AWS::Logs::QueryDefinition" {
			if name == "WafBlockedByRuleQuery" {
				want(name+" log group", Get(Resource(tmpl, name), "Properties", "LogGroupNames"), []any{map[string]any{"Ref": "WafLogGroup"}})
				continue
			}
			queries++
			want(name+" log group", Get(Resource(tmpl, name), "Properties", "LogGroupNames"), []any{map[string]any{"Ref": "GetCustomerLogGroup"}})
		}
	}
	if queries != 4 {
		p = append(p, fmt.Sprintf("%d saved access queries, want 4", queries))
	}
	// A retired key's item stays, so that no restore brings the key back.
	want("keys TTL (none: retired keys stay)", Get(Resource(tmpl, "ApiKeysTable"), "Properties", "TimeToLiveSpecification"), nil)

	for _, lg := range []string{"GetCustomerLogGroup", "ApiAccessLogGroup"} {
		want(lg+" retention", Get(Resource(tmpl, lg), "Properties", "RetentionInDays"), map[string]any{"Ref": "LogRetentionDays"})
	}

	api := Get(Resource(tmpl, "CustomerApi"), "Properties")
	want("API type", Get(Resource(tmpl, "CustomerApi"), "Type"), "AWS::Serverless::Api")
	want("stage name", Get(api, "StageName"), map[string]any{"Ref": "StageName"})
	want("API cache", Get(api, "CacheClusterEnabled"), false)
	want("method caching", Get(api, "MethodSettings", 0, "CachingEnabled"), false)
	want("throttling rate", Get(api, "MethodSettings", 0, "ThrottlingRateLimit"), map[string]any{"Ref": "ThrottlingRateLimit"})
	want("throttling burst", Get(api, "MethodSettings", 0, "ThrottlingBurstLimit"), map[string]any{"Ref": "ThrottlingBurstLimit"})
	want("data trace", Get(api, "MethodSettings", 0, "DataTraceEnabled"), false)
	want("access log", Get(api, "AccessLogSetting", "DestinationArn"), map[string]any{"Fn::GetAtt": []any{"ApiAccessLogGroup", "Arn"}})
	if f, _ := Get(api, "AccessLogSetting", "Format").(string); strings.Contains(f, "$context.path") {
		p = append(p, "access log records the path, which carries client and customer IDs")
	}
	for _, gr := range []string{"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} {
		r := Get(api, "GatewayResponses", gr)
		want(gr+" Cache-Control", Get(r, "ResponseParameters", "Headers", "Cache-Control"), "'no-store'")
		want(gr+" X-Content-Type-Options", Get(r, "ResponseParameters", "Headers", "X-Content-Type-Options"), "'nosniff'")
		if body, _ := Get(r, "ResponseTemplates", "application/json").(string); !strings.Contains(body, `"message":`) {
			p = append(p, gr+" body lacks the message key")
		}
	}

	events, _ := Get(props, "Events").(map[string]any)
	if len(events) != 1 {
		p = append(p, fmt.Sprintf("%d events, want the one route", len(events)))
	}
	want("route", Get(props, "Events", "GetCustomer"), map[string]any{"Type": "Api", "Properties": map[string]any{
		"RestApiId": map[string]any{"Ref": "CustomerApi"}, "Path": "/cdm/client/{client_id}/customer/{ccid}", "Method": "GET",
	}})

	for _, out := range []string{"ApiBaseUrl", "CustomersTableName", "CustomersTableArn", "ApiKeysTableName", "ApiKeysTableArn", "GetCustomerFunctionArn"} {
		if Get(tmpl, "Outputs", out, "Value") == nil {
			p = append(p, "no output "+out)
		}
	}
	for _, alarm := range []string{"Api5xxRateAlarm", "Function500Alarm", "AliasErrorsAlarm", "FunctionThrottlesAlarm"} {
		want(alarm, Get(Resource(tmpl, alarm), "Type"), "AWS::CloudWatch::Alarm")
	}

	// Gradual deployment behind an alias, rolled back by our own error alarms.
	want("alias", Get(props, "AutoPublishAlias"), "live")
	want("deployment type", Get(props, "DeploymentPreference", "Type"), map[string]any{"Ref": "DeploymentType"})
	want("rollback alarms", Get(props, "DeploymentPreference", "Alarms"), []any{map[string]any{"Ref": "Function500Alarm"}, map[string]any{"Ref": "AliasErrorsAlarm"}})
	want("tracing", Get(props, "Tracing"), map[string]any{"Fn::If": []any{"TracingOn", "Active", "PassThrough"}})
	want("stage tracing", Get(api, "TracingEnabled"), map[string]any{"Fn::If": []any{"TracingOn", true, false}})
	want("dashboard", Get(Resource(tmpl, "Dashboard"), "Type"), "AWS::CloudWatch::Dashboard")
	p = append(p, retainedNames(tmpl)...)
	return p
}

// retainedNames lists resources that outlive their stack yet carry a name:
// a stack deployed again under the same name would collide with them.
func retainedNames(tmpl map[string]any) []string {
	var p []string
	for _, name := range ResourceNames(tmpl) {
		res := Resource(tmpl, name)
		if Get(res, "DeletionPolicy") != "Retain" && Get(res, "UpdateReplacePolicy") != "Retain" {
			continue
		}
		props, _ := Get(res, "Properties").(map[string]any)
		for k, v := range props {
			if strings.HasSuffix(k, "Name") && !namedPerStack(tmpl, v) {
				p = append(p, fmt.Sprintf("%s is retained and named by %s: a new stack of the same name collides with it", name, k))
			}
		}
	}
	return p
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z.]+)?\}`)

// namedPerStack reports whether a name holds the ID of a resource that is
// not retained, such as the REST API's, or part of the stack's own ID:
// every stack gets a new one, so a retained resource so named never
// collides with a later stack's.
func namedPerStack(tmpl map[string]any, name any) bool {
	if strings.Contains(fmt.Sprint(name), "map[Ref:AWS::StackId]") {
		return true
	}
	sub, _ := Get(name, "Fn::Sub").(string)
	for _, ref := range subRef.FindAllStringSubmatch(sub, -1) {
		if r := Resource(tmpl, ref[1]); r != nil && Get(r, "DeletionPolicy") != "Retain" {
			return true
		}
	}
	return false
}

func TestRetainedResourcesHaveNoReusableNames(t *testing.T) {
	tmpl := load(t)
	retained := 0
	for _, name := range ResourceNames(tmpl) {
		if Get(Resource(tmpl, name), "DeletionPolicy") == "Retain" {
			retained++
		}
	}
	if retained < 4 {
		t.Errorf("%d retained resources; the tables and log groups are kept", retained)
	}
	for _, p := range retainedNames(tmpl) {
		t.Error(p)
	}
}

func TestTemplateProperties(t *testing.T) {
	for _, p := range problems(load(t)) {
		t.Error(p)
	}
}

// TestLoosenedTemplatesAreCaught proves the checks above can fail.
func TestLoosenedTemplatesAreCaught(t *testing.T) {
	loosen := map[string]func(map[string]any){
		"wildcard action": func(m map[string]any) {
			Get(Resource(m, "FunctionDataPolicy"), "Properties", "PolicyDocument", "Statement", 0).(map[string]any)["Action"] = []any{"dynamodb:*"}
		},
		"wildcard resource": func(m map[string]any) {
			Get(Resource(m, "FunctionDataPolicy"), "Properties", "PolicyDocument", "Statement", 0).(map[string]any)["Resource"] = "*"
		},
		"CRUD policy": func(m map[string]any) {
			props := Get(Resource(m, "GetCustomerFunction"), "Properties").(map[string]any)
			props["Policies"] = append(props["Policies"].([]any), map[string]any{"DynamoDBCrudPolicy": map[string]any{"TableName": "x"}})
		},
		"no PITR period": func(m map[string]any) {
			delete(Get(Resource(m, "CustomersTable"), "Properties", "PointInTimeRecoverySpecification").(map[string]any), "RecoveryPeriodInDays")
		},
		"no PITR": func(m map[string]any) {
			delete(Get(Resource(m, "CustomersTable"), "Properties").(map[string]any), "PointInTimeRecoverySpecification")
		},
		"table deleted with stack": func(m map[string]any) { Resource(m, "ApiKeysTable")["DeletionPolicy"] = "Delete" },
		"TTL deletes retired keys": func(m map[string]any) {
			Get(Resource(m, "ApiKeysTable"), "Properties").(map[string]any)["TimeToLiveSpecification"] = map[string]any{"AttributeName": "expires_at", "Enabled": true}
		},
		"x86": func(m map[string]any) {
			Get(Resource(m, "GetCustomerFunction"), "Properties").(map[string]any)["Architectures"] = []any{"x86_64"}
		},
		"caching on": func(m map[string]any) {
			Get(Resource(m, "CustomerApi"), "Properties", "MethodSettings", 0).(map[string]any)["CachingEnabled"] = true
		},
		"POST route": func(m map[string]any) {
			Get(Resource(m, "GetCustomerFunction"), "Properties", "Events", "GetCustomer", "Properties").(map[string]any)["Method"] = "POST"
		},
		"no log retention": func(m map[string]any) {
			delete(Get(Resource(m, "GetCustomerLogGroup"), "Properties").(map[string]any), "RetentionInDays")
		},
		"retained vault with a fixed name": func(m map[string]any) {
			Get(Resource(m, "BackupVault"), "Properties").(map[string]any)["BackupVaultName"] = map[string]any{"Fn::Sub": "${AWS::StackName}-backups"}
		},
		"retained log group with a fixed name": func(m map[string]any) {
			Get(Resource(m, "GetCustomerLogGroup"), "Properties").(map[string]any)["LogGroupName"] = map[string]any{"Fn::Sub": "/aws/lambda/${AWS::StackName}-get-customer"}
		},
		"no rollback alarm": func(m map[string]any) {
			delete(Get(Resource(m, "GetCustomerFunction"), "Properties", "DeploymentPreference").(map[string]any), "Alarms")
		},
		"no throttling": func(m map[string]any) {
			delete(Get(Resource(m, "CustomerApi"), "Properties", "MethodSettings", 0).(map[string]any), "ThrottlingRateLimit")
		},
	}
	for name, f := range loosen {
		tmpl := load(t)
		f(tmpl)
		if len(problems(tmpl)) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

func TestParseTags(t *testing.T) {
	got, err := Parse([]byte("a: !Ref X\nb: !GetAtt T.Arn\nc: !Sub 'x-${Y}'\nd: !If [C, 1, !Ref AWS::NoValue]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": map[string]any{"Ref": "X"},
		"b": map[string]any{"Fn::GetAtt": []any{"T", "Arn"}},
		"c": map[string]any{"Fn::Sub": "x-${Y}"},
		"d": map[string]any{"Fn::If": []any{"C", float64(1), map[string]any{"Ref": "AWS::NoValue"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	if _, err := Parse([]byte("a: !Bogus x\n")); err == nil {
		t.Error("unknown tag accepted")
	}
}
