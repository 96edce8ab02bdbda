package repocheck

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/devkit/lambdarun"
)

// standInSAM is a `sam` that records each command line (one file a call)
// and the --env-vars file it is given, then answers as the SAM CLI would:
// build succeeds; local invoke prints $SAM_CANNED; local start-api serves
// $SAM_CANNED on --host:--port until it is interrupted (with node, which
// the local DynamoDB needs anyway).
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
	exec node -e '
const [host, port, canned] = process.argv.slice(1)
const body = require("fs").readFileSync(canned)
const server = require("http").createServer((req, res) => { res.setHeader("Content-Type", "application/json"); res.end(body) })
server.listen(Number(port), host)
process.on("SIGINT", () => process.exit(0))
process.on("SIGTERM", () => process.exit(0))
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

// samEnv returns this process's environment, PATH unchanged, with the
// targets pointed at the given stand-ins by SAM_CLI and CONTAINER_RUNTIME
// (a stand-in not given is a path where nothing is installed), and the
// folder where the stand-in sam records its calls. Whatever sam, docker,
// finch or python3 the machine has on its PATH is never run.
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
	env := lambdarun.Unset(os.Environ(), "SAM_CLI", "CONTAINER_RUNTIME", "SAM_API_PORT", "SAM_DYNAMODB_HOST", "MAKEFLAGS", "MAKELEVEL")
	return append(env, "SAM_CLI="+filepath.Join(bin, "sam"), "CONTAINER_RUNTIME="+filepath.Join(bin, "docker"),
		"SAM_RECORD="+record, "SAM_CANNED="+cannedFile), record
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
		g := startGroup(t, env, "make", "-s", "sam-invoke", "EVENT=events/get-customer-200.json")
		out, err := g.wait(t, 2*time.Minute)
		if (err == nil) != c.ok {
			t.Errorf("canned %q: make sam-invoke exit %v, want success %v\n%s", c.canned, err, c.ok, out)
		}
		if c.canned != "" && !strings.Contains(out, c.canned) {
			t.Errorf("canned %q: output %q lacks the response", c.canned, out)
		}
		g.noneLeft(t)
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
			g := startGroup(t, env, "make", append([]string{"-s"}, target...)...)
			out, err := g.wait(t, 2*time.Minute)
			if err == nil || !strings.Contains(out, c.says) {
				t.Errorf("%v with %v: %v, want a failure saying %q\n%s", target, keys(c.tools), err, c.says, out)
			}
			g.noneLeft(t)
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
	g := startGroup(t, append(env, fmt.Sprintf("SAM_API_PORT=%d", port)), "make", "-s", "sam-api")
	curl := g.waitLine(t, "curl ", 90*time.Second)
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
	if err := syscall.Kill(-g.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	g.wait(t, 30*time.Second)
	g.noneLeft(t)
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

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// machineTool is a sam, docker or finch as a developer's machine has it:
// it notes that it ran and fails as Docker does with its daemon stopped.
const machineTool = `#!/bin/sh
echo "$0 $*" >> "$MACHINE_TOOLS_RAN"
echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2
exit 1
`

// TestSAMLocalIgnoresMachineTools: the sam-local tests behave on a
// developer's machine as on a bare one. Their PATH starts with a folder
// that holds a sam, a docker and a finch beside the other tools (as
// /usr/bin does with Docker's packages), and python3 there is a shim that
// runs a helper from elsewhere on the PATH (as pyenv's does). The tests
// must pass and none of those three may run.
func TestSAMLocalIgnoresMachineTools(t *testing.T) {
	machine, helpers := t.TempDir(), t.TempDir()
	ran := filepath.Join(t.TempDir(), "ran")
	for _, name := range []string{"sam", "docker", "finch"} {
		if err := os.WriteFile(filepath.Join(machine, name), []byte(machineTool), 0o700); err != nil { // #nosec G306 -- an executable stand-in in the test's own folder
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"bash", "sh", "env", "make", "sed", "grep", "cat", "ls", "wc", "cp", "mv", "rm", "mkdir",
		"mktemp", "sort", "comm", "uname", "tail", "head", "tr", "cut", "seq", "sleep", "dirname", "touch", "tee", "timeout",
		"node", "npm", "npx", "go", "curl", "git"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(machine, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	realPython, pythonErr := exec.LookPath("python3")
	shim := "#!/usr/bin/env bash\nexec python-exec python3 \"$@\"\n"
	helper := "#!/usr/bin/env bash\nshift\nexec \"$(cat \"$(dirname \"$0\")/real-python3\")\" \"$@\"\n"
	for name, text := range map[string]string{filepath.Join(machine, "python3"): shim, filepath.Join(helpers, "python-exec"): helper,
		filepath.Join(helpers, "real-python3"): realPython} {
		if err := os.WriteFile(name, []byte(text), 0o700); err != nil { // #nosec G306 -- executables in the test's own folders
			t.Fatal(err)
		}
	}
	path := machine + string(os.PathListSeparator) + os.Getenv("PATH") + string(os.PathListSeparator) + helpers
	env := append(lambdarun.Unset(os.Environ(), "PATH"), "PATH="+path, "MACHINE_TOOLS_RAN="+ran)
	if pythonErr == nil {
		// The shim works there, as a developer's does.
		cmd := exec.Command("python3", "-c", "print(6*7)")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "42" {
			t.Fatalf("python3 through the shim: %v %q", err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestSAMInvokePlumbing|TestSAMLocalSaysWhatIsMissing|TestSAMAPIPlumbing)$", "-test.count=1", "-test.v") // #nosec G204 -- this test binary
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the sam-local tests on a machine with sam, docker and finch beside the other tools: %v\n%s", err, out)
	}
	for _, name := range []string{"TestSAMInvokePlumbing", "TestSAMLocalSaysWhatIsMissing", "TestSAMAPIPlumbing"} {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Errorf("%s did not pass there:\n%s", name, out)
		}
	}
	if b, err := os.ReadFile(ran); err == nil {
		t.Errorf("the machine's own tools ran:\n%s", b)
	}
}

// TestSAMAPIPortInUse: make sam-api with its port taken says so and the
// port to use before it builds or starts anything.
func TestSAMAPIPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	env, record := samEnv(t, "", map[string]string{"sam": standInSAM, "docker": standInDocker})
	g := startGroup(t, append(env, fmt.Sprintf("SAM_API_PORT=%d", l.Addr().(*net.TCPAddr).Port)), "make", "-s", "sam-api")
	out, err := g.wait(t, 2*time.Minute)
	if err == nil || !strings.Contains(out, "already in use") || !strings.Contains(out, "SAM_API_PORT=") || strings.Contains(out, "curl ") {
		t.Errorf("make sam-api on a port in use: %v\n%s", err, out)
	}
	if cs := calls(t, record); len(cs) > 0 {
		t.Errorf("sam ran %v though the port was taken", cs)
	}
	g.noneLeft(t)
}
