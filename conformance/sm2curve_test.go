package conformance

import (
	"crypto/elliptic"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// oidSM2Curve is the SM2 curve's namedCurve OID (GM/T 0006-2012; the
// CKA_EC_PARAMS of the module's SM2 keys, README "Mechanisms").
var oidSM2Curve = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}

// sm2Curve returns the SM2 recommended curve for Go's generic (math/big)
// short-Weierstrass arithmetic, an ECDH oracle independent of gmsm, which
// the module uses. Parameters: GB/T 32918.5-2017 §A (the recommended
// curve); a = p - 3, as crypto/elliptic.CurveParams assumes.
func sm2Curve() *elliptic.CurveParams {
	hexInt := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 16)
		if !ok {
			panic("conformance: bad SM2 curve constant " + s)
		}
		return n
	}
	return &elliptic.CurveParams{
		Name:    "SM2",
		BitSize: 256,
		P:       hexInt("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
		N:       hexInt("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
		B:       hexInt("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
		Gx:      hexInt("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
		Gy:      hexInt("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
	}
}

// sm2PointFromSPKI returns the point of an SM2 SubjectPublicKeyInfo
// (id-ecPublicKey with the SM2 curve, RFC 5480 §2), checked to lie on the curve.
func sm2PointFromSPKI(t *testing.T, der []byte) (x, y *big.Int) {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	_, err := asn1.Unmarshal(der, &spki)
	require.NoError(t, err)
	var curve asn1.ObjectIdentifier
	_, err = asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curve)
	require.NoError(t, err)
	require.True(t, curve.Equal(oidSM2Curve), "SPKI curve %v is not SM2", curve)
	p := spki.PublicKey.Bytes
	require.Len(t, p, 65, "uncompressed SM2 point")
	require.Equal(t, byte(4), p[0])
	c := sm2Curve()
	x, y = new(big.Int).SetBytes(p[1:33]), new(big.Int).SetBytes(p[33:])
	require.True(t, c.IsOnCurve(c.Gx, c.Gy), "SM2 base point off the curve: constants mistyped")
	require.True(t, c.IsOnCurve(x, y), "the KMS SM2 public key is off the curve")
	return x, y
}
