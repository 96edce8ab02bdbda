package repocheck

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/devkit/lambdarun"
)

// group is a command started in a process group of its own, with its
// standard output and error gathered line by line.
type group struct {
	cmd   *exec.Cmd
	lines chan string
	seen  []string
	done  chan error
}

// startGroup starts name args with env in a new process group; the test's
// cleanup kills whatever of the group is left.
func startGroup(t *testing.T, env []string, name string, args ...string) *group {
	t.Helper()
	cmd := exec.Command(name, args...) // #nosec G204 -- the test's own command line
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &group{cmd: cmd, lines: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
		close(g.lines)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		g.done <- err
	}()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return g
}

// waitLine returns the first line (from the start) that has prefix once
// the trimmed line starts with it; it fails the test when the group ends
// first or the deadline passes.
func (g *group) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	for _, l := range g.seen {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return strings.TrimSpace(l)
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-g.lines:
			if !ok {
				t.Fatalf("ended before a line starting %q:\n%s", prefix, strings.Join(g.seen, "\n"))
			}
			g.seen = append(g.seen, l)
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.TrimSpace(l)
			}
		case <-deadline:
			t.Fatalf("no line starting %q within %v:\n%s", prefix, timeout, strings.Join(g.seen, "\n"))
		}
	}
}

// wait waits for the command to end and returns its error and all it printed.
func (g *group) wait(t *testing.T, timeout time.Duration) (string, error) {
	t.Helper()
	var err error
	select {
	case err = <-g.done:
	case <-time.After(timeout):
		t.Fatalf("still running after %v:\n%s", timeout, strings.Join(g.seen, "\n"))
	}
	for l := range g.lines {
		g.seen = append(g.seen, l)
	}
	return strings.Join(g.seen, "\n"), err
}

// noneLeft fails the test when any process of the group is still alive
// (after its leader ended) once a short deadline has passed, naming them.
func (g *group) noneLeft(t *testing.T) {
	t.Helper()
	pgid := g.cmd.Process.Pid
	for end := time.Now().Add(10 * time.Second); ; {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("processes of group %d still running: %s", pgid, groupMembers(pgid))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// groupMembers lists the command lines of the processes in group pgid.
func groupMembers(pgid int) string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return strings.Join(out, "; ")
}

// childOf returns the first child process of pid whose command line holds
// want, polling until a deadline.
func childOf(t *testing.T, pid int, want string) int {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		for _, c := range strings.Fields(string(children)) {
			cmdline, _ := os.ReadFile("/proc/" + c + "/cmdline")
			if strings.Contains(string(cmdline), want) {
				n, _ := strconv.Atoi(c)
				return n
			}
		}
	}
	t.Fatalf("no child of %d running %q", pid, want)
	return 0
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func runEnv(addr string, set ...string) []string {
	env := lambdarun.Unset(os.Environ(), "ADDR", "DYNALITE_HOST", "MAKEFLAGS", "MAKELEVEL")
	return append(append(env, "ADDR="+addr), set...)
}

// TestMakeRunStopsEverything: make run prints its curl line only once the
// API listens, the line works, and Ctrl-C (to the terminal's group) or TERM
// (to the script alone) stops the API and the local DynamoDB.
func TestMakeRunStopsEverything(t *testing.T) {
	for _, stop := range []string{"Ctrl-C", "TERM to the script"} {
		t.Run(stop, func(t *testing.T) {
			addr := freeAddr(t)
			g := startGroup(t, runEnv(addr), "make", "-s", "run")
			curl := g.waitLine(t, "curl ", 90*time.Second)
			if !strings.Contains(curl, "http://"+addr+"/") {
				t.Errorf("curl line %q does not name %s", curl, addr)
			}
			body, err := exec.Command("sh", "-c", curl).Output() // #nosec G204 -- the line the target printed
			if err != nil || !strings.Contains(string(body), `"ccid":"BAK-11984-007"`) {
				t.Errorf("the curl line as pasted: %v %q", err, body)
			}
			endpoint := g.waitLine(t, "export DYNAMODB_ENDPOINT=", 5*time.Second)
			dynamo := strings.TrimPrefix(strings.Fields(endpoint)[1], "DYNAMODB_ENDPOINT=")
			if stop == "Ctrl-C" {
				if err := syscall.Kill(-g.cmd.Process.Pid, syscall.SIGINT); err != nil {
					t.Fatal(err)
				}
			} else {
				script := childOf(t, g.cmd.Process.Pid, "run-local.sh")
				if err := syscall.Kill(script, syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := g.wait(t, 30*time.Second); err == nil {
				t.Errorf("make run exited 0 after %s:\n%s", stop, out)
			}
			g.noneLeft(t)
			if _, err := http.Get(dynamo); err == nil {
				t.Errorf("the local DynamoDB %s still answers", dynamo)
			}
		})
	}
}

// TestMakeRunFailsCleanly: every way make run can fail to start exits
// non-zero, says why (and what to run instead), prints no curl line and
// leaves no process of its group running.
func TestMakeRunFailsCleanly(t *testing.T) {
	listening, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listening.Close()
	go func() {
		for {
			c, err := listening.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// A port bound but not listening: the check before the start finds it
	// free, and the server's own bind then fails, as when another program
	// takes the port in between.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	bound := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)

	for _, c := range []struct {
		name string
		env  []string
		says []string
	}{
		{"port in use", runEnv(listening.Addr().String()), []string{"already in use", "ADDR=127.0.0.1:", "make run"}},
		{"port taken at the server's start", runEnv(bound), []string{"address already in use", "did not start on " + bound, "ADDR=127.0.0.1:"}},
		{"not HOST:PORT", runEnv("localhost"), []string{"not HOST:PORT"}},
		// 192.0.2.1 (TEST-NET-1) is no address of this host: the bind
		// fails at once and nothing is sent anywhere.
		{"local DynamoDB fails", runEnv(freeAddr(t), "DYNALITE_HOST=192.0.2.1"), []string{"local DynamoDB did not start"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGroup(t, c.env, "make", "-s", "run")
			out, err := g.wait(t, 90*time.Second)
			if err == nil {
				t.Errorf("make run exited 0:\n%s", out)
			}
			for _, s := range c.says {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, "curl ") {
				t.Errorf("a curl line was printed though nothing serves it:\n%s", out)
			}
			g.noneLeft(t)
		})
	}
}

// TestMakeInvokeStopsEverything: make invoke leaves nothing running, when
// it succeeds and when its event is missing.
func TestMakeInvokeStopsEverything(t *testing.T) {
	for _, c := range []struct {
		event string
		ok    bool
	}{{"events/get-customer-404.json", true}, {"events/no-such-event.json", false}} {
		g := startGroup(t, runEnv(freeAddr(t)), "make", "-s", "invoke", "EVENT="+c.event)
		out, err := g.wait(t, 3*time.Minute)
		if (err == nil) != c.ok {
			t.Errorf("make invoke EVENT=%s: %v, want success %v\n%s", c.event, err, c.ok, out)
		}
		g.noneLeft(t)
	}
}
