package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"os/exec"

	"github.com/cdm/customer-api/internal/devkit/faultproxy"
)

// writeRecords writes n import records to a file, one a line.
func writeRecords(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("customers-%d.ndjson", n))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range n {
		fmt.Fprintf(f, `{"ccid":"S-%07d","first_name":"First%d","last_name":"Last","date_of_birth":"1980-01-%02d","addresses":[{"address1":"%d Main St","city":"Radnor","state_province":"PA","postal_code":"19087","country":"US"}],"notification_channels":[{"channel_type":"sms","channel_addr":"610555%04d","consent_type":"written"}],"ext":{"n":%d,"plan":"gold"}}`+"\n", i, i, i%28+1, i, i%10000, i)
	}
	return path
}

// uninterrupted writes n records to a file and imports it for client
// "whole", and returns the file and that client's export: what an
// interrupted import of the file must end with.
func uninterrupted(t *testing.T, n int) (file, export string) {
	t.Helper()
	file = writeRecords(t, n)
	mustRun(t, "import", "--client", "whole", file)
	export, _ = mustRun(t, "export", "--client", "whole", "--out", "-")
	return file, export
}

// buildCdmctl builds this command, for a test that runs it as a process
// (to kill it).
func buildCdmctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cdmctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// peakLiveHeap runs fn and returns the largest live heap (the heap a
// garbage collection found reachable) the runtime reported meanwhile.
func peakLiveHeap(t *testing.T, fn func()) uint64 {
	t.Helper()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	runtime.GC() // a last collection sees what fn still held at its end
	close(stop)
	wg.Wait()
	return peak
}

// TestImportMemoryDoesNotGrowWithRecords imports 2,000 and then 20,000
// records, plain and with --sync, and compares the largest live heap each
// run needed: ten times the records may not need much more memory. (Holding
// the records, as import once did, needed some 6 KB each: 120 MB against 12.)
func TestImportMemoryDoesNotGrowWithRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 44,000 records; skipped with -short")
	}
	useTables(t)
	small, large := writeRecords(t, 2000), writeRecords(t, 20000)
	for _, args := range [][]string{{"import", "--client", "mem"}, {"import", "--client", "mem", "--sync", "--force"}} {
		run := func(file string) uint64 {
			return peakLiveHeap(t, func() { mustRun(t, append(args, file)...) })
		}
		s := run(small)
		l := run(large)
		t.Logf("%s: peak live heap %.1f MB at 2,000 records, %.1f MB at 20,000", strings.Join(args, " "), float64(s)/1e6, float64(l)/1e6)
		if float64(l) > 1.5*float64(s)+2e6 {
			t.Errorf("%s: %.1f MB at 20,000 records against %.1f MB at 2,000: memory grows with the records", strings.Join(args, " "), float64(l)/1e6, float64(s)/1e6)
		}
	}
}

// TestInterruptedImportResumes stops an import half way, by throttling
// past the retry budget and by cancelling it (Ctrl-C), and continues it
// with the command it prints: the table ends as an uninterrupted import
// leaves it, and what was stored is not written again.
func TestInterruptedImportResumes(t *testing.T) {
	tb := useTables(t)
	const n = 3000
	file, want := uninterrupted(t, n)
	proxy := useProxy(t, tb)
	for _, stop := range []string{"throttling", "cancel"} {
		t.Run(stop, func(t *testing.T) {
			client := "resume-" + stop
			proxy.ResetCounts()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if stop == "throttling" {
				proxy.Set(faultproxy.Config{Fault: faultproxy.Throttling, Operation: "BatchWriteItem", Skip: 50})
			} else {
				proxy.Set(faultproxy.Config{Fault: faultproxy.Delay, Delay: 20 * time.Millisecond, Operation: "BatchWriteItem"})
				go func() {
					for total, _ := proxy.Requests(); total < 50; total, _ = proxy.Requests() {
						time.Sleep(5 * time.Millisecond)
					}
					cancel()
				}()
			}
			var errOut strings.Builder
			err := run(ctx, []string{"import", "--client", client, file}, strings.NewReader(""), io.Discard, &errOut)
			proxy.Set(faultproxy.Config{})
			if err == nil {
				t.Fatalf("the import was not stopped:\n%s", errOut.String())
			}
			stored := len(clientItems(t, tb, client))
			if stored == 0 || stored == n {
				t.Fatalf("%d of %d stored: not stopped half way", stored, n)
			}
			_, again, ok := strings.Cut(errOut.String(), "continue with:\n  ")
			if !ok {
				t.Fatalf("no command to continue with:\n%s", errOut.String())
			}
			words := strings.Fields(strings.SplitN(again, "\n", 2)[0])
			if words[0] != "cdmctl" || words[len(words)-2] != "--resume" {
				t.Fatalf("continue with %q", again)
			}
			proxy.ResetCounts()
			_, resumed := mustRun(t, words[1:]...)
			total, _ := proxy.Requests()
			if left := (n-stored)/25 + 8; total > int64(left)+2 {
				t.Errorf("the resumed run sent %d requests; %d records were left, so it wrote stored ones again\n%s", total, n-stored, resumed)
			}
			if got, _ := mustRun(t, "export", "--client", client, "--out", "-"); got != want || strings.Count(got, "\n") != n {
				t.Errorf("after --resume the export has %d lines, want %d, or they differ", strings.Count(got, "\n"), n)
			}
			if _, err := os.Stat(file + checkpointSuffix); !os.IsNotExist(err) {
				t.Errorf("the checkpoint is left after the run ended: %v", err)
			}
			if _, _, err := cdmctl(t, "", words[1:]...); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
				t.Errorf("--resume with nothing to resume: %v", err)
			}
		})
	}
}

// TestImportTwiceAtOnce: the same import run twice at the same time ends
// with every record stored once and no checkpoint left; a checkpoint of
// another file, or of another client, is refused by --resume.
func TestImportTwiceAtOnce(t *testing.T) {
	tb := useTables(t)
	file := writeRecords(t, 1500)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = cdmctl(t, "", "import", "--client", "twice", file)
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("%v / %v", errs[0], errs[1])
	}
	if n := len(clientItems(t, tb, "twice")); n != 1500 {
		t.Errorf("%d stored, want 1500", n)
	}
	if _, err := os.Stat(file + checkpointSuffix); !os.IsNotExist(err) {
		t.Errorf("a checkpoint is left: %v", err)
	}
	left, _ := filepath.Glob(file + checkpointSuffix + ".*")
	if len(left) > 0 {
		t.Errorf("temporary checkpoint files left: %v", left)
	}
	cp := fmt.Sprintf(`{"file_sha256":"0000","client_id":"twice","table":%q,"stored_through_line":10,"stored_records":10}`, tb.Customers)
	if err := os.WriteFile(file+checkpointSuffix, []byte(cp), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cdmctl(t, "", "import", "--client", "twice", "--resume", file); err == nil || !strings.Contains(err.Error(), "changed since the run") {
		t.Errorf("--resume of a file that changed: %v", err)
	}
}

// TestImportKilledAndResumed: an import killed (SIGKILL) after its
// checkpoint was written is continued with --resume to the end an
// uninterrupted import reaches.
func TestImportKilledAndResumed(t *testing.T) {
	tb := useTables(t)
	const n = 2000
	file, want := uninterrupted(t, n)
	bin := buildCdmctl(t)
	proxy := useProxy(t, tb)
	proxy.Set(faultproxy.Config{Fault: faultproxy.Delay, Delay: 50 * time.Millisecond, Operation: "BatchWriteItem"})
	cmd := exec.Command(bin, "import", "--client", "killed", "--in-flight", "2", file) // #nosec G204 -- the binary this test built
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The checkpoint is first written a second after the run starts.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(file + checkpointSuffix); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("no checkpoint within 30 s")
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	proxy.Set(faultproxy.Config{})
	stored := len(clientItems(t, tb, "killed"))
	if stored == 0 || stored == n {
		t.Fatalf("%d of %d stored when killed: the test proves nothing", stored, n)
	}
	_, msg := mustRun(t, "import", "--client", "killed", "--in-flight", "2", "--resume", file)
	if !strings.Contains(msg, "resuming after line") {
		t.Errorf("the resumed run said %q", msg)
	}
	if got, _ := mustRun(t, "export", "--client", "killed", "--out", "-"); got != want {
		t.Errorf("after kill -9 and --resume the export differs from an uninterrupted import's (%d lines, want %d)", strings.Count(got, "\n"), n)
	}
}

// TestDeleteFileInChunks: delete --file of more ccids than one chunk
// erases them all, names what was not stored, and counts right.
func TestDeleteFileInChunks(t *testing.T) {
	tb := useTables(t)
	const n = 2*ccidChunk + 500
	mustRun(t, "import", "--client", "del", writeRecords(t, n))
	export, _ := mustRun(t, "export", "--client", "del", "--out", "-")
	file := writeLines(t, "del.ndjson", []string{strings.TrimSpace(export), "NOT-STORED-1"})
	if _, _, err := cdmctl(t, "", "delete", "--client", "del", "--file", file); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("up to %d customers", n+1)) {
		t.Errorf("without --yes: %v", err)
	}
	_, msg := mustRun(t, "delete", "--client", "del", "--yes", "--file", file)
	if !strings.Contains(msg, fmt.Sprintf("erased %d, not stored 1, of %d requested", n, n+1)) || !strings.Contains(msg, "not stored: NOT-STORED-1") {
		t.Errorf("delete said %q", msg[max(0, len(msg)-300):])
	}
	if left := len(clientItems(t, tb, "del")); left != 0 {
		t.Errorf("%d left", left)
	}
}

// TestStdinCopyLeavesNothing: while an import copies its standard input,
// the temporary folder holds no file of it (the copy is unlinked at once,
// so a kill -9 leaves no patient data behind), and the import still reads
// the copy twice and stores every record.
func TestStdinCopyLeavesNothing(t *testing.T) {
	tb := useTables(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"import", "--client", "stdin", "-"}, pr, io.Discard, io.Discard)
	}()
	for i := range 300 {
		fmt.Fprintf(pw, `{"ccid":"IN-%04d","first_name":"Zoë"}`+"\n", i)
	}
	// The import is now copying, blocked on the pipe.
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("while copying standard input, %s holds %v", tmp, left)
	}
	for i := 300; i < 600; i++ {
		fmt.Fprintf(pw, `{"ccid":"IN-%04d","first_name":"Zoë"}`+"\n", i)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(clientItems(t, tb, "stdin")); n != 600 {
		t.Errorf("%d stored, want 600", n)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("after the import, %s holds %v", tmp, left)
	}
}
