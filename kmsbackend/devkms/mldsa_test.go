package devkms

import (
	"context"
	"crypto/sha3"
	"encoding/asn1"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/internal/mldsamu"
)

// externalMu computes mu for pure ML-DSA with an empty context (FIPS 204,
// Algorithm 2 line 10 and Algorithm 7 line 6): mu = SHAKE256(tr || 0x00 ||
// 0x00 || M, 64) with tr = SHAKE256(pk, 64).
func externalMu(pk, msg []byte) []byte {
	tr := sha3.SumSHAKE256(pk, 64)
	h := sha3.NewSHAKE256()
	h.Write(tr)
	h.Write([]byte{0, 0})
	h.Write(msg)
	mu := make([]byte, 64)
	_, _ = h.Read(mu)
	return mu
}

// TestMLDSASignVerify signs with each ML-DSA key spec and message type and
// checks every signature with circl (an independent ML-DSA implementation).
func TestMLDSASignVerify(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	msg := []byte("contrato assinado com ML-DSA")
	for _, tt := range []struct {
		spec    types.KeySpec
		scheme  sign.Scheme
		sigSize int
	}{
		{types.KeySpecMlDsa44, mldsa44.Scheme(), 2420},
		{types.KeySpecMlDsa65, mldsa65.Scheme(), 3309},
		{types.KeySpecMlDsa87, mldsa87.Scheme(), 4627},
	} {
		md := createOwn(t, c, tt.spec, types.KeyUsageTypeSignVerify)
		var f spkiFields
		_, err := asn1.Unmarshal(publicKey(t, c, *md.KeyId), &f)
		require.NoError(t, err)
		raw := f.PublicKey.Bytes
		pub, err := tt.scheme.UnmarshalBinaryPublicKey(raw)
		require.NoError(t, err)
		signKMS := func(t *testing.T, mt types.MessageType, m []byte) []byte {
			out, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: m, MessageType: mt, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
			require.NoError(t, err)
			assert.Equal(t, types.SigningAlgorithmSpecMlDsaShake256, out.SigningAlgorithm)
			assert.Equal(t, *md.Arn, *out.KeyId)
			require.Len(t, out.Signature, tt.sigSize)
			return out.Signature
		}
		verifyKMS := func(mt types.MessageType, m, sig []byte) error {
			out, err := c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: m, MessageType: mt, Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256})
			if err == nil && !out.SignatureValid {
				t.Errorf("Verify answered SignatureValid=false without an error")
			}
			return err
		}
		t.Run(string(tt.spec)+" RAW signature is pure ML-DSA with an empty context", func(t *testing.T) {
			sig := signKMS(t, types.MessageTypeRaw, msg)
			assert.True(t, tt.scheme.Verify(pub, msg, sig, nil))
			assert.False(t, tt.scheme.Verify(pub, msg, sig, &sign.SignatureOpts{Context: "x"}), "not signed with a context")
			require.NoError(t, verifyKMS(types.MessageTypeRaw, msg, sig))
			requireAPIError(t, verifyKMS(types.MessageTypeRaw, []byte("outro"), sig), "KMSInvalidSignatureException")
		})
		t.Run(string(tt.spec)+" EXTERNAL_MU signature verifies over the message", func(t *testing.T) {
			mu := externalMu(raw, msg)
			sig := signKMS(t, types.MessageTypeExternalMu, mu)
			assert.True(t, tt.scheme.Verify(pub, msg, sig, nil))
			require.NoError(t, verifyKMS(types.MessageTypeExternalMu, mu, sig))
			require.NoError(t, verifyKMS(types.MessageTypeRaw, msg, sig))
			other := externalMu(raw, []byte("outro"))
			requireAPIError(t, verifyKMS(types.MessageTypeExternalMu, other, sig), "KMSInvalidSignatureException")
		})
		t.Run(string(tt.spec)+" 4096-byte RAW message is signed", func(t *testing.T) {
			big := make([]byte, 4096)
			assert.True(t, tt.scheme.Verify(pub, big, signKMS(t, types.MessageTypeRaw, big), nil))
		})
	}
}

func TestMLDSARefusals(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	md := createOwn(t, c, types.KeySpecMlDsa65, types.KeyUsageTypeSignVerify)
	tests := []struct {
		name string
		alg  types.SigningAlgorithmSpec
		mt   types.MessageType
		msg  []byte
		want string
	}{
		{"DIGEST message type", types.SigningAlgorithmSpecMlDsaShake256, types.MessageTypeDigest, make([]byte, 64), "ValidationException"},
		{"EXTERNAL_MU of 32 bytes", types.SigningAlgorithmSpecMlDsaShake256, types.MessageTypeExternalMu, make([]byte, 32), "ValidationException"},
		{"EXTERNAL_MU of 65 bytes", types.SigningAlgorithmSpecMlDsaShake256, types.MessageTypeExternalMu, make([]byte, 65), "ValidationException"},
		{"RAW message of 4097 bytes", types.SigningAlgorithmSpecMlDsaShake256, types.MessageTypeRaw, make([]byte, 4097), "ValidationException"},
		{"ECDSA algorithm", types.SigningAlgorithmSpecEcdsaSha256, types.MessageTypeDigest, make([]byte, 32), "InvalidKeyUsageException"},
		{"Ed25519 algorithm", types.SigningAlgorithmSpecEd25519Sha512, types.MessageTypeRaw, []byte("m"), "InvalidKeyUsageException"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" for Sign: "+tt.name, func(t *testing.T) {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: tt.msg, MessageType: tt.mt, SigningAlgorithm: tt.alg})
			requireAPIError(t, err, tt.want)
		})
		t.Run(tt.want+" for Verify: "+tt.name, func(t *testing.T) {
			_, err := c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: tt.msg, MessageType: tt.mt, SigningAlgorithm: tt.alg, Signature: make([]byte, 3309)})
			requireAPIError(t, err, tt.want)
		})
	}
	t.Run("KMSInvalidSignatureException for a signature of the wrong length", func(t *testing.T) {
		_, err := c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecMlDsaShake256, Signature: make([]byte, 10)})
		requireAPIError(t, err, "KMSInvalidSignatureException")
	})
	t.Run("InvalidKeyUsageException for Encrypt with an ML-DSA key", func(t *testing.T) {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("p"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecSm2pke})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
	t.Run("DeriveSharedSecret: NotFoundException for an unknown alias, InvalidKeyUsageException for an ML-DSA key", func(t *testing.T) {
		_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: awssdk.String("alias/none"), KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte{1}})
		requireAPIError(t, err, "NotFoundException")
		_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.Arn, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: []byte{1}})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
}

// TestMLDSAExternalMuVerify checks the go:linkname route to
// VerifyExternalMu (internal/mldsamu) for each parameter set: it accepts the
// key's signature over mu and refuses another mu.
func TestMLDSAExternalMuVerify(t *testing.T) {
	for i, name := range []string{"ML-DSA-44", "ML-DSA-65", "ML-DSA-87"} {
		t.Run(name, func(t *testing.T) {
			e, err := mldsaGenerator(i)()
			require.NoError(t, err)
			m := e.(mldsaEngine)
			mu := externalMu(m.priv.PublicKey().Bytes(), []byte("m"))
			sig, err := m.sign("ML_DSA_SHAKE_256", "EXTERNAL_MU", mu)
			require.NoError(t, err)
			require.NoError(t, mldsamu.Verify(m.priv.PublicKey(), mu, sig))
			mu[0] ^= 1
			require.Error(t, mldsamu.Verify(m.priv.PublicKey(), mu, sig))
		})
	}
}
