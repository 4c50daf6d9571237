package aws

import (
	"context"
	"errors"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/p11kms/p11kms/kmsbackend"
)

var errNoMetadata = errors.New("the service returned no key metadata")

// invalid returns a KindInvalidRequest error decided before any call.
func invalid(op, format string, args ...any) error {
	return &kmsbackend.Error{Kind: kmsbackend.KindInvalidRequest, Op: op, Err: fmt.Errorf(format, args...)}
}

// Sign signs msg (a digest with MessageDigest) with the key. The algorithm
// is the caller's (chosen from the PKCS#11 mechanism), never a default.
// ECDSA signatures are DER, as the service returns them.
func (b *Backend) Sign(ctx context.Context, keyARN string, alg kmsbackend.SigningAlgorithm, mt kmsbackend.MessageType, msg []byte) ([]byte, error) {
	sdkAlg, ok := signingAlgorithms[alg]
	if !ok {
		return nil, invalid("Sign", "unknown signing algorithm %d", int(alg))
	}
	sdkMT, ok := messageTypes[mt]
	if !ok {
		return nil, invalid("Sign", "unknown message type %d", int(mt))
	}
	out, err := call(ctx, b, "Sign", func(ctx context.Context) (*kms.SignOutput, error) {
		return b.api.Sign(ctx, &kms.SignInput{
			KeyId:            awssdk.String(keyARN),
			SigningAlgorithm: sdkAlg,
			MessageType:      sdkMT,
			Message:          msg,
		})
	})
	if err != nil {
		return nil, err
	}
	return out.Signature, nil
}

// Decrypt decrypts ciphertext with the key and algorithm.
func (b *Backend) Decrypt(ctx context.Context, keyARN string, alg kmsbackend.EncryptionAlgorithm, ciphertext []byte) ([]byte, error) {
	sdkAlg, ok := encryptionAlgorithms[alg]
	if !ok {
		return nil, invalid("Decrypt", "unknown encryption algorithm %d", int(alg))
	}
	out, err := call(ctx, b, "Decrypt", func(ctx context.Context) (*kms.DecryptOutput, error) {
		return b.api.Decrypt(ctx, &kms.DecryptInput{
			KeyId:               awssdk.String(keyARN),
			EncryptionAlgorithm: sdkAlg,
			CiphertextBlob:      ciphertext,
		})
	})
	if err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}

// GenerateRandom returns n random bytes from the service (1 <= n <= 1024:
// AWS KMS API reference, GenerateRandom NumberOfBytes).
func (b *Backend) GenerateRandom(ctx context.Context, n int) ([]byte, error) {
	if n < 1 || n > 1024 {
		return nil, invalid("GenerateRandom", "%d bytes requested; the service gives 1 to 1024", n)
	}
	out, err := call(ctx, b, "GenerateRandom", func(ctx context.Context) (*kms.GenerateRandomOutput, error) {
		return b.api.GenerateRandom(ctx, &kms.GenerateRandomInput{NumberOfBytes: awssdk.Int32(int32(n))})
	})
	if err != nil {
		return nil, err
	}
	if len(out.Plaintext) != n {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: "GenerateRandom", Err: fmt.Errorf("asked for %d bytes, got %d", n, len(out.Plaintext))}
	}
	return out.Plaintext, nil
}
