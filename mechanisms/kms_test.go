package mechanisms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
)

// kmsAlgs is what AWS KMS lists as SigningAlgorithms per key spec (AWS KMS
// developer guide, "Asymmetric key specs"), typed here independently of the code.
var kmsAlgs = map[kmsbackend.KeySpec][]kmsbackend.SigningAlgorithm{
	kmsbackend.SpecRSA2048:       rsaKMSAlgs,
	kmsbackend.SpecRSA3072:       rsaKMSAlgs,
	kmsbackend.SpecRSA4096:       rsaKMSAlgs,
	kmsbackend.SpecECCNISTP256:   {kmsbackend.ECDSA_SHA_256},
	kmsbackend.SpecECCNISTP384:   {kmsbackend.ECDSA_SHA_384},
	kmsbackend.SpecECCNISTP521:   {kmsbackend.ECDSA_SHA_512},
	kmsbackend.SpecECCSECGP256K1: {kmsbackend.ECDSA_SHA_256},
}

var rsaKMSAlgs = []kmsbackend.SigningAlgorithm{
	kmsbackend.RSASSA_PSS_SHA_256, kmsbackend.RSASSA_PSS_SHA_384, kmsbackend.RSASSA_PSS_SHA_512,
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512,
}

// kmsAlgHash is the digest each KMS algorithm signs with MessageType DIGEST.
var kmsAlgHash = map[kmsbackend.SigningAlgorithm]crypto.Hash{
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_256: crypto.SHA256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384: crypto.SHA384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512: crypto.SHA512,
	kmsbackend.RSASSA_PSS_SHA_256: crypto.SHA256, kmsbackend.RSASSA_PSS_SHA_384: crypto.SHA384, kmsbackend.RSASSA_PSS_SHA_512: crypto.SHA512,
	kmsbackend.ECDSA_SHA_256: crypto.SHA256, kmsbackend.ECDSA_SHA_384: crypto.SHA384, kmsbackend.ECDSA_SHA_512: crypto.SHA512,
}

// testKMSKey returns a mechanisms.Key for the spec's test key, with KMS's algorithm list.
func testKMSKey(t testing.TB, spec kmsbackend.KeySpec) Key {
	t.Helper()
	pub, err := ParsePublicKey(keyFor(t, spec).spki)
	require.NoError(t, err)
	return Key{Spec: spec, Pub: pub, Algorithms: kmsAlgs[spec]}
}

// fakeKMSSign signs like AWS KMS Sign with MessageType DIGEST: it refuses an
// algorithm the key does not list and a digest of the wrong length, and
// returns PKCS#1 signatures of modulus length, PSS with salt = hash length,
// and DER ECDSA signatures.
func fakeKMSSign(t testing.TB, tk *testKey, req SignRequest) []byte {
	t.Helper()
	require.Equal(t, kmsbackend.MessageDigest, req.MessageType)
	require.Contains(t, kmsAlgs[tk.spec], req.Algorithm, "KMS refuses %s for %s", req.Algorithm, tk.spec)
	h := kmsAlgHash[req.Algorithm]
	require.Len(t, req.Message, h.Size(), "KMS refuses a digest of the wrong length for %s", req.Algorithm)
	var sig []byte
	var err error
	switch req.Algorithm {
	case kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512:
		sig, err = rsa.SignPKCS1v15(nil, tk.rsa, h, req.Message)
	case kmsbackend.RSASSA_PSS_SHA_256, kmsbackend.RSASSA_PSS_SHA_384, kmsbackend.RSASSA_PSS_SHA_512:
		sig, err = rsa.SignPSS(rand.Reader, tk.rsa, h, req.Message, &rsa.PSSOptions{SaltLength: h.Size()})
	default:
		if tk.k1 != nil {
			return k1ecdsa.Sign(tk.k1, req.Message).Serialize()
		}
		sig, err = ecdsa.SignASN1(rand.Reader, tk.ec, req.Message)
	}
	require.NoError(t, err)
	return sig
}
