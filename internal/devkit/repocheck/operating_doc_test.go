package repocheck

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/devkit/dynalite"
	"github.com/cdm/customer-api/internal/devkit/lambdarun"
)

// docBlock is a ```sh block of a doc page and the marker before it:
// <!-- run: GROUP --> or <!-- not run: REASON -->.
type docBlock struct {
	line          int
	group, notRun string
	text          []string
}

var blockMarker = regexp.MustCompile(`^<!-- (run|not run): (.+) -->$`)

func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path) // #nosec G304 -- a doc page of this repository
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	var cur *docBlock
	marker := ""
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text = append(cur.text, line)
		case strings.TrimSpace(line) == "```sh":
			cur = &docBlock{line: i + 1}
			if m := blockMarker.FindStringSubmatch(marker); m != nil && m[1] == "run" {
				cur.group = m[2]
			} else if m != nil {
				cur.notRun = m[2]
			}
		}
		if strings.TrimSpace(line) != "" {
			marker = strings.TrimSpace(line)
		}
	}
	return blocks
}

// docCommand is one command of a block (continuation lines joined) and
// the "# " lines the doc shows after it as its output.
type docCommand struct {
	text   string
	output []string
}

func docCommands(text []string) []docCommand {
	var cmds []docCommand
	for i := 0; i < len(text); i++ {
		line := strings.TrimSpace(text[i])
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			if len(cmds) > 0 {
				cmds[len(cmds)-1].output = append(cmds[len(cmds)-1].output, strings.TrimSpace(strings.TrimPrefix(line, "#")))
			}
		default:
			cmd := text[i]
			for strings.HasSuffix(strings.TrimSpace(cmd), "\\") && i+1 < len(text) {
				i++
				cmd += "\n" + text[i]
			}
			cmds = append(cmds, docCommand{text: cmd})
		}
	}
	return cmds
}

// TestOperatingDocBlocksRun: every shell block of docs/operating.md is
// either marked <!-- not run: REASON --> (it needs AWS, or stands for the
// operator's own values) or <!-- run: GROUP -->. Each group's blocks run in
// order, as pasted, in one shell against a fresh local stack like make
// run's (its addresses put where the doc says 127.0.0.1:3000 and PORT).
// A command fails the test when it is not found, or exits non-zero where
// the doc shows no cdmctl error after it; a "cdmctl: ..." line the doc
// shows must be printed (up to its first digit, where times and counts
// start), and so must an "exit status N" or an HTTP status it shows.
func TestOperatingDocBlocksRun(t *testing.T) {
	groups := map[string][]docBlock{}
	var order []string
	for _, b := range docBlocks(t, "docs/operating.md") {
		switch {
		case b.group != "":
			if _, ok := groups[b.group]; !ok {
				order = append(order, b.group)
			}
			groups[b.group] = append(groups[b.group], b)
		case b.notRun == "":
			t.Errorf("docs/operating.md:%d: a shell block with neither <!-- run: GROUP --> nor <!-- not run: REASON --> before it", b.line)
		}
	}
	if len(order) < 4 {
		t.Fatalf("only %d groups of blocks to run", len(order))
	}
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "cdmctl"), "./cmd/cdmctl").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, g := range order {
		t.Run(g, func(t *testing.T) { runDocGroup(t, filepath.Join(bin, "cdmctl"), groups[g]) })
	}
}

func runDocGroup(t *testing.T, cdmctl string, blocks []docBlock) {
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cdmctl, filepath.Join(work, "bin", "cdmctl")); err != nil {
		t.Fatal(err)
	}
	db, err := dynalite.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Stop)
	env := append(lambdarun.Unset(os.Environ(), "HOME", "AWS_PROFILE", "AWS_SESSION_TOKEN", "SMOKE_KEY"),
		"HOME="+filepath.Join(work, "home"), "DYNAMODB_ENDPOINT="+db.Endpoint, "CUSTOMERS_TABLE=cdm-customers", "API_KEYS_TABLE=cdm-api-keys",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_EC2_METADATA_DISABLED=true", "API_KEY_CACHE_TTL=0")
	run := func(stdin string, args ...string) {
		cmd := exec.Command(cdmctl, args...) // #nosec G204 -- the binary this test built
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cdmctl %v: %v\n%s", args, err, out)
		}
	}
	// What make run loads.
	root, _ := os.Getwd()
	run("", "tables", "create")
	run("cdmk_local_dev_key_do_not_use_in_prod\n", "keys", "create", "--client", "demo-clinic", "--key", "-", "--label", "local development")
	run("", "import", "--client", "demo-clinic", filepath.Join(root, "sample", "customers.ndjson"))

	// The API, its access lines where the doc's make-run-output.log is.
	log, err := os.Create(filepath.Join(work, "make-run-output.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	serve := exec.Command(cdmctl, "serve", "--addr", "127.0.0.1:0") // #nosec G204 -- the binary this test built
	serve.Env, serve.Stdout = env, log
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := regexp.MustCompile(`serving http://([0-9.:]+)/`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var api string
	select {
	case api = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("cdmctl serve did not start within 30 s")
	}

	// One shell for the group; each command's output and status to files.
	var script strings.Builder
	script.WriteString("set +e\n")
	var cmds []docCommand
	for _, b := range blocks {
		for _, c := range docCommands(b.text) {
			i := len(cmds)
			text := strings.ReplaceAll(c.text, "127.0.0.1:3000", api)
			text = strings.ReplaceAll(text, "http://127.0.0.1:PORT", db.Endpoint)
			fmt.Fprintf(&script, "{\n%s\n} >\"$DOC_OUT/out.%d\" 2>\"$DOC_OUT/err.%d\" </dev/null\necho $? >\"$DOC_OUT/status.%d\"\n", text, i, i, i)
			cmds = append(cmds, c)
		}
	}
	outDir := t.TempDir()
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir, sh.Env = work, append(env, "DOC_OUT="+outDir)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the group's shell: %v\n%s", err, out)
	}
	read := func(name string, i int) string {
		b, _ := os.ReadFile(filepath.Join(outDir, fmt.Sprintf("%s.%d", name, i)))
		return string(b)
	}
	for i, c := range cmds {
		status, _ := strconv.Atoi(strings.TrimSpace(read("status", i)))
		stdout, stderr := read("out", i), read("err", i)
		says := func(format string, a ...any) {
			t.Errorf("%s\n  %s\n  (exit %d)\nstdout:\n%s\nstderr:\n%s", c.text, fmt.Sprintf(format, a...), status, stdout, stderr)
		}
		shownError := false
		for _, want := range c.output {
			switch {
			case strings.HasPrefix(want, "cdmctl:"):
				shownError = true
				if p := upToDigit(want); !strings.Contains(stderr, p) {
					says("the doc shows %q, not printed", p)
				}
			case strings.HasPrefix(want, "exit status "), regexp.MustCompile(`^[0-9]{3}$`).MatchString(want):
				if !strings.Contains(stdout, want) {
					says("the doc shows %q, not printed", want)
				}
			}
		}
		switch {
		case status == 127:
			says("a command was not found")
		case status != 0 && !shownError:
			says("it failed, and the doc shows no error after it")
		}
	}
}

// upToDigit returns s up to its first digit, where times and counts begin.
func upToDigit(s string) string {
	if i := strings.IndexAny(s, "0123456789"); i > 0 {
		return s[:i]
	}
	return s
}
