// Package lambdarun runs a Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator on loopback, as sam local invoke does in a container,
// and invokes it.
package lambdarun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Emulator is a running emulator with its function.
type Emulator struct {
	// URL invokes the function with a POST of the event.
	URL    string
	cmd    *exec.Cmd
	output *syncBuffer
	once   sync.Once
	done   chan struct{}
}

// Start runs the emulator binary rie on two free loopback ports with
// bootstrap as the function, its environment being env (with the
// emulator's own variables added by it). Output of both goes to out when
// given, else it is kept for Output.
func Start(rie, bootstrap string, env []string, out io.Writer) (*Emulator, error) {
	return start(env, out, func(apiAddr, runtimeAddr string) []string {
		return []string{rie,
			"--log-level", "error",
			"--runtime-interface-emulator-address", apiAddr,
			"--runtime-api-address", runtimeAddr,
			bootstrap}
	})
}

// StartManaged runs rie in its Lambda Managed Instances mode, with
// concurrency runtime workers sharing one bootstrap process, as Lambda does
// with AWS_LAMBDA_MAX_CONCURRENCY. That mode runs only
// /var/runtime/bootstrap, /var/task/bootstrap or /opt/bootstrap, so the
// emulator runs in a mount namespace of its own where a private /var holds
// task/bootstrap; the machine's /var is untouched. It needs root (or
// CAP_SYS_ADMIN) and util-linux's unshare: ErrNeedsRoot says when that is
// missing.
func StartManaged(rie, bootstrap string, concurrency int, env []string, out io.Writer) (*Emulator, error) {
	if os.Geteuid() != 0 {
		return nil, ErrNeedsRoot
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNeedsRoot, err)
	}
	env = Environ(env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(concurrency))
	return start(env, out, func(apiAddr, runtimeAddr string) []string {
		return []string{unshare, "--mount", "--propagation", "private", "--",
			"sh", "-ec", `mount -t tmpfs -o size=256m,mode=0755 cdm-var /var; mkdir /var/task; cp "$1" /var/task/bootstrap; shift; exec "$@"`,
			"sh", bootstrap, rie,
			"--log-level", "error",
			"--runtime-interface-emulator-address", apiAddr,
			"--runtime-api-address", runtimeAddr}
	})
}

// ErrNeedsRoot means the emulator's Managed Instances mode cannot run here.
var ErrNeedsRoot = errors.New("the emulator's Managed Instances mode needs root and unshare (util-linux) to give it a private /var/task")

// startAttempts bounds retries when a port picked free was taken before the
// emulator bound it.
const startAttempts = 5

func start(env []string, out io.Writer, argv func(apiAddr, runtimeAddr string) []string) (*Emulator, error) {
	var err error
	for range startAttempts {
		var e *Emulator
		e, err = startOnce(env, out, argv)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	return nil, err
}

var errPortTaken = errors.New("a port picked for the emulator was taken")

func startOnce(env []string, out io.Writer, argv func(apiAddr, runtimeAddr string) []string) (*Emulator, error) {
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := argv(apiPort, runtimePort)
	cmd := exec.Command(args[0], args[1:]...) // #nosec G204 -- the emulator a test built
	cmd.Env = env
	e := &Emulator{URL: "http://" + apiPort + "/2015-03-31/functions/function/invocations", cmd: cmd, output: &syncBuffer{}, done: make(chan struct{})}
	var w io.Writer = e.output
	if out != nil {
		w = io.MultiWriter(e.output, out)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// The emulator and its function never outlive the process that started them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator %s: %w", args[0], err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", apiPort, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return e, nil
		}
		select {
		case <-e.done:
			e.Stop()
			if strings.Contains(e.output.String(), "address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("emulator exited at start: %s", e.output.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("emulator did not listen within 15s: %s", e.output.String())
		}
	}
}

// Invoke sends the event and returns the function's response payload.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("emulator answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// Output returns what the emulator and the function have printed so far.
func (e *Emulator) Output() string { return e.output.String() }

// WaitOutput polls the output until done reports true of it or timeout
// passes, and returns the output it last saw. Lines reach the output after
// the invocation's response does, so a test waits for them rather than
// reading once.
func (e *Emulator) WaitOutput(timeout time.Duration, done func(output string) bool) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		out := e.output.String()
		if done(out) {
			return out, true
		}
		if time.Now().After(deadline) {
			return out, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the emulator and its function and waits for them.
func (e *Emulator) Stop() {
	e.once.Do(func() {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
			<-e.done
		}
		// The function may linger in the group after the emulator exits.
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	})
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Environ returns the process environment with the given variables set,
// replacing any of the same name.
func Environ(base []string, set ...string) []string {
	out := make([]string, 0, len(base)+len(set))
	names := map[string]bool{}
	for _, kv := range set {
		names[name(kv)] = true
	}
	for _, kv := range base {
		if !names[name(kv)] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// Unset returns env without the named variables.
func Unset(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !slices.Contains(names, name(kv)) {
			out = append(out, kv)
		}
	}
	return out
}

func name(kv string) string {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i]
		}
	}
	return kv
}

// EmulatorPackage is the emulator's main package, pinned in EmulatorModFile.
const EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// EmulatorModFile returns the module file, relative to the repository's
// root, that pins the emulator apart from the product's go.mod.
const EmulatorModFile = "tools/aws-lambda-rie/go.mod"

// BuildEmulator builds the pinned emulator for this machine into out; it
// fails with go build's output when the build does.
func BuildEmulator(out string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := strings.TrimSuffix(strings.TrimSpace(string(gomod)), "go.mod")
	cmd := exec.Command("go", "build", "-modfile="+root+EmulatorModFile, "-o", out, EmulatorPackage) // #nosec G204 -- the go command with fixed arguments
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", EmulatorPackage, err, b)
	}
	return nil
}
