package aws

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTracker records every connection the backend's HTTP transport dials,
// so Close can close all of them, idle or not. CloseIdleConnections alone
// leaves connections the transport still counts as in use (measured: about
// eight per key discovery against the dev KMS), and C_Finalize must leave no
// connection or goroutine behind (DESIGN.md: the library is never unloaded).
type connTracker struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
	dialer net.Dialer
}

func newConnTracker() *connTracker {
	return &connTracker{
		conns:  map[*trackedConn]struct{}{},
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
	}
}

// configure makes the transport dial through the tracker.
func (t *connTracker) configure(tr *http.Transport) { tr.DialContext = t.dial }

// dial dials and records the connection; after closeAll it refuses.
func (t *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every open connection and refuses new ones.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.conns, t.closed = map[*trackedConn]struct{}{}, true
	t.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
}

// open returns the number of open connections (for tests).
func (t *connTracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// trackedConn removes itself from the tracker when closed.
type trackedConn struct {
	net.Conn
	t *connTracker
}

// Close closes the connection and forgets it.
func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}
