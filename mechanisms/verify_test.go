package mechanisms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/asn1"
	"math/big"
	"testing"

	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// standardECDSA signs digest with Go's crypto (decred for secp256k1) and
// returns r||s, each half big-endian padded to n bytes by math/big.
func standardECDSA(t testing.TB, tk *testKey, digest []byte, n int) []byte {
	t.Helper()
	var r, s *big.Int
	if tk.k1 != nil {
		var parsed struct{ R, S *big.Int }
		_, err := asn1.Unmarshal(k1ecdsa.Sign(tk.k1, digest).Serialize(), &parsed)
		require.NoError(t, err)
		r, s = parsed.R, parsed.S
	} else {
		var err error
		r, s, err = ecdsa.Sign(rand.Reader, tk.ec, digest)
		require.NoError(t, err)
	}
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out
}

func TestVerifyAcceptsStandardSignatures(t *testing.T) {
	sha1Digest := sha1.Sum(testMessage)
	rows := []struct {
		name  string
		spec  kmsbackend.KeySpec
		mech  uint
		param []byte
		input []byte
		sign  func(t *testing.T, tk *testKey) []byte
	}{
		{"accepts SHA-512 ECDSA on P-256 (digest wider than the order)", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA_SHA512, nil, testMessage, func(t *testing.T, tk *testKey) []byte {
			return standardECDSA(t, tk, hashOf(crypto.SHA512, testMessage), 32)
		}},
		{"accepts SHA-256 ECDSA on P-521 (digest narrower than the order)", kmsbackend.SpecECCNISTP521, ck.CKM_ECDSA_SHA256, nil, testMessage, func(t *testing.T, tk *testKey) []byte {
			return standardECDSA(t, tk, hashOf(crypto.SHA256, testMessage), 66)
		}},
		{"accepts raw ECDSA over 66 bytes on P-521 (verify-only length)", kmsbackend.SpecECCNISTP521, ck.CKM_ECDSA, nil, bytes.Repeat([]byte{0xa5}, 66), func(t *testing.T, tk *testKey) []byte {
			return standardECDSA(t, tk, bytes.Repeat([]byte{0xa5}, 66), 66)
		}},
		{"accepts SHA-384 ECDSA on secp256k1", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA_SHA384, nil, testMessage, func(t *testing.T, tk *testKey) []byte {
			return standardECDSA(t, tk, hashOf(crypto.SHA384, testMessage), 32)
		}},
		{"accepts RSA-PKCS over a SHA-1 DigestInfo (verify is local)", kmsbackend.SpecRSA2048, ck.CKM_RSA_PKCS, nil, append(mustHex(t, rfcSHA1Prefix), sha1Digest[:]...), func(t *testing.T, tk *testKey) []byte {
			sig, err := rsa.SignPKCS1v15(nil, tk.rsa, crypto.SHA1, sha1Digest[:])
			require.NoError(t, err)
			return sig
		}},
		{"accepts RSA-PKCS over arbitrary bytes", kmsbackend.SpecRSA3072, ck.CKM_RSA_PKCS, nil, []byte("not a DigestInfo"), func(t *testing.T, tk *testKey) []byte {
			sig, err := rsa.SignPKCS1v15(nil, tk.rsa, 0, []byte("not a DigestInfo"))
			require.NoError(t, err)
			return sig
		}},
		{"accepts SHA-384 PSS with salt 48", kmsbackend.SpecRSA4096, ck.CKM_SHA384_RSA_PKCS_PSS, pssParams[crypto.SHA384], testMessage, func(t *testing.T, tk *testKey) []byte {
			sig, err := rsa.SignPSS(rand.Reader, tk.rsa, crypto.SHA384, hashOf(crypto.SHA384, testMessage), &rsa.PSSOptions{SaltLength: 48})
			require.NoError(t, err)
			return sig
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewVerifyPlan(r.mech, r.param, testKMSKey(t, r.spec))
			require.NoError(t, err)
			require.NoError(t, plan.Verify(r.input, r.sign(t, keyFor(t, r.spec))))
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	ones := func(n int) []byte { return bytes.Repeat([]byte{0xff}, n) }
	rows := []struct {
		name   string
		spec   kmsbackend.KeySpec
		mech   uint
		param  []byte
		input  []byte
		sig    []byte
		wantRV uint
	}{
		{"refuses a 63-byte P-256 signature", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, nil, make([]byte, 32), make([]byte, 63), ck.CKR_SIGNATURE_LEN_RANGE},
		{"refuses a DER P-256 signature", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, nil, make([]byte, 32), make([]byte, 70), ck.CKR_SIGNATURE_LEN_RANGE},
		{"refuses a 131-byte P-521 signature", kmsbackend.SpecECCNISTP521, ck.CKM_ECDSA_SHA512, nil, testMessage, make([]byte, 131), ck.CKR_SIGNATURE_LEN_RANGE},
		{"refuses a 255-byte RSA-2048 signature", kmsbackend.SpecRSA2048, ck.CKM_SHA256_RSA_PKCS, nil, testMessage, make([]byte, 255), ck.CKR_SIGNATURE_LEN_RANGE},
		{"refuses zero r and s on P-256", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, nil, make([]byte, 32), make([]byte, 64), ck.CKR_SIGNATURE_INVALID},
		{"refuses r and s above the order on P-384", kmsbackend.SpecECCNISTP384, ck.CKM_ECDSA_SHA384, nil, testMessage, ones(96), ck.CKR_SIGNATURE_INVALID},
		{"refuses r and s above the order on secp256k1", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA, nil, make([]byte, 32), ones(64), ck.CKR_SIGNATURE_INVALID},
		{"refuses zero r and s on secp256k1", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA, nil, make([]byte, 32), make([]byte, 64), ck.CKR_SIGNATURE_INVALID},
		{"refuses an all-zero RSA signature", kmsbackend.SpecRSA2048, ck.CKM_SHA256_RSA_PKCS, nil, testMessage, make([]byte, 256), ck.CKR_SIGNATURE_INVALID},
		{"refuses an RSA signature above the modulus", kmsbackend.SpecRSA2048, ck.CKM_RSA_PKCS_PSS, pssParams[crypto.SHA256], make([]byte, 32), ones(256), ck.CKR_SIGNATURE_INVALID},
		{"refuses an empty ECDSA input", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, nil, nil, make([]byte, 64), ck.CKR_DATA_LEN_RANGE},
		{"refuses a 64-byte input under SHA-256 PSS parameters", kmsbackend.SpecRSA2048, ck.CKM_RSA_PKCS_PSS, pssParams[crypto.SHA256], make([]byte, 64), make([]byte, 256), ck.CKR_DATA_LEN_RANGE},
		{"refuses RSA-PKCS input longer than k-11", kmsbackend.SpecRSA2048, ck.CKM_RSA_PKCS, nil, make([]byte, 246), make([]byte, 256), ck.CKR_DATA_LEN_RANGE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewVerifyPlan(r.mech, r.param, testKMSKey(t, r.spec))
			require.NoError(t, err)
			requireRV(t, r.wantRV, plan.Verify(r.input, r.sig))
		})
	}
}

func TestPlanCurve(t *testing.T) {
	plan, err := NewVerifyPlan(ck.CKM_ECDSA, nil, testKMSKey(t, kmsbackend.SpecECCNISTP384))
	require.NoError(t, err)
	assert.Equal(t, CurveP384, plan.Curve())
}
