// Package localgateway serves the endpoint over HTTP as API Gateway would,
// for make run (cdmctl serve) and tests: each request becomes the REST API
// proxy event the gateway sends, answered by the handler's raw-event path,
// the one Lambda runs.
package localgateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cdm/customer-api/internal/apigw"
)

// Messages of the errors the gateway answers itself, as API Gateway's.
const (
	routeNotFoundMessage    = "Not Found"
	methodNotAllowedMessage = "Method Not Allowed"
)

// Gateway serves the endpoint over HTTP as API Gateway would, with the
// invocation deadline a function of the given timeout has.
type Gateway struct {
	handler *apigw.Handler
	timeout time.Duration
	stage   string
}

// New returns a Gateway for h whose invocations have timeout to run.
func New(h *apigw.Handler, timeout time.Duration) *Gateway {
	return &Gateway{handler: h, timeout: timeout, stage: "local"}
}

// ServeHTTP answers one request as API Gateway, and the function behind it,
// would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	params, ok := routeParams(r.URL)
	if !ok {
		g.gatewayError(w, r, start, http.StatusNotFound, routeNotFoundMessage, requestID)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		g.gatewayError(w, r, start, http.StatusMethodNotAllowed, methodNotAllowedMessage, requestID)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	resp, err := g.invoke(ctx, g.event(r, params, requestID))
	if err != nil {
		// API Gateway answers a failed invocation with a bare 502.
		g.gatewayError(w, r, start, http.StatusBadGateway, "Internal server error", requestID)
		return
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write([]byte(resp.Body))
}

// invoke runs the handler's raw-event path on ev and decodes its answer.
func (g *Gateway) invoke(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	out, err := g.handler.Invoke(ctx, payload)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var resp events.APIGatewayProxyResponse
	err = json.Unmarshal(out, &resp)
	return resp, err
}

// routeParams matches /cdm/client/{client_id}/customer/{ccid} on the escaped
// path, so that an encoded "/" stays inside its parameter, and decodes each
// parameter as API Gateway does.
func routeParams(u *url.URL) (map[string]string, bool) {
	parts := strings.Split(u.EscapedPath(), "/")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "cdm" || parts[2] != "client" || parts[4] != "customer" {
		return nil, false
	}
	clientID, err1 := url.PathUnescape(parts[3])
	ccid, err2 := url.PathUnescape(parts[5])
	if err1 != nil || err2 != nil {
		return nil, false
	}
	return map[string]string{"client_id": clientID, "ccid": ccid}, true
}

func (g *Gateway) event(r *http.Request, params map[string]string, requestID string) events.APIGatewayProxyRequest {
	headers := make(map[string]string, len(r.Header))
	multi := make(map[string][]string, len(r.Header))
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	if r.Host != "" {
		headers["Host"] = r.Host
		multi["Host"] = []string{r.Host}
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		multiQuery = q
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
		}
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now()
	return events.APIGatewayProxyRequest{
		Resource:                        apigw.Resource,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  params,
		RequestContext: events.APIGatewayProxyRequestContext{
			Stage:            g.stage,
			RequestID:        requestID,
			ResourcePath:     apigw.Resource,
			HTTPMethod:       r.Method,
			Path:             "/" + g.stage + r.URL.Path,
			Protocol:         r.Proto,
			RequestTime:      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch: now.UnixMilli(),
			Identity:         events.APIGatewayRequestIdentity{SourceIP: sourceIP, UserAgent: r.UserAgent()},
		},
	}
}

// gatewayError answers a request that never reaches the function, as API
// Gateway's own responses do, and logs it like any other request (without
// the path, which may carry identifiers of a record no one read).
func (g *Gateway) gatewayError(w http.ResponseWriter, r *http.Request, start time.Time, status int, message, requestID string) {
	h := w.Header()
	for _, hd := range apigw.ResponseHeaders() {
		h.Set(hd.Name, hd.Value)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(apigw.ErrorBody(message, requestID)))
	g.handler.LogGatewayAnswer(r.Context(), requestID, status, time.Since(start))
}

// newRequestID returns a random UUID-shaped request ID, as API Gateway's are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
