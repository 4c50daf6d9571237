package token

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/ck"
)

func TestLogLimiter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	l := logLimiter{now: func() time.Time { return now }}
	written := 0
	for i := 0; i < 1000; i++ {
		if ok, _ := l.allow("C_Sign", ck.CKR_SESSION_HANDLE_INVALID); ok {
			written++
		}
	}
	assert.Equal(t, logBurst, written, "a burst of one kind is cut at logBurst lines per window")
	ok, _ := l.allow("C_Sign", ck.CKR_KEY_HANDLE_INVALID)
	assert.True(t, ok, "another CK_RV is another kind")
	ok, _ = l.allow("C_Verify", ck.CKR_SESSION_HANDLE_INVALID)
	assert.True(t, ok, "another function is another kind")
	now = now.Add(logWindowLen)
	ok, suppressed := l.allow("C_Sign", ck.CKR_SESSION_HANDLE_INVALID)
	assert.True(t, ok)
	assert.Equal(t, 1000-logBurst, suppressed, "the next window reports how many were dropped")
}
