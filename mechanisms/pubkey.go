// Package mechanisms is the pure, fuzzable core of the module's cryptography:
// the mechanism table, DigestInfo parsing, PSS parameter validation, ECDSA
// DER <-> r||s conversion, public-key parsing, and sign/verify plans that map
// (mechanism, parameters, key) to a backend algorithm and input/output transforms.
package mechanisms

import (
	"crypto/rsa"
	"math/big"
)

// KeyKind is the family of a public key.
type KeyKind int

// Key families.
const (
	KindUnknown KeyKind = iota
	KindRSA
	KindEC
)

// Curve is a named elliptic curve.
type Curve int

// Curves KMS offers for ECDSA.
const (
	CurveNone Curve = iota
	CurveP256
	CurveP384
	CurveP521
	CurveSecp256k1
)

// PublicKey is a parsed SubjectPublicKeyInfo, with what the PKCS#11
// attributes and local verification need. Secp256k1 is parsed by hand (Go's
// crypto/x509 does not know the curve).
type PublicKey struct {
	Kind KeyKind
	// RSA is set for KindRSA.
	RSA *rsa.PublicKey
	// Curve, X, Y are set for KindEC.
	Curve Curve
	X, Y  *big.Int
	// SPKI is the DER SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO).
	SPKI []byte
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo for RSA, P-256, P-384, P-521 or secp256k1.
func ParsePublicKey(spki []byte) (*PublicKey, error) { panic("TODO(mechanisms helper)") }

// ECParams returns CKA_EC_PARAMS: the DER OID of the named curve.
func (c Curve) ECParams() []byte { panic("TODO(mechanisms helper)") }

// OrderLen returns the byte length of the curve's order (32, 48, 66, 32).
func (c Curve) OrderLen() int { panic("TODO(mechanisms helper)") }

// ECPoint returns CKA_EC_POINT: the DER OCTET STRING around the uncompressed point 04||X||Y.
func (k *PublicKey) ECPoint() []byte { panic("TODO(mechanisms helper)") }
