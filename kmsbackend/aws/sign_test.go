package aws

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decredecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashOf is the digest each signing algorithm signs. Source: AWS KMS API
// reference, Sign SigningAlgorithm (the hash is named in the algorithm).
var hashOf = map[kmsbackend.SigningAlgorithm]crypto.Hash{
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_256: crypto.SHA256,
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_384: crypto.SHA384,
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_512: crypto.SHA512,
	kmsbackend.RSASSA_PSS_SHA_256:        crypto.SHA256,
	kmsbackend.RSASSA_PSS_SHA_384:        crypto.SHA384,
	kmsbackend.RSASSA_PSS_SHA_512:        crypto.SHA512,
	kmsbackend.ECDSA_SHA_256:             crypto.SHA256,
	kmsbackend.ECDSA_SHA_384:             crypto.SHA384,
	kmsbackend.ECDSA_SHA_512:             crypto.SHA512,
}

// verify checks sig over msg with the public key in spki, independently of
// the backend: Go's crypto for RSA and NIST curves, decred for secp256k1.
func verify(t *testing.T, spki []byte, alg kmsbackend.SigningAlgorithm, msg, sig []byte) {
	t.Helper()
	h := hashOf[alg].New()
	h.Write(msg)
	digest := h.Sum(nil)
	switch alg {
	case kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512:
		pub, err := x509.ParsePKIXPublicKey(spki)
		require.NoError(t, err)
		require.NoError(t, rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), hashOf[alg], digest, sig))
	case kmsbackend.RSASSA_PSS_SHA_256, kmsbackend.RSASSA_PSS_SHA_384, kmsbackend.RSASSA_PSS_SHA_512:
		pub, err := x509.ParsePKIXPublicKey(spki)
		require.NoError(t, err)
		// AWS KMS: salt length = hash length, MGF1 with the same hash (the
		// dev KMS restores this over local-kms's maximum salt).
		require.NoError(t, rsa.VerifyPSS(pub.(*rsa.PublicKey), hashOf[alg], digest, sig, &rsa.PSSOptions{SaltLength: hashOf[alg].Size(), Hash: hashOf[alg]}))
	default:
		params, point := spkiPoint(t, spki)
		if params.String() == "1.3.132.0.10" {
			pub, err := secp256k1.ParsePubKey(point)
			require.NoError(t, err)
			s, err := decredecdsa.ParseDERSignature(sig)
			require.NoError(t, err)
			require.True(t, s.Verify(digest, pub), "secp256k1 signature does not verify")
			return
		}
		pub, err := x509.ParsePKIXPublicKey(spki)
		require.NoError(t, err)
		require.True(t, ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest, sig), "ECDSA signature does not verify")
	}
}

func TestSignVerifiedIndependently(t *testing.T) {
	f := newFixture(t)
	rsaAlgs := []kmsbackend.SigningAlgorithm{
		kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512,
		kmsbackend.RSASSA_PSS_SHA_256, kmsbackend.RSASSA_PSS_SHA_384, kmsbackend.RSASSA_PSS_SHA_512,
	}
	tests := []struct {
		alias string
		algs  []kmsbackend.SigningAlgorithm
	}{
		{"alias/dev-rsa-2048", rsaAlgs},
		{"alias/dev-rsa-3072", rsaAlgs},
		{"alias/dev-rsa-4096", rsaAlgs},
		{"alias/dev-ec-p256", []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}},
		{"alias/dev-ec-p384", []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_384}},
		{"alias/dev-ec-p521", []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_512}},
		{"alias/dev-ec-secp256k1", []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}},
	}
	msg := []byte("cartório digital: documento 42")
	for _, tt := range tests {
		info, err := f.b.DescribeKey(context.Background(), tt.alias)
		require.NoError(t, err)
		wantPublicKey(t, seedByAlias(t, tt.alias).Private, info.PublicKeyDER)
		for _, alg := range tt.algs {
			for _, mt := range []kmsbackend.MessageType{kmsbackend.MessageDigest, kmsbackend.MessageRaw} {
				t.Run(fmt.Sprintf("%s signs %s %s and verifies", tt.alias, alg, mt), func(t *testing.T) {
					in := msg
					if mt == kmsbackend.MessageDigest {
						h := hashOf[alg].New()
						h.Write(msg)
						in = h.Sum(nil)
					}
					// Several signatures: ECDSA r and s vary in length (DER).
					for range 5 {
						sig, err := f.b.Sign(context.Background(), info.ARN, alg, mt, in)
						require.NoError(t, err)
						verify(t, info.PublicKeyDER, alg, msg, sig)
					}
				})
			}
		}
	}
}

func TestDecryptOAEPAndSymmetric(t *testing.T) {
	f := newFixture(t)
	info, err := f.b.DescribeKey(context.Background(), "alias/dev-rsa-2048-decrypt")
	require.NoError(t, err)
	pubAny, err := x509.ParsePKIXPublicKey(info.PublicKeyDER)
	require.NoError(t, err)
	pub := pubAny.(*rsa.PublicKey)
	plain := []byte("segredo do cartório")

	tests := []struct {
		name string
		alg  kmsbackend.EncryptionAlgorithm
		enc  func() ([]byte, error)
	}{
		{"OAEP SHA-1 ciphertext decrypts", kmsbackend.RSAES_OAEP_SHA_1, func() ([]byte, error) { return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, plain, nil) }},
		{"OAEP SHA-256 ciphertext decrypts", kmsbackend.RSAES_OAEP_SHA_256, func() ([]byte, error) { return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plain, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := tt.enc()
			require.NoError(t, err)
			got, err := f.b.Decrypt(context.Background(), info.ARN, tt.alg, ct)
			require.NoError(t, err)
			assert.Equal(t, plain, got)
		})
	}

	t.Run("symmetric ciphertext from Encrypt decrypts", func(t *testing.T) {
		aes := seedByAlias(t, "alias/dev-aes")
		out, err := rawClient(f.srv.URL()).Encrypt(context.Background(), &kms.EncryptInput{KeyId: awssdk.String(aes.ID), Plaintext: plain})
		require.NoError(t, err)
		got, err := f.b.Decrypt(context.Background(), arn(aes.ID), kmsbackend.SYMMETRIC_DEFAULT, out.CiphertextBlob)
		require.NoError(t, err)
		assert.Equal(t, plain, got)
	})
}

func TestGenerateRandom(t *testing.T) {
	f := newFixture(t)
	for _, n := range []int{1, 32, 1024} {
		t.Run(fmt.Sprintf("%d bytes returned", n), func(t *testing.T) {
			a, err := f.b.GenerateRandom(context.Background(), n)
			require.NoError(t, err)
			assert.Len(t, a, n)
			if n >= 32 {
				b, err := f.b.GenerateRandom(context.Background(), n)
				require.NoError(t, err)
				assert.NotEqual(t, a, b)
			}
		})
	}
}
