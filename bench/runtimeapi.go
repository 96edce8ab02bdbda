package bench

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RuntimeAPI is a minimal Lambda Runtime API on loopback: it hands queued
// events to a bootstrap and collects its responses, so that a function can
// be timed without the emulator in between.
type RuntimeAPI struct {
	Addr string
	// OnFirstNext, when set, runs when the bootstrap first asks for an
	// event: the end of its init.
	OnFirstNext func()
	firstNext   sync.Once
	srv         *http.Server
	events      chan invocation
	mu          sync.Mutex
	waits       map[string]chan Result
	seq         int
}

type invocation struct {
	id      string
	payload []byte
	handed  chan time.Time
}

// Result is a function's answer to one event.
type Result struct {
	Payload []byte
	Err     bool
	// Handed is when the bootstrap received the event; Done when its answer arrived.
	Handed, Done time.Time
}

// StartRuntimeAPI listens on a free loopback port.
func StartRuntimeAPI() (*RuntimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &RuntimeAPI{Addr: ln.Addr().String(), events: make(chan invocation), waits: map[string]chan Result{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, req *http.Request) { r.answer(w, req, false) })
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, req *http.Request) { r.answer(w, req, true) })
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) { w.WriteHeader(http.StatusAccepted) })
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *RuntimeAPI) next(w http.ResponseWriter, req *http.Request) {
	if r.OnFirstNext != nil {
		r.firstNext.Do(r.OnFirstNext)
	}
	select {
	case inv := <-r.events:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(5*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
		inv.handed <- time.Now()
	case <-req.Context().Done():
	}
}

func (r *RuntimeAPI) answer(w http.ResponseWriter, req *http.Request, failed bool) {
	body, _ := io.ReadAll(req.Body)
	done := time.Now()
	id := req.PathValue("id")
	r.mu.Lock()
	ch := r.waits[id]
	delete(r.waits, id)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	if ch != nil {
		ch <- Result{Payload: body, Err: failed, Done: done}
	}
}

// Invoke queues payload for the next GET .../next and waits for the answer.
func (r *RuntimeAPI) Invoke(payload []byte, timeout time.Duration) (Result, bool) {
	r.mu.Lock()
	r.seq++
	id := "req-" + strconv.Itoa(r.seq)
	ch := make(chan Result, 1)
	r.waits[id] = ch
	r.mu.Unlock()
	inv := invocation{id: id, payload: payload, handed: make(chan time.Time, 1)}
	select {
	case r.events <- inv:
	case <-time.After(timeout):
		return Result{}, false
	}
	select {
	case res := <-ch:
		res.Handed = <-inv.handed
		return res, true
	case <-time.After(timeout):
		return Result{}, false
	}
}

// Close stops the API.
func (r *RuntimeAPI) Close() error { return r.srv.Close() }

// StatusOf returns the statusCode of a proxy response payload, or 0.
func StatusOf(payload []byte) int {
	s := string(payload)
	i := strings.Index(s, `"statusCode":`)
	if i < 0 {
		return 0
	}
	s = s[i+len(`"statusCode":`):]
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
