package mechanisms

import (
	"crypto/elliptic"
	"encoding/asn1"
	"fmt"

	"github.com/p11kms/p11kms/kmsbackend"
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
	CurveSM2 // sm2p256v1, for SM2DSA and SM2PKE only (sm2.go)
)

// curveInfo is one row of curveTable.
type curveInfo struct {
	curve Curve
	name  string
	// oid is the named-curve OID (CKA_EC_PARAMS holds its DER encoding).
	oid asn1.ObjectIdentifier
	// bits is the size of the curve's order in bits (CK_MECHANISM_INFO key size).
	bits int
	// orderLen is the byte length of the order: the width of r and of s in r||s.
	orderLen int
	// spec is the KMS key spec for the curve.
	spec kmsbackend.KeySpec
	// alg is the one ECDSA algorithm KMS allows on the curve; digestLen is its digest length.
	alg       kmsbackend.SigningAlgorithm
	digestLen int
	// std is the crypto/elliptic curve used for local verification; nil for secp256k1 (decred).
	std func() elliptic.Curve
}

// curveTable lists the curves KMS offers for signing.
var curveTable = []curveInfo{
	// secp256r1: RFC 5480 §2.1.1.1; AWS KMS key spec ECC_NIST_P256, algorithm ECDSA_SHA_256 only.
	{CurveP256, "P-256", asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, 256, 32, kmsbackend.SpecECCNISTP256, kmsbackend.ECDSA_SHA_256, 32, elliptic.P256},
	// secp384r1: RFC 5480 §2.1.1.1; AWS KMS key spec ECC_NIST_P384, algorithm ECDSA_SHA_384 only.
	{CurveP384, "P-384", asn1.ObjectIdentifier{1, 3, 132, 0, 34}, 384, 48, kmsbackend.SpecECCNISTP384, kmsbackend.ECDSA_SHA_384, 48, elliptic.P384},
	// secp521r1: RFC 5480 §2.1.1.1; AWS KMS key spec ECC_NIST_P521, algorithm ECDSA_SHA_512 only.
	{CurveP521, "P-521", asn1.ObjectIdentifier{1, 3, 132, 0, 35}, 521, 66, kmsbackend.SpecECCNISTP521, kmsbackend.ECDSA_SHA_512, 64, elliptic.P521},
	// secp256k1: SEC 2 v2 §2.4.1 (OID 1.3.132.0.10); AWS KMS key spec ECC_SECG_P256K1, algorithm ECDSA_SHA_256 only.
	{CurveSecp256k1, "secp256k1", asn1.ObjectIdentifier{1, 3, 132, 0, 10}, 256, 32, kmsbackend.SpecECCSECGP256K1, kmsbackend.ECDSA_SHA_256, 32, nil},
	// sm2p256v1: GM/T 0003.5-2012 recommended curve, OID 1.2.156.10197.1.301 (GM/T 0006); AWS KMS key spec SM2 (China Regions),
	// algorithm SM2DSA over a 32-byte SM3 digest (not ECDSA: SM2 keys are KindSM2, see sm2.go).
	{CurveSM2, "SM2", OIDSM2, 256, 32, kmsbackend.SpecSM2, kmsbackend.SM2DSA, 32, nil},
}

func (c Curve) info() (curveInfo, bool) {
	for _, ci := range curveTable {
		if ci.curve == c {
			return ci, true
		}
	}
	return curveInfo{}, false
}

// String returns the curve's common name ("P-256", "secp256k1").
func (c Curve) String() string {
	if ci, ok := c.info(); ok {
		return ci.name
	}
	return fmt.Sprintf("Curve(%d)", int(c))
}

// ECParams returns CKA_EC_PARAMS: the DER OID of the named curve (PKCS#11
// Current Mechanisms 2.40 §2.3.3), nil for CurveNone.
func (c Curve) ECParams() []byte {
	ci, ok := c.info()
	if !ok {
		return nil
	}
	der, err := asn1.Marshal(ci.oid)
	if err != nil {
		return nil // unreachable: the table's OIDs are valid
	}
	return der
}

// OrderLen returns the byte length of the curve's order (32, 48, 66, 32), 0 for CurveNone.
func (c Curve) OrderLen() int {
	ci, _ := c.info()
	return ci.orderLen
}

// Bits returns the bit length of the curve's order (256, 384, 521, 256), 0 for CurveNone.
func (c Curve) Bits() int {
	ci, _ := c.info()
	return ci.bits
}

// DigestLen returns the digest length KMS's one ECDSA algorithm for the curve
// signs (32, 48, 64, 32), 0 for CurveNone.
func (c Curve) DigestLen() int {
	ci, _ := c.info()
	return ci.digestLen
}

// Algorithm returns the one ECDSA algorithm KMS allows on the curve, SignUnknown for CurveNone.
func (c Curve) Algorithm() kmsbackend.SigningAlgorithm {
	ci, _ := c.info()
	return ci.alg
}

// Spec returns the KMS key spec of the curve, SpecUnknown for CurveNone.
func (c Curve) Spec() kmsbackend.KeySpec {
	ci, _ := c.info()
	return ci.spec
}

// CurveFromSpec returns the curve of an ECC key spec, CurveNone for any other spec.
func CurveFromSpec(spec kmsbackend.KeySpec) Curve {
	for _, ci := range curveTable {
		if ci.spec == spec {
			return ci.curve
		}
	}
	return CurveNone
}

// curveFromOID returns the curve named by oid, CurveNone if unknown.
func curveFromOID(oid asn1.ObjectIdentifier) Curve {
	for _, ci := range curveTable {
		if ci.oid.Equal(oid) {
			return ci.curve
		}
	}
	return CurveNone
}
