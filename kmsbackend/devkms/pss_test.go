package devkms

import (
	"context"
	"crypto"
	"crypto/rsa"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPSSSaltIsHashLength(t *testing.T) {
	s, err := Start(context.Background(), Options{SeedFile: stdSeedPath})
	require.NoError(t, err)
	defer s.Close()
	c := client(s.URL())
	var key SeedKey
	for _, k := range stdSeed {
		if k.Spec == kmsbackend.SpecRSA3072 {
			key = k
		}
	}
	pub := &key.Private.(*rsa.PrivateKey).PublicKey
	msg := []byte("assinatura PSS")
	tests := []struct {
		alg  types.SigningAlgorithmSpec
		hash crypto.Hash
	}{
		{types.SigningAlgorithmSpecRsassaPssSha256, crypto.SHA256},
		{types.SigningAlgorithmSpecRsassaPssSha384, crypto.SHA384},
		{types.SigningAlgorithmSpecRsassaPssSha512, crypto.SHA512},
	}
	for _, tt := range tests {
		for _, mt := range []types.MessageType{types.MessageTypeRaw, types.MessageTypeDigest} {
			t.Run(string(tt.alg)+" "+string(mt)+" signature has a hash-length salt", func(t *testing.T) {
				h := tt.hash.New()
				h.Write(msg)
				digest := h.Sum(nil)
				in := msg
				if mt == types.MessageTypeDigest {
					in = digest
				}
				out, err := c.Sign(context.Background(), &kms.SignInput{KeyId: awssdk.String(key.ID), SigningAlgorithm: tt.alg, MessageType: mt, Message: in})
				require.NoError(t, err)
				assert.Equal(t, tt.alg, out.SigningAlgorithm)
				require.NoError(t, rsa.VerifyPSS(pub, tt.hash, digest, out.Signature, &rsa.PSSOptions{SaltLength: tt.hash.Size(), Hash: tt.hash}))
				maxSalt := pub.Size() - tt.hash.Size() - 2
				require.Error(t, rsa.VerifyPSS(pub, tt.hash, digest, out.Signature, &rsa.PSSOptions{SaltLength: maxSalt, Hash: tt.hash}), "not local-kms's maximum salt")
			})
		}
	}
	t.Run("ValidationException for a digest of the wrong length", func(t *testing.T) {
		_, err := c.Sign(context.Background(), &kms.SignInput{KeyId: awssdk.String(key.ID), SigningAlgorithm: types.SigningAlgorithmSpecRsassaPssSha384, MessageType: types.MessageTypeDigest, Message: make([]byte, 32)})
		require.ErrorContains(t, err, "ValidationException")
	})
	t.Run("PKCS#1 v1.5 signatures are left as local-kms makes them", func(t *testing.T) {
		h := crypto.SHA256.New()
		h.Write(msg)
		out, err := c.Sign(context.Background(), &kms.SignInput{KeyId: awssdk.String(key.ID), SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, MessageType: types.MessageTypeRaw, Message: msg})
		require.NoError(t, err)
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, h.Sum(nil), out.Signature))
	})
}
