package aws

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hmacSHA256 is the independent verifier: Go's crypto/hmac over the seeded
// key material.
func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func TestGenerateMacMatchesIndependentHMAC(t *testing.T) {
	f := newFixture(t)
	k := seedByAlias(t, "alias/dev-hmac-256")
	for _, n := range []int{1, 32, 1000, kmsbackend.MaxMacMessage} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		t.Run(fmt.Sprintf("HMAC-SHA-256 of a %d-byte message equals crypto/hmac's", n), func(t *testing.T) {
			mac, err := f.b.GenerateMac(context.Background(), arn(k.ID), kmsbackend.HMAC_SHA_256, msg)
			require.NoError(t, err)
			assert.Equal(t, hmacSHA256(k.Secret, msg), mac)
		})
	}
}

func TestGenerateMacRefusals(t *testing.T) {
	f := newFixture(t)
	k := seedByAlias(t, "alias/dev-hmac-256")
	rsa := seedByAlias(t, "alias/dev-rsa-2048")
	rows := []struct {
		name string
		key  string
		alg  kmsbackend.MacAlgorithm
		msg  []byte
		kind kmsbackend.ErrorKind
		code string // "" when refused before any call
	}{
		{"invalid request, no call, for an empty message", arn(k.ID), kmsbackend.HMAC_SHA_256, []byte{}, kmsbackend.KindInvalidRequest, ""},
		{"invalid request, no call, for a 4097-byte message", arn(k.ID), kmsbackend.HMAC_SHA_256, make([]byte, 4097), kmsbackend.KindInvalidRequest, ""},
		{"invalid request, no call, for an unknown algorithm", arn(k.ID), kmsbackend.MacUnknown, []byte("m"), kmsbackend.KindInvalidRequest, ""},
		{"invalid request for an algorithm the key spec does not allow", arn(k.ID), kmsbackend.HMAC_SHA_384, []byte("m"), kmsbackend.KindInvalidRequest, "ValidationException"},
		{"invalid request for a signing key", arn(rsa.ID), kmsbackend.HMAC_SHA_256, []byte("m"), kmsbackend.KindInvalidRequest, "ValidationException"},
		{"not found for a key that does not exist", arn("00000000-0000-4000-8000-000000000000"), kmsbackend.HMAC_SHA_256, []byte("m"), kmsbackend.KindNotFound, "NotFoundException"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			mac, err := f.b.GenerateMac(context.Background(), r.key, r.alg, r.msg)
			require.Error(t, err)
			assert.Nil(t, mac)
			var be *kmsbackend.Error
			require.ErrorAs(t, err, &be)
			assert.Equal(t, r.kind, be.Kind)
			assert.Equal(t, r.code, be.Code)
			assert.Equal(t, "GenerateMac", be.Op)
		})
	}
}

func TestVerifyMac(t *testing.T) {
	f := newFixture(t)
	k := seedByAlias(t, "alias/dev-hmac-256")
	msg := []byte("registro de imóveis, matrícula 4711")
	good := hmacSHA256(k.Secret, msg)
	flipped := bytes.Clone(good)
	flipped[0] ^= 0x80
	rows := []struct {
		name  string
		msg   []byte
		mac   []byte
		valid bool
		kind  kmsbackend.ErrorKind // KindUnknown: no error
		code  string
	}{
		{"true for crypto/hmac's MAC", msg, good, true, kmsbackend.KindUnknown, ""},
		{"false, no error, for a MAC with one bit flipped (KMSInvalidMacException)", msg, flipped, false, kmsbackend.KindUnknown, ""},
		{"false, no error, for a truncated MAC", msg, good[:16], false, kmsbackend.KindUnknown, ""},
		{"false, no error, for another message", []byte("registro de imóveis, matrícula 4712"), good, false, kmsbackend.KindUnknown, ""},
		{"invalid request, no call, for an empty MAC", msg, []byte{}, false, kmsbackend.KindInvalidRequest, ""},
		{"invalid request, no call, for a 6145-byte MAC", msg, make([]byte, 6145), false, kmsbackend.KindInvalidRequest, ""},
		{"invalid request, no call, for a 4097-byte message", make([]byte, 4097), good, false, kmsbackend.KindInvalidRequest, ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ok, err := f.b.VerifyMac(context.Background(), arn(k.ID), kmsbackend.HMAC_SHA_256, r.msg, r.mac)
			assert.Equal(t, r.valid, ok)
			if r.kind == kmsbackend.KindUnknown {
				require.NoError(t, err)
				return
			}
			var be *kmsbackend.Error
			require.ErrorAs(t, err, &be)
			assert.Equal(t, r.kind, be.Kind)
			assert.Equal(t, r.code, be.Code)
		})
	}
	t.Run("disabled for a disabled key, not a verdict", func(t *testing.T) {
		_, err := rawClient(f.srv.URL()).DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: awssdk.String(k.ID)})
		require.NoError(t, err)
		ok, err := f.b.VerifyMac(context.Background(), arn(k.ID), kmsbackend.HMAC_SHA_256, msg, good)
		assert.False(t, ok)
		assert.Equal(t, kmsbackend.KindDisabled, kmsbackend.KindOf(err))
		_, err = f.b.GenerateMac(context.Background(), arn(k.ID), kmsbackend.HMAC_SHA_256, msg)
		assert.Equal(t, kmsbackend.KindDisabled, kmsbackend.KindOf(err))
	})
}
