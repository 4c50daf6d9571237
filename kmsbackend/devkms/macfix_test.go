package devkms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"path/filepath"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hmacSpecs are the HMAC key specs with their algorithm and hash. Source:
// AWS KMS Developer Guide, "Key spec reference", HMAC key specs.
var hmacSpecs = []struct {
	spec kmsbackend.KeySpec
	alg  types.MacAlgorithmSpec
	hash func() hash.Hash
}{
	{kmsbackend.SpecHMAC224, types.MacAlgorithmSpecHmacSha224, sha256.New224},
	{kmsbackend.SpecHMAC256, types.MacAlgorithmSpecHmacSha256, sha256.New},
	{kmsbackend.SpecHMAC384, types.MacAlgorithmSpecHmacSha384, sha512.New384},
	{kmsbackend.SpecHMAC512, types.MacAlgorithmSpecHmacSha512, sha512.New},
}

// hmacServer starts a dev KMS seeded with one key per HMAC spec (in
// hmacSpecs order), whose material the test knows.
func hmacServer(t *testing.T) (*Server, []SeedKey) {
	t.Helper()
	specs := make([]StandardKey, len(hmacSpecs))
	for i, s := range hmacSpecs {
		specs[i] = StandardKey{Spec: s.spec, Usage: kmsbackend.UsageGenerateVerifyMac, Alias: "alias/mac-" + s.spec.String()}
	}
	seed, err := GenerateSeed(specs)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "seed.yaml")
	require.NoError(t, WriteSeedFile(path, seed))
	s, err := Start(context.Background(), Options{SeedFile: path})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, seed
}

// apiCode returns the service error code of err ("" if it has none).
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func TestVerifyMacAnswersAsAWS(t *testing.T) {
	s, seed := hmacServer(t)
	c := client(s.URL())
	ctx := context.Background()
	msg := []byte("ata notarial 2024/0815")
	for i, hs := range hmacSpecs {
		k := seed[i]
		m := hmac.New(hs.hash, k.Secret)
		m.Write(msg)
		good := m.Sum(nil)
		flipped := bytes.Clone(good)
		flipped[len(flipped)-1] ^= 0x01
		rows := []struct {
			name  string
			msg   []byte
			mac   []byte
			valid bool
			code  string
		}{
			{"MacValid=true for the HMAC computed with the seeded key", msg, good, true, ""},
			{"KMSInvalidMacException for a MAC with one bit flipped", msg, flipped, false, "KMSInvalidMacException"},
			{"KMSInvalidMacException for a truncated MAC", msg, good[:len(good)-1], false, "KMSInvalidMacException"},
			{"KMSInvalidMacException for another message", append(bytes.Clone(msg), '!'), good, false, "KMSInvalidMacException"},
			{"ValidationException for an empty message", []byte{}, good, false, "ValidationException"},
			{"ValidationException for a 4097-byte message", make([]byte, 4097), good, false, "ValidationException"},
		}
		for _, r := range rows {
			t.Run(hs.spec.String()+" "+r.name, func(t *testing.T) {
				out, err := c.VerifyMac(ctx, &kms.VerifyMacInput{KeyId: awssdk.String(k.ID), MacAlgorithm: hs.alg, Message: r.msg, Mac: r.mac})
				if r.code != "" {
					require.Error(t, err)
					assert.Equal(t, r.code, apiCode(err))
					if r.code == "KMSInvalidMacException" {
						var inv *types.KMSInvalidMacException
						assert.True(t, errors.As(err, &inv), "the SDK decodes the modelled exception: %v", err)
					}
					return
				}
				require.NoError(t, err)
				assert.Equal(t, r.valid, out.MacValid)
				assert.Equal(t, hs.alg, out.MacAlgorithm)
			})
		}
	}
}

func TestGenerateMacMessageLength(t *testing.T) {
	s, seed := hmacServer(t)
	c := client(s.URL())
	k := seed[1] // HMAC_256
	rows := []struct {
		name string
		len  int
		code string
	}{
		{"HMAC of a 1-byte message", 1, ""},
		{"HMAC of a 4096-byte message", 4096, ""},
		{"ValidationException for a 4097-byte message", 4097, "ValidationException"},
		{"ValidationException for an empty message", 0, "ValidationException"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			msg := bytes.Repeat([]byte{0x5a}, r.len)
			out, err := c.GenerateMac(context.Background(), &kms.GenerateMacInput{KeyId: awssdk.String(k.ID), MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: msg})
			if r.code != "" {
				require.Error(t, err)
				assert.Equal(t, r.code, apiCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, hmacSHA256(k.Secret, msg), out.Mac)
		})
	}
}
