package mechanisms

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/asn1"
	"hash"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// MaxEdDSAMessage is the longest message CKM_EDDSA signs: AWS KMS signs
// ED25519_SHA_512 with MessageType RAW only, and a RAW Message is at most
// 4096 bytes (AWS KMS API reference, Sign Message). Longer input is
// CKR_DATA_LEN_RANGE; multi-part input is buffered locally up to this limit.
const MaxEdDSAMessage = 4096

// OIDEd25519 is id-Ed25519 (RFC 8410 §3). CKA_EC_PARAMS of a CKK_EC_EDWARDS
// key holds its DER: PKCS#11 Current Mechanisms 3.0 §2.3.5 allows the DER of
// an OID or of the curve name "edwards25519"; the OID form is RFC 8410's and
// what OpenSSL and OpenSC write.
var OIDEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

// EdDSAParams is CK_EDDSA_PARAMS (PKCS#11 Current Mechanisms 3.0 §2.3.14).
//
// The C structure holds a pointer (pContextData), so cgo flattens it, and
// token.Mechanism.Param for CKM_EDDSA holds one byte phFlag (0 or 1)
// followed by the ulContextDataLen context bytes. An empty Param (no
// parameter) is pure Ed25519 without context.
type EdDSAParams struct {
	// PH is phFlag: Ed25519ph (RFC 8032 §5.1) instead of pure Ed25519.
	PH bool
	// Context is the context data (RFC 8032 §5.1 ctx), possibly empty.
	Context []byte
}

// EncodeEdDSAParams returns the flattened form of p, as cgo builds it.
func EncodeEdDSAParams(p EdDSAParams) []byte {
	b := []byte{0}
	if p.PH {
		b[0] = 1
	}
	return append(b, p.Context...)
}

// ParseEdDSAParams decodes the flattened parameter (see EdDSAParams). A
// phFlag byte other than 0 or 1 is CKR_MECHANISM_PARAM_INVALID.
func ParseEdDSAParams(b []byte) (EdDSAParams, error) {
	if len(b) == 0 {
		return EdDSAParams{}, nil
	}
	if b[0] > 1 {
		return EdDSAParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_EDDSA_PARAMS phFlag is %d, want CK_TRUE or CK_FALSE", b[0])
	}
	return EdDSAParams{PH: b[0] == 1, Context: bytes.Clone(b[1:])}, nil
}

// fromEd25519 builds the PublicKey of an Ed25519 SPKI.
func fromEd25519(pub ed25519.PublicKey, spki []byte) *PublicKey {
	return &PublicKey{Kind: KindEdwards, Ed25519: bytes.Clone(pub), SPKI: bytes.Clone(spki)}
}

// EdPoint returns CKA_EC_POINT of an Ed25519 key: the DER OCTET STRING
// around the 32-byte public key (PKCS#11 Current Mechanisms 3.0 §2.3.5,
// RFC 8032 §5.1.5 encoding); nil if k is not an Edwards key.
func (k *PublicKey) EdPoint() []byte {
	if k == nil || k.Kind != KindEdwards || len(k.Ed25519) != ed25519.PublicKeySize {
		return nil
	}
	der, err := asn1.Marshal([]byte(k.Ed25519))
	if err != nil {
		return nil // unreachable: a byte slice always marshals
	}
	return der
}

// setEdDSA completes a CKM_EDDSA plan from its parameters: pure Ed25519 is
// AWS KMS ED25519_SHA_512 on the RAW message; phFlag is Ed25519ph, AWS KMS
// ED25519_PH_SHA_512 on the SHA-512 DIGEST of the input, hashed locally. A
// non-empty context is CKR_MECHANISM_PARAM_INVALID: AWS KMS signs without one.
func (p *Plan) setEdDSA(param []byte) error {
	params, err := ParseEdDSAParams(param)
	if err != nil {
		return err
	}
	if len(params.Context) != 0 {
		return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_EDDSA with a %d-byte context: AWS KMS signs Ed25519 without context", len(params.Context))
	}
	p.SigLen = ed25519.SignatureSize
	p.Algorithm, p.MessageType = kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw
	if params.PH {
		p.Algorithm, p.MessageType, p.Hash = kmsbackend.ED25519_PH_SHA_512, kmsbackend.MessageDigest, crypto.SHA512
	}
	return nil
}

// edRequest is the KMS Sign call of pure Ed25519 over msg.
func (p *Plan) edRequest(msg []byte) (SignRequest, error) {
	if len(msg) > MaxEdDSAMessage {
		return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_EDDSA input is %d bytes; AWS KMS signs at most %d", len(msg), MaxEdDSAMessage)
	}
	if len(msg) == 0 {
		return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_EDDSA input is empty; AWS KMS signs 1 to %d bytes", MaxEdDSAMessage)
	}
	return SignRequest{p.Algorithm, p.MessageType, bytes.Clone(msg)}, nil
}

// verifyEd checks an Ed25519 signature: over the message for pure Ed25519,
// over the SHA-512 digest for Ed25519ph (RFC 8032 §5.1.7).
func (p *Plan) verifyEd(msg, sig []byte) bool {
	if len(p.pub.Ed25519) != ed25519.PublicKeySize {
		return false
	}
	opts := &ed25519.Options{}
	if p.Hash == crypto.SHA512 {
		opts.Hash = crypto.SHA512
	}
	return ed25519.VerifyWithOptions(p.pub.Ed25519, msg, sig, opts) == nil
}

// MultiPart reports whether the plan takes C_SignUpdate/C_VerifyUpdate: the
// hashing mechanisms, and CKM_EDDSA (PKCS#11 Current Mechanisms 3.0 §2.3.14
// lists it as multi-part; pure Ed25519 input is buffered, see NewHash).
func (p *Plan) MultiPart() bool {
	return p.Hash != 0 || p.scheme == schemeEdDSA ||
		(p.scheme == schemeMLDSA && !p.verify) || // CKM_ML_DSA: multi-part signing, single-part verification (mldsa.go)
		p.sm2ZA != nil // CKM_P11KMS_SM3_SM2DSA hashes (sm2.go)
}

// edBuffer is the "hash" of pure Ed25519's multi-part input: it keeps the
// bytes, up to one more than MaxEdDSAMessage so an overlong message is still
// seen as overlong without keeping it all.
type edBuffer struct {
	buf []byte
}

var _ hash.Hash = (*edBuffer)(nil)

// Write appends p (beyond the limit, only the limit's excess byte is kept).
func (b *edBuffer) Write(p []byte) (int, error) {
	if room := MaxEdDSAMessage + 1 - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Sum appends the buffered message to in.
func (b *edBuffer) Sum(in []byte) []byte { return append(in, b.buf...) }

// Reset empties the buffer.
func (b *edBuffer) Reset() { b.buf = b.buf[:0] }

// Size is the buffered length (the "sum" is the message itself).
func (b *edBuffer) Size() int { return len(b.buf) }

// BlockSize is 1: any write is accepted.
func (b *edBuffer) BlockSize() int { return 1 }
