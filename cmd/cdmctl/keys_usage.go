package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// keyUse is what the access lines say of one key used for one client.
type keyUse struct {
	prefix, client string
	requests       int
	first, last    time.Time
}

var keysUsageCommand = &command{name: "keys usage", args: "[--since DURATION] [FILE|-]",
	summary: "requests per key from access lines: first and last seen", run: keysUsage}

// keysUsage answers, from access lines (the function's log, or cdmctl
// serve's stdout), what the saved query keys-in-use answers in CloudWatch:
// requests per key hash prefix and client (a key used on another client's
// path shows there too, refused), first and last seen. A key absent from the answer was not used in the period.
func keysUsage(_ context.Context, inv *invocation, args []string) error {
	sio, fs := inv.stdio, inv.fs
	since := fs.Duration("since", 0, "only lines of the last `duration`, such as 720h; 0: all")
	if err := parse(fs, args, -1); err != nil {
		return err
	}
	if fs.NArg() > 1 || *since < 0 {
		return fmt.Errorf("%w: keys usage takes at most one FILE (- or none: standard input) and a positive --since", errUsage)
	}
	in := sio.in
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name) // #nosec G304 G703 -- the operator names the file
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	uses, err := readUses(in, *since)
	if err != nil {
		return err
	}
	if len(uses) == 0 {
		fmt.Fprintln(sio.err, "no request with a key in these lines")
		return nil
	}
	w := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tCLIENT\tREQUESTS\tFIRST SEEN\tLAST SEEN")
	for _, u := range uses {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", u.prefix, u.client, u.requests, u.first.UTC().Format(time.RFC3339), u.last.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

// readUses groups the access lines of in by key and client, most recently
// used first. Lines that are not access lines are skipped.
func readUses(in io.Reader, since time.Duration) ([]keyUse, error) {
	byKey := map[[2]string]*keyUse{}
	cutoff := time.Time{}
	if since > 0 {
		cutoff = time.Now().Add(-since)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		// Lambda's text log format may put a prefix before the JSON.
		if i := strings.IndexByte(string(line), '{'); i > 0 {
			line = line[i:]
		}
		var l struct {
			Msg    string    `json:"msg"`
			Time   time.Time `json:"time"`
			Key    string    `json:"key_hash_prefix"`
			Client string    `json:"client_id"`
		}
		if json.Unmarshal(line, &l) != nil || l.Msg != "request" || l.Key == "" || l.Time.Before(cutoff) {
			continue
		}
		u := byKey[[2]string{l.Key, l.Client}]
		if u == nil {
			u = &keyUse{prefix: l.Key, client: l.Client, first: l.Time}
			byKey[[2]string{l.Key, l.Client}] = u
		}
		u.requests++
		if l.Time.Before(u.first) {
			u.first = l.Time
		}
		if l.Time.After(u.last) {
			u.last = l.Time
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]keyUse, 0, len(byKey))
	for _, u := range byKey {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b keyUse) int {
		if c := b.last.Compare(a.last); c != 0 {
			return c
		}
		return strings.Compare(a.prefix+a.client, b.prefix+b.client)
	})
	return out, nil
}
