package devkms

import (
	"crypto/ecdh"
	"errors"
	"fmt"

	"github.com/nsmithuk/local-kms/src/handler"
)

// ownSpec is one key spec the dev KMS serves itself: the key usages it
// allows, the algorithms of each usage, and the generator of its keys.
type ownSpec struct {
	// usages maps each KeyUsage the dev KMS serves for this spec to the
	// algorithms a key of that usage lists in its metadata.
	usages map[string][]string
	// whole: every usage of the spec belongs to the dev KMS, so CreateKey
	// with any other usage is a ValidationException; otherwise other usages
	// go to local-kms (ECC_NIST_* SIGN_VERIFY keys).
	whole bool
	// generate makes the key material of a new key.
	generate func() (engine, error)
}

// ownSpecs are the key specs and usages local-kms lacks. Each row cites its
// source: AWS KMS Developer Guide, "Key spec reference" (asymmetric key
// specs) and AWS KMS API reference, CreateKey KeyUsage.
var ownSpecs = map[string]ownSpec{
	// Elliptic curve key specs: ECC_NIST_EDWARDS25519, SIGN_VERIFY only;
	// KeyMetadata SigningAlgorithms ED25519_SHA_512, ED25519_PH_SHA_512.
	"ECC_NIST_EDWARDS25519": {whole: true, generate: newEd25519Engine,
		usages: map[string][]string{"SIGN_VERIFY": {"ED25519_SHA_512", "ED25519_PH_SHA_512"}}},
	// ML-DSA key specs: ML_DSA_44/65/87, SIGN_VERIFY only ("For asymmetric
	// KMS keys with ML-DSA key pairs, specify SIGN_VERIFY");
	// SigningAlgorithmSpec ML_DSA_SHAKE_256.
	"ML_DSA_44": {whole: true, generate: mldsaGenerator(0), usages: map[string][]string{"SIGN_VERIFY": {"ML_DSA_SHAKE_256"}}},
	"ML_DSA_65": {whole: true, generate: mldsaGenerator(1), usages: map[string][]string{"SIGN_VERIFY": {"ML_DSA_SHAKE_256"}}},
	"ML_DSA_87": {whole: true, generate: mldsaGenerator(2), usages: map[string][]string{"SIGN_VERIFY": {"ML_DSA_SHAKE_256"}}},
	// NIST-recommended elliptic curve key specs: "specify SIGN_VERIFY or
	// KEY_AGREEMENT"; SIGN_VERIFY stays with local-kms; KEY_AGREEMENT keys
	// list KeyAgreementAlgorithms [ECDH] (DeriveSharedSecret: "The only
	// valid value is ECDH").
	"ECC_NIST_P256": {generate: ecdhGenerator(ecdh.P256()), usages: map[string][]string{"KEY_AGREEMENT": {"ECDH"}}},
	"ECC_NIST_P384": {generate: ecdhGenerator(ecdh.P384()), usages: map[string][]string{"KEY_AGREEMENT": {"ECDH"}}},
	"ECC_NIST_P521": {generate: ecdhGenerator(ecdh.P521()), usages: map[string][]string{"KEY_AGREEMENT": {"ECDH"}}},
	// SM2 key spec (China Regions only; the dev KMS serves it in any
	// region): "specify ENCRYPT_DECRYPT, SIGN_VERIFY, or KEY_AGREEMENT";
	// SigningAlgorithmSpec SM2DSA, EncryptionAlgorithmSpec SM2PKE,
	// KeyAgreementAlgorithmSpec ECDH.
	"SM2": {whole: true, generate: newSM2Engine, usages: map[string][]string{
		"SIGN_VERIFY":     {"SM2DSA"},
		"ENCRYPT_DECRYPT": {"SM2PKE"},
		"KEY_AGREEMENT":   {"ECDH"},
	}},
}

// usageFields names the KeyMetadata and GetPublicKey field that lists the
// algorithms of each key usage. Source: AWS KMS API reference, KeyMetadata
// and GetPublicKey response (SigningAlgorithms, EncryptionAlgorithms,
// KeyAgreementAlgorithms).
var usageFields = map[string]string{
	"SIGN_VERIFY":     "SigningAlgorithms",
	"ENCRYPT_DECRYPT": "EncryptionAlgorithms",
	"KEY_AGREEMENT":   "KeyAgreementAlgorithms",
}

// engine holds the key material of one own key.
type engine interface {
	// spki is the DER SubjectPublicKeyInfo (AWS KMS API reference,
	// GetPublicKey PublicKey).
	spki() ([]byte, error)
}

// signEngine is an engine of SIGN_VERIFY keys. The algorithm is one the key
// lists and the message 1..4096 bytes (checked by the caller).
type signEngine interface {
	sign(alg, messageType string, msg []byte) ([]byte, error)
	verify(alg, messageType string, msg, sig []byte) (bool, error)
}

// cryptEngine is an engine of ENCRYPT_DECRYPT keys.
type cryptEngine interface {
	encrypt(alg string, plaintext []byte) ([]byte, error)
	decrypt(alg string, ciphertext []byte) ([]byte, error)
}

// agreeEngine is an engine of KEY_AGREEMENT keys.
type agreeEngine interface {
	// derive returns the raw ECDH shared secret with the peer's DER SPKI.
	derive(peerSPKI []byte) ([]byte, error)
}

// kmsError is a client error with its AWS KMS exception name.
type kmsError struct{ typ, msg string }

// Error returns the exception name and message.
func (e *kmsError) Error() string { return e.typ + ": " + e.msg }

// validation is a ValidationException (AWS KMS API reference, Common Errors).
func validation(format string, args ...any) error {
	return &kmsError{"ValidationException", fmt.Sprintf(format, args...)}
}

// errResponse turns an engine error into a response: a kmsError into its
// HTTP 400 exception, anything else into InternalFailureException.
func errResponse(err error, what string) handler.Response {
	if ke, ok := errors.AsType[*kmsError](err); ok {
		return handler.New400ExceptionResponse(ke.typ, ke.msg)
	}
	return internalFailure(fmt.Sprintf("%s: %v", what, err))
}
