package mldsamu

import (
	"crypto/sha3"
	"testing"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/stretchr/testify/require"
)

// mu is FIPS 204 Algorithm 2 line 10 / Algorithm 7 line 6 with an empty
// context: SHAKE256(SHAKE256(pk, 64) || 0 || 0 || msg, 64).
func mu(pk, msg []byte) []byte {
	h := sha3.NewSHAKE256()
	h.Write(sha3.SumSHAKE256(pk, 64))
	h.Write([]byte{0, 0})
	h.Write(msg)
	out := make([]byte, 64)
	_, _ = h.Read(out)
	return out
}

// TestVerify: a signature over mu made by filippo.io/mldsa verifies here
// (and with circl over the message, independently); a different mu or a
// flipped signature does not.
func TestVerify(t *testing.T) {
	msg := []byte("external mu")
	for _, params := range []mldsa.Parameters{mldsa.MLDSA44(), mldsa.MLDSA65(), mldsa.MLDSA87()} {
		t.Run(params.String(), func(t *testing.T) {
			sk, err := mldsa.GenerateKey(params)
			require.NoError(t, err)
			m := mu(sk.PublicKey().Bytes(), msg)
			sig, err := sk.Sign(nil, m, mldsacrypto.MLDSAMu)
			require.NoError(t, err)
			require.NoError(t, Verify(sk.PublicKey(), m, sig))
			other := mu(sk.PublicKey().Bytes(), []byte("another message"))
			require.Error(t, Verify(sk.PublicKey(), other, sig))
			bad := append([]byte(nil), sig...)
			bad[10] ^= 1
			require.Error(t, Verify(sk.PublicKey(), m, bad))
			if params == mldsa.MLDSA65() {
				var pk mldsa65.PublicKey
				require.NoError(t, pk.UnmarshalBinary(sk.PublicKey().Bytes()))
				require.True(t, mldsa65.Verify(&pk, msg, nil, sig), "circl verifies the external-mu signature over the message")
			}
		})
	}
}
