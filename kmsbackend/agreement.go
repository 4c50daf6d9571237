package kmsbackend

import "context"

// KeyAgreementAlgorithm is an AWS KMS key agreement algorithm.
type KeyAgreementAlgorithm int

// Key agreement algorithms. Source: AWS KMS API reference,
// DeriveSharedSecret KeyAgreementAlgorithm (valid values: ECDH).
const (
	AgreeUnknown KeyAgreementAlgorithm = iota
	ECDH
)

var agreementNames = map[KeyAgreementAlgorithm]string{
	ECDH: "ECDH",
}

// String returns the AWS API name of the algorithm.
func (a KeyAgreementAlgorithm) String() string { return nameOr(agreementNames, a) }

// ParseKeyAgreementAlgorithm returns the algorithm for an AWS API name, AgreeUnknown if unknown.
func ParseKeyAgreementAlgorithm(name string) KeyAgreementAlgorithm {
	return parseName(agreementNames, name, AgreeUnknown)
}

// KeyAgreer is the optional capability to derive a shared secret with a
// KEY_AGREEMENT key (AWS KMS DeriveSharedSecret), discovered by type
// assertion on a Backend. The private key never leaves the service.
type KeyAgreer interface {
	// DeriveSharedSecret returns the raw ECDH shared secret (the
	// x-coordinate of the shared point, as long as the curve's field)
	// between the key and the peer's public key, given as a DER
	// SubjectPublicKeyInfo on the key's curve (AWS KMS API reference,
	// DeriveSharedSecret PublicKey). A peer key the service refuses fails
	// with KindInvalidRequest.
	DeriveSharedSecret(ctx context.Context, keyARN string, alg KeyAgreementAlgorithm, peerSPKI []byte) ([]byte, error)
}
