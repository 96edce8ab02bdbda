package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cdm/customer-api/internal/customer"
	"github.com/cdm/customer-api/internal/devkit/dynalite"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
	"github.com/cdm/customer-api/internal/devkit/samtemplate"
	"github.com/cdm/customer-api/internal/devkit/testenv"
)

// metric is one CloudWatch metric: namespace, name and dimension set, with
// the dimensions written name=value, sorted.
type metric struct {
	Namespace, Name string
	Dimensions      string
}

func (m metric) String() string { return m.Namespace + " " + m.Name + " {" + m.Dimensions + "}" }

func dimensions(kv map[string]string) string {
	parts := make([]string, 0, len(kv))
	for k, v := range kv {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// emfMetrics reads the CloudWatch Embedded Metric Format records in a
// function's output and returns the metrics CloudWatch would make of them.
func emfMetrics(t *testing.T, output string) map[metric]bool {
	t.Helper()
	out := map[metric]bool{}
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("EMF line %s: %v", line, err)
		}
		var aws struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		raw, _ := json.Marshal(rec["_aws"])
		if err := json.Unmarshal(raw, &aws); err != nil {
			t.Fatalf("EMF directive %s: %v", raw, err)
		}
		for _, d := range aws.CloudWatchMetrics {
			for _, set := range d.Dimensions {
				kv := map[string]string{}
				for _, name := range set {
					v, ok := rec[name].(string)
					if !ok {
						t.Fatalf("EMF line lacks dimension %s as a string: %s", name, line)
					}
					kv[name] = v
				}
				for _, m := range d.Metrics {
					if _, ok := rec[m.Name].(float64); !ok {
						t.Fatalf("EMF line lacks metric %s as a number: %s", m.Name, line)
					}
					out[metric{d.Namespace, m.Name, dimensions(kv)}] = true
				}
			}
		}
	}
	return out
}

func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	root, err := dynalite.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// stacks are two deployments of the template in one account and region.
var stacks = []string{"cdm-customer-api-dev", "cdm-customer-api-prod"}

var observed struct {
	once    sync.Once
	metrics map[string]map[metric]bool // by stack
	err     string
}

// observedMetrics runs the real bootstrap under the emulator once for each
// stack, with the environment template.yaml gives the function there (and
// the variables Lambda sets itself), sends it requests of every outcome, a
// 500 included, and returns the metrics each stack's function emitted.
func observedMetrics(t *testing.T) map[string]map[metric]bool {
	t.Helper()
	observed.once.Do(func() { observed.metrics, observed.err = observeMetrics(t) })
	if observed.err != "" {
		t.Fatal(observed.err)
	}
	return observed.metrics
}

func observeMetrics(t *testing.T) (map[string]map[metric]bool, string) {
	bootstrap, rie := buildTools(t)
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	// A corrupt item, for the 500 that the 500 alarm counts.
	if _, err := tb.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tb.Customers), Item: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: customer.Key(customer.MustParseClientID(testenv.DevClient), "CORRUPT-1")}, "client_id": &types.AttributeValueMemberS{Value: testenv.DevClient},
		"ccid": &types.AttributeValueMemberS{Value: "CORRUPT-1"}, "first_name": &types.AttributeValueMemberN{Value: "1"},
	}}); err != nil {
		return nil, err.Error()
	}
	fixtures := testenv.Fixtures(t)
	invocations := [][]byte{}
	for _, f := range fixtures {
		invocations = append(invocations, f.Event)
		if f.Status == 200 {
			var req events.APIGatewayProxyRequest
			if err := json.Unmarshal(f.Event, &req); err != nil {
				return nil, err.Error()
			}
			req.PathParameters["ccid"] = "CORRUPT-1"
			req.Path = "/cdm/client/" + testenv.DevClient + "/customer/CORRUPT-1"
			corrupt, _ := json.Marshal(req)
			invocations = append(invocations, corrupt)
		}
	}

	tmpl := loadTemplate(t)
	vars, _ := samtemplate.Get(samtemplate.Resource(tmpl, "GetCustomerFunction"), "Properties", "Environment", "Variables").(map[string]any)
	if len(vars) == 0 {
		return nil, "template.yaml gives the function no environment"
	}
	out := map[string]map[metric]bool{}
	for _, stack := range stacks {
		r := samtemplate.NewResolver(tmpl, samtemplate.Stack{Name: stack, Physical: map[string]string{"CustomersTable": tb.Customers, "ApiKeysTable": tb.Keys}})
		env := lambdarun.Environ(os.Environ(), tb.Env()...)
		for name, v := range vars {
			s, err := r.String(v)
			if err != nil {
				return nil, fmt.Sprintf("environment variable %s: %v", name, err)
			}
			env = lambdarun.Environ(env, name+"="+s)
		}
		// The template declares DYNAMODB_ENDPOINT empty (the regional
		// endpoint); point it at the local one, as sam local invoke
		// --env-vars does for a variable the template declares.
		if _, ok := vars["DYNAMODB_ENDPOINT"]; !ok {
			return nil, "template.yaml does not declare DYNAMODB_ENDPOINT, so sam local invoke cannot set it"
		}
		env = lambdarun.Environ(env, "DYNAMODB_ENDPOINT="+tb.Endpoint)
		fn, err := r.String(map[string]any{"Ref": "GetCustomerFunction"})
		if err != nil {
			return nil, err.Error()
		}
		env = lambdarun.Environ(env, "AWS_LAMBDA_FUNCTION_NAME="+fn)
		emu, err := lambdarun.Start(rie, bootstrap, env, nil)
		if err != nil {
			return nil, err.Error()
		}
		for _, ev := range invocations {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			_, err := emu.Invoke(ctx, ev)
			cancel()
			if err != nil {
				emu.Stop()
				return nil, fmt.Sprintf("%s: %v\n%s", stack, err, emu.Output())
			}
		}
		output, ok := emu.WaitOutput(10*time.Second, func(o string) bool { return strings.Count(o, `"msg":"request"`) >= len(invocations) })
		emu.Stop()
		if !ok {
			return nil, fmt.Sprintf("%s: %d access lines for %d invocations:\n%s", stack, strings.Count(output, `"msg":"request"`), len(invocations), output)
		}
		out[stack] = emfMetrics(t, output)
	}
	return out, ""
}

// TestMetricsTellStacksApart: two stacks in one account and region must not
// write one metric, or prod's alarms fire on dev's errors.
func TestMetricsTellStacksApart(t *testing.T) {
	got := observedMetrics(t)
	a, b := got[stacks[0]], got[stacks[1]]
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("no metrics emitted: %v", got)
	}
	statuses := 0
	for m := range a {
		if b[m] {
			t.Errorf("both stacks emit %s", m)
		}
		if strings.Contains(m.Dimensions, "Status=") {
			statuses++
		}
	}
	if statuses < 5 {
		t.Errorf("%d metrics by status; want 200, 400, 401, 404 and 500 for Requests and Latency: %v", statuses, a)
	}
}

// alarmProblems lists the alarms on our namespace whose metric and
// dimensions (names and values) the function does not emit in that stack.
func alarmProblems(t *testing.T, tmpl map[string]any, stack string, emitted map[metric]bool) []string {
	var p []string
	r := samtemplate.NewResolver(tmpl, samtemplate.Stack{Name: stack})
	alarms := 0
	for _, name := range samtemplate.ResourceNames(tmpl) {
		res := samtemplate.Resource(tmpl, name)
		if samtemplate.Get(res, "Type") != "AWS::CloudWatch::Alarm" {
			continue
		}
		props, err := r.Resolve(samtemplate.Get(res, "Properties"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if samtemplate.Get(props, "Namespace") != "CDM/CustomerAPI" {
			continue
		}
		alarms++
		kv := map[string]string{}
		dims, _ := samtemplate.Get(props, "Dimensions").([]any)
		for _, d := range dims {
			kv[fmt.Sprint(samtemplate.Get(d, "Name"))] = fmt.Sprint(samtemplate.Get(d, "Value"))
		}
		m := metric{"CDM/CustomerAPI", fmt.Sprint(samtemplate.Get(props, "MetricName")), dimensions(kv)}
		if !emitted[m] {
			p = append(p, fmt.Sprintf("%s watches %s, which the function never emits", name, m))
		}
	}
	if alarms == 0 {
		p = append(p, "no alarm on the function's own metrics")
	}
	return p
}

// stackCheck lists what a template gets wrong for one stack, given the
// metrics that stack's function emitted.
type stackCheck func(t *testing.T, tmpl map[string]any, stack string, emitted map[metric]bool) []string

// checkEachStack runs check on template.yaml for every stack and reports
// what it finds.
func checkEachStack(t *testing.T, got map[string]map[metric]bool, check stackCheck) {
	t.Helper()
	tmpl := loadTemplate(t)
	for _, stack := range stacks {
		for _, p := range check(t, tmpl, stack, got[stack]) {
			t.Errorf("%s: %s", stack, p)
		}
	}
}

func TestAlarmsWatchEmittedMetrics(t *testing.T) {
	got := observedMetrics(t)
	checkEachStack(t, got, alarmProblems)
	// The check can fail: an alarm on the old, stack-less dimension set.
	broken := loadTemplate(t)
	samtemplate.Get(samtemplate.Resource(broken, "Function500Alarm"), "Properties").(map[string]any)["Dimensions"] = []any{map[string]any{"Name": "Status", "Value": "500"}}
	if len(alarmProblems(t, broken, stacks[0], got[stacks[0]])) == 0 {
		t.Error("an alarm on Requests{Status=500} alone was not caught")
	}
}

// awsMetrics are the metrics AWS publishes for the kinds of resource in this
// stack: namespace → metric names, and the dimension sets, each dimension
// naming the resource (or value) it must equal.
var awsMetrics = map[string]struct {
	names []string
	sets  [][]string
}{
	"AWS/Lambda":     {[]string{"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "ProvisionedConcurrencyUtilization", "ProvisionedConcurrencySpilloverInvocations"}, [][]string{{"FunctionName"}, {"FunctionName", "Resource"}}},
	"AWS/DynamoDB":   {[]string{"SuccessfulRequestLatency", "ReadThrottleEvents", "ThrottledRequests", "ConsumedReadCapacityUnits", "SystemErrors", "UserErrors"}, [][]string{{"TableName"}, {"Operation", "TableName"}}},
	"AWS/ApiGateway": {[]string{"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency", "CacheHitCount", "CacheMissCount"}, [][]string{{"ApiName", "Stage"}}},
	"AWS/WAFV2":      {[]string{"AllowedRequests", "BlockedRequests", "CountedRequests"}, [][]string{{"Region", "Rule", "WebACL"}}},
}

// dashboardProblems lists the widgets of the dashboard that plot a metric
// the stack cannot produce.
func dashboardProblems(t *testing.T, tmpl map[string]any, stack string, emitted map[metric]bool) []string {
	r := samtemplate.NewResolver(tmpl, samtemplate.Stack{Name: stack})
	body, err := r.String(samtemplate.Get(samtemplate.Resource(tmpl, "Dashboard"), "Properties", "DashboardBody"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Title   string
				Metrics [][]any
				Query   string
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &dash); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body)
	}
	// What the stack's resources are called once deployed.
	valid := map[string][]string{}
	for _, ref := range []string{"GetCustomerFunction", "CustomersTable", "ApiKeysTable", "StageName", "GetCustomerLogGroup"} {
		v, err := r.String(map[string]any{"Ref": ref})
		if err != nil {
			t.Fatal(err)
		}
		valid[ref] = append(valid[ref], v)
	}
	fn := valid["GetCustomerFunction"][0]
	region, err := r.String(map[string]any{"Ref": "AWS::Region"})
	if err != nil {
		t.Fatal(err)
	}
	if name, _ := samtemplate.Get(samtemplate.Resource(tmpl, "WebAcl"), "Properties", "Name", "Fn::Sub").(string); name != "${AWS::StackName}-api" {
		t.Fatalf("the web ACL is named %q; the dashboard and alarms assume ${AWS::StackName}-api", name)
	}
	dimValues := map[string][]string{
		"FunctionName": {fn},
		"Resource":     {fn, fn + ":live"},
		"TableName":    {valid["CustomersTable"][0], valid["ApiKeysTable"][0]},
		"Operation":    {"GetItem"},
		"ApiName":      {stack + "-api"},
		"Stage":        valid["StageName"],
		"WebACL":       {stack + "-api"},
		"Region":       {region},
		"Rule":         append(wafRuleMetrics(tmpl), "ALL"),
	}
	var p []string
	plotted := 0
	for _, w := range dash.Widgets {
		switch w.Type {
		case "log":
			if !strings.Contains(w.Properties.Query, "SOURCE '"+valid["GetCustomerLogGroup"][0]+"'") {
				p = append(p, fmt.Sprintf("widget %q queries a log group not in this stack: %s", w.Properties.Title, w.Properties.Query))
			}
			continue
		case "metric":
		default:
			continue
		}
		var prev []any
		for _, row := range w.Properties.Metrics {
			var fields []string
			for i, f := range row {
				if _, opts := f.(map[string]any); opts {
					break
				}
				s := fmt.Sprint(f)
				if s == "." && i < len(prev) {
					s = fmt.Sprint(prev[i])
				}
				fields = append(fields, s)
			}
			prev = row
			plotted++
			if len(fields) < 2 || len(fields)%2 != 0 {
				p = append(p, fmt.Sprintf("widget %q: metric row %v is not namespace, name, then dimension pairs", w.Properties.Title, row))
				continue
			}
			ns, name := fields[0], fields[1]
			kv := map[string]string{}
			var dimNames []string
			for i := 2; i < len(fields); i += 2 {
				kv[fields[i]] = fields[i+1]
				dimNames = append(dimNames, fields[i])
			}
			m := metric{ns, name, dimensions(kv)}
			if ns == "CDM/CustomerAPI" {
				if !emitted[m] {
					p = append(p, fmt.Sprintf("widget %q plots %s, which the function never emits", w.Properties.Title, m))
				}
				continue
			}
			known, ok := awsMetrics[ns]
			sort.Strings(dimNames)
			switch {
			case !ok:
				p = append(p, fmt.Sprintf("widget %q plots namespace %s, which nothing in this stack publishes", w.Properties.Title, ns))
			case !slices.Contains(known.names, name):
				p = append(p, fmt.Sprintf("widget %q plots %s, which AWS does not publish in %s", w.Properties.Title, name, ns))
			case !slices.ContainsFunc(known.sets, func(set []string) bool { return slices.Equal(set, dimNames) }):
				p = append(p, fmt.Sprintf("widget %q plots %s by %v, a dimension set AWS does not publish", w.Properties.Title, m, dimNames))
			default:
				for k, v := range kv {
					if !slices.Contains(dimValues[k], v) {
						p = append(p, fmt.Sprintf("widget %q plots %s for %s=%s, which is not a resource of this stack", w.Properties.Title, m, k, v))
					}
				}
			}
		}
	}
	if plotted == 0 {
		p = append(p, "the dashboard plots no metric")
	}
	return p
}

// wafRuleMetrics are the metric names of the web ACL's rules, the values
// WAF gives its Rule dimension.
func wafRuleMetrics(tmpl map[string]any) []string {
	var names []string
	rules, _ := samtemplate.Get(samtemplate.Resource(tmpl, "WebAcl"), "Properties", "Rules").([]any)
	for _, rule := range rules {
		if n, ok := samtemplate.Get(rule, "VisibilityConfig", "MetricName").(string); ok {
			names = append(names, n)
		}
	}
	return names
}

func TestDashboardPlotsOnlyProducibleMetrics(t *testing.T) {
	got := observedMetrics(t)
	checkEachStack(t, got, dashboardProblems)
	// The check can fail: a widget on a metric nobody emits.
	broken := loadTemplate(t)
	props := samtemplate.Get(samtemplate.Resource(broken, "Dashboard"), "Properties").(map[string]any)
	sub := props["DashboardBody"].(map[string]any)
	sub["Fn::Sub"] = strings.Replace(sub["Fn::Sub"].(string), `"Latency",`, `"Latencies",`, 1)
	if len(dashboardProblems(t, broken, stacks[0], got[stacks[0]])) == 0 {
		t.Error("a widget on a misspelt metric was not caught")
	}
}
