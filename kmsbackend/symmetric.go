package kmsbackend

import "context"

// MaxEncryptPlaintext is the longest plaintext KMS Encrypt takes, in bytes.
// Source: AWS KMS API reference, Encrypt, Plaintext ("Length Constraints:
// Minimum length of 1. Maximum length of 4096.").
const MaxEncryptPlaintext = 4096

// MaxCiphertextBlob is the longest ciphertext blob KMS returns from Encrypt
// and takes in Decrypt, in bytes. Source: AWS KMS API reference, Encrypt
// Response CiphertextBlob and Decrypt CiphertextBlob ("Minimum length of 1.
// Maximum length of 6144.").
const MaxCiphertextBlob = 6144

// SymmetricCrypter is the optional capability to encrypt and decrypt with a
// SYMMETRIC_DEFAULT key (AWS KMS Encrypt and Decrypt with an encryption
// context), discovered by type assertion on a Backend. The ciphertext is the
// service's opaque blob; the key never leaves the service.
type SymmetricCrypter interface {
	// Encrypt encrypts plaintext (1..MaxEncryptPlaintext bytes) under the
	// key with SYMMETRIC_DEFAULT and the encryption context (nil or empty:
	// none), returning the ciphertext blob.
	Encrypt(ctx context.Context, keyARN string, plaintext []byte, encryptionContext map[string]string) ([]byte, error)
	// DecryptWithContext decrypts a SYMMETRIC_DEFAULT ciphertext blob with
	// the key and the same encryption context it was made with. A blob of
	// another key, a damaged blob or another context fails with
	// KindInvalidCiphertext.
	DecryptWithContext(ctx context.Context, keyARN string, ciphertext []byte, encryptionContext map[string]string) ([]byte, error)
}
