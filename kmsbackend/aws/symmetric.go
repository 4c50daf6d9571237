package aws

import (
	"context"
	"errors"
	"maps"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

var _ kmsbackend.SymmetricCrypter = (*Backend)(nil)

// encryptionContext copies the caller's context for the SDK; nil for none,
// so that an empty context is sent as no context at all (AWS KMS API
// reference, Encrypt EncryptionContext: optional).
func encryptionContext(c map[string]string) map[string]string {
	if len(c) == 0 {
		return nil
	}
	return maps.Clone(c)
}

// Encrypt encrypts plaintext under a SYMMETRIC_DEFAULT key with the
// encryption context (AWS KMS Encrypt). The algorithm is always
// SYMMETRIC_DEFAULT: the only one for symmetric encryption keys (AWS KMS API
// reference, Encrypt EncryptionAlgorithm). A plaintext outside
// 1..kmsbackend.MaxEncryptPlaintext bytes is refused before any call.
func (b *Backend) Encrypt(ctx context.Context, keyARN string, plaintext []byte, encCtx map[string]string) ([]byte, error) {
	if len(plaintext) < 1 || len(plaintext) > kmsbackend.MaxEncryptPlaintext {
		return nil, invalid("Encrypt", "plaintext of %d bytes; the service takes 1 to %d", len(plaintext), kmsbackend.MaxEncryptPlaintext)
	}
	out, err := call(ctx, b, "Encrypt", func(ctx context.Context) (*kms.EncryptOutput, error) {
		return b.api.Encrypt(ctx, &kms.EncryptInput{
			KeyId:               awssdk.String(keyARN),
			Plaintext:           plaintext,
			EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
			EncryptionContext:   encryptionContext(encCtx),
		})
	})
	if err != nil {
		return nil, err
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, &kmsbackend.Error{Kind: kmsbackend.KindUnknown, Op: "Encrypt", Err: errors.New("the service returned no ciphertext")}
	}
	return out.CiphertextBlob, nil
}

// DecryptWithContext decrypts a SYMMETRIC_DEFAULT ciphertext blob with the
// key and encryption context (AWS KMS Decrypt). The KeyId is always sent, so
// a blob of another key fails (IncorrectKeyException) rather than being
// decrypted with whatever key it names. A blob outside
// 1..kmsbackend.MaxCiphertextBlob bytes is refused before any call.
func (b *Backend) DecryptWithContext(ctx context.Context, keyARN string, ciphertext []byte, encCtx map[string]string) ([]byte, error) {
	if len(ciphertext) < 1 || len(ciphertext) > kmsbackend.MaxCiphertextBlob {
		return nil, invalid("Decrypt", "ciphertext of %d bytes; the service takes 1 to %d", len(ciphertext), kmsbackend.MaxCiphertextBlob)
	}
	out, err := call(ctx, b, "Decrypt", func(ctx context.Context) (*kms.DecryptOutput, error) {
		return b.api.Decrypt(ctx, &kms.DecryptInput{
			KeyId:               awssdk.String(keyARN),
			CiphertextBlob:      ciphertext,
			EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault,
			EncryptionContext:   encryptionContext(encCtx),
		})
	})
	if err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}
