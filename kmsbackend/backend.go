// Package kmsbackend defines the narrow interface between the token and a key
// service (AWS KMS, or another backend), in the project's own plain-data types.
// It never exposes an SDK type: mechanisms/ and token/ stay free of the AWS SDK.
package kmsbackend

import (
	"context"
	"time"
)

// KeyRef names one key as the service lists it.
type KeyRef struct {
	// ID is the key id (for AWS, the UUID).
	ID string
	// ARN is the full resource name; it is the stable reference used for calls.
	ARN string
}

// Alias is one alias name and the key id it points at.
type Alias struct {
	// Name is the alias, including the "alias/" prefix as AWS spells it.
	Name string
	// TargetKeyID is the key id the alias points at ("" for AWS-managed aliases without a key).
	TargetKeyID string
}

// KeyInfo is everything the token needs to know about one key, gathered by
// DescribeKey (metadata, public key, tags). Plain data: safe to cache and copy.
type KeyInfo struct {
	ID          string
	ARN         string
	Aliases     []string // alias names, "alias/" prefix included
	Tags        map[string]string
	Description string
	Spec        KeySpec
	Usage       KeyUsage
	State       KeyState
	Origin      string // AWS_KMS, EXTERNAL, AWS_CLOUDHSM, EXTERNAL_KEY_STORE
	CreatedAt   time.Time
	// DeletionDate is set for keys in PendingDeletion.
	DeletionDate time.Time
	// SigningAlgorithms the key allows (empty for non-signing keys).
	SigningAlgorithms []SigningAlgorithm
	// EncryptionAlgorithms the key allows (empty for non-encryption keys).
	EncryptionAlgorithms []EncryptionAlgorithm
	// MacAlgorithms the key allows (HMAC keys).
	MacAlgorithms []MacAlgorithm
	// KeyAgreementAlgorithms the key allows (KEY_AGREEMENT keys).
	KeyAgreementAlgorithms []KeyAgreementAlgorithm
	// PublicKeyDER is the DER SubjectPublicKeyInfo of an asymmetric key, nil otherwise.
	PublicKeyDER []byte
}

// Backend is a key service. Implementations must be safe for concurrent use.
// Every method honours ctx (deadline and cancellation). Errors are *Error
// values (see errors.go) so the token can map them to a CK_RV in one place.
type Backend interface {
	// ListKeys returns every key the caller may see (all pages).
	ListKeys(ctx context.Context) ([]KeyRef, error)
	// ListAliases returns every alias (all pages).
	ListAliases(ctx context.Context) ([]Alias, error)
	// DescribeKey returns the key's metadata, public key (asymmetric keys) and tags.
	// ref is a key id, key ARN, alias name ("alias/x") or alias ARN.
	DescribeKey(ctx context.Context, ref string) (*KeyInfo, error)
	// Sign signs msg with the key. With MessageDigest, msg is the digest.
	// ECDSA signatures come back DER-encoded, as the service returns them.
	Sign(ctx context.Context, keyARN string, alg SigningAlgorithm, mt MessageType, msg []byte) ([]byte, error)
	// Decrypt decrypts ciphertext with the key and algorithm.
	Decrypt(ctx context.Context, keyARN string, alg EncryptionAlgorithm, ciphertext []byte) ([]byte, error)
	// GenerateRandom returns n random bytes (1 <= n <= 1024).
	GenerateRandom(ctx context.Context, n int) ([]byte, error)
	// Close releases idle connections; the Backend must not be used afterwards.
	Close() error
}

// KeyCreator is the optional capability to create keys (C_GenerateKeyPair, ceremonies).
type KeyCreator interface {
	// CreateKey creates a key with the spec and usage and, when alias is not
	// empty, points the alias at it. It returns the new key's description.
	CreateKey(ctx context.Context, spec KeySpec, usage KeyUsage, alias, description string, tags map[string]string) (*KeyInfo, error)
}

// KeyDeleter is the optional capability to schedule a key's deletion (C_DestroyObject).
type KeyDeleter interface {
	// ScheduleKeyDeletion schedules deletion after pendingDays (7..30).
	ScheduleKeyDeletion(ctx context.Context, keyARN string, pendingDays int) error
}
