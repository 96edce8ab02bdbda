package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// trackedLarge lists tracked files allowed over maxTracked bytes, each with
// its reason; none is.
var trackedLarge = map[string]string{}

const maxTracked = 1 << 20

// TestNothingBuiltIsTracked fails when a tracked file is an executable
// binary (ELF, Mach-O, PE) or larger than 1 MB: what is built belongs in
// bin/ or .aws-sam/, which are ignored.
func TestNothingBuiltIsTracked(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 50 {
		t.Fatalf("git ls-files listed %d files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f) // #nosec G304 -- a file git tracks
		if err != nil {
			continue // deleted in the working tree
		}
		for _, magic := range [][]byte{{0x7f, 'E', 'L', 'F'}, {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, []byte("MZ")} {
			if bytes.HasPrefix(data, magic) {
				t.Errorf("%s is an executable binary: build it into bin/ instead (git rm --cached %s)", f, f)
			}
		}
		if _, ok := trackedLarge[f]; !ok && len(data) > maxTracked {
			t.Errorf("%s is %d bytes, over 1 MB: is it built? (an exception needs an entry, with its reason, in trackedLarge)", f, len(data))
		}
	}
}
