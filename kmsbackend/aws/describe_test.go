package aws

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Algorithms each key spec allows. Source: AWS KMS Developer Guide, "Key
// spec reference" (RSA, ECC, HMAC and symmetric key specs).
var (
	rsaSigning = []kmsbackend.SigningAlgorithm{
		kmsbackend.RSASSA_PSS_SHA_256, kmsbackend.RSASSA_PSS_SHA_384, kmsbackend.RSASSA_PSS_SHA_512,
		kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512,
	}
	rsaEncryption = []kmsbackend.EncryptionAlgorithm{kmsbackend.RSAES_OAEP_SHA_1, kmsbackend.RSAES_OAEP_SHA_256}
)

// spkiPoint returns the public key bit string of a DER SubjectPublicKeyInfo
// and its algorithm parameters, parsed independently of the backend (Go's
// crypto/x509 cannot parse secp256k1 keys).
func spkiPoint(t *testing.T, der []byte) (params asn1.ObjectIdentifier, key []byte) {
	t.Helper()
	var spki struct {
		Alg struct {
			Alg    asn1.ObjectIdentifier
			Params asn1.ObjectIdentifier
		}
		Key asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	require.NoError(t, err)
	require.Empty(t, rest)
	return spki.Alg.Params, spki.Key.Bytes
}

// wantPublicKey asserts that der is the SPKI of the seed key's public key.
func wantPublicKey(t *testing.T, priv any, der []byte) {
	t.Helper()
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		want, err := x509.MarshalPKIXPublicKey(&p.PublicKey)
		require.NoError(t, err)
		assert.Equal(t, want, der)
	case *ecdsa.PrivateKey:
		if p.Curve == secp256k1.S256() {
			params, point := spkiPoint(t, der)
			assert.Equal(t, asn1.ObjectIdentifier{1, 3, 132, 0, 10}, params)
			d := make([]byte, 32)
			p.D.FillBytes(d)
			assert.Equal(t, secp256k1.PrivKeyFromBytes(d).PubKey().SerializeUncompressed(), point)
			return
		}
		want, err := x509.MarshalPKIXPublicKey(&p.PublicKey)
		require.NoError(t, err)
		assert.Equal(t, want, der)
	case nil:
		assert.Nil(t, der)
	default:
		t.Fatalf("unexpected seed key %T", priv)
	}
}

func TestDescribeKeySeededKeys(t *testing.T) {
	f := newFixture(t)
	// Tag one key through the service, to see tags come back.
	tagged := seedByAlias(t, "alias/dev-ec-p256")
	_, err := rawClient(f.srv.URL()).TagResource(context.Background(), &kms.TagResourceInput{
		KeyId: awssdk.String(tagged.ID),
		Tags:  []types.Tag{{TagKey: awssdk.String("team"), TagValue: awssdk.String("pki")}, {TagKey: awssdk.String("env"), TagValue: awssdk.String("dev")}},
	})
	require.NoError(t, err)

	tests := []struct {
		alias      string
		spec       kmsbackend.KeySpec
		usage      kmsbackend.KeyUsage
		signing    []kmsbackend.SigningAlgorithm
		encryption []kmsbackend.EncryptionAlgorithm
		mac        []kmsbackend.MacAlgorithm
	}{
		{"alias/dev-rsa-2048", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, rsaSigning, nil, nil},
		{"alias/dev-rsa-3072", kmsbackend.SpecRSA3072, kmsbackend.UsageSignVerify, rsaSigning, nil, nil},
		{"alias/dev-rsa-4096", kmsbackend.SpecRSA4096, kmsbackend.UsageSignVerify, rsaSigning, nil, nil},
		{"alias/dev-rsa-2048-decrypt", kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt, nil, rsaEncryption, nil},
		{"alias/dev-ec-p256", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}, nil, nil},
		{"alias/dev-ec-p384", kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify, []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_384}, nil, nil},
		{"alias/dev-ec-p521", kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify, []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_512}, nil, nil},
		{"alias/dev-ec-secp256k1", kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify, []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}, nil, nil},
		{"alias/dev-aes", kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, nil, []kmsbackend.EncryptionAlgorithm{kmsbackend.SYMMETRIC_DEFAULT}, nil},
		{"alias/dev-hmac-256", kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac, nil, nil, []kmsbackend.MacAlgorithm{kmsbackend.HMAC_SHA_256}},
	}
	for _, tt := range tests {
		seed := seedByAlias(t, tt.alias)
		for _, ref := range []struct{ how, ref string }{{"by id", seed.ID}, {"by arn", arn(seed.ID)}, {"by alias", tt.alias}, {"by alias arn", "arn:aws:kms:us-east-1:111122223333:" + tt.alias}} {
			t.Run("described "+tt.alias+" "+ref.how, func(t *testing.T) {
				before := time.Now()
				info, err := f.b.DescribeKey(context.Background(), ref.ref)
				require.NoError(t, err)
				assert.Equal(t, seed.ID, info.ID)
				assert.Equal(t, arn(seed.ID), info.ARN)
				assert.Equal(t, tt.spec, info.Spec)
				assert.Equal(t, tt.usage, info.Usage)
				assert.Equal(t, kmsbackend.StateEnabled, info.State)
				assert.Equal(t, "AWS_KMS", info.Origin)
				assert.ElementsMatch(t, tt.signing, info.SigningAlgorithms)
				assert.ElementsMatch(t, tt.encryption, info.EncryptionAlgorithms)
				assert.ElementsMatch(t, tt.mac, info.MacAlgorithms)
				assert.ElementsMatch(t, seed.Aliases, info.Aliases)
				assert.True(t, info.DeletionDate.IsZero())
				assert.WithinDuration(t, before, info.CreatedAt, time.Minute)
				wantPublicKey(t, seed.Private, info.PublicKeyDER)
				if seed.ID == tagged.ID {
					assert.Equal(t, map[string]string{"team": "pki", "env": "dev"}, info.Tags)
				} else {
					assert.Equal(t, map[string]string{}, info.Tags)
				}
			})
		}
	}
}

func TestDescribeKeyNotEnabled(t *testing.T) {
	f := newFixture(t)
	raw := rawClient(f.srv.URL())
	disabled := seedByAlias(t, "alias/dev-ec-p384")
	_, err := raw.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: awssdk.String(disabled.ID)})
	require.NoError(t, err)
	pending := seedByAlias(t, "alias/dev-rsa-3072")
	require.NoError(t, f.b.ScheduleKeyDeletion(context.Background(), pending.ID, 7))

	tests := []struct {
		name        string
		id          string
		wantState   kmsbackend.KeyState
		wantDeleted bool
	}{
		{"disabled key described without its public key", disabled.ID, kmsbackend.StateDisabled, false},
		{"key pending deletion described with its deletion date", pending.ID, kmsbackend.StatePendingDeletion, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := f.b.DescribeKey(context.Background(), tt.id)
			require.NoError(t, err)
			assert.Equal(t, tt.wantState, info.State)
			assert.Nil(t, info.PublicKeyDER) // the service refuses GetPublicKey for it
			if tt.wantDeleted {
				assert.WithinDuration(t, time.Now().AddDate(0, 0, 7), info.DeletionDate, time.Minute)
			} else {
				assert.True(t, info.DeletionDate.IsZero())
			}
		})
	}
}
