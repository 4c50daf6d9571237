package devkms

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEd25519KeyThroughAWSBackend(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{SeedFile: stdSeedPath})
	require.NoError(t, err)
	defer s.Close()
	b, err := aws.New(ctx, aws.Options{Region: DefaultRegion, Endpoint: s.URL(), Anonymous: true})
	require.NoError(t, err)
	defer b.Close()
	before, err := b.ListKeys(ctx)
	require.NoError(t, err)

	info, err := b.CreateKey(ctx, kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, "ed-test", "Ed25519 test key", map[string]string{"suite": "ed25519"})
	require.NoError(t, err)
	got, err := b.DescribeKey(ctx, "alias/ed-test")
	require.NoError(t, err)
	assert.Equal(t, info.ARN, got.ARN)
	assert.Equal(t, kmsbackend.SpecECCNISTEdwards25519, got.Spec)
	assert.Equal(t, kmsbackend.UsageSignVerify, got.Usage)
	assert.Equal(t, []string{"alias/ed-test"}, got.Aliases)
	assert.Equal(t, map[string]string{"suite": "ed25519"}, got.Tags)
	assert.Equal(t, []kmsbackend.SigningAlgorithm{kmsbackend.ED25519_SHA_512, kmsbackend.ED25519_PH_SHA_512}, got.SigningAlgorithms)
	pk, err := x509.ParsePKIXPublicKey(got.PublicKeyDER)
	require.NoError(t, err)
	pub := pk.(ed25519.PublicKey)

	after, err := b.ListKeys(ctx)
	require.NoError(t, err)
	assert.Len(t, after, len(before)+1)
	aliases, err := b.ListAliases(ctx)
	require.NoError(t, err)
	assert.Contains(t, aliases, kmsbackend.Alias{Name: "alias/ed-test", TargetKeyID: info.ID})

	msg := []byte("documento a assinar")
	digest := sha512.Sum512(msg)
	t.Run("ED25519_SHA_512 RAW signature verifies as pure Ed25519", func(t *testing.T) {
		sig, err := b.Sign(ctx, info.ARN, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, msg)
		require.NoError(t, err)
		require.Len(t, sig, ed25519.SignatureSize)
		assert.True(t, ed25519.Verify(pub, msg, sig))
	})
	t.Run("ED25519_PH_SHA_512 DIGEST signature verifies as Ed25519ph", func(t *testing.T) {
		sig, err := b.Sign(ctx, info.ARN, kmsbackend.ED25519_PH_SHA_512, kmsbackend.MessageDigest, digest[:])
		require.NoError(t, err)
		require.NoError(t, ed25519.VerifyWithOptions(pub, digest[:], sig, &ed25519.Options{Hash: crypto.SHA512}))
		assert.False(t, ed25519.Verify(pub, msg, sig), "not a pure signature")
	})
	refused := []struct {
		name string
		alg  kmsbackend.SigningAlgorithm
		mt   kmsbackend.MessageType
		msg  []byte
	}{
		{"invalid-request: pure Ed25519 with DIGEST", kmsbackend.ED25519_SHA_512, kmsbackend.MessageDigest, digest[:]},
		{"invalid-request: message over 4096 bytes", kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, make([]byte, 4097)},
		{"invalid-request: Ed25519ph digest of 32 bytes", kmsbackend.ED25519_PH_SHA_512, kmsbackend.MessageDigest, digest[:32]},
		{"invalid-request: ECDSA algorithm", kmsbackend.ECDSA_SHA_256, kmsbackend.MessageDigest, digest[:32]},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Sign(ctx, info.ARN, tt.alg, tt.mt, tt.msg)
			var be *kmsbackend.Error
			require.ErrorAs(t, err, &be)
			assert.Equal(t, kmsbackend.KindInvalidRequest, be.Kind)
		})
	}
	t.Run("4096-byte message is signed", func(t *testing.T) {
		big := make([]byte, 4096)
		sig, err := b.Sign(ctx, info.ARN, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, big)
		require.NoError(t, err)
		assert.True(t, ed25519.Verify(pub, big, sig))
	})

	c := client(s.URL())
	t.Run("Verify accepts the key's signature and refuses a changed message", func(t *testing.T) {
		sig, err := b.Sign(ctx, info.ARN, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, msg)
		require.NoError(t, err)
		out, err := c.Verify(ctx, &kms.VerifyInput{KeyId: awssdk.String(info.ID), Message: msg, Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512, MessageType: types.MessageTypeRaw})
		require.NoError(t, err)
		assert.True(t, out.SignatureValid)
		_, err = c.Verify(ctx, &kms.VerifyInput{KeyId: awssdk.String(info.ID), Message: []byte("other"), Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512, MessageType: types.MessageTypeRaw})
		var inv *types.KMSInvalidSignatureException
		require.ErrorAs(t, err, &inv)
	})
	t.Run("CreateKey for encryption is refused", func(t *testing.T) {
		_, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistEdwards25519, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
		require.ErrorContains(t, err, "ValidationException")
	})
	t.Run("a pending-deletion key refuses Sign with KMSInvalidStateException", func(t *testing.T) {
		require.NoError(t, b.ScheduleKeyDeletion(ctx, info.ARN, 7))
		_, err := c.Sign(ctx, &kms.SignInput{KeyId: awssdk.String(info.ID), Message: msg, SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512, MessageType: types.MessageTypeRaw})
		var st *types.KMSInvalidStateException
		require.ErrorAs(t, err, &st)
	})
}
