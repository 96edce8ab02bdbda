package customer

import (
	"bufio"
	"bytes"
	"errors"
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

// maxRecordBytes bounds one record of an import file: far above any record
// the documented limits allow, it keeps a file without line breaks (or a
// broken array) from being read whole into memory.
const maxRecordBytes = 4 << 20

// ScanImport reads an import file a record at a time, holding one record at
// most: NDJSON (one object a line; blank lines are skipped) or one JSON
// array of objects. It calls take with each record's first line and bytes,
// which are valid only until take returns. It fails when the input cannot
// be read, an array is malformed (naming the line), a record is longer than
// 4 MiB, or take fails.
func ScanImport(r io.Reader, take func(line int, data []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := firstNonSpace(br)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	if first == '[' {
		return scanArray(br, take)
	}
	return scanLines(br, take)
}

// ReadImport reads a whole import file, for small ones: the valid records,
// and the rejects, a CCID given again among them (naming the line where it
// first appeared).
func ReadImport(r io.Reader) ([]Entry, []Reject, error) {
	var entries []Entry
	var rejects []Reject
	seen := map[string]int{}
	err := ScanImport(r, func(line int, data []byte) error {
		c, err := ParseRecord(data)
		if err != nil {
			rejects = append(rejects, Reject{Line: line, Errors: err.(InvalidError)})
			return nil
		}
		if at, dup := seen[*c.CCID]; dup {
			rejects = append(rejects, Reject{Line: line, Errors: DuplicateOf(at)})
			return nil
		}
		seen[*c.CCID] = line
		entries = append(entries, Entry{Line: line, Customer: c})
		return nil
	})
	return entries, rejects, err
}

// DuplicateOf is the reject of a record whose CCID line first holds.
func DuplicateOf(first int) InvalidError {
	return InvalidError{{"ccid", fmt.Sprintf("duplicate of line %d", first)}}
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

var errRecordTooLong = errors.New("import: a record longer than 4 MiB") // maxRecordBytes

func scanLines(br *bufio.Reader, take func(int, []byte) error) error {
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		var err error
		for {
			var part []byte
			part, err = br.ReadSlice('\n')
			buf = append(buf, part...)
			if len(buf) > maxRecordBytes {
				return fmt.Errorf("line %d: %w", line, errRecordTooLong)
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if len(bytes.TrimSpace(buf)) > 0 {
			if terr := take(line, buf); terr != nil {
				return terr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// arrayReader reads a JSON array's elements from a stream, counting lines.
type arrayReader struct {
	br   *bufio.Reader
	line int
	buf  []byte
}

func (a *arrayReader) next() (byte, error) {
	b, err := a.br.ReadByte()
	if b == '\n' {
		a.line++
	}
	return b, err
}

// skipSpace returns the next byte that is not white space.
func (a *arrayReader) skipSpace() (byte, error) {
	for {
		b, err := a.next()
		if err != nil || !isSpace(b) {
			return b, err
		}
	}
}

func (a *arrayReader) malformed(what string) error {
	return fmt.Errorf("import: line %d: %s", a.line, what)
}

// element reads one element starting with b into a.buf, up to the byte
// after it, which it returns: strings, objects and arrays by their
// delimiters, anything else up to a delimiter or white space.
func (a *arrayReader) element(b byte) (byte, error) {
	a.buf = append(a.buf[:0], b)
	depth, inString, escaped := 0, false, false
	switch b {
	case '{', '[':
		depth = 1
	case '"':
		inString = true
	}
	for {
		c, err := a.next()
		if err == io.EOF {
			return 0, a.malformed("the array does not end")
		}
		if err != nil {
			return 0, err
		}
		if depth == 0 && !inString && (c == ',' || c == ']' || isSpace(c)) {
			return c, nil
		}
		a.buf = append(a.buf, c)
		if len(a.buf) > maxRecordBytes {
			return 0, fmt.Errorf("line %d: %w", a.line, errRecordTooLong)
		}
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
			if !inString && depth == 0 {
				c, err := a.next()
				return c, err
			}
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				c, err := a.next()
				if err == io.EOF {
					return 0, a.malformed("the array does not end")
				}
				return c, err
			}
		}
	}
}

func scanArray(br *bufio.Reader, take func(int, []byte) error) error {
	a := &arrayReader{br: br, line: 1}
	if b, err := a.skipSpace(); err != nil || b != '[' {
		return a.malformed("want a JSON array")
	}
	b, err := a.skipSpace()
	if err != nil {
		return a.malformed("the array does not end")
	}
	if b != ']' {
		for {
			start := a.line
			if b == ',' || b == ']' {
				return a.malformed("an empty element")
			}
			if b, err = a.element(b); err != nil {
				return err
			}
			if err := take(start, a.buf); err != nil {
				return err
			}
			if isSpace(b) {
				if b, err = a.skipSpace(); err != nil {
					return a.malformed("the array does not end")
				}
			}
			if b == ']' {
				break
			}
			if b != ',' {
				return a.malformed("want , or ] after an element")
			}
			if b, err = a.skipSpace(); err != nil {
				return a.malformed("the array does not end")
			}
		}
	}
	if _, err := a.skipSpace(); err != io.EOF {
		return fmt.Errorf("import: data after the array at line %d", a.line)
	}
	return nil
}
