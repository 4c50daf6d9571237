package aws

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		spec      kmsbackend.KeySpec
		usage     kmsbackend.KeyUsage
		alias     string
		wantAlias []string
		signWith  kmsbackend.SigningAlgorithm
	}{
		{"P-256 signing key created with its alias", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, "alias/ceremony-ec", []string{"alias/ceremony-ec"}, kmsbackend.ECDSA_SHA_256},
		{"RSA-2048 signing key created with the alias prefix added", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, "CartorioDigitalTeste", []string{"alias/CartorioDigitalTeste"}, kmsbackend.RSASSA_PKCS1_V1_5_SHA_256},
		{"secp256k1 key created without an alias", kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify, "", nil, kmsbackend.ECDSA_SHA_256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tags := map[string]string{"ceremony": "2026-01", "custodians": "3"}
			info, err := f.b.CreateKey(ctx, tt.spec, tt.usage, tt.alias, "created by a test", tags)
			require.NoError(t, err)
			assert.Equal(t, tt.spec, info.Spec)
			assert.Equal(t, tt.usage, info.Usage)
			assert.Equal(t, kmsbackend.StateEnabled, info.State)
			assert.Equal(t, "created by a test", info.Description)
			assert.Equal(t, arn(info.ID), info.ARN)
			assert.ElementsMatch(t, tt.wantAlias, info.Aliases)
			assert.Equal(t, tags, info.Tags)
			require.NotEmpty(t, info.PublicKeyDER)

			d := sha256.Sum256([]byte("created"))
			sig, err := f.b.Sign(ctx, info.ARN, tt.signWith, kmsbackend.MessageDigest, d[:])
			require.NoError(t, err)
			verify(t, info.PublicKeyDER, tt.signWith, []byte("created"), sig)

			keys, err := f.b.ListKeys(ctx)
			require.NoError(t, err)
			assert.Contains(t, keys, kmsbackend.KeyRef{ID: info.ID, ARN: info.ARN})
		})
	}

	t.Run("invalid request naming the new key when the alias exists", func(t *testing.T) {
		_, err := f.b.CreateKey(ctx, kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, "alias/dev-ec-p256", "", nil)
		requireKind(t, err, kmsbackend.KindInvalidRequest, "CreateAlias", "AlreadyExistsException")
		assert.True(t, strings.Contains(err.Error(), "arn:aws:kms:us-east-1:111122223333:key/"), err.Error())
	})
	t.Run("invalid request for an unknown spec, without a call", func(t *testing.T) {
		_, err := f.b.CreateKey(ctx, kmsbackend.SpecUnknown, kmsbackend.UsageSignVerify, "", "", nil)
		requireKind(t, err, kmsbackend.KindInvalidRequest, "CreateKey", "")
	})
}

func TestScheduleKeyDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := seedByAlias(t, "alias/dev-rsa-4096")
	require.NoError(t, f.b.ScheduleKeyDeletion(ctx, arn(k.ID), 7))
	info, err := f.b.DescribeKey(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, kmsbackend.StatePendingDeletion, info.State)

	err = f.b.ScheduleKeyDeletion(ctx, arn(k.ID), 7)
	requireKind(t, err, kmsbackend.KindDisabled, "ScheduleKeyDeletion", "KMSInvalidStateException")
}
