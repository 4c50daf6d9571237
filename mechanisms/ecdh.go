package mechanisms

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/x509"
	"math/big"

	gmecdh "github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// ecdhFlags are the CK_MECHANISM_INFO flags of CKM_ECDH1_DERIVE (PKCS#11
// Current Mechanisms 2.40 §2.3.2, §2.3.16): the private-key half of the
// agreement runs in AWS KMS's HSMs (CKF_HW); prime-field named curves and
// uncompressed peer points only.
const ecdhFlags = ck.CKF_DERIVE | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS

// agreeCurves are the curves of the KMS key specs that allow KeyUsage
// KEY_AGREEMENT and CKM_ECDH1_DERIVE here, with the field size in bits
// (CK_MECHANISM_INFO key sizes, Current Mechanisms 2.40 §2.3.16: "the
// minimum and maximum supported number of bits in the field sizes") and
// the function that checks a peer's uncompressed point and encodes it as
// the SubjectPublicKeyInfo KMS takes. Source: AWS KMS Developer Guide,
// "Key spec reference" (ECC_NIST_P256, ECC_NIST_P384, ECC_NIST_P521 and,
// in China Regions only, SM2 for KEY_AGREEMENT); AWS KMS API reference,
// DeriveSharedSecret (KeyAgreementAlgorithm ECDH, PublicKey a DER SPKI).
// Rows are in field size order (ecdhInfo takes the first and last).
var agreeCurves = []struct {
	spec  kmsbackend.KeySpec
	curve Curve
	spki  func(point []byte) ([]byte, error)
	bits  uint
}{
	{kmsbackend.SpecECCNISTP256, CurveP256, nistPeer(ecdh.P256()), 256}, // secp256r1, 256-bit field
	{kmsbackend.SpecSM2, CurveSM2, sm2Peer, 256},                        // sm2p256v1 (GM/T 0003), 256-bit field
	{kmsbackend.SpecECCNISTP384, CurveP384, nistPeer(ecdh.P384()), 384}, // secp384r1, 384-bit field
	{kmsbackend.SpecECCNISTP521, CurveP521, nistPeer(ecdh.P521()), 521}, // secp521r1, 521-bit field
}

// nistPeer checks a point on a NIST curve with crypto/ecdh (on the curve,
// not the point at infinity, uncompressed) and returns its RFC 5480 SPKI.
func nistPeer(c ecdh.Curve) func([]byte) ([]byte, error) {
	return func(point []byte) ([]byte, error) {
		pub, err := c.NewPublicKey(point)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKIXPublicKey(pub)
	}
}

// sm2Peer checks a point on the SM2 curve with gmsm (the same checks) and
// returns its SPKI: id-ecPublicKey with the curve OIDSM2, as KMS writes
// SM2 public keys.
func sm2Peer(point []byte) ([]byte, error) {
	if _, err := gmecdh.P256().NewPublicKey(point); err != nil {
		return nil, err
	}
	n := (len(point) - 1) / 2
	return smx509.MarshalPKIXPublicKey(&ecdsa.PublicKey{Curve: sm2.P256(),
		X: new(big.Int).SetBytes(point[1 : 1+n]), Y: new(big.Int).SetBytes(point[1+n:])})
}

// MaxECDHSharedData bounds CK_ECDH1_DERIVE_PARAMS.ulSharedDataLen: X9.63
// sets no limit; the bound only keeps a garbage length from making the
// module allocate gigabytes. Longer is CKR_MECHANISM_PARAM_INVALID.
const MaxECDHSharedData = 64 << 10

// MaxECDHPublicData bounds ulPublicDataLen: the longest valid encoding is
// the DER OCTET STRING around an uncompressed P-521 point (136 bytes).
const MaxECDHPublicData = 1024

// ECDH1Params is CK_ECDH1_DERIVE_PARAMS (PKCS#11 Current Mechanisms 2.40
// §2.3.15). The C structure holds pointers, so cgo flattens it: the
// mechanism parameter is kdf and ulSharedDataLen as native CK_ULONGs, then
// the shared data, then the public data (to the end).
type ECDH1Params struct {
	// KDF is kdf, a CKD_* value.
	KDF uint
	// SharedData is pSharedData (X9.63 SharedInfo); empty when NULL.
	SharedData []byte
	// PublicData is pPublicData: the peer's EC point; empty when NULL.
	PublicData []byte
}

// EncodeECDH1Params returns the flattened form of p, as cgo builds it.
func EncodeECDH1Params(p ECDH1Params) []byte {
	b := make([]byte, 2*ckULONGSize, 2*ckULONGSize+len(p.SharedData)+len(p.PublicData))
	putULONG(b, p.KDF)
	putULONG(b[ckULONGSize:], uint(len(p.SharedData)))
	b = append(b, p.SharedData...)
	return append(b, p.PublicData...)
}

// ParseECDH1Params decodes and checks the flattened parameter (see
// ECDH1Params), per Current Mechanisms 2.40 §2.3.15: a KDF not in kdfTable,
// shared data with CKD_NULL ("pSharedData must be NULL and ulSharedDataLen
// must be zero"), no public data, or a malformed encoding is
// CKR_MECHANISM_PARAM_INVALID. The point itself is checked by PeerSPKI.
func ParseECDH1Params(b []byte) (ECDH1Params, error) {
	if len(b) < 2*ckULONGSize {
		return ECDH1Params{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_ECDH1_DERIVE needs a CK_ECDH1_DERIVE_PARAMS parameter (got %d bytes)", len(b))
	}
	p := ECDH1Params{KDF: getULONG(b)}
	n := getULONG(b[ckULONGSize:])
	rest := b[2*ckULONGSize:]
	if n > uint(len(rest)) {
		return ECDH1Params{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_ECDH1_DERIVE_PARAMS: %d bytes of shared data announced, %d present", n, len(rest))
	}
	p.SharedData, p.PublicData = bytes.Clone(rest[:n]), bytes.Clone(rest[n:])
	if _, ok := kdfHash(p.KDF); !ok {
		return ECDH1Params{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_ECDH1_DERIVE_PARAMS kdf 0x%X is not supported (CKD_NULL, CKD_SHA1/224/256/384/512_KDF are)", p.KDF)
	}
	if p.KDF == ck.CKD_NULL && len(p.SharedData) > 0 {
		return ECDH1Params{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_ECDH1_DERIVE_PARAMS: CKD_NULL takes no shared data (%d bytes given)", len(p.SharedData))
	}
	if len(p.PublicData) == 0 {
		return ECDH1Params{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_ECDH1_DERIVE_PARAMS: no public data (the peer's EC point)")
	}
	return p, nil
}

// AgreeCurve returns the curve of a KMS key spec that may be a
// KEY_AGREEMENT key here, CurveNone for any other spec.
func AgreeCurve(spec kmsbackend.KeySpec) Curve {
	for _, r := range agreeCurves {
		if r.spec == spec {
			return r.curve
		}
	}
	return CurveNone
}

// SharedSecretLen returns the length of the raw ECDH shared secret on the
// curve (the x-coordinate, as long as the field: 32, 48, 66), 0 if the
// curve is not an agreement curve.
func SharedSecretLen(c Curve) int {
	for _, r := range agreeCurves {
		if r.curve == c {
			return int(r.bits+7) / 8
		}
	}
	return 0
}

// PeerSPKI checks the peer's public data against the base key's curve and
// returns it as a DER SubjectPublicKeyInfo (what AWS KMS DeriveSharedSecret
// takes). The point may be raw (X9.62 §A.5.2 octet string, uncompressed
// 04||X||Y) or a DER OCTET STRING around it (as CKA_EC_POINT holds it),
// which Current Mechanisms 3.0 §2.3.15 lets a token accept. A compressed
// point, a point not on the curve (crypto/ecdh, or gmsm for SM2, checks), or any other
// encoding is CKR_MECHANISM_PARAM_INVALID: the application is to convert
// (same section).
func PeerSPKI(c Curve, public []byte) ([]byte, error) {
	var peerSPKI func([]byte) ([]byte, error)
	for _, r := range agreeCurves {
		if r.curve == c {
			peerSPKI = r.spki
		}
	}
	if peerSPKI == nil {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "curve %s is not a key agreement curve", c)
	}
	if len(public) > MaxECDHPublicData {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "peer public data is %d bytes; no %s point is that long", len(public), c)
	}
	point := rawPoint(c, public)
	if len(point) > 0 && (point[0] == 2 || point[0] == 3) {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "peer point on %s is compressed; p11kms takes uncompressed points (04||X||Y) only", c)
	}
	spki, err := peerSPKI(point)
	if err != nil {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "peer public data (%d bytes) is not an uncompressed point on %s: %v", len(public), c, err)
	}
	return spki, nil
}

// rawPoint returns the uncompressed point inside public: public itself when
// it has the raw length 1+2*field bytes, else the content of a DER OCTET
// STRING that spans all of public, else public unchanged (it then fails
// the curve check). The two forms cannot be confused: the raw length is
// odd and the DER length 2 or 3 bytes longer.
func rawPoint(c Curve, public []byte) []byte {
	if len(public) == 1+2*SharedSecretLen(c) {
		return public
	}
	tag, content, rest, err := readTLV(public)
	if err == nil && tag == 0x04 && len(rest) == 0 {
		return content
	}
	return public
}

// ecdhMechanismsFor returns [CKM_ECDH1_DERIVE] for a KEY_AGREEMENT key of an
// agreement curve's spec, nil otherwise.
func ecdhMechanismsFor(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage) []uint {
	if usage != kmsbackend.UsageKeyAgreement || AgreeCurve(spec) == CurveNone {
		return nil
	}
	return []uint{ck.CKM_ECDH1_DERIVE}
}

// ecdhInfo is CK_MECHANISM_INFO for CKM_ECDH1_DERIVE: offered when the
// token has a KEY_AGREEMENT key of an agreement curve; key sizes are the
// field sizes of the agreement curves (256..521).
func ecdhInfo(keys []KeyUse) (minBits, maxBits, flags uint, ok bool) {
	for _, k := range keys {
		if ecdhMechanismsFor(k.Spec, k.Usage) != nil {
			return agreeCurves[0].bits, agreeCurves[len(agreeCurves)-1].bits, ecdhFlags, true
		}
	}
	return 0, 0, 0, false
}
