package devkms

import (
	"context"
	"encoding/asn1"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwnKeysCreateDescribeGetPublicKey(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		spec     types.KeySpec
		usage    types.KeyUsageType
		algs     []string // in the field of the usage
		oid      asn1.ObjectIdentifier
		curve    asn1.ObjectIdentifier // nil: no parameters
		keyBytes int                   // length of the BIT STRING
	}{
		{"ML_DSA_44 SIGN_VERIFY", types.KeySpecMlDsa44, types.KeyUsageTypeSignVerify, []string{"ML_DSA_SHAKE_256"}, oidMLDSA44, nil, 1312},
		{"ML_DSA_65 SIGN_VERIFY", types.KeySpecMlDsa65, types.KeyUsageTypeSignVerify, []string{"ML_DSA_SHAKE_256"}, oidMLDSA65, nil, 1952},
		{"ML_DSA_87 SIGN_VERIFY", types.KeySpecMlDsa87, types.KeyUsageTypeSignVerify, []string{"ML_DSA_SHAKE_256"}, oidMLDSA87, nil, 2592},
		{"ECC_NIST_P256 KEY_AGREEMENT", types.KeySpecEccNistP256, types.KeyUsageTypeKeyAgreement, []string{"ECDH"}, oidECPublicKey, oidP256, 65},
		{"ECC_NIST_P384 KEY_AGREEMENT", types.KeySpecEccNistP384, types.KeyUsageTypeKeyAgreement, []string{"ECDH"}, oidECPublicKey, oidP384, 97},
		{"ECC_NIST_P521 KEY_AGREEMENT", types.KeySpecEccNistP521, types.KeyUsageTypeKeyAgreement, []string{"ECDH"}, oidECPublicKey, oidP521, 133},
		{"SM2 SIGN_VERIFY", types.KeySpecSm2, types.KeyUsageTypeSignVerify, []string{"SM2DSA"}, oidECPublicKey, oidSM2, 65},
		{"SM2 ENCRYPT_DECRYPT", types.KeySpecSm2, types.KeyUsageTypeEncryptDecrypt, []string{"SM2PKE"}, oidECPublicKey, oidSM2, 65},
		{"SM2 KEY_AGREEMENT", types.KeySpecSm2, types.KeyUsageTypeKeyAgreement, []string{"ECDH"}, oidECPublicKey, oidSM2, 65},
	}
	// algsOf returns the algorithm lists of KeyMetadata / GetPublicKey: signing, encryption, key agreement.
	strs := func(v any) []string {
		var out []string
		switch l := v.(type) {
		case []types.SigningAlgorithmSpec:
			for _, a := range l {
				out = append(out, string(a))
			}
		case []types.EncryptionAlgorithmSpec:
			for _, a := range l {
				out = append(out, string(a))
			}
		case []types.KeyAgreementAlgorithmSpec:
			for _, a := range l {
				out = append(out, string(a))
			}
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := createOwn(t, c, tt.spec, tt.usage)
			want := map[types.KeyUsageType][]string{tt.usage: tt.algs}
			got := map[types.KeyUsageType][]string{}
			for u, l := range map[types.KeyUsageType][]string{
				types.KeyUsageTypeSignVerify: strs(md.SigningAlgorithms), types.KeyUsageTypeEncryptDecrypt: strs(md.EncryptionAlgorithms),
				types.KeyUsageTypeKeyAgreement: strs(md.KeyAgreementAlgorithms),
			} {
				if l != nil {
					got[u] = l
				}
			}
			assert.Equal(t, want, got, "CreateKey KeyMetadata algorithms")
			assert.Equal(t, tt.spec, md.KeySpec)
			assert.Equal(t, tt.usage, md.KeyUsage)
			assert.Equal(t, types.KeyStateEnabled, md.KeyState)
			assert.Equal(t, types.OriginTypeAwsKms, md.Origin)

			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.Arn})
			require.NoError(t, err)
			assert.Equal(t, *md.KeyId, *d.KeyMetadata.KeyId)
			assert.Equal(t, tt.usage, d.KeyMetadata.KeyUsage)
			assert.Equal(t, md.SigningAlgorithms, d.KeyMetadata.SigningAlgorithms)
			assert.Equal(t, md.EncryptionAlgorithms, d.KeyMetadata.EncryptionAlgorithms)
			assert.Equal(t, md.KeyAgreementAlgorithms, d.KeyMetadata.KeyAgreementAlgorithms)

			pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: md.KeyId})
			require.NoError(t, err)
			assert.Equal(t, *md.Arn, *pk.KeyId)
			assert.Equal(t, tt.spec, pk.KeySpec)
			assert.Equal(t, tt.usage, pk.KeyUsage)
			assert.Equal(t, md.SigningAlgorithms, pk.SigningAlgorithms)
			assert.Equal(t, md.EncryptionAlgorithms, pk.EncryptionAlgorithms)
			assert.Equal(t, md.KeyAgreementAlgorithms, pk.KeyAgreementAlgorithms)
			var f spkiFields
			rest, err := asn1.Unmarshal(pk.PublicKey, &f)
			require.NoError(t, err)
			assert.Empty(t, rest)
			assert.Equal(t, tt.oid, f.Algorithm.Algorithm)
			if tt.curve == nil {
				assert.Empty(t, f.Algorithm.Parameters.FullBytes, "RFC 9881: parameters absent")
			} else {
				var curve asn1.ObjectIdentifier
				_, err := asn1.Unmarshal(f.Algorithm.Parameters.FullBytes, &curve)
				require.NoError(t, err)
				assert.Equal(t, tt.curve, curve)
				assert.Equal(t, byte(4), f.PublicKey.Bytes[0], "uncompressed point")
			}
			assert.Len(t, f.PublicKey.Bytes, tt.keyBytes)
		})
	}
}

func TestOwnKeysCreateKeyRefused(t *testing.T) {
	c := ownServer(t)
	tests := []struct {
		name  string
		spec  types.KeySpec
		usage types.KeyUsageType
	}{
		{"ML_DSA_44 for ENCRYPT_DECRYPT", types.KeySpecMlDsa44, types.KeyUsageTypeEncryptDecrypt},
		{"ML_DSA_65 for KEY_AGREEMENT", types.KeySpecMlDsa65, types.KeyUsageTypeKeyAgreement},
		{"ML_DSA_87 without KeyUsage", types.KeySpecMlDsa87, ""},
		{"SM2 for GENERATE_VERIFY_MAC", types.KeySpecSm2, types.KeyUsageTypeGenerateVerifyMac},
		{"SM2 without KeyUsage", types.KeySpecSm2, ""},
		{"ECC_NIST_EDWARDS25519 for KEY_AGREEMENT", types.KeySpecEccNistEdwards25519, types.KeyUsageTypeKeyAgreement},
	}
	for _, tt := range tests {
		t.Run("ValidationException: "+tt.name, func(t *testing.T) {
			_, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: tt.spec, KeyUsage: tt.usage})
			requireAPIError(t, err, "ValidationException")
		})
	}
	t.Run("ECC_NIST_P256 SIGN_VERIFY stays a local-kms key", func(t *testing.T) {
		md := createOwn(t, c, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
		assert.Equal(t, []types.SigningAlgorithmSpec{types.SigningAlgorithmSpecEcdsaSha256}, md.SigningAlgorithms)
		assert.Empty(t, md.KeyAgreementAlgorithms)
		_, err := c.Sign(context.Background(), &kms.SignInput{KeyId: md.KeyId, Message: make([]byte, 32), MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
		require.NoError(t, err)
	})
}

// TestOwnKeysAdministration covers aliases, tags, listings and deletion of
// own keys of each new spec, through the aws backend (kmsbackend/aws) as the
// module uses them.
func TestOwnKeysAdministration(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Options{})
	require.NoError(t, err)
	defer s.Close()
	b, err := aws.New(ctx, aws.Options{Region: DefaultRegion, Endpoint: s.URL(), Anonymous: true})
	require.NoError(t, err)
	defer b.Close()
	c := ownClient(s.URL())
	tests := []struct {
		spec  kmsbackend.KeySpec
		usage kmsbackend.KeyUsage
		alias string
	}{
		{kmsbackend.SpecMLDSA44, kmsbackend.UsageSignVerify, "alias/ml-dsa-44"},
		{kmsbackend.SpecMLDSA87, kmsbackend.UsageSignVerify, "alias/ml-dsa-87"},
		{kmsbackend.SpecECCNISTP384, kmsbackend.UsageKeyAgreement, "alias/ecdh-p384"},
		{kmsbackend.SpecSM2, kmsbackend.UsageSignVerify, "alias/sm2-sign"},
		{kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt, "alias/sm2-crypt"},
		{kmsbackend.SpecSM2, kmsbackend.UsageKeyAgreement, "alias/sm2-agree"},
	}
	before, err := b.ListKeys(ctx)
	require.NoError(t, err)
	for i, tt := range tests {
		t.Run(tt.spec.String()+" "+tt.usage.String(), func(t *testing.T) {
			info, err := b.CreateKey(ctx, tt.spec, tt.usage, tt.alias, "own key", map[string]string{"n": tt.alias})
			require.NoError(t, err)
			got, err := b.DescribeKey(ctx, tt.alias)
			require.NoError(t, err)
			assert.Equal(t, info.ARN, got.ARN)
			assert.Equal(t, tt.spec, got.Spec)
			assert.Equal(t, tt.usage, got.Usage)
			assert.Equal(t, []string{tt.alias}, got.Aliases)
			assert.Equal(t, map[string]string{"n": tt.alias}, got.Tags)
			assert.Equal(t, publicKey(t, c, info.ID), got.PublicKeyDER)
			if tt.usage == kmsbackend.UsageKeyAgreement {
				assert.Equal(t, []kmsbackend.KeyAgreementAlgorithm{kmsbackend.ECDH}, got.KeyAgreementAlgorithms)
			}
			after, err := b.ListKeys(ctx)
			require.NoError(t, err)
			assert.Len(t, after, len(before)+i+1)
			aliases, err := b.ListAliases(ctx)
			require.NoError(t, err)
			assert.Contains(t, aliases, kmsbackend.Alias{Name: tt.alias, TargetKeyID: info.ID})
		})
	}
	t.Run("a pending-deletion own key refuses GetPublicKey and DeriveSharedSecret with KMSInvalidStateException", func(t *testing.T) {
		info, err := b.CreateKey(ctx, kmsbackend.SpecECCNISTP256, kmsbackend.UsageKeyAgreement, "", "", nil)
		require.NoError(t, err)
		peer := publicKey(t, c, info.ID)
		require.NoError(t, b.ScheduleKeyDeletion(ctx, info.ARN, 7))
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: awssdk.String(info.ID)})
		require.NoError(t, err)
		assert.Equal(t, types.KeyStatePendingDeletion, d.KeyMetadata.KeyState)
		_, err = c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: awssdk.String(info.ID)})
		requireAPIError(t, err, "KMSInvalidStateException")
		_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: awssdk.String(info.ID), KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peer})
		requireAPIError(t, err, "KMSInvalidStateException")
	})
}

// TestOwnSpecsEnginesServeTheirUsages checks the ownSpecs table: every
// usage a spec lists has algorithms, a metadata field, and an engine that
// implements the operations of that usage (ownops.go relies on it).
func TestOwnSpecsEnginesServeTheirUsages(t *testing.T) {
	for spec, row := range ownSpecs {
		e, err := row.generate()
		require.NoError(t, err, spec)
		_, err = e.spki()
		require.NoError(t, err, spec)
		for usage, algs := range row.usages {
			t.Run(spec+" "+usage, func(t *testing.T) {
				assert.NotEmpty(t, algs)
				assert.Contains(t, usageFields, usage)
				var ok bool
				switch usage {
				case "SIGN_VERIFY":
					_, ok = e.(signEngine)
				case "ENCRYPT_DECRYPT":
					_, ok = e.(cryptEngine)
				case "KEY_AGREEMENT":
					_, ok = e.(agreeEngine)
				}
				assert.True(t, ok, "%T does not serve %s", e, usage)
			})
		}
	}
}
