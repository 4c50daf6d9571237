package cabitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/p11kms/p11kms/ck"
)

// keyFixture is one key seeded into the dev KMS by TestMain.
type keyFixture struct {
	name    string // short name used in test names
	alias   string // KMS alias, "alias/" included
	spec    string // AWS KMS KeySpec
	keyType uint   // CKA_KEY_TYPE
	bits    int    // RSA modulus bits, or the curve's order bits
	// curveOID is the EC named curve (CKA_EC_PARAMS is its DER), nil for RSA.
	curveOID asn1.ObjectIdentifier
	// curveHash is the digest KMS ties to the curve (DESIGN.md: one per curve).
	curveHash string

	// Filled by TestMain from the dev KMS's GetPublicKey.
	keyID string
	spki  []byte
	pub   any // *rsa.PublicKey, *ecdsa.PublicKey or *secp256k1.PublicKey
	// priv is the seeded private key, for signatures made independently of the module.
	priv crypto.Signer
}

// label is the CKA_LABEL the token must give the key's objects.
func (k *keyFixture) label() string { return strings.TrimPrefix(k.alias, "alias/") }

// sigLen is the length of a PKCS#11 signature by the key: the modulus length,
// or r||s with each half as long as the curve order (PKCS#11 2.40 Mechanisms §2.3.1).
func (k *keyFixture) sigLen() int {
	if k.keyType == ck.CKK_RSA {
		return k.bits / 8
	}
	return 2 * ((k.bits + 7) / 8)
}

// fixtures are the keys of the dev KMS seed, one per key spec the module
// supports for signing. Sources: AWS KMS Developer Guide "Key spec reference"
// (specs); RFC 5480 §2.1.1.1 (NIST curve OIDs); SEC 2 v2 §A.2 (secp256k1 OID).
var fixtures = []*keyFixture{
	{name: "RSA2048", alias: "alias/cabitest-rsa2048", spec: "RSA_2048", keyType: ck.CKK_RSA, bits: 2048},
	{name: "RSA3072", alias: "alias/cabitest-rsa3072", spec: "RSA_3072", keyType: ck.CKK_RSA, bits: 3072},
	{name: "RSA4096", alias: "alias/CartorioDigitalRAIZ", spec: "RSA_4096", keyType: ck.CKK_RSA, bits: 4096},
	{name: "P256", alias: "alias/cabitest-p256", spec: "ECC_NIST_P256", keyType: ck.CKK_EC, bits: 256,
		curveOID: asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, curveHash: "SHA256"},
	{name: "P384", alias: "alias/cabitest-p384", spec: "ECC_NIST_P384", keyType: ck.CKK_EC, bits: 384,
		curveOID: asn1.ObjectIdentifier{1, 3, 132, 0, 34}, curveHash: "SHA384"},
	{name: "P521", alias: "alias/cabitest-p521", spec: "ECC_NIST_P521", keyType: ck.CKK_EC, bits: 521,
		curveOID: asn1.ObjectIdentifier{1, 3, 132, 0, 35}, curveHash: "SHA512"},
	{name: "Secp256k1", alias: "alias/cabitest-secp256k1", spec: "ECC_SECG_P256K1", keyType: ck.CKK_EC, bits: 256,
		curveOID: asn1.ObjectIdentifier{1, 3, 132, 0, 10}, curveHash: "SHA256"},
}

// fixture returns the fixture with the name.
func fixture(name string) *keyFixture {
	for _, k := range fixtures {
		if k.name == name {
			return k
		}
	}
	panic("no fixture " + name)
}

// nistCurves maps NIST curve OIDs to Go curves (RFC 5480 §2.1.1.1).
var nistCurves = map[string]elliptic.Curve{
	"1.2.840.10045.3.1.7": elliptic.P256(),
	"1.3.132.0.34":        elliptic.P384(),
	"1.3.132.0.35":        elliptic.P521(),
}

// secp256k1OID is SEC 2 v2 §A.2's secp256k1.
var secp256k1OID = asn1.ObjectIdentifier{1, 3, 132, 0, 10}

// parseSPKI parses a SubjectPublicKeyInfo: Go's x509 for RSA and NIST
// curves, by hand for secp256k1 (DESIGN.md: crypto/x509 cannot).
func parseSPKI(der []byte) (any, error) {
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		switch pub.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			return pub, nil
		}
		return nil, fmt.Errorf("unexpected public key type %T", pub)
	}
	// RFC 5480 §2: SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING }.
	var spki struct {
		Alg struct {
			Algorithm asn1.ObjectIdentifier
			Curve     asn1.ObjectIdentifier
		}
		Key asn1.BitString
	}
	if rest, err := asn1.Unmarshal(der, &spki); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("SPKI: %v (%d trailing bytes)", err, len(rest))
	}
	if !spki.Alg.Curve.Equal(secp256k1OID) {
		return nil, fmt.Errorf("SPKI: unsupported curve %v", spki.Alg.Curve)
	}
	return secp256k1.ParsePubKey(spki.Key.Bytes)
}
