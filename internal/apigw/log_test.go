package apigw

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/emf"
)

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
// through emf.Handler.
func BenchmarkAccessLine(b *testing.B) {
	h := NewHandler(nil, nil, nil, time.Second)
	for name, handler := range map[string]slog.Handler{
		"JSONHandler": slog.NewJSONHandler(io.Discard, nil),
		"emf.Handler": emf.NewHandler(io.Discard, nil),
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
