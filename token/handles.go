package token

import (
	"math/rand/v2"
	"sync"
)

// handleTable maps random non-zero handles to values of one kind (sessions or
// objects), so a handle of one kind is never valid as another and a stale
// handle is not reused soon. Handles stay below 2^31 so that clients that
// store CK_ULONG handles in a 32-bit int keep working.
type handleTable[T any] struct {
	mu sync.RWMutex
	m  map[uint]T
}

func newHandleTable[T any]() *handleTable[T] {
	return &handleTable[T]{m: make(map[uint]T)}
}

// add stores v under a fresh handle and returns the handle.
func (t *handleTable[T]) add(v T) uint {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		h := uint(rand.Uint32N(1<<31-1)) + 1
		if _, used := t.m[h]; !used {
			t.m[h] = v
			return h
		}
	}
}

// addNamed is add for a value that records its own handle: name(h) runs
// under the table's lock before v is visible to get and values.
func (t *handleTable[T]) addNamed(v T, name func(uint)) uint {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		h := uint(rand.Uint32N(1<<31-1)) + 1
		if _, used := t.m[h]; !used {
			name(h)
			t.m[h] = v
			return h
		}
	}
}

// get returns the value for h.
func (t *handleTable[T]) get(h uint) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[h]
	return v, ok
}

// remove deletes h and returns its value.
func (t *handleTable[T]) remove(h uint) (T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[h]
	delete(t.m, h)
	return v, ok
}

// values returns a snapshot of every value.
func (t *handleTable[T]) values() []T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]T, 0, len(t.m))
	for _, v := range t.m {
		out = append(out, v)
	}
	return out
}

// len returns the number of handles.
func (t *handleTable[T]) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}
