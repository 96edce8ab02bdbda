package repocheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// standInSAM is a `sam` that records each command line (one file a call)
// and the --env-vars file it is given, then answers as the SAM CLI would:
// build succeeds; local invoke prints $SAM_CANNED; local start-api serves
// $SAM_CANNED on --host:--port until it is interrupted.
const standInSAM = `#!/usr/bin/env bash
n=$(ls "$SAM_RECORD" | wc -l)
printf '%s\n' "$@" > "$SAM_RECORD/call-$n"
prev=
for a in "$@"; do
	[ "$prev" = --env-vars ] && cp "$a" "$SAM_RECORD/env-vars-$n.json"
	[ "$prev" = --port ] && port=$a
	[ "$prev" = --host ] && host=$a
	prev=$a
done
case "$1 $2" in
"build "*) exit 0 ;;
"local invoke") cat "$SAM_CANNED"; echo; exit 0 ;;
"local start-api")
	exec python3 -c '
import http.server, sys
body = open(sys.argv[3], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
' "$host" "$port" "$SAM_CANNED" ;;
esac
echo "stand-in sam: unexpected command $*" >&2
exit 2
`

// standInDocker answers as a running Docker Engine on Linux whose bridge's
// gateway is the loopback address (no container ever runs here).
const standInDocker = `#!/usr/bin/env bash
case "$1" in
info) [ "$2" = --format ] && echo "Debian GNU/Linux"; exit 0 ;;
network) echo 127.0.0.1; exit 0 ;;
ps|inspect|stop) exit 0 ;;
esac
exit 1
`

// samEnv returns an environment whose PATH starts with a folder holding the
// given stand-ins, and the folder where the stand-in sam records its calls.
func samEnv(t *testing.T, canned string, tools map[string]string) ([]string, string) {
	t.Helper()
	bin, record := t.TempDir(), t.TempDir()
	for name, text := range tools {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o700); err != nil { // #nosec G306 -- an executable stand-in in the test's own folder
			t.Fatal(err)
		}
	}
	cannedFile := filepath.Join(t.TempDir(), "canned.json")
	if err := os.WriteFile(cannedFile, []byte(canned), 0o600); err != nil {
		t.Fatal(err)
	}
	// PATH holds the stand-ins and the tools the targets use, but no real
	// sam, docker or finch the machine may have beside them: a tool that
	// shares a folder with one is linked into the stand-ins' folder.
	path := []string{bin}
	for _, tool := range []string{"bash", "sh", "make", "env", "sed", "grep", "cat", "mktemp", "rm", "sort", "comm", "uname", "tail",
		"ls", "wc", "cp", "mv", "seq", "sleep", "dirname", "mkdir", "touch", "tr", "cut", "head", "python3", "node", "npm", "npx", "go"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		dir := filepath.Dir(p)
		shadowed := false
		for _, real := range []string{"sam", "docker", "finch"} {
			if _, err := os.Stat(filepath.Join(dir, real)); err == nil {
				shadowed = true
			}
		}
		switch {
		case shadowed:
			if _, err := os.Stat(filepath.Join(bin, tool)); err != nil {
				if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
		case !slices.Contains(path, dir):
			path = append(path, dir)
		}
	}
	env := []string{"PATH=" + strings.Join(path, ":"), "HOME=" + os.Getenv("HOME"), "SAM_RECORD=" + record, "SAM_CANNED=" + cannedFile}
	for _, k := range []string{"GOTOOLCHAIN", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GOPROXY", "npm_config_cache", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env, record
}

// calls returns the stand-in sam's recorded command lines, in order.
func calls(t *testing.T, record string) [][]string {
	t.Helper()
	var out [][]string
	for i := 0; ; i++ {
		data, err := os.ReadFile(filepath.Join(record, fmt.Sprintf("call-%d", i)))
		if err != nil {
			return out
		}
		out = append(out, strings.Split(strings.TrimSpace(string(data)), "\n"))
	}
}

// envVarsProblems checks an --env-vars file: only variables template.yaml
// declares, and a DynamoDB endpoint a container reaches.
func envVarsProblems(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{"no --env-vars file: " + err.Error()}
	}
	var vars map[string]map[string]string
	if err := json.Unmarshal(data, &vars); err != nil {
		return []string{fmt.Sprintf("--env-vars is not JSON: %v\n%s", err, data)}
	}
	declared := templateVariables(t)
	var p []string
	for fn, vs := range vars {
		if fn != "GetCustomerFunction" {
			p = append(p, "--env-vars names function "+fn)
		}
		for k := range vs {
			if _, ok := declared[k]; !ok {
				p = append(p, "--env-vars sets "+k+", which template.yaml does not declare (the SAM CLI drops it)")
			}
		}
		if !regexp.MustCompile(`^http://host\.docker\.internal:[0-9]+$`).MatchString(vs["DYNAMODB_ENDPOINT"]) {
			p = append(p, fmt.Sprintf("DYNAMODB_ENDPOINT %q is not host.docker.internal:PORT, which a container reaches", vs["DYNAMODB_ENDPOINT"]))
		}
	}
	return p
}

func hasArgs(args []string, want ...string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if strings.Join(args[i:i+len(want)], "\x00") == strings.Join(want, "\x00") {
			return true
		}
	}
	return false
}

// TestSAMInvokePlumbing: make sam-invoke builds, starts the local DynamoDB,
// gives the SAM CLI the fixture, an env-vars file of declared variables
// pointing at an endpoint containers reach and the host mapping Linux
// needs, prints the response and stops what it started; it exits non-zero
// when the function answered 500 or nothing, though the SAM CLI exits 0.
func TestSAMInvokePlumbing(t *testing.T) {
	for _, c := range []struct {
		canned string
		ok     bool
	}{
		{`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{}"}`, true},
		{`{"statusCode":404,"headers":{},"body":"{}"}`, true},
		{`{"statusCode":500,"headers":{},"body":"{}"}`, false},
		{``, false},
	} {
		env, record := samEnv(t, c.canned, map[string]string{"sam": standInSAM, "docker": standInDocker})
		cmd := exec.Command("make", "-s", "sam-invoke", "EVENT=events/get-customer-200.json")
		cmd.Env = env
		out, err := cmd.Output()
		if (err == nil) != c.ok {
			t.Errorf("canned %q: make sam-invoke exit %v, want success %v\n%s", c.canned, err, c.ok, stderrOf(err))
		}
		if c.canned != "" && !strings.Contains(string(out), c.canned) {
			t.Errorf("canned %q: stdout %q lacks the response", c.canned, out)
		}
		cs := calls(t, record)
		if len(cs) < 2 || cs[0][0] != "build" {
			t.Fatalf("sam calls %v: want build, then local invoke", cs)
		}
		inv := cs[len(cs)-1]
		if !hasArgs(inv, "local", "invoke", "GetCustomerFunction") || !hasArgs(inv, "-e", "events/get-customer-200.json") ||
			!hasArgs(inv, "--add-host", "host.docker.internal:host-gateway") {
			t.Errorf("sam local invoke arguments %q", inv)
		}
		envVars := filepath.Join(record, fmt.Sprintf("env-vars-%d.json", len(cs)-1))
		for _, p := range envVarsProblems(t, envVars) {
			t.Error(p)
		}
		noLeftovers(t, envVars)
	}
}

// TestSAMLocalSaysWhatIsMissing: without the SAM CLI, or with a container
// runtime that is absent or not running, both targets say so and fail.
func TestSAMLocalSaysWhatIsMissing(t *testing.T) {
	stopped := "#!/usr/bin/env bash\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"
	for _, c := range []struct {
		tools map[string]string
		says  string
	}{
		{map[string]string{"docker": standInDocker}, "The AWS SAM CLI is not installed"},
		{map[string]string{"sam": standInSAM}, "No container runtime is installed"},
		{map[string]string{"sam": standInSAM, "docker": stopped}, "No container runtime is running"},
	} {
		for _, target := range [][]string{{"sam-api"}, {"sam-invoke", "EVENT=events/get-customer-404.json"}} {
			env, record := samEnv(t, "", c.tools)
			cmd := exec.Command("make", append([]string{"-s"}, target...)...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.says) {
				t.Errorf("%v with %v: %v, want a failure saying %q\n%s", target, keys(c.tools), err, c.says, out)
			}
			if cs := calls(t, record); len(cs) > 0 {
				t.Errorf("%v ran sam %v though something was missing", target, cs)
			}
		}
	}
}

// TestSAMAPIPlumbing: make sam-api starts the SAM CLI's start-api with warm
// containers, the host mapping and a declared-variables env file on
// 127.0.0.1:SAM_API_PORT, prints a curl line that works as pasted, and
// Ctrl-C stops the API and the local DynamoDB.
func TestSAMAPIPlumbing(t *testing.T) {
	env, record := samEnv(t, `{"ccid":"BAK-11984-007"}`, map[string]string{"sam": standInSAM, "docker": standInDocker})
	// The SAM CLI binds the port the target names, so the test can only
	// choose one that is free now.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("make", "-s", "sam-api")
	cmd.Env = append(env, fmt.Sprintf("SAM_API_PORT=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	var curl string
	var seen []string
	deadline := time.After(60 * time.Second)
	for curl == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("make sam-api ended before printing a curl line: %v\n%s", <-done, strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
				curl = strings.TrimSpace(line)
			}
		case <-deadline:
			t.Fatalf("no curl line within 60 s:\n%s", strings.Join(seen, "\n"))
		}
	}
	go func() {
		for range lines {
		}
	}()
	if want := fmt.Sprintf("http://127.0.0.1:%d/cdm/client/demo-clinic/customer/BAK-11984-007", port); !strings.Contains(curl, want) || !strings.Contains(curl, "xx-relay-api-key: ") {
		t.Errorf("curl line %q, want one with the key header and %s", curl, want)
	}
	// The line works as pasted (against the stand-in's canned answer).
	var body []byte
	for end := time.Now().Add(20 * time.Second); ; {
		body, err = exec.Command("sh", "-c", curl).Output() // #nosec G204 -- the line this test read from the target
		if err == nil && len(body) > 0 || time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(string(body), "BAK-11984-007") {
		t.Errorf("the curl line as pasted: %v %q", err, body)
	}
	cs := calls(t, record)
	api := cs[len(cs)-1]
	if !hasArgs(api, "local", "start-api") || !hasArgs(api, "--warm-containers", "EAGER") || !hasArgs(api, "--host", "127.0.0.1") ||
		!hasArgs(api, "--port", fmt.Sprint(port)) || !hasArgs(api, "--add-host", "host.docker.internal:host-gateway") {
		t.Errorf("sam local start-api arguments %q", api)
	}
	envVars := filepath.Join(record, fmt.Sprintf("env-vars-%d.json", len(cs)-1))
	for _, p := range envVarsProblems(t, envVars) {
		t.Error(p)
	}
	// Ctrl-C: the terminal interrupts the whole foreground group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("make sam-api still running 30 s after Ctrl-C")
	}
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
		t.Error("the API still answers after Ctrl-C")
	}
	noLeftovers(t, envVars)
}

// noLeftovers fails when the local DynamoDB an env-vars file points at
// still answers on this host after the target ended.
func noLeftovers(t *testing.T, envVars string) {
	t.Helper()
	data, err := os.ReadFile(envVars)
	if err != nil {
		t.Fatal(err)
	}
	port := regexp.MustCompile(`host\.docker\.internal:([0-9]+)`).FindSubmatch(data)
	if port == nil {
		t.Fatalf("no endpoint in %s", data)
	}
	for end := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+string(port[1]), time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatalf("the local DynamoDB on port %s still answers after the target ended", port[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
