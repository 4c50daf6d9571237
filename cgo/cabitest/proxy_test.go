package cabitest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestCounter counts the KMS requests that pass the proxy, by operation:
// calls (first attempts) and attempts (every request, retries included).
// The SDK marks each request's attempt number in the amz-sdk-request header
// ("attempt=1; max=5"); counting calls keeps exact per-operation counts true
// when the SDK retries a transport failure on its own (a response body cut
// off with "use of closed network connection", aws-sdk-go-v2 #1825, seen
// here about once in 200 large responses under load).
type requestCounter struct {
	mu       sync.Mutex
	ops      map[string]int
	attempts map[string]int
}

func (c *requestCounter) add(op string, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.attempts == nil {
		c.attempts = map[string]int{}
	}
	c.attempts[op]++
	if firstAttempt(r.Header.Get("Amz-Sdk-Request")) {
		c.ops[op]++
	}
}

// firstAttempt reports whether an amz-sdk-request header value (empty, or
// "attempt=N; max=M; ...") is a first attempt.
func firstAttempt(h string) bool {
	for _, part := range strings.Split(h, ";") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			return n == "1"
		}
	}
	return true
}

// count returns how many calls of the operation ("Sign", ...) passed: first
// attempts only.
func (c *requestCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

// attemptCount returns how many requests of the operation passed, retries included.
func (c *requestCounter) attemptCount(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts[op]
}

// proxyTransport carries the proxy's requests to the dev KMS. Its pool of
// connections belongs to the test harness, not the module: the leak test
// empties it before counting descriptors.
var proxyTransport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}

// startCountingProxy serves a loopback reverse proxy to target that counts
// every request by its X-Amz-Target operation.
func startCountingProxy(target string) *httptest.Server {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = proxyTransport
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kmsRequests.add(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService."), r)
		rp.ServeHTTP(w, r)
	}))
}

func TestFirstAttempt(t *testing.T) {
	for h, want := range map[string]bool{
		"": true, "attempt=1; max=5": true, "attempt=1": true, "attempt=2; max=5": false,
		"attempt=10; max=10": false, "ttl=20260101T000000Z; attempt=1": true,
	} {
		if got := firstAttempt(h); got != want {
			t.Errorf("firstAttempt(%q) = %v, want %v", h, got, want)
		}
	}
}
