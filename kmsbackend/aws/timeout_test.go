package aws

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnavailableWithinTimeout(t *testing.T) {
	// A port nothing listens on: take a free port and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedURL := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	// A server that accepts and never answers.
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(hang)

	tests := []struct {
		name     string
		url      string
		timeout  time.Duration
		ctxLimit time.Duration // 0: no deadline on the caller's context
		within   time.Duration
	}{
		{"unavailable for an endpoint that refuses connections", closedURL, 2 * time.Second, 0, 3 * time.Second},
		{"unavailable at the call timeout for an endpoint that never answers", hung.URL, 300 * time.Millisecond, 0, 2 * time.Second},
		{"unavailable at the caller's earlier deadline", hung.URL, 10 * time.Second, 200 * time.Millisecond, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: tt.url, Anonymous: true, CallTimeout: tt.timeout})
			require.NoError(t, err)
			defer b.Close()
			ctx := context.Background()
			if tt.ctxLimit > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxLimit)
				defer cancel()
			}
			start := time.Now()
			_, err = b.GenerateRandom(ctx, 16)
			elapsed := time.Since(start)
			requireKind(t, err, kmsbackend.KindUnavailable, "GenerateRandom", "")
			assert.Less(t, elapsed, tt.within)
		})
	}
}
