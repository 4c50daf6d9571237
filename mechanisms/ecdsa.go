package mechanisms

import (
	"errors"
	"fmt"

	"github.com/p11kms/p11kms/ck"
)

// maxOrderLen is the largest curve order length in curveTable (P-521).
const maxOrderLen = 66

// DERToRaw converts a DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s },
// RFC 3279 §2.2.3), as AWS KMS returns it, into the PKCS#11 form r||s, each
// half left-padded with zeros to orderLen bytes (PKCS#11 Current Mechanisms
// 2.40 §2.3.1). Without the padding ~1 in 128 P-256 and most P-521 signatures
// would come out short and fail to verify. It refuses non-minimal or
// indefinite DER, trailing bytes, r or s <= 0, r or s longer than orderLen,
// and an orderLen outside 1..66 (the curves here).
// Errors are plain: the caller decides the CK_RV.
func DERToRaw(der []byte, orderLen int) ([]byte, error) {
	if orderLen <= 0 || orderLen > maxOrderLen {
		return nil, fmt.Errorf("ecdsa signature: order length %d outside 1..%d", orderLen, maxOrderLen)
	}
	body, rest, err := readExpect(der, tagSequence, "ecdsa signature")
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("ecdsa signature: %d trailing bytes", len(rest))
	}
	out := make([]byte, 2*orderLen)
	for i, name := range []string{"r", "s"} {
		var v []byte
		v, body, err = readExpect(body, tagInteger, "ecdsa signature "+name)
		if err != nil {
			return nil, err
		}
		mag, err := positiveInteger(v)
		if err != nil {
			return nil, fmt.Errorf("ecdsa signature %s: %w", name, err)
		}
		if len(mag) > orderLen {
			return nil, fmt.Errorf("ecdsa signature %s: %d bytes, longer than the order (%d)", name, len(mag), orderLen)
		}
		copy(out[(i+1)*orderLen-len(mag):(i+1)*orderLen], mag)
	}
	if len(body) != 0 {
		return nil, fmt.Errorf("ecdsa signature: %d bytes after s", len(body))
	}
	return out, nil
}

// positiveInteger checks the content octets of a DER INTEGER are minimal
// (X.690 §8.3.2) and strictly positive, and returns the magnitude without
// the sign octet.
func positiveInteger(v []byte) ([]byte, error) {
	switch {
	case len(v) == 0:
		return nil, errors.New("empty INTEGER")
	case v[0]&0x80 != 0:
		return nil, errors.New("negative INTEGER")
	case v[0] == 0 && len(v) == 1:
		return nil, errors.New("zero INTEGER")
	case v[0] == 0 && v[1]&0x80 == 0:
		return nil, errors.New("INTEGER not minimally encoded")
	case v[0] == 0:
		return v[1:], nil
	}
	return v, nil
}

// RawToDER converts PKCS#11 r||s (two equal halves) to a DER ECDSA-Sig-Value
// with minimal INTEGERs. It refuses an empty or odd-length input, halves
// longer than the largest order here (66 bytes, P-521) and a zero r or s.
// Errors are plain: the caller decides the CK_RV.
func RawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("ecdsa signature: r||s length %d is not even and non-zero", len(raw))
	}
	n := len(raw) / 2
	if n > maxOrderLen {
		return nil, fmt.Errorf("ecdsa signature: r||s halves of %d bytes exceed %d", n, maxOrderLen)
	}
	var body []byte
	for i, name := range []string{"r", "s"} {
		half := raw[i*n : (i+1)*n]
		j := 0
		for j < len(half) && half[j] == 0 {
			j++
		}
		if j == len(half) {
			return nil, fmt.Errorf("ecdsa signature: %s is zero", name)
		}
		mag := half[j:]
		if mag[0]&0x80 != 0 {
			mag = append([]byte{0}, mag...)
		}
		body = appendTLV(body, tagInteger, mag)
	}
	return appendTLV(nil, tagSequence, body), nil
}

// AdjustDigest turns a CKM_ECDSA input (a digest of any length, PKCS#11
// Current Mechanisms 2.40 §2.3.6) into the digest length AWS KMS signs on the
// curve (32 bytes for P-256 and secp256k1, 48 for P-384, 64 for P-521).
// ECDSA uses the leftmost min(order bits, digest bits) of the digest as an
// integer (SEC 1 v2 §4.1.3 step 5), so a shorter digest left-padded with zeros
// and, when the curve's digest length covers the whole order, a longer digest
// cut to its leftmost bytes both give the standard signature. On P-521
// (521-bit order, 512-bit KMS digest) a digest longer than 64 bytes cannot be
// signed correctly and is refused. Errors: CKR_DATA_LEN_RANGE for an empty or
// such a digest, CKR_FUNCTION_FAILED for a curve without KMS support.
func AdjustDigest(digest []byte, curve Curve) ([]byte, error) {
	n := curve.DigestLen()
	switch {
	case n == 0:
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "ecdsa: no KMS digest length for curve %s", curve)
	case len(digest) == 0:
		return nil, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "ecdsa: empty digest")
	case len(digest) > n && curve.Bits() > 8*n:
		return nil, ck.Errorf(ck.CKR_DATA_LEN_RANGE,
			"ecdsa: a %d-byte digest on %s needs its leftmost %d bits; AWS KMS signs only %d-byte digests on this curve",
			len(digest), curve, min(curve.Bits(), 8*len(digest)), n)
	case len(digest) >= n:
		return append([]byte(nil), digest[:n]...), nil
	}
	out := make([]byte, n)
	copy(out[n-len(digest):], digest)
	return out, nil
}
