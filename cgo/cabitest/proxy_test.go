package cabitest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// requestCounter counts the KMS requests that pass the proxy, by operation.
type requestCounter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *requestCounter) add(op string) {
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
}

// count returns how many requests of the operation ("Sign", ...) passed.
func (c *requestCounter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
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
		kmsRequests.add(strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService."))
		rp.ServeHTTP(w, r)
	}))
}
