package token

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// BenchmarkSignOverhead measures what the module adds to a KMS Sign: the same
// key signed through Module.SignInit+Sign (mechanism plan, DigestInfo parsing,
// DER to r||s, local verification of the result) and, side by side in the
// same run against the same dev KMS, directly through the backend (the
// baseline). BENCHMARKS.md reports the ratio module/baseline.
func BenchmarkSignOverhead(b *testing.B) {
	m, cb := testModule(b, "")
	sh := openSession(b, m)
	digest := sha256.Sum256([]byte("benchmark"))
	for _, c := range []struct {
		name, alias string
		mech        uint
		in          []byte
		alg         kmsbackend.SigningAlgorithm
	}{
		{"P-256", "t-p256", ck.CKM_ECDSA, digest[:], kmsbackend.ECDSA_SHA_256},
		{"RSA-2048", "t-rsa2048", ck.CKM_RSA_PKCS, digestInfo256(digest[:]), kmsbackend.RSASSA_PKCS1_V1_5_SHA_256},
	} {
		priv, _ := keyPair(b, m, sh, c.alias)
		o, _ := m.objects.get(priv)
		arn := o.key.info.ARN
		b.Run(c.name+"/baseline-backend", func(b *testing.B) {
			for b.Loop() {
				if _, err := cb.Backend.Sign(context.Background(), arn, c.alg, kmsbackend.MessageDigest, digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/module", func(b *testing.B) {
			for b.Loop() {
				if err := m.SignInit(sh, Mechanism{Type: c.mech}, priv); err != nil {
					b.Fatal(err)
				}
				if _, _, err := m.Sign(sh, c.in, false, 1024); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// digestInfo256 returns the SHA-256 DigestInfo around d (CKM_RSA_PKCS input).
func digestInfo256(d []byte) []byte {
	prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	return append(prefix, d...)
}
