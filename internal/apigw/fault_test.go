package apigw_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cdm/customer-api/internal/apigw"
	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/devkit/faultproxy"
	"github.com/cdm/customer-api/internal/devkit/testenv"
	"github.com/cdm/customer-api/internal/dynamo"
	"github.com/cdm/customer-api/internal/emf"
)

const (
	faultStorageTimeout = 800 * time.Millisecond
	invocationTimeout   = 1500 * time.Millisecond
	maxAttemptsPerRead  = 3 // env.DynamoDB's retryer
)

// faultyAPI is a handler whose DynamoDB traffic goes through a fault proxy.
func faultyAPI(t *testing.T) (*apigw.Handler, *faultproxy.Proxy, *bytes.Buffer, testenv.Tables) {
	t.Helper()
	tb := testenv.NewTables(t)
	tb.LoadSample(t)
	proxy, err := faultproxy.Start(tb.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	store := dynamo.NewStore(testenv.Client(t, proxy.URL), tb.Customers, tb.Keys)
	var log bytes.Buffer
	// No key cache: every request reads the keys table, so its faults show.
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, 0), slog.New(emf.NewHandler(&log, nil)), faultStorageTimeout)
	return h, proxy, &log, tb
}

func invoke(t *testing.T, h *apigw.Handler) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), invocationTimeout)
	defer cancel()
	start := time.Now()
	resp, err := handle(ctx, h, request(testenv.DevClient, sampleCCID, withKey(testenv.DevKey)))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	checkCommon(t, resp)
	return resp.StatusCode, resp.Body, took
}

func TestFaultsEndIn500WithinTheDeadline(t *testing.T) {
	h, proxy, log, _ := faultyAPI(t)
	cases := []struct {
		name  string
		cfg   faultproxy.Config
		retry bool // the SDK should try again
	}{
		{"slower than the storage deadline", faultproxy.Config{Fault: faultproxy.Delay, Delay: 3 * time.Second}, false},
		{"connection reset", faultproxy.Config{Fault: faultproxy.Reset}, true},
		{"ProvisionedThroughputExceeded", faultproxy.Config{Fault: faultproxy.ThroughputExceeded}, true},
		{"ThrottlingException", faultproxy.Config{Fault: faultproxy.Throttling}, true},
		{"HTTP 500", faultproxy.Config{Fault: faultproxy.InternalServerError}, true},
		{"HTTP 503", faultproxy.Config{Fault: faultproxy.ServiceUnavailable}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proxy.Set(c.cfg)
			proxy.ResetCounts()
			log.Reset()
			status, body, took := invoke(t, h)
			if status != 500 || !strings.Contains(body, "retry") {
				t.Fatalf("status %d body %s, want the 500 that says retry", status, body)
			}
			if took > faultStorageTimeout+200*time.Millisecond {
				t.Errorf("answered after %v; the storage deadline is %v", took, faultStorageTimeout)
			}
			total, faulted := proxy.Requests()
			if total > maxAttemptsPerRead {
				t.Errorf("%d requests reached DynamoDB; the key read fails first and is tried at most %d times", total, maxAttemptsPerRead)
			}
			if c.retry && faulted < 2 {
				t.Errorf("%d attempts; a retryable fault should be retried", faulted)
			}
			if !strings.Contains(log.String(), `"error":"dynamodb GetItem`) {
				t.Errorf("log lacks the storage cause: %s", log.String())
			}
			// The next good request succeeds without a restart.
			proxy.Set(faultproxy.Config{})
			if status, body, _ := invoke(t, h); status != 200 {
				t.Errorf("after the fault cleared: %d %s", status, body)
			}
		})
	}
}

// TestFailingKeyReadNeverLetsARequestThrough injects faults into the keys
// table alone: the customers table would answer, but must not be asked.
func TestFailingKeyReadNeverLetsARequestThrough(t *testing.T) {
	h, proxy, _, tb := faultyAPI(t)
	for _, f := range []faultproxy.Fault{faultproxy.Throttling, faultproxy.ThroughputExceeded, faultproxy.InternalServerError, faultproxy.Reset} {
		proxy.Set(faultproxy.Config{Fault: f, Table: tb.Keys})
		proxy.ResetCounts()
		status, body, _ := invoke(t, h)
		if status != 500 {
			t.Errorf("fault %d on the keys table: status %d %s", f, status, body)
		}
		if total, faulted := proxy.Requests(); total != faulted || total == 0 {
			t.Errorf("fault %d: %d requests, %d to the keys table: the customer was read without a key", f, total, faulted)
		}
	}
}

func TestUnreachableDynamoDB(t *testing.T) {
	addr := testenv.RefusingAddr(t)
	store := dynamo.NewStore(testenv.Client(t, "http://"+addr), "c", "k")
	var log bytes.Buffer
	h := apigw.NewHandler(store, apikey.NewAuthorizer(store, 0), slog.New(emf.NewHandler(&log, nil)), faultStorageTimeout)
	status, body, took := invoke(t, h)
	if status != 500 || took > faultStorageTimeout+200*time.Millisecond {
		t.Errorf("status %d after %v: %s", status, took, body)
	}
	if strings.Contains(body, addr) {
		t.Errorf("storage address reached the caller: %s", body)
	}
}
