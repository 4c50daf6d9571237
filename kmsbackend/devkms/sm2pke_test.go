package devkms

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sm2Cipher is the GM/T 0009 SM2 ciphertext, read with encoding/asn1.
type sm2Cipher struct {
	X, Y *big.Int
	Hash []byte // C3
	C    []byte // C2
}

func TestSM2EncryptDecrypt(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	md := createOwn(t, c, types.KeySpecSm2, types.KeyUsageTypeEncryptDecrypt)
	spki := publicKey(t, c, *md.KeyId)
	pubPEM := writePublicPEM(t, dir, "sm2.pem", spki)
	pk, err := smx509.ParsePKIXPublicKey(spki)
	require.NoError(t, err)
	pub := pk.(*ecdsa.PublicKey)
	decrypt := func(ct []byte, alg types.EncryptionAlgorithmSpec) ([]byte, error) {
		out, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: md.Arn, CiphertextBlob: ct, EncryptionAlgorithm: alg})
		if err != nil {
			return nil, err
		}
		assert.Equal(t, types.EncryptionAlgorithmSpecSm2pke, out.EncryptionAlgorithm)
		assert.Equal(t, *md.Arn, *out.KeyId)
		return out.Plaintext, nil
	}
	for _, n := range []int{1, 100, 1024} {
		pt := bytes.Repeat([]byte{0xA5}, n)
		pt[0] = byte(n)
		t.Run("openssl ciphertext of a plaintext of "+big.NewInt(int64(n)).String()+" bytes decrypts", func(t *testing.T) {
			ct := openssl(t, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubPEM, "-in", writeFile(t, dir, "pt", pt))
			got, err := decrypt(ct, types.EncryptionAlgorithmSpecSm2pke)
			require.NoError(t, err)
			assert.Equal(t, pt, got)
		})
		t.Run("dev KMS ciphertext of "+big.NewInt(int64(n)).String()+" bytes is GM/T 0009 ASN.1 and decrypts", func(t *testing.T) {
			out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: pt, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSm2pke})
			require.NoError(t, err)
			assert.Equal(t, types.EncryptionAlgorithmSpecSm2pke, out.EncryptionAlgorithm)
			var sc sm2Cipher
			rest, err := asn1.Unmarshal(out.CiphertextBlob, &sc)
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.True(t, sm2Params.IsOnCurve(sc.X, sc.Y), "C1 is a point of the SM2 curve")
			assert.Len(t, sc.Hash, 32)
			assert.Len(t, sc.C, n)
			got, err := decrypt(out.CiphertextBlob, types.EncryptionAlgorithmSpecSm2pke)
			require.NoError(t, err)
			assert.Equal(t, pt, got)
		})
	}
	t.Run("gmsm ciphertext under the GetPublicKey key decrypts", func(t *testing.T) {
		ct, err := sm2.EncryptASN1(rand.Reader, pub, []byte("gmsm"))
		require.NoError(t, err)
		got, err := decrypt(ct, types.EncryptionAlgorithmSpecSm2pke)
		require.NoError(t, err)
		assert.Equal(t, []byte("gmsm"), got)
	})
	other, err := sm2.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ofOther, err := sm2.EncryptASN1(rand.Reader, &other.PublicKey, []byte("x"))
	require.NoError(t, err)
	plainForm, err := sm2.Encrypt(rand.Reader, pub, []byte("x"), sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	require.NoError(t, err)
	good, err := sm2.EncryptASN1(rand.Reader, pub, []byte("abc"))
	require.NoError(t, err)
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-1] ^= 1
	decryptRefused := []struct {
		name string
		ct   []byte
		alg  types.EncryptionAlgorithmSpec
		want string
	}{
		{"ciphertext of another SM2 key", ofOther, types.EncryptionAlgorithmSpecSm2pke, "InvalidCiphertextException"},
		{"C1||C3||C2 without ASN.1", plainForm, types.EncryptionAlgorithmSpecSm2pke, "InvalidCiphertextException"},
		{"C2 changed", tampered, types.EncryptionAlgorithmSpecSm2pke, "InvalidCiphertextException"},
		{"not a ciphertext", []byte("junk"), types.EncryptionAlgorithmSpecSm2pke, "InvalidCiphertextException"},
		{"no EncryptionAlgorithm (SYMMETRIC_DEFAULT)", good, "", "InvalidKeyUsageException"},
		{"RSAES_OAEP_SHA_256", good, types.EncryptionAlgorithmSpecRsaesOaepSha256, "InvalidKeyUsageException"},
	}
	for _, tt := range decryptRefused {
		t.Run(tt.want+" for Decrypt: "+tt.name, func(t *testing.T) {
			_, err := decrypt(tt.ct, tt.alg)
			requireAPIError(t, err, tt.want)
		})
	}
	t.Run("ValidationException for Encrypt of 1025 bytes", func(t *testing.T) {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: make([]byte, 1025), EncryptionAlgorithm: types.EncryptionAlgorithmSpecSm2pke})
		requireAPIError(t, err, "ValidationException")
	})
	t.Run("InvalidKeyUsageException for Encrypt with RSAES_OAEP_SHA_1", func(t *testing.T) {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("p"), EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha1})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
	t.Run("InvalidKeyUsageException for Sign with an ENCRYPT_DECRYPT key", func(t *testing.T) {
		_, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecSm2dsa})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
}

// TestSM2PKEShortPlaintexts covers, through the engine, the short plaintexts
// gmsm v0.15.5 gets wrong (the engine uses internal/sm2pke instead): 2048
// round trips of 1-byte plaintexts (with gmsm's Encrypt about 8 of them would
// fail), and engine ciphertexts of 1 and 2 bytes decrypted by openssl with
// the engine's private key.
func TestSM2PKEShortPlaintexts(t *testing.T) {
	e, err := newSM2Engine()
	require.NoError(t, err)
	s := e.(sm2Engine)
	failed := 0
	for i := range 2048 {
		pt := []byte{byte(i)}
		ct, err := s.encrypt("SM2PKE", pt)
		require.NoError(t, err)
		if got, err := s.decrypt("SM2PKE", ct); err != nil || !bytes.Equal(got, pt) {
			failed++
		}
	}
	assert.Zero(t, failed, "1-byte round trips that failed")
	dir := t.TempDir()
	der, err := smx509.MarshalPKCS8PrivateKey(s.priv)
	require.NoError(t, err)
	key := writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for i := range 16 {
		pt := bytes.Repeat([]byte{byte(i * 17)}, 1+i%2)
		ct, err := s.encrypt("SM2PKE", pt)
		require.NoError(t, err)
		got := openssl(t, "pkeyutl", "-decrypt", "-inkey", key, "-in", writeFile(t, dir, "ct", ct))
		assert.Equal(t, pt, got, "openssl decryption of an engine ciphertext")
	}
}
