package mechanisms

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"

	gmecdh "github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// PKCS#11 (up to 3.2) defines no SM2 mechanism, so SM2 keys (AWS KMS key
// spec SM2, China Regions only) are used with vendor-defined mechanisms
// (PKCS#11 2.40 §2.1: CKM_VENDOR_DEFINED plus a vendor's number; 0x4B4D53 is
// "KMS", as for CKM_P11KMS_KMS_BLOB = ...01 in kmsblob.go).

// CKM_P11KMS_SM2DSA signs and verifies e, the 32-byte SM3 digest of ZA||M
// (GM/T 0003.2-2012 §6.1 steps A1-A2) that the caller computed: C_Sign sends it
// to AWS KMS Sign with SigningAlgorithm SM2DSA and MessageType DIGEST.
// No parameter; single-part; input other than 32 bytes is CKR_DATA_LEN_RANGE.
const CKM_P11KMS_SM2DSA = ck.CKM_P11KMS_SM2DSA // CKM_VENDOR_DEFINED | 0x4B4D5302 (cgo/include/p11kms_vendor.h)

// CKM_P11KMS_SM3_SM2DSA signs and verifies a message M of any length
// (multi-part allowed): the token computes ZA from the signer's
// distinguishing ID and public key and e = SM3(ZA||M) locally, then sends e
// to AWS KMS Sign (SM2DSA, DIGEST). Its optional parameter is the ID's bytes
// (ParseSM2ID); none means SM2DefaultID, the ID AWS KMS uses for RAW messages.
const CKM_P11KMS_SM3_SM2DSA = ck.CKM_P11KMS_SM3_SM2DSA // CKM_VENDOR_DEFINED | 0x4B4D5303 (cgo/include/p11kms_vendor.h)

// CKM_P11KMS_SM2PKE is SM2 public-key encryption (GM/T 0003.4-2012) with the
// ciphertext in the GM/T 0009-2012 ASN.1 form AWS KMS and OpenSSL use:
// C_Decrypt sends it to AWS KMS Decrypt with EncryptionAlgorithm SM2PKE,
// C_Encrypt encrypts locally with the public key (sm2pke.go). No parameter;
// single-part.
const CKM_P11KMS_SM2PKE = ck.CKM_P11KMS_SM2PKE // CKM_VENDOR_DEFINED | 0x4B4D5304 (cgo/include/p11kms_vendor.h)

// OIDSM2 is the SM2 curve sm2p256v1, 1.2.156.10197.1.301 (GM/T 0006-2012).
// CKA_EC_PARAMS of an SM2 key holds its DER; its SubjectPublicKeyInfo is
// id-ecPublicKey with this curve (the form AWS KMS GetPublicKey and OpenSSL write).
var OIDSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}

// SM2DefaultID is the distinguishing ID AWS KMS uses when it hashes a RAW
// message for SM2DSA (AWS KMS Developer Guide, "Offline verification with SM2
// key pairs": the default ID of GM/T 0009-2012), and the one
// CKM_P11KMS_SM3_SM2DSA uses without a parameter.
var SM2DefaultID = []byte("1234567812345678")

// MaxSM2ID is the longest distinguishing ID in bytes: ZA starts with
// ENTL_A, the ID's length in bits in two bytes (GM/T 0003.2-2012 §5.5), so
// at most 65535 bits. (The AWS KMS Developer Guide says "up to 8,192
// characters", one byte more than ENTL_A can count; OpenSSL 3.0 takes at
// most 8190.)
const MaxSM2ID = 8191

// SM2SigLen is the PKCS#11 signature length of SM2DSA: r||s, each 32 bytes
// big-endian, as CKM_ECDSA returns (KMS returns the DER SEQUENCE {r, s}).
const SM2SigLen = 64

// sm2DigestLen is the length of e, an SM3 digest (GM/T 0004-2012).
const sm2DigestLen = sm3.Size

// ParseSM2ID returns the distinguishing ID a CKM_P11KMS_SM3_SM2DSA parameter
// names: the parameter's bytes, or SM2DefaultID when it is empty (NULL or
// zero length; an empty ID cannot be chosen). More than MaxSM2ID bytes is
// CKR_MECHANISM_PARAM_INVALID.
func ParseSM2ID(param []byte) ([]byte, error) {
	if len(param) == 0 {
		return bytes.Clone(SM2DefaultID), nil
	}
	if len(param) > MaxSM2ID {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_P11KMS_SM3_SM2DSA distinguishing ID of %d bytes; at most %d (GM/T 0003.2 ENTL_A is 16 bits)", len(param), MaxSM2ID)
	}
	return bytes.Clone(param), nil
}

// parseSM2 checks the subjectPublicKey of an SM2 SPKI is an uncompressed
// point on sm2p256v1.
func parseSM2(bits asn1.BitString, spki []byte) (*PublicKey, error) {
	point := bits.RightAlign()
	if bits.BitLength%8 != 0 || len(point) != 65 || point[0] != 0x04 {
		return nil, errors.New("parse public key: SM2 key is not a 65-byte uncompressed point")
	}
	if _, err := gmecdh.P256().NewPublicKey(point); err != nil {
		return nil, fmt.Errorf("parse public key: SM2: %w", err)
	}
	pub := fromPoint(CurveSM2, point, spki)
	pub.Kind = KindSM2
	return pub, nil
}

// sm2Key returns the gmsm form of an SM2 public key; nil if k is not SM2.
func sm2Key(k *PublicKey) *ecdsa.PublicKey {
	if k == nil || k.Kind != KindSM2 || k.X == nil || k.Y == nil {
		return nil
	}
	return &ecdsa.PublicKey{Curve: sm2.P256(), X: new(big.Int).Set(k.X), Y: new(big.Int).Set(k.Y)}
}

// SM2Digest returns e = SM3(ZA||msg) (GM/T 0003.2-2012 §6.1 A1-A2) for the
// SM2 key pub and the distinguishing ID id: what CKM_P11KMS_SM2DSA takes.
func SM2Digest(pub *PublicKey, id, msg []byte) ([]byte, error) {
	k := sm2Key(pub)
	if k == nil {
		return nil, errors.New("SM2 digest: not an SM2 public key")
	}
	za, err := sm2.CalculateZA(k, id)
	if err != nil {
		return nil, fmt.Errorf("SM2 digest: %w", err)
	}
	h := sm3.New()
	h.Write(za)
	h.Write(msg)
	return h.Sum(nil), nil
}

// setSM2 completes a CKM_P11KMS_SM2DSA or CKM_P11KMS_SM3_SM2DSA plan: AWS
// KMS SM2DSA with MessageType DIGEST, r||s of 64 bytes. The raw mechanism
// takes no parameter (CKR_MECHANISM_PARAM_INVALID); the hashing one an
// optional ID (ParseSM2ID), from which ZA is computed once here.
func (p *Plan) setSM2(param []byte) error {
	p.SigLen = SM2SigLen
	p.Algorithm, p.MessageType = kmsbackend.SM2DSA, kmsbackend.MessageDigest
	if p.Mechanism == CKM_P11KMS_SM2DSA {
		if len(param) != 0 {
			return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_P11KMS_SM2DSA takes no parameter, got %d bytes (the ID goes into e; see CKM_P11KMS_SM3_SM2DSA)", len(param))
		}
		return nil
	}
	id, err := ParseSM2ID(param)
	if err != nil {
		return err
	}
	k := sm2Key(p.pub)
	if k == nil {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "key has no SM2 public key")
	}
	za, err := sm2.CalculateZA(k, id)
	if err != nil {
		return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_P11KMS_SM3_SM2DSA: %w", err)
	}
	p.sm2ZA = za
	return nil
}

// sm2Hash is NewHash for SM2: SM3 already fed ZA, whose sum is e; nil for
// the single-part CKM_P11KMS_SM2DSA.
func (p *Plan) sm2Hash() hash.Hash {
	if p.sm2ZA == nil {
		return nil
	}
	h := &zaHash{Hash: sm3.New(), za: p.sm2ZA}
	h.Reset()
	return h
}

// zaHash is SM3 whose every (re)start begins with ZA.
type zaHash struct {
	hash.Hash
	za []byte
}

// Reset restarts the hash with ZA written.
func (h *zaHash) Reset() {
	h.Hash.Reset()
	h.Hash.Write(h.za)
}

// sm2Request is Request for SM2: CKM_P11KMS_SM2DSA takes e itself (32 bytes,
// else CKR_DATA_LEN_RANGE); CKM_P11KMS_SM3_SM2DSA hashes the message.
func (p *Plan) sm2Request(input []byte) (SignRequest, error) {
	if h := p.sm2Hash(); h != nil {
		h.Write(input)
		return p.sm2RequestFromSum(h.Sum(nil))
	}
	if len(input) != sm2DigestLen {
		return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_P11KMS_SM2DSA input is %d bytes; it takes e = SM3(ZA||M), %d bytes", len(input), sm2DigestLen)
	}
	return SignRequest{p.Algorithm, p.MessageType, bytes.Clone(input)}, nil
}

// sm2RequestFromSum is RequestFromHash for CKM_P11KMS_SM3_SM2DSA: sum is e.
func (p *Plan) sm2RequestFromSum(sum []byte) (SignRequest, error) {
	if p.sm2ZA == nil || len(sum) != sm2DigestLen {
		return SignRequest{}, ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: a %d-byte hash sum does not fit this mechanism", ck.MechName(p.Mechanism), len(sum))
	}
	return SignRequest{p.Algorithm, p.MessageType, bytes.Clone(sum)}, nil
}

// sm2Verify is Verify for SM2 (sig already checked to be SigLen bytes):
// CKM_P11KMS_SM2DSA input other than 32 bytes is CKR_DATA_LEN_RANGE.
func (p *Plan) sm2Verify(input, sig []byte) error {
	if h := p.sm2Hash(); h != nil {
		h.Write(input)
		return p.verifyHashed(0, h.Sum(nil), sig)
	}
	if len(input) != sm2DigestLen {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_P11KMS_SM2DSA input is %d bytes; it takes e = SM3(ZA||M), %d bytes", len(input), sm2DigestLen)
	}
	return p.verifyHashed(0, input, sig)
}

// sm2VerifySum is VerifyDigest for SM2: for CKM_P11KMS_SM3_SM2DSA sum is e,
// the sum of NewHash; the raw mechanism is Verify(sum, sig).
func (p *Plan) sm2VerifySum(sum, sig []byte) error {
	if p.sm2ZA == nil {
		return p.Verify(sum, sig)
	}
	if len(sig) != p.SigLen {
		return ck.Errorf(ck.CKR_SIGNATURE_LEN_RANGE, "signature is %d bytes, want %d", len(sig), p.SigLen)
	}
	if len(sum) != sm2DigestLen {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: a %d-byte hash sum does not fit this mechanism", ck.MechName(p.Mechanism), len(sum))
	}
	return p.verifyHashed(0, sum, sig)
}

// verifySM2 checks r||s over e (GM/T 0003.2-2012 §7.1) with gmsm; r and s
// must be in [1, n-1].
func (p *Plan) verifySM2(e, sig []byte) bool {
	k := sm2Key(p.pub)
	if k == nil || len(sig) != SM2SigLen {
		return false
	}
	der, err := RawToDER(sig)
	if err != nil {
		return false
	}
	return sm2.VerifyASN1(k, e, der)
}
