package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// TestEMFHandlerMatchesJSONHandler logs the same record through slog's
// JSONHandler and EMFHandler and compares the decoded lines.
func TestEMFHandlerMatchesJSONHandler(t *testing.T) {
	attrs := []slog.Attr{
		slog.String("s", "quote\" \\ \n \x01 \xff é <&>"),
		slog.Int("i", -42), slog.Uint64("u", 7), slog.Float64("f", 1.25), slog.Bool("b", true),
		slog.Duration("d", 1500*time.Millisecond), slog.Time("t", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)),
		slog.Group("g", slog.Int("n", 1), slog.Group("h", slog.String("x", "y"))),
		slog.Any("raw", json.RawMessage(`[{"a":1}]`)), slog.Any("err", errors.New("boom")),
		slog.Any("slice", []int{1, 2}),
	}
	decode := func(line []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		delete(m, "time")
		return m
	}
	var std, emf bytes.Buffer
	slog.New(slog.NewJSONHandler(&std, nil)).LogAttrs(t.Context(), slog.LevelWarn, "msg \"x\"", attrs...)
	slog.New(NewHandler(&emf, nil)).With("fixed", "v").LogAttrs(t.Context(), slog.LevelWarn, "msg \"x\"", attrs...)
	want, got := decode(std.Bytes()), decode(emf.Bytes())
	if got["fixed"] != "v" {
		t.Errorf("WithAttrs lost: %v", got)
	}
	delete(got, "fixed")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EMF handler wrote\n%s\nslog.JSONHandler wrote\n%s", emf.String(), std.String())
	}
	if bytes.Count(emf.Bytes(), []byte("\n")) != 1 {
		t.Error("want exactly one line")
	}
	var quiet bytes.Buffer
	slog.New(NewHandler(&quiet, slog.LevelError)).Info("dropped")
	if quiet.Len() != 0 {
		t.Error("a record below the level was written")
	}
}
