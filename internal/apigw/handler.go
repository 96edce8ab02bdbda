// Package apigw is the API Gateway edge of the product: it turns a REST API
// proxy event into a customer read and every outcome into the documented
// response.
package apigw

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cdm/customer-api/internal/apikey"
	"github.com/cdm/customer-api/internal/customer"
)

// Resource is the route of the endpoint, as API Gateway names it.
const Resource = "/cdm/client/{client_id}/customer/{ccid}"

// APIKeyHeader is the request header that carries the caller's API key.
const APIKeyHeader = "xx-relay-api-key" // #nosec G101 -- a header name, not a credential

// Customers loads one customer. It returns customer.ErrNotFound when none is
// stored.
type Customers interface {
	Customer(ctx context.Context, client customer.ClientID, ccid string) (customer.Customer, error)
}

// Authorizer decides whether the key with the given hash may read client's
// records: nil, apikey.ErrUnauthorized, or the error that prevented a decision.
type Authorizer interface {
	Authorize(ctx context.Context, hash string, client customer.ClientID) error
}

// Handler answers GET /cdm/client/{client_id}/customer/{ccid}.
type Handler struct {
	customers      Customers
	keys           Authorizer
	log            *slog.Logger
	storageTimeout time.Duration
	functionName   string
	warm           atomic.Bool
}

// Option changes a Handler's defaults.
type Option func(*Handler)

// WithFunctionName sets the FunctionName dimension of the request metrics:
// the name Lambda gives the function, unique to its stack. Without it the
// dimension is "local".
func WithFunctionName(name string) Option {
	return func(h *Handler) {
		if name != "" {
			h.functionName = name
		}
	}
}

// reserve is the time kept back from the invocation's deadline so that a
// storage failure is still answered with a 500 before the function times out.
const reserve = 250 * time.Millisecond

// NewHandler returns a Handler that authorizes with keys, loads from
// customers, logs one JSON line per request to log, and gives storage at most
// storageTimeout per request (less when the invocation has less time left).
func NewHandler(customers Customers, keys Authorizer, log *slog.Logger, storageTimeout time.Duration, opts ...Option) *Handler {
	h := &Handler{customers: customers, keys: keys, log: log, storageTimeout: storageTimeout, functionName: "local"}
	for _, o := range opts {
		o(h)
	}
	return h
}

// request is what the handler reads of a proxy event.
type request struct {
	requestID, clientID, ccid string
	key                       keyValues
}

// serve runs one request and returns the status and body of its answer.
func (h *Handler) serve(ctx context.Context, r request) (status int, body string) {
	start := time.Now()
	cold := !h.warm.Swap(true)
	requestID := r.requestID
	if requestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			requestID = lc.AwsRequestID
		}
	}
	var keyHash string
	var cause error

	defer func() {
		if p := recover(); p != nil {
			cause = errors.New("panic at " + panicSite())
			status, body = failure(cause, requestID)
		}
		h.logRequest(ctx, requestID, r.clientID, r.ccid, keyHash, status, time.Since(start), cold, cause)
	}()

	var c customer.Customer
	keyHash, c, cause = h.load(ctx, r)
	if cause != nil {
		return failure(cause, requestID)
	}
	enc, err := customer.EncodeJSON(c)
	if err != nil {
		cause = err
		return failure(cause, requestID)
	}
	return 200, enc
}

// load runs the contract's evaluation order and returns the key hash (for
// the log) and the customer, or the first error that applies.
func (h *Handler) load(ctx context.Context, r request) (string, customer.Customer, error) {
	key, ok := r.key.key()
	if !ok {
		return "", customer.Customer{}, apikey.ErrUnauthorized
	}
	if !apikey.WellFormed(key) {
		// Not a key we issue or register: refused unread, and not hashed
		// (it may be kilobytes of junk).
		return "", customer.Customer{}, apikey.ErrUnauthorized
	}
	hash := apikey.Hash(key)
	client, err := customer.ParseClientID(r.clientID)
	if err != nil {
		return hash, customer.Customer{}, apikey.ErrUnauthorized
	}
	ctx, cancel := h.storageContext(ctx)
	defer cancel()
	if err := h.keys.Authorize(ctx, hash, client); err != nil {
		return hash, customer.Customer{}, err
	}
	if err := customer.ValidateCCID(r.ccid); err != nil {
		return hash, customer.Customer{}, err
	}
	c, err := h.customers.Customer(ctx, client, r.ccid)
	return hash, c, err
}

// storageContext bounds all storage calls of one request by the storage
// timeout and by the invocation's own deadline less a reserve.
func (h *Handler) storageContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(h.storageTimeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-reserve).Before(deadline) {
		deadline = d.Add(-reserve)
	}
	return context.WithDeadline(ctx, deadline)
}

// keyValues gathers the values of the key header, from headers and
// multiValueHeaders under any letter case. Several different keys are as
// good as none: the caller's identity must not be a guess.
type keyValues struct {
	value     string
	found     bool
	ambiguous bool
}

func (k *keyValues) take(v string) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return
	}
	if k.found && v != k.value {
		k.ambiguous = true
	}
	k.value, k.found = v, true
}

// key returns the one key the request carries.
func (k keyValues) key() (string, bool) {
	if k.ambiguous || !k.found {
		return "", false
	}
	return k.value, true
}

// keyIn gathers the values of the key header, under any letter case, from
// an event's headers and multiValueHeaders.
func keyIn(headers map[string]string, multi map[string][]string) keyValues {
	var k keyValues
	for name, v := range headers {
		if strings.EqualFold(name, APIKeyHeader) {
			k.take(v)
		}
	}
	for name, vs := range multi {
		if strings.EqualFold(name, APIKeyHeader) {
			for _, v := range vs {
				k.take(v)
			}
		}
	}
	return k
}

func panicSite() string {
	// Skip runtime frames to name the first frame of ours that panicked.
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			return f.Function + ":" + strconv.Itoa(f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}
