package devkms

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// errorShape is one error answer of the AWS KMS JSON protocol (awsJson1_1:
// the code in "__type", the text in "message").
type errorShape struct {
	status  int
	code    string
	message string
}

// throttleError is AWS KMS's answer to a request over quota. Source: AWS KMS
// Developer Guide, "Throttling AWS KMS requests" (code, message, HTTP 400).
var throttleError = errorShape{http.StatusBadRequest, "ThrottlingException",
	"You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."}

// serverErrors are the 5xx answers FaultServerError gives, in turn.
var serverErrors = []errorShape{
	// AWS KMS API reference, Sign/Decrypt/GenerateRandom "Errors": KMSInternalException, HTTP 500.
	{http.StatusInternalServerError, "KMSInternalException", "The request was rejected because an internal exception occurred. The request can be retried."},
	// AWS KMS API reference, same sections: DependencyTimeoutException, HTTP 500.
	{http.StatusInternalServerError, "DependencyTimeoutException", "The system timed out while trying to fulfill the request. You can retry the request."},
	// AWS APIs "Common Errors": ServiceUnavailable, HTTP 503.
	{http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."},
	// AWS APIs "Common Errors": InternalFailure, HTTP 500.
	{http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."},
}

// faultLayer sits in front of the KMS handler and injects faults.
type faultLayer struct {
	next http.Handler
	log  *slog.Logger

	mu        sync.Mutex
	cfg       FaultConfig
	rng       *rand.Rand
	injected  int
	serverErr int // next index into serverErrors
	wrongSig  int // wrong signatures so far: even flips a byte, odd signs other data
	counts    FaultCounts
}

// newFaultLayer wraps next with a validated configuration.
func newFaultLayer(next http.Handler, cfg FaultConfig, log *slog.Logger) *faultLayer {
	f := &faultLayer{next: next, log: log}
	f.set(cfg)
	return f
}

// set replaces the configuration, reseeds and zeroes the counters.
func (f *faultLayer) set(cfg FaultConfig) {
	if cfg.SlowDelay == 0 {
		cfg.SlowDelay = DefaultSlowDelay
	}
	cfg.Ops = slices.Clone(cfg.Ops)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg, f.rng = cfg, rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	f.injected, f.serverErr, f.wrongSig, f.counts = 0, 0, 0, FaultCounts{}
}

// draw decides the fault for one request of op ("" for none); n numbers
// the wrong signatures, to alternate their two forms.
func (f *faultLayer) draw(op string) (kind FaultKind, shape errorShape, delay time.Duration, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &f.cfg
	if len(c.Ops) > 0 && !slices.Contains(c.Ops, op) {
		return "", shape, 0, 0
	}
	f.counts.Requests++
	if c.Limit > 0 && f.injected >= c.Limit {
		return "", shape, 0, 0
	}
	u := f.rng.Float64()
	for _, k := range []struct {
		kind FaultKind
		p    float64
		n    *int64
	}{
		{FaultThrottle, c.Throttle, &f.counts.Throttle},
		{FaultServerError, c.ServerError, &f.counts.ServerError},
		{FaultSlow, c.Slow, &f.counts.Slow},
		{FaultDrop, c.Drop, &f.counts.Drop},
		{FaultWrongSignature, c.WrongSignature, &f.counts.WrongSignature},
	} {
		if u >= k.p {
			u -= k.p
			continue
		}
		if k.kind == FaultWrongSignature && op != "Sign" {
			return "", shape, 0, 0
		}
		f.injected++
		*k.n++
		switch k.kind {
		case FaultThrottle:
			shape = throttleError
		case FaultServerError:
			shape = serverErrors[f.serverErr%len(serverErrors)]
			f.serverErr++
		case FaultWrongSignature:
			n = f.wrongSig
			f.wrongSig++
		}
		return k.kind, shape, c.SlowDelay, n
	}
	return "", shape, 0, 0
}

// ServeHTTP answers one request, or injects the fault its draw picked.
func (f *faultLayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	kind, shape, delay, n := f.draw(op)
	if kind != "" {
		f.log.Debug("devkms: injecting a fault", "op", op, "fault", string(kind), "code", shape.code)
	}
	switch kind {
	case FaultThrottle, FaultServerError:
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
		writeJSON(w, shape.status, map[string]string{"__type": shape.code, "message": shape.message})
	case FaultSlow:
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			f.next.ServeHTTP(w, r)
		case <-r.Context().Done(): // the client gave up, or the server is closing
		}
	case FaultDrop:
		dropConnection(w, r)
	case FaultWrongSignature:
		f.wrongSignature(w, r, n)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// dropConnection reads the request and closes the connection without a byte
// of answer, as a server that dies mid-request would.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxRequestBody))
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Unreachable with this server (plain HTTP/1.1 always hijacks): answer
	// a 5xx rather than nothing.
	writeJSON(w, http.StatusInternalServerError, map[string]string{"__type": "InternalFailure", "message": "the dev KMS could not drop this connection"})
}
