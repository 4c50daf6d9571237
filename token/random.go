package token

import (
	"github.com/p11kms/p11kms/ck"
)

// maxRandomChunk is the most bytes one KMS GenerateRandom call returns.
const maxRandomChunk = 1024

// maxRandomLen bounds one C_GenerateRandom call (1 MiB = 1024 KMS calls).
const maxRandomLen = 1 << 20

// GenerateRandom implements C_GenerateRandom with KMS GenerateRandom, in
// chunks of at most 1,024 bytes.
func (m *Module) GenerateRandom(sh uint, n int) ([]byte, error) {
	var out []byte
	err := m.withSession(sh, func(sess *session) error {
		if n < 0 || n > maxRandomLen {
			return Errorf(ck.CKR_ARGUMENTS_BAD, "C_GenerateRandom of %d bytes; at most %d per call", n, maxRandomLen)
		}
		out = make([]byte, 0, n)
		for len(out) < n {
			chunk := min(n-len(out), maxRandomChunk)
			ctx, cancel := sess.slot.callContext(m.ctx)
			b, err := sess.slot.backend.GenerateRandom(ctx, chunk)
			cancel()
			if err != nil {
				sess.deviceError = deviceErrorCode(err)
				out = nil
				return fromBackend("KMS GenerateRandom", err)
			}
			if len(b) != chunk {
				out = nil
				return Errorf(ck.CKR_DEVICE_ERROR, "KMS GenerateRandom returned %d bytes, asked %d", len(b), chunk)
			}
			out = append(out, b...)
		}
		return nil
	})
	return out, err
}

// SeedRandom implements C_SeedRandom: KMS takes no seed.
func (m *Module) SeedRandom(sh uint, seed []byte) error {
	return m.withSession(sh, func(*session) error {
		return Errorf(ck.CKR_RANDOM_SEED_NOT_SUPPORTED, "KMS's random generator takes no seed")
	})
}
