package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cdm/customer-api/internal/customer"
)

// checkpointState is what an import's checkpoint file holds: which file,
// client and table, and the line up to which every valid record is stored.
// No record's data is in it.
type checkpointState struct {
	File    string `json:"file_sha256"`
	Client  string `json:"client_id"`
	Table   string `json:"table"`
	Through int    `json:"stored_through_line"`
	Stored  int    `json:"stored_records"`
}

// checkpoint keeps an import's checkpoint file current: written (replaced
// whole) at most once a second as batches finish, when the run stops, and
// removed when it ends well. Standard input has none: its copy is gone
// when the run ends.
type checkpoint struct {
	path  string // "" when the run keeps none
	w     io.Writer
	args  string // the command line that continues the run
	mu    sync.Mutex
	state checkpointState
	saved time.Time
	// base is what a resumed run found stored already
	base int
}

const checkpointSuffix = ".checkpoint"

// startCheckpoint begins the checkpoint of an import of src, or, with
// resume, reads the one a stopped run of the same file, client and table
// left, and continues from it.
func startCheckpoint(src *importSource, check *importCheck, client customer.ClientID, table string, o importOptions, w io.Writer) (*checkpoint, error) {
	cp := &checkpoint{w: w, args: o.again, state: checkpointState{File: check.sum, Client: client.String(), Table: table}}
	resume := o.resume
	if src.copy != nil {
		return cp, nil
	}
	cp.path = src.path + checkpointSuffix
	if !resume {
		return cp, nil
	}
	data, err := os.ReadFile(cp.path) // #nosec G304 G703 -- beside the file the operator names
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: --resume: no checkpoint %s: nothing to continue (run without --resume)", errUsage, cp.path)
	}
	if err != nil {
		return nil, err
	}
	var was checkpointState
	if err := json.Unmarshal(data, &was); err != nil {
		return nil, fmt.Errorf("--resume: %s is not a checkpoint: %v", cp.path, err)
	}
	switch {
	case was.File != check.sum:
		return nil, fmt.Errorf("--resume: %s changed since the run that left %s; run without --resume", src.name, cp.path)
	case was.Client != client.String() || was.Table != table:
		return nil, fmt.Errorf("--resume: %s is of client %s in table %s, not of client %s in %s", cp.path, was.Client, was.Table, client, table)
	}
	cp.state, cp.base = was, was.Stored
	fmt.Fprintf(w, "resuming after line %d: %d records stored already\n", was.Through, was.Stored)
	return cp, nil
}

// through hears that every valid record up to line is stored, n of them
// in this run.
func (cp *checkpoint) through(line, n int) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.state.Through, cp.state.Stored = line, cp.base+n
	if time.Since(cp.saved) >= time.Second {
		cp.save()
	}
}

func (cp *checkpoint) save() {
	if cp.path == "" {
		return
	}
	data, _ := json.Marshal(cp.state)
	// A file of its own, then renamed over the checkpoint: a reader (or a
	// second run of the same file) never sees half of one.
	f, err := os.CreateTemp(filepath.Dir(cp.path), filepath.Base(cp.path)+".*.tmp")
	if err == nil {
		_, err = f.Write(append(data, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), cp.path) // #nosec G703 -- beside the file the operator names
		}
		if err != nil {
			_ = os.Remove(f.Name()) // #nosec G703 -- the temporary file this command made
		}
	}
	if err != nil {
		fmt.Fprintf(cp.w, "cdmctl: warning: no checkpoint: %v\n", err)
		cp.path = ""
		return
	}
	cp.saved = time.Now()
}

// done ends a run that stored everything: nothing is left to continue.
func (cp *checkpoint) done() {
	if cp.path != "" {
		_ = os.Remove(cp.path) // #nosec G703 -- beside the file the operator names
	}
}

// stopped saves where a stopped run got to and says how to continue.
func (cp *checkpoint) stopped(err error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.path == "" {
		fmt.Fprintf(cp.w, "import stopped (%v): records up to line %d are stored; standard input cannot be resumed: run again from a file (what is stored is written again)\n", err, cp.state.Through)
		return
	}
	cp.save()
	fmt.Fprintf(cp.w, "import stopped (%v): every record up to line %d is stored (%s); continue with:\n  %s\n", err, cp.state.Through, cp.path, cp.args)
}
