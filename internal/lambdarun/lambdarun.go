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
	"os/exec"
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
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie,
		"--log-level", "error",
		"--runtime-interface-emulator-address", apiPort,
		"--runtime-api-address", runtimePort,
		bootstrap)
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
		return nil, fmt.Errorf("start emulator %s: %w", rie, err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", apiPort, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return e, nil
		}
		select {
		case <-e.done:
			return nil, fmt.Errorf("emulator exited at start: %s", e.output.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, errors.New("emulator did not listen within 15s")
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
	defer l.Close()
	return l.Addr().String(), nil
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

func name(kv string) string {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i]
		}
	}
	return kv
}
