package token

import (
	"sync"
	"time"
)

// logLimiter bounds the lines one kind of failure (C function and CK_RV) may
// write: a misbehaving or hostile client calling with bad handles in a loop
// must not fill the disk (measured without it: 621,000 warn lines, 115 MB, in
// 30 s of fuzzing). Within each window the first logBurst lines of a kind are
// written; the rest are counted and reported in one line when the next window
// opens.
type logLimiter struct {
	mu    sync.Mutex
	kinds map[logKind]*logWindow
	now   func() time.Time
}

// logKind is what counts as "the same line".
type logKind struct {
	fn string
	rv uint
}

type logWindow struct {
	start      time.Time
	written    int
	suppressed int
}

// Limits of logLimiter.
const (
	logWindowLen = 10 * time.Second
	logBurst     = 20
)

// allow reports whether a line of this kind may be written now and how many
// lines of the kind were suppressed in the window that just closed.
func (l *logLimiter) allow(fn string, rv uint) (ok bool, suppressedBefore int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kinds == nil {
		l.kinds = map[logKind]*logWindow{}
	}
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	k := logKind{fn, rv}
	w := l.kinds[k]
	if w == nil || now.Sub(w.start) >= logWindowLen {
		prev := 0
		if w != nil {
			prev = w.suppressed
		}
		if len(l.kinds) > 1000 { // bound the table itself
			l.kinds = map[logKind]*logWindow{}
		}
		l.kinds[k] = &logWindow{start: now, written: 1}
		return true, prev
	}
	if w.written < logBurst {
		w.written++
		return true, 0
	}
	w.suppressed++
	return false, 0
}
