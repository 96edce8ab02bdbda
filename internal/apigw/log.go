package apigw

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/cdm/customer-api/internal/apikey"

	"github.com/cdm/customer-api/internal/emf"
)

// MetricsNamespace is the CloudWatch namespace of the request metrics.
const MetricsNamespace = "CDM/CustomerAPI"

// Metric dimensions. FunctionName tells the stacks in one account and region
// apart (Lambda's function name is unique there); Status splits by outcome.
// Nothing of a caller or a customer becomes a dimension.
const (
	DimensionFunctionName = "FunctionName"
	DimensionStatus       = "Status"
)

// metricsDirective is the constant part of the CloudWatch Embedded Metric
// Format directive that rides on each access line, so that request count and
// latency become metrics with no agent and no API call: by function and
// status (what the 500 alarm watches), and by function alone (latency
// percentiles over all requests). It is written out rather than marshalled
// at init, which would build encoding/json's codecs before the first
// request; a test holds it equal to metricsDirectiveValue's encoding.
var metricsDirective = emf.TrustedJSON(`[{"Dimensions":[["` + DimensionFunctionName + `","` + DimensionStatus + `"],["` + DimensionFunctionName + `"]],` +
	`"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}],"Namespace":"` + MetricsNamespace + `"}]`)

// metricsDirectiveValue is what metricsDirective says, as data.
func metricsDirectiveValue() any {
	return []map[string]any{{
		"Namespace":  MetricsNamespace,
		"Dimensions": [][]string{{DimensionFunctionName, DimensionStatus}, {DimensionFunctionName}},
		"Metrics": []map[string]string{
			{"Name": "Requests", "Unit": "Count"},
			{"Name": "Latency", "Unit": "Milliseconds"},
		},
	}}
}

// maxLoggedID bounds what a caller-chosen identifier can add to a log line.
const maxLoggedID = 128

// logRequest writes the one access line of a request: who (key hash prefix)
// read which record (client_id, ccid), with what outcome. Nothing else of the
// request or the customer is logged.
func (h *Handler) logRequest(ctx context.Context, requestID, clientID, ccid, keyHash string, status int, latency time.Duration, cold bool, cause error) {
	now := time.Now()
	ms := float64(latency.Microseconds()) / 1000
	attrs := []slog.Attr{
		slog.String("request_id", requestID),
		slog.String("client_id", truncate(clientID)),
		slog.String("ccid", truncate(ccid)),
		slog.Int("status", status),
		slog.Float64("latency_ms", ms),
		slog.String("key_hash_prefix", apikey.HashPrefix(keyHash)),
		slog.Bool("cold_start", cold),
		slog.Group("_aws",
			slog.Int64("Timestamp", now.UnixMilli()),
			slog.Any("CloudWatchMetrics", metricsDirective),
		),
		slog.String(DimensionFunctionName, h.functionName),
		slog.String(DimensionStatus, strconv.Itoa(status)),
		slog.Int("Requests", 1),
		slog.Float64("Latency", ms),
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
		if cause != nil {
			// Causes are this product's own errors, which name operations,
			// tables and attributes, never values.
			attrs = append(attrs, slog.String("error", cause.Error()))
		}
	}
	// Straight to the handler: Logger.LogAttrs would also walk the stack for
	// a source location that no access line shows.
	handler := h.log.Handler()
	if !handler.Enabled(ctx, level) {
		return
	}
	rec := slog.NewRecord(now, level, "request", 0)
	rec.AddAttrs(attrs...)
	_ = handler.Handle(ctx, rec)
}

// LogGatewayAnswer writes the access line of a request the gateway in front
// answered itself (no route, wrong method), as API Gateway's own logs would
// carry it: no path, no key, which may name a record no one read.
func (h *Handler) LogGatewayAnswer(ctx context.Context, requestID string, status int, latency time.Duration) {
	h.logRequest(ctx, requestID, "", "", "", status, latency, false, nil)
}

func truncate(s string) string {
	if len(s) <= maxLoggedID {
		return s
	}
	return s[:maxLoggedID]
}
