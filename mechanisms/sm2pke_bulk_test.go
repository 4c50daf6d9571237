package mechanisms

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/internal/sm2pke"
	"github.com/p11kms/p11kms/kmsbackend"
)

// sm2BulkRuns is how many 1-byte messages TestSM2PKEOneByteBulk encrypts:
// gmsm v0.15.5's sm2.Encrypt, which C_Encrypt used before, lost about 1 in
// 256 (measured 3/2048 and 19/5000), so about 78 here.
const sm2BulkRuns = 20000

// sm2OpenSSLSample is how many of them openssl decrypts as well.
const sm2OpenSSLSample = 200

// countingRand counts the bytes Encrypt reads: each k is 32 bytes, so more
// than 32 means step A5 drew a new k (t was all zeros; GM/T 0003.4-2012 §6.1)
// or, about 1 time in 2^32, a candidate was out of range.
type countingRand struct{ n int }

func (c *countingRand) Read(p []byte) (int, error) {
	n, err := io.ReadFull(rand.Reader, p)
	c.n += n
	return n, err
}

// privateKey parses the openssl key's PKCS#8 PEM.
func (k *sm2TestKey) privateKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(k.priv)
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	require.NotNil(t, block)
	parsed, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	sk, ok := parsed.(*sm2.PrivateKey)
	require.True(t, ok, "openssl wrote a %T", parsed)
	return &sk.PrivateKey
}

// TestSM2PKEOneByteBulk encrypts sm2BulkRuns 1-byte messages through the
// module's path (SM2PKEPlan.Encrypt, what C_Encrypt calls) and decrypts
// every one with internal/sm2pke; openssl decrypts a sample of
// sm2OpenSSLSample: every ciphertext made after a retry of step A5 (the
// case gmsm got wrong), then others spread over the run.
func TestSM2PKEOneByteBulk(t *testing.T) {
	k := newSM2TestKey(t)
	priv := k.privateKey(t)
	plan, err := NewSM2PKEPlan(CKM_P11KMS_SM2PKE, nil, sm2CryptKey(k, kmsbackend.SM2PKE))
	require.NoError(t, err)
	type made struct {
		msg byte
		ct  []byte
	}
	var retried, others []made
	failed := 0
	for i := range sm2BulkRuns {
		msg := []byte{byte(i)}
		random := &countingRand{}
		ct, err := plan.Encrypt(random, msg)
		require.NoError(t, err)
		got, err := sm2pke.Decrypt(priv, ct)
		if err != nil || len(got) != 1 || got[0] != msg[0] {
			failed++
			t.Errorf("message %#02x (run %d): decrypted %x, %v", msg[0], i, got, err)
		}
		if random.n > 32 {
			retried = append(retried, made{msg[0], ct})
		} else if i%(sm2BulkRuns/sm2OpenSSLSample) == 0 {
			others = append(others, made{msg[0], ct})
		}
	}
	assert.Zero(t, failed, "of %d 1-byte ciphertexts, this many did not decrypt", sm2BulkRuns)
	// Expected ~78 retries; none at all would mean the path went untested.
	require.NotEmpty(t, retried, "no encryption drew a second k")
	t.Logf("%d of %d encryptions drew a second k", len(retried), sm2BulkRuns)
	sample := append(retried, others...)[:max(sm2OpenSSLSample, len(retried))]
	for _, s := range sample {
		pt, out, err := k.opensslDecrypt(t, s.ct)
		if assert.NoError(t, err, "openssl refused the ciphertext of %#02x: %s", s.msg, out) {
			assert.Equal(t, []byte{s.msg}, pt)
		}
	}
	t.Logf("openssl decrypted %d of them (%d made after a retry)", len(sample), len(retried))
}
