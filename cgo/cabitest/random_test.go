package cabitest

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/ck"
)

// TestGenerateRandom: C_GenerateRandom (PKCS#11 2.40 §5.15) returns exactly
// the bytes asked for, different each time, drawing from KMS GenerateRandom
// (1..1024 bytes a call, so larger requests take several).
func TestGenerateRandom(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	for _, n := range []int{1, 32, 1024, 1025, 5000} {
		before := kmsRequests.count("GenerateRandom")
		a, err := p.GenerateRandom(sh, n)
		requireRV(t, ck.CKR_OK, err, "%d bytes", n)
		b, err := p.GenerateRandom(sh, n)
		requireRV(t, ck.CKR_OK, err, "%d bytes", n)
		assert.Len(t, a, n)
		assert.Len(t, b, n)
		if n >= 16 {
			assert.False(t, bytes.Equal(a, b), "two %d-byte draws are equal", n)
			assert.NotEqual(t, make([]byte, n), a, "all zero")
		}
		assert.GreaterOrEqual(t, kmsRequests.count("GenerateRandom")-before, 2*((n+1023)/1024), "KMS GenerateRandom requests for 2 x %d bytes (at most 1024 each)", n)
	}
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.GenerateRandomNull(uint(sh), 16), "C_GenerateRandom(NULL, 16)")
	requireRV(t, ck.CKR_RANDOM_SEED_NOT_SUPPORTED, p.SeedRandom(sh, []byte("seed")), "C_SeedRandom")
}
