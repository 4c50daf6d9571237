package devkms

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opensslPeer has openssl generate a key pair on curve (an openssl curve
// name or "SM2") in dir; it returns the private key's PEM path and the
// public key's DER SPKI.
func opensslPeer(t *testing.T, dir, name, curve string) (string, []byte) {
	t.Helper()
	priv := dir + "/" + name + ".pem"
	if curve == "SM2" {
		openssl(t, "genpkey", "-algorithm", "SM2", "-out", priv)
	} else {
		openssl(t, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+curve, "-pkeyopt", "ec_param_enc:named_curve", "-out", priv)
	}
	return priv, openssl(t, "pkey", "-in", priv, "-pubout", "-outform", "DER")
}

// TestECDHDeriveSharedSecret checks DeriveSharedSecret against openssl
// pkeyutl -derive with a peer key made by openssl, for each NIST curve.
func TestECDHDeriveSharedSecret(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, tt := range []struct {
		spec   types.KeySpec
		curve  string
		secret int // bytes of the x-coordinate
	}{
		{types.KeySpecEccNistP256, "P-256", 32},
		{types.KeySpecEccNistP384, "P-384", 48},
		{types.KeySpecEccNistP521, "P-521", 66},
	} {
		t.Run(string(tt.spec)+" secret equals openssl's", func(t *testing.T) {
			md := createOwn(t, c, tt.spec, types.KeyUsageTypeKeyAgreement)
			kmsPub := writePublicPEM(t, dir, string(tt.spec)+"-kms.pem", publicKey(t, c, *md.KeyId))
			peerPriv, peerSPKI := opensslPeer(t, dir, string(tt.spec)+"-peer", tt.curve)
			out, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peerSPKI})
			require.NoError(t, err)
			want := openssl(t, "pkeyutl", "-derive", "-inkey", peerPriv, "-peerkey", kmsPub)
			require.Len(t, want, tt.secret)
			assert.Equal(t, want, out.SharedSecret)
			assert.Equal(t, *md.Arn, *out.KeyId)
			assert.Equal(t, types.OriginTypeAwsKms, out.KeyOrigin)
			assert.Equal(t, types.KeyAgreementAlgorithmSpecEcdh, out.KeyAgreementAlgorithm)
		})
	}
}

func TestECDHRefusals(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	md := createOwn(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeKeyAgreement)
	_, p384 := opensslPeer(t, dir, "p384", "P-384")
	_, sm2 := opensslPeer(t, dir, "sm2", "SM2")
	_, p256 := opensslPeer(t, dir, "p256", "P-256")
	offCurve := append([]byte(nil), p256...)
	offCurve[len(offCurve)-1] ^= 1 // y changed: the point is no longer on P-256
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaSPKI, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	require.NoError(t, err)
	signing := createOwn(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify) // a local-kms key
	derive := []struct {
		name string
		key  *string
		alg  types.KeyAgreementAlgorithmSpec
		peer []byte
		want string
	}{
		{"peer key on P-384", md.KeyId, types.KeyAgreementAlgorithmSpecEcdh, p384, "ValidationException"},
		{"peer key on the SM2 curve", md.KeyId, types.KeyAgreementAlgorithmSpecEcdh, sm2, "ValidationException"},
		{"peer point not on the curve", md.KeyId, types.KeyAgreementAlgorithmSpecEcdh, offCurve, "ValidationException"},
		{"peer key not DER", md.KeyId, types.KeyAgreementAlgorithmSpecEcdh, []byte("not a public key"), "ValidationException"},
		{"peer key RSA", md.KeyId, types.KeyAgreementAlgorithmSpecEcdh, rsaSPKI, "ValidationException"},
		{"algorithm other than ECDH", md.KeyId, "ECDH_COFACTOR", p256, "ValidationException"},
		{"local-kms SIGN_VERIFY key", signing.KeyId, types.KeyAgreementAlgorithmSpecEcdh, p256, "InvalidKeyUsageException"},
		{"unknown key", awssdk.String("0c7a9a5e-0000-4000-8000-000000000000"), types.KeyAgreementAlgorithmSpecEcdh, p256, "NotFoundException"},
	}
	for _, tt := range derive {
		t.Run(tt.want+" for DeriveSharedSecret: "+tt.name, func(t *testing.T) {
			_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: tt.key, KeyAgreementAlgorithm: tt.alg, PublicKey: tt.peer})
			requireAPIError(t, err, tt.want)
		})
	}
	t.Run("InvalidKeyUsageException for Sign with a KEY_AGREEMENT key", func(t *testing.T) {
		_, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: make([]byte, 32), MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
	t.Run("InvalidKeyUsageException for Decrypt with a KEY_AGREEMENT key", func(t *testing.T) {
		_, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: md.KeyId, CiphertextBlob: make([]byte, 100), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
	t.Run("a peer key of the same curve is accepted (control)", func(t *testing.T) {
		_, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: p256})
		require.NoError(t, err)
	})
}
