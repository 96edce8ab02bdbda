// Package dynalite runs the pinned local DynamoDB (the npm package dynalite)
// on a free loopback port, for tests, benchmarks and local runs. It speaks
// DynamoDB's wire protocol, so the real SDK is exercised.
package dynalite

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a running local DynamoDB.
type Server struct {
	// Endpoint is its URL, such as http://127.0.0.1:40123.
	Endpoint string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	once     sync.Once
}

// Start launches a local DynamoDB and waits until it accepts requests. It
// fails with instructions when the npm packages are not installed.
func Start() (*Server, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "dynalite")); err != nil {
		return nil, fmt.Errorf("local DynamoDB is not installed: run `npm ci` in %s (make test and make run do it)", root)
	}
	cmd := exec.Command("node", filepath.Join(root, "scripts", "dynalite.js"), "--exit-with-stdin") // #nosec G204 -- the repository's own script
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	// Die with the test process even if it is killed without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start local DynamoDB (needs Node.js): %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ready <- addr
				break
			}
		}
		close(ready)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr, ok := <-ready:
		if !ok {
			s.Stop()
			return nil, errors.New("local DynamoDB exited before it was ready")
		}
		s.Endpoint = addr
		return s, nil
	case <-time.After(30 * time.Second):
		s.Stop()
		return nil, errors.New("local DynamoDB did not start within 30s")
	}
}

// Stop ends the server and waits for it to exit. It is safe to call twice.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.stdin.Close()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	})
}

// RepoRoot returns the directory holding go.mod, searching up from the
// working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
