// Package faultproxy is an HTTP proxy on loopback that sits between the
// DynamoDB SDK and a local DynamoDB and injects the faults a real one shows:
// delays, connection resets, throttling and server errors.
package faultproxy

import (
	"encoding/json"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is what the proxy does to a request.
type Fault int

// The faults.
const (
	None                Fault = iota // forward unchanged
	Delay                            // wait Config.Delay, then forward
	Reset                            // close the connection with a TCP reset
	ThroughputExceeded               // 400 ProvisionedThroughputExceededException
	Throttling                       // 400 ThrottlingException
	InternalServerError              // 500 InternalServerError
	ServiceUnavailable               // 503 ServiceUnavailable
	// EchoingValidation is a 400 ValidationException whose message repeats
	// the request's body, as DynamoDB's messages can quote what was sent.
	EchoingValidation
)

// Config says which requests get which fault.
type Config struct {
	Fault Fault
	Delay time.Duration
	// Table, when set, limits the fault to requests naming this table.
	Table string
	// Operation, when set, limits the fault to one DynamoDB operation, such
	// as BatchWriteItem.
	Operation string
	// Skip lets this many matching requests through before faults start.
	Skip int
	// Times bounds how many requests get the fault; 0: all that match.
	Times int
}

// Request is one request the proxy saw: its DynamoDB operation and body.
type Request struct {
	Operation string
	Body      string
}

// Proxy is a running fault proxy.
type Proxy struct {
	URL      string
	srv      *http.Server
	ln       net.Listener
	mu       sync.Mutex
	cfg      Config
	matched  int
	seen     []Request
	requests atomic.Int64
	faulted  atomic.Int64
}

// Start runs a proxy to target (a URL such as http://127.0.0.1:8000) on a
// free loopback port, forwarding everything until Set says otherwise.
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndex(op, ".")+1:]
		if cfg, ok := p.match(op, string(body)); ok {
			p.faulted.Add(1)
			if p.inject(w, r, body, cfg) {
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// inject applies the fault; false means forward the request afterwards.
func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, body []byte, cfg Config) bool {
	switch cfg.Fault {
	case Delay:
		select {
		case <-time.After(cfg.Delay):
		case <-r.Context().Done():
			return true
		}
		return false
	case Reset:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			if tcp, ok := conn.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = conn.Close()
		}
		return true
	case ThroughputExceeded:
		awsError(w, 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.")
	case Throttling:
		awsError(w, 400, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	case InternalServerError:
		awsError(w, 500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")
	case ServiceUnavailable:
		awsError(w, 503, "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "Service unavailable")
	case EchoingValidation:
		msg, _ := json.Marshal("One or more parameter values were invalid: " + string(body))
		writeError(w, 400, `{"__type":"com.amazon.coral.validate#ValidationException","message":`+string(msg)+`}`)
	}
	return true
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	writeError(w, status, `{"__type":"`+typ+`","message":"`+msg+`"}`)
}

// writeError answers with body and its CRC32, which DynamoDB's SDK checks.
func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Set changes the fault for the requests that follow.
func (p *Proxy) Set(c Config) {
	p.mu.Lock()
	p.cfg = c
	p.matched = 0
	p.mu.Unlock()
}

// match records the request and says whether it gets the fault.
func (p *Proxy) match(op, body string) (Config, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, Request{Operation: op, Body: body})
	c := p.cfg
	if c.Fault == None || c.Operation != "" && c.Operation != op ||
		c.Table != "" && !strings.Contains(body, `"TableName":"`+c.Table+`"`) && !strings.Contains(body, `"`+c.Table+`":`) {
		return c, false
	}
	p.matched++
	if p.matched <= c.Skip || c.Times > 0 && p.matched > c.Skip+c.Times {
		return c, false
	}
	return c, true
}

// Seen returns every request the proxy received, in order.
func (p *Proxy) Seen() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.seen...)
}

// Requests returns how many requests reached the proxy, and how many of
// them were given a fault.
func (p *Proxy) Requests() (total, faulted int64) {
	return p.requests.Load(), p.faulted.Load()
}

// ResetCounts sets both counts to zero.
func (p *Proxy) ResetCounts() {
	p.requests.Store(0)
	p.faulted.Store(0)
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }
