package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/devkit/tlsproxy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// buildTools builds the real bootstrap, exactly as the Lambda is built but
// for this machine, and the Runtime Interface Emulator pinned in go.mod.
func buildTools(t *testing.T) (bootstrap, rie string) {
	t.Helper()
	dir := t.TempDir()
	bootstrap, rie = filepath.Join(dir, "bootstrap"), filepath.Join(dir, "aws-lambda-rie")
	for _, args := range [][]string{
		{"build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if err := lambdarun.BuildEmulator(rie); err != nil {
		t.Fatal(err)
	}
	return bootstrap, rie
}

// TestBootstrapUnderEmulator invokes the built bootstrap through the Lambda
// Runtime Interface Emulator with every events/ fixture, against the data
// make run loads, and checks status and body against the golden files.
func TestBootstrapUnderEmulator(t *testing.T) {
	bootstrap, rie := buildTools(t)
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	emu, err := lambdarun.Start(rie, bootstrap, lambdarun.Environ(os.Environ(), tb.Env()...), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()

	fixtures := testenv.Fixtures(t)
	for _, f := range fixtures {
		t.Run(f.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := emu.Invoke(ctx, f.Event)
			if err != nil {
				t.Fatalf("%v\nemulator output:\n%s", err, emu.Output())
			}
			var resp events.APIGatewayProxyResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != f.Status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, f.Status, resp.Body)
			}
			if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Content-Type"] != "application/json" || resp.Headers["X-Content-Type-Options"] != "nosniff" {
				t.Errorf("headers %v", resp.Headers)
			}
			golden, err := os.ReadFile(f.Golden)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Body+"\n" != string(golden) {
				t.Errorf("body\n got %s\nwant %s", resp.Body, golden)
			}
		})
	}
	// One JSON access line per invocation, without the raw key. The lines
	// reach the emulator's output after the responses do.
	accessLines := func(out string) int { return strings.Count(out, `"msg":"request"`) }
	out, ok := emu.WaitOutput(10*time.Second, func(out string) bool { return accessLines(out) >= len(fixtures) })
	if !ok || accessLines(out) != len(fixtures) {
		t.Errorf("%d access lines for %d invocations:\n%s", accessLines(out), len(fixtures), out)
	}
	if strings.Contains(out, testenv.DevKey) {
		t.Error("the raw key appears in the function's output")
	}
}

// TestBootstrapAnswersBeforeItsTimeout points the function at a DynamoDB
// that answers too slowly: under the emulator, with a 3 s function timeout
// and STORAGE_TIMEOUT longer than that, the invocation's own deadline must
// bound storage, and the answer is the contract's 500, not a timeout.
func TestBootstrapAnswersBeforeItsTimeout(t *testing.T) {
	bootstrap, rie := buildTools(t)
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	proxy, err := faultproxy.Start(tb.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Set(faultproxy.Config{Fault: faultproxy.Delay, Delay: 10 * time.Second})
	env := lambdarun.Environ(os.Environ(), tb.Env()...)
	env = lambdarun.Environ(env, "DYNAMODB_ENDPOINT="+proxy.URL, "AWS_LAMBDA_FUNCTION_TIMEOUT=3", "STORAGE_TIMEOUT=20s", "DYNAMODB_WARM_UP=false")
	emu, err := lambdarun.Start(rie, bootstrap, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()
	event := testenv.Fixtures(t)[0].Event
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	out, err := emu.Invoke(ctx, event)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("%v\n%s", err, emu.Output())
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 500 {
		t.Fatalf("want the contract's 500, got %s", out)
	}
	if took >= 3*time.Second {
		t.Errorf("answered after %v, at or past the 3 s function timeout", took)
	}
	if out, ok := emu.WaitOutput(10*time.Second, func(out string) bool { return strings.Contains(out, `"error":"dynamodb GetItem`) }); !ok {
		t.Errorf("no access line naming the storage failure:\n%s", out)
	}
}

// TestBootstrapVerifiesTLS reaches DynamoDB over HTTPS, as in AWS: the
// function trusts the test CA only through the system pool (SSL_CERT_FILE
// naming the system bundle plus that CA), and refuses a server the pool
// does not vouch for, answering 500 rather than reading unverified data.
func TestBootstrapVerifiesTLS(t *testing.T) {
	bootstrap, rie := buildTools(t)
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	proxy, err := tlsproxy.Start(t.TempDir(), strings.TrimPrefix(tb.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	fixture := testenv.Fixtures(t)[0]
	for _, c := range []struct {
		name, certFile string
		status         int
	}{
		{"system pool with the test CA", proxy.CertFile, fixture.Status},
		{"system pool alone", tlsproxy.SystemBundles[0], 500},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Lambda sets no CA bundle of the SDK's own.
			env := lambdarun.Unset(lambdarun.Environ(os.Environ(), tb.Env()...), "AWS_CA_BUNDLE")
			env = lambdarun.Environ(env, "DYNAMODB_ENDPOINT="+proxy.URL, "SSL_CERT_FILE="+c.certFile, "SSL_CERT_DIR=/nonexistent")
			emu, err := lambdarun.Start(rie, bootstrap, env, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := emu.Invoke(ctx, fixture.Event)
			if err != nil {
				t.Fatalf("%v\n%s", err, emu.Output())
			}
			var resp events.APIGatewayProxyResponse
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s\n%s", resp.StatusCode, c.status, out, emu.Output())
			}
		})
	}
}
