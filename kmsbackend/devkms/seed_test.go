package devkms

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publicKeyBytes returns the SPKI public key bit string of a DER SPKI.
func publicKeyBytes(t *testing.T, der []byte) []byte {
	t.Helper()
	var spki struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	_, err := asn1.Unmarshal(der, &spki)
	require.NoError(t, err)
	return spki.Key.Bytes
}

func TestStandardSeedLoadsEveryKey(t *testing.T) {
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath})
	require.NoError(t, err)
	defer s.Close()
	c := client(s.URL())
	ctx := context.Background()
	require.Len(t, stdSeed, len(StandardKeys))
	for i, k := range stdSeed {
		t.Run(StandardKeys[i].Alias+" seeded with its spec, usage and public key", func(t *testing.T) {
			assert.Equal(t, StandardKeys[i].Spec, k.Spec)
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: awssdk.String(StandardKeys[i].Alias)})
			require.NoError(t, err)
			md := d.KeyMetadata
			assert.Equal(t, k.ID, *md.KeyId)
			assert.Equal(t, k.Spec.String(), string(md.KeySpec))
			assert.Equal(t, StandardKeys[i].Usage.String(), string(md.KeyUsage))
			assert.Equal(t, types.KeyStateEnabled, md.KeyState)
			assert.Equal(t, types.OriginTypeAwsKms, md.Origin)
			switch p := k.Private.(type) {
			case *rsa.PrivateKey:
				pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
				require.NoError(t, err)
				want, err := x509.MarshalPKIXPublicKey(&p.PublicKey)
				require.NoError(t, err)
				assert.Equal(t, want, pub.PublicKey)
			case *ecdsa.PrivateKey:
				pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
				require.NoError(t, err)
				want := elliptic.Marshal(p.Curve, p.X, p.Y) //nolint:staticcheck // uncompressed point, any curve
				assert.Equal(t, want, publicKeyBytes(t, pub.PublicKey))
			case nil:
				require.NotEmpty(t, k.Secret)
			}
			if k.Spec == kmsbackend.SpecHMAC256 {
				// fixups.go: HMAC algorithms are MacAlgorithms, as in AWS.
				assert.Equal(t, []types.MacAlgorithmSpec{types.MacAlgorithmSpecHmacSha256}, md.MacAlgorithms)
				assert.Empty(t, md.SigningAlgorithms)
			}
		})
	}
	t.Run("HMAC key seeded with known material computes the expected MAC", func(t *testing.T) {
		var k SeedKey
		for _, sk := range stdSeed {
			if sk.Spec == kmsbackend.SpecHMAC256 {
				k = sk
			}
		}
		out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: awssdk.String(k.ID), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: []byte("m")})
		require.NoError(t, err)
		assert.Equal(t, hmacSHA256(k.Secret, []byte("m")), out.Mac)
	})
}

func TestSeedFileErrors(t *testing.T) {
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	p224DER, err := x509.MarshalECPrivateKey(p224)
	require.NoError(t, err)
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"refused for invalid YAML", "Keys: [", "yaml"},
		{"refused for an unknown field", "Keyz: {}\n", "field Keyz not found"},
		{"refused for an ECC key on P-224", "Keys:\n  Asymmetric:\n    Ecc:\n      - Metadata: {KeyId: k1}\n        PrivateKeyPem: |\n" + indent(pemString("EC PRIVATE KEY", p224DER), "          "), "unsupported curve"},
		{"refused for an ECC key that is not PEM", "Keys:\n  Asymmetric:\n    Ecc:\n      - Metadata: {KeyId: k1}\n        PrivateKeyPem: nope\n", "no PEM block"},
		{"refused for an ECC key used for encryption", "Keys:\n  Asymmetric:\n    Ecc:\n      - Metadata: {KeyId: k1, KeyUsage: ENCRYPT_DECRYPT}\n        PrivateKeyPem: |\n" + indent(pemString("EC PRIVATE KEY", mustSEC1(t)), "          "), "only SIGN_VERIFY"},
		{"refused for a key without KeyId", "Keys:\n  Symmetric:\n    Aes:\n      - Metadata: {}\n        BackingKeys: [" + hex32 + "]\n", "no Metadata.KeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seed.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			s, err := Start(context.Background(), Options{SeedFile: path})
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, s)
		})
	}
	t.Run("refused for a missing seed file", func(t *testing.T) {
		_, err := Start(context.Background(), Options{SeedFile: filepath.Join(t.TempDir(), "none.yaml")})
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestNewSeedKeyRefusesWrongUsage(t *testing.T) {
	tests := []struct {
		name  string
		spec  kmsbackend.KeySpec
		usage kmsbackend.KeyUsage
	}{
		{"refused: ECC for encryption", kmsbackend.SpecECCNISTP256, kmsbackend.UsageEncryptDecrypt},
		{"refused: AES for signing", kmsbackend.SpecSymmetricDefault, kmsbackend.UsageSignVerify},
		{"refused: Ed25519 (local-kms lacks it)", kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSeedKey(tt.spec, tt.usage)
			require.Error(t, err)
		})
	}
}

const hex32 = "5cdaead27fe7da2de47945d73cd6d79e36494e73802f3cd3869f1d2cb0b5d7a9"

func mustSEC1(t *testing.T) []byte {
	t.Helper()
	p, err := secp256k1.GeneratePrivateKey()
	require.NoError(t, err)
	der, err := marshalSEC1(p.ToECDSA())
	require.NoError(t, err)
	return der
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
