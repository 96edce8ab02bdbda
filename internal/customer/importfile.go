package customer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Entry is one valid record of an import file.
type Entry struct {
	Line     int // 1-based line of the record (of its start, in a JSON array)
	Customer Customer
}

// Reject is one invalid record of an import file.
type Reject struct {
	Line   int
	Errors InvalidError
}

// ReadImport reads customers as NDJSON (one object a line; blank lines are
// skipped) or as one JSON array of objects, and sorts them into valid entries
// and rejects. A CCID that appears again is rejected, naming the line where it
// first appeared. It fails only when the input cannot be read at all.
func ReadImport(r io.Reader) ([]Entry, []Reject, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := firstNonSpace(br)
	if err == io.EOF {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var entries []Entry
	var rejects []Reject
	seen := map[string]int{}
	take := func(line int, data []byte) {
		c, err := ParseRecord(data)
		if err != nil {
			rejects = append(rejects, Reject{Line: line, Errors: err.(InvalidError)})
			return
		}
		if at, dup := seen[*c.CCID]; dup {
			rejects = append(rejects, Reject{Line: line, Errors: InvalidError{{"ccid", fmt.Sprintf("duplicate of line %d", at)}}})
			return
		}
		seen[*c.CCID] = line
		entries = append(entries, Entry{Line: line, Customer: c})
	}
	if first == '[' {
		err = readArray(br, take)
	} else {
		err = readLines(br, take)
	}
	return entries, rejects, err
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, br.UnreadByte()
		}
	}
}

func readLines(br *bufio.Reader, take func(int, []byte)) error {
	for line := 1; ; line++ {
		data, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(data)) > 0 {
			take(line, data)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readArray hands each element of a JSON array to take with the line it
// starts on; a malformed array ends the read with an error.
func readArray(br *bufio.Reader, take func(int, []byte)) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("import: element at line %d: %w", lineAt(data, dec.InputOffset()), err)
		}
		start := dec.InputOffset() - int64(len(raw))
		take(lineAt(data, start), raw)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("import: data after the array at line %d", lineAt(data, dec.InputOffset()))
	}
	return nil
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return 1 + bytes.Count(data[:offset], []byte{'\n'})
}
