package apigw

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
	slog.New(NewEMFHandler(&emf, nil)).With("fixed", "v").LogAttrs(t.Context(), slog.LevelWarn, "msg \"x\"", attrs...)
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
	slog.New(NewEMFHandler(&quiet, slog.LevelError)).Info("dropped")
	if quiet.Len() != 0 {
		t.Error("a record below the level was written")
	}
}

func TestMetricsDirectiveIsValidEMF(t *testing.T) {
	var d []map[string]any
	if err := json.Unmarshal(metricsDirective, &d); err != nil || len(d) != 1 {
		t.Fatalf("directive: %v", err)
	}
	if d[0]["Namespace"] != MetricsNamespace || d[0]["Dimensions"] == nil || d[0]["Metrics"] == nil {
		t.Errorf("directive %v", d)
	}
}

// BenchmarkAccessLine writes the access line through slog's JSONHandler and
// through EMFHandler.
func BenchmarkAccessLine(b *testing.B) {
	h := NewHandler(nil, nil, nil, time.Second)
	for name, handler := range map[string]slog.Handler{
		"JSONHandler": slog.NewJSONHandler(io.Discard, nil),
		"EMFHandler":  NewEMFHandler(io.Discard, nil),
	} {
		b.Run(name, func(b *testing.B) {
			h.log = slog.New(handler)
			b.ReportAllocs()
			for b.Loop() {
				h.logRequest(b.Context(), "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "demo-clinic", "BAK-11984-007", apikeyHash, 200, 1500*time.Microsecond, false, nil)
			}
		})
	}
}

const apikeyHash = "8ddc1ae8a1b2c3d4e5f60718293a4b5c6d7e8f901a2b3c4d5e6f708192a3b4c5"

// TestMetricsDirectiveIsItsValue: the directive written out in log.go is
// the JSON encoding of what it says, so the metrics CloudWatch extracts are
// the ones metricsDirectiveValue names.
func TestMetricsDirectiveIsItsValue(t *testing.T) {
	want, err := json.Marshal(metricsDirectiveValue())
	if err != nil {
		t.Fatal(err)
	}
	if string(metricsDirective) != string(want) {
		t.Errorf("metricsDirective is\n%s\nwant\n%s", metricsDirective, want)
	}
}
