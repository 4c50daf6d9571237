// Package mechanisms is the pure, fuzzable core of the module's cryptography:
// the mechanism table, DigestInfo parsing, PSS parameter validation, ECDSA
// DER <-> r||s conversion, public-key parsing, and sign/verify plans that map
// (mechanism, parameters, key) to a backend algorithm and input/output transforms.
package mechanisms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// KeyKind is the family of a public key.
type KeyKind int

// Key families.
const (
	KindUnknown KeyKind = iota
	KindRSA
	KindEC
	KindEdwards // Ed25519 (eddsa.go)
	KindMLDSA   // ML-DSA-44/65/87 (mldsa_key.go)
	KindSM2     // SM2 on sm2p256v1: CKK_EC objects, SM2DSA/SM2PKE only (sm2.go)
)

// String returns "RSA", "EC" or "unknown".
func (k KeyKind) String() string {
	switch k {
	case KindRSA:
		return "RSA"
	case KindEC:
		return "EC"
	case KindEdwards:
		return "EdDSA"
	case KindMLDSA:
		return "ML-DSA"
	case KindSM2:
		return "SM2"
	}
	return "unknown"
}

// PublicKey is a parsed SubjectPublicKeyInfo, with what the PKCS#11
// attributes and local verification need. Secp256k1 is parsed by hand (Go's
// crypto/x509 does not know the curve).
type PublicKey struct {
	Kind KeyKind
	// RSA is set for KindRSA.
	RSA *rsa.PublicKey
	// Curve, X, Y are set for KindEC and KindSM2.
	Curve Curve
	X, Y  *big.Int
	// Ed25519 is set for KindEdwards.
	Ed25519 ed25519.PublicKey
	// MLDSA (the FIPS 204 encoded public key) and MLDSASet are set for KindMLDSA (mldsa_key.go).
	MLDSA    []byte
	MLDSASet MLDSASet
	// SPKI is the DER SubjectPublicKeyInfo (CKA_PUBLIC_KEY_INFO).
	SPKI []byte

	// mldsa is MLDSA decoded once by ParsePublicKey (mldsa_key.go), so a
	// signature does not decode the key again.
	mldsa *mldsaDecoded
}

// oidECPublicKey is id-ecPublicKey (RFC 5480 §2.1.1).
var oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

// spkiASN1 is SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
type spkiASN1 struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo for RSA, P-256, P-384, P-521, secp256k1, Ed25519, SM2 or ML-DSA.
// Errors are plain (not ck.Error): the caller decides the CK_RV.
func ParsePublicKey(spki []byte) (*PublicKey, error) {
	var s spkiASN1
	rest, err := asn1.Unmarshal(spki, &s)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("parse public key: %d trailing bytes after SubjectPublicKeyInfo", len(rest))
	}
	if set := mldsaSetFromOID(s.Algorithm.Algorithm); set != MLDSANone {
		return parseMLDSA(set, s, spki) // RFC 9881 (mldsa_key.go)
	}
	if s.Algorithm.Algorithm.Equal(oidECPublicKey) {
		var oid asn1.ObjectIdentifier
		if rest, err := asn1.Unmarshal(s.Algorithm.Parameters.FullBytes, &oid); err == nil && len(rest) == 0 {
			switch curveFromOID(oid) {
			case CurveSecp256k1:
				return parseSecp256k1(s.PublicKey, spki)
			case CurveSM2:
				return parseSM2(s.PublicKey, spki) // sm2.go
			}
		}
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return &PublicKey{Kind: KindRSA, RSA: pub, SPKI: bytes.Clone(spki)}, nil
	case *ecdsa.PublicKey:
		return fromECDSA(pub, spki)
	case ed25519.PublicKey:
		return fromEd25519(pub, spki), nil
	}
	return nil, fmt.Errorf("parse public key: unsupported key type %T", pub)
}

// fromECDSA converts a crypto/ecdsa key on a NIST curve.
func fromECDSA(pub *ecdsa.PublicKey, spki []byte) (*PublicKey, error) {
	var c Curve
	switch pub.Curve {
	case elliptic.P256():
		c = CurveP256
	case elliptic.P384():
		c = CurveP384
	case elliptic.P521():
		c = CurveP521
	default:
		return nil, fmt.Errorf("parse public key: unsupported curve %s", pub.Curve.Params().Name)
	}
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return fromPoint(c, point, spki), nil
}

// parseSecp256k1 checks the uncompressed point is on secp256k1.
func parseSecp256k1(bits asn1.BitString, spki []byte) (*PublicKey, error) {
	point := bits.RightAlign()
	if bits.BitLength%8 != 0 || len(point) != 65 || point[0] != 0x04 {
		return nil, errors.New("parse public key: secp256k1 key is not a 65-byte uncompressed point")
	}
	if _, err := secp256k1.ParsePubKey(point); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return fromPoint(CurveSecp256k1, point, spki), nil
}

// fromPoint builds an EC PublicKey from a validated uncompressed point.
func fromPoint(c Curve, point, spki []byte) *PublicKey {
	n := (len(point) - 1) / 2
	return &PublicKey{
		Kind:  KindEC,
		Curve: c,
		X:     new(big.Int).SetBytes(point[1 : 1+n]),
		Y:     new(big.Int).SetBytes(point[1+n:]),
		SPKI:  bytes.Clone(spki),
	}
}

// Point returns the uncompressed point 04||X||Y, each coordinate padded to
// the field length (equal to the order length on every curve here); nil if k is not EC or SM2.
func (k *PublicKey) Point() []byte {
	if k == nil || (k.Kind != KindEC && k.Kind != KindSM2) {
		return nil
	}
	n := k.Curve.OrderLen()
	if n == 0 || k.X == nil || k.Y == nil ||
		k.X.Sign() < 0 || k.Y.Sign() < 0 || k.X.BitLen() > 8*n || k.Y.BitLen() > 8*n {
		return nil
	}
	p := make([]byte, 1+2*n)
	p[0] = 0x04
	k.X.FillBytes(p[1 : 1+n])
	k.Y.FillBytes(p[1+n:])
	return p
}

// ECPoint returns CKA_EC_POINT: the DER OCTET STRING around the uncompressed
// point 04||X||Y (PKCS#11 Current Mechanisms 2.40 §2.3.3), long-form length
// when needed (P-521: 04 81 85 04 ...); nil if k is not EC or SM2.
func (k *PublicKey) ECPoint() []byte {
	p := k.Point()
	if p == nil {
		return nil
	}
	der, err := asn1.Marshal(p)
	if err != nil {
		return nil // unreachable: a byte slice always marshals
	}
	return der
}

// ModulusBits returns the RSA modulus length in bits (CKA_MODULUS_BITS), 0 if k is not RSA.
func (k *PublicKey) ModulusBits() int {
	if k == nil || k.Kind != KindRSA || k.RSA == nil || k.RSA.N == nil {
		return 0
	}
	return k.RSA.N.BitLen()
}
