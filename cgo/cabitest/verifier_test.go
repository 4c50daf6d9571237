package cabitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// tokenPublicKey builds the public key from the token's public-key object's
// attributes (CKA_MODULUS/CKA_PUBLIC_EXPONENT, or CKA_EC_PARAMS/CKA_EC_POINT),
// so that signatures are checked against what the token itself publishes.
func tokenPublicKey(t testing.TB, p *pkcs11.Ctx, sh pkcs11.SessionHandle, pub pkcs11.ObjectHandle) any {
	t.Helper()
	if ulong(t, attr(t, p, sh, pub, ck.CKA_KEY_TYPE)) == ck.CKK_RSA {
		n := new(big.Int).SetBytes(attr(t, p, sh, pub, ck.CKA_MODULUS))
		e := new(big.Int).SetBytes(attr(t, p, sh, pub, ck.CKA_PUBLIC_EXPONENT))
		require.True(t, e.IsInt64() && e.Int64() > 1, "public exponent")
		return &rsa.PublicKey{N: n, E: int(e.Int64())}
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(attr(t, p, sh, pub, ck.CKA_EC_PARAMS), &oid)
	require.NoError(t, err, "CKA_EC_PARAMS")
	require.Empty(t, rest, "CKA_EC_PARAMS trailing bytes")
	var point []byte
	rest, err = asn1.Unmarshal(attr(t, p, sh, pub, ck.CKA_EC_POINT), &point)
	require.NoError(t, err, "CKA_EC_POINT is a DER OCTET STRING")
	require.Empty(t, rest, "CKA_EC_POINT trailing bytes")
	if oid.Equal(secp256k1OID) {
		k, err := secp256k1.ParsePubKey(point)
		require.NoError(t, err, "secp256k1 point")
		return k
	}
	curve, ok := nistCurves[oid.String()]
	require.True(t, ok, "curve %v", oid)
	k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	require.NoError(t, err, "EC point")
	return k
}

// sigScheme says how a signature is checked.
type sigScheme int

const (
	schemePKCS1v15 sigScheme = iota // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2)
	schemePSS                       // RSASSA-PSS, salt = hash length, MGF1 with the same hash (RFC 8017 §8.1)
	schemeECDSA                     // ECDSA, r||s fixed width (PKCS#11 2.40 Mechanisms §2.3.1)
)

// verifySignature checks sig over digest (the hash the scheme signs) with
// Go's crypto, or decred's secp256k1 for secp256k1 keys.
func verifySignature(pub any, scheme sigScheme, h crypto.Hash, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if len(sig) != k.Size() {
			return fmt.Errorf("RSA signature is %d bytes, want %d", len(sig), k.Size())
		}
		switch scheme {
		case schemePKCS1v15:
			return rsa.VerifyPKCS1v15(k, h, digest, sig)
		case schemePSS:
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: h.Size(), Hash: h})
		}
		return errors.New("not an RSA scheme")
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().N.BitLen() + 7) / 8
		if scheme != schemeECDSA || len(sig) != 2*n {
			return fmt.Errorf("ECDSA signature is %d bytes, want %d", len(sig), 2*n)
		}
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("ECDSA signature invalid")
		}
		return nil
	case *secp256k1.PublicKey:
		if scheme != schemeECDSA || len(sig) != 64 {
			return fmt.Errorf("secp256k1 signature is %d bytes, want 64", len(sig))
		}
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
			return errors.New("secp256k1 r or s overflows the order")
		}
		// ECDSA uses the leftmost order-length bits of the digest (SEC 1 §4.1.3 step 5).
		if !secpecdsa.NewSignature(&r, &s).Verify(digest[:min(len(digest), 32)], k) {
			return errors.New("secp256k1 signature invalid")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key %T", pub)
}
