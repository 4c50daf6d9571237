package mechanisms

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"io"
	"math/big"
	"slices"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// OAEPParams is CK_RSA_PKCS_OAEP_PARAMS (PKCS#11 Current Mechanisms 2.40
// §2.1.7) with its label copied out of C memory.
type OAEPParams struct {
	// Hash is hashAlg, a digest mechanism (ck.CKM_SHA_1, ck.CKM_SHA256, ...).
	Hash uint
	// MGF is mgf, a mask generation function (ck.CKG_MGF1_SHA1, ...).
	MGF uint
	// Source is source: ck.CKZ_DATA_SPECIFIED, the only value the standard defines.
	Source uint
	// Label is the ulSourceDataLen bytes at pSourceData (the OAEP label L).
	Label []byte
}

// OAEPParamsHeaderLen is the length of the fixed part of the flattened
// parameter (three CK_ULONGs; 24 bytes on linux/amd64 and arm64).
//
// The C structure holds a pointer (pSourceData), so cgo never hands its raw
// bytes to Go. It flattens it instead, and token.Mechanism.Param for
// CKM_RSA_PKCS_OAEP holds, in native byte order and CK_ULONG width:
//
//	hashAlg | mgf | source | label (ulSourceDataLen bytes, possibly none)
//
// cgo refuses a C parameter whose length is not sizeof(CK_RSA_PKCS_OAEP_PARAMS)
// itself; a NULL parameter reaches the token as an empty Param.
const OAEPParamsHeaderLen = 3 * ckULONGSize

// ParseOAEPParams decodes the flattened parameter (see OAEPParamsHeaderLen).
// Fewer than OAEPParamsHeaderLen bytes is CKR_MECHANISM_PARAM_INVALID. It does
// not judge the values: see OAEPParams.KMSAlgorithm.
func ParseOAEPParams(b []byte) (OAEPParams, error) {
	if len(b) < OAEPParamsHeaderLen {
		return OAEPParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CK_RSA_PKCS_OAEP_PARAMS: %d bytes, want at least %d", len(b), OAEPParamsHeaderLen)
	}
	return OAEPParams{
		Hash:   getULONG(b[0:]),
		MGF:    getULONG(b[ckULONGSize:]),
		Source: getULONG(b[2*ckULONGSize:]),
		Label:  bytes.Clone(b[OAEPParamsHeaderLen:]),
	}, nil
}

// EncodeOAEPParams returns the flattened form of p, as cgo builds it.
func EncodeOAEPParams(p OAEPParams) []byte {
	b := make([]byte, OAEPParamsHeaderLen, OAEPParamsHeaderLen+len(p.Label))
	putULONG(b[0:], p.Hash)
	putULONG(b[ckULONGSize:], p.MGF)
	putULONG(b[2*ckULONGSize:], p.Source)
	return append(b, p.Label...)
}

// oaepRow is one OAEP parameter set AWS KMS decrypts.
type oaepRow struct {
	hashMech uint
	mgf      uint
	hash     crypto.Hash
	alg      kmsbackend.EncryptionAlgorithm
}

// oaepTable lists the OAEP parameter sets AWS KMS supports: MGF1 with the same
// hash and an empty label (AWS KMS API reference, Decrypt EncryptionAlgorithm;
// AWS KMS Developer Guide, "Key spec reference", RSA key specs for encryption).
var oaepTable = []oaepRow{
	// AWS KMS RSAES_OAEP_SHA_1: hashAlg CKM_SHA_1, mgf CKG_MGF1_SHA1, no label.
	{ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, crypto.SHA1, kmsbackend.RSAES_OAEP_SHA_1},
	// AWS KMS RSAES_OAEP_SHA_256: hashAlg CKM_SHA256, mgf CKG_MGF1_SHA256, no label.
	{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, crypto.SHA256, kmsbackend.RSAES_OAEP_SHA_256},
}

// oaepKMSRule is the sentence every OAEP refusal ends with.
const oaepKMSRule = "AWS KMS decrypts RSA-OAEP only with SHA-1 or SHA-256 (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256), MGF1 of the same hash and no label"

// KMSAlgorithm checks that AWS KMS can decrypt what p describes and returns
// the KMS algorithm and hash. source must be CKZ_DATA_SPECIFIED (0, left
// unset by some callers, is accepted when there is no label) with an empty
// label. Anything else is CKR_MECHANISM_PARAM_INVALID with a message saying
// what KMS supports. Local encryption applies the same rule, so whatever the
// token encrypts it can decrypt.
func (p OAEPParams) KMSAlgorithm() (kmsbackend.EncryptionAlgorithm, crypto.Hash, error) {
	var row oaepRow
	for _, r := range oaepTable {
		if r.hashMech == p.Hash {
			row = r
		}
	}
	switch {
	case row.hash == 0:
		return 0, 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "OAEP hashAlg %s: %s", ck.MechName(p.Hash), oaepKMSRule)
	case p.MGF != row.mgf:
		return 0, 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "OAEP mgf 0x%x with hashAlg %s: %s", p.MGF, ck.MechName(p.Hash), oaepKMSRule)
	case p.Source != ck.CKZ_DATA_SPECIFIED && p.Source != 0:
		return 0, 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "OAEP source 0x%x is not CKZ_DATA_SPECIFIED: %s", p.Source, oaepKMSRule)
	case len(p.Label) != 0:
		return 0, 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "OAEP label of %d bytes: %s", len(p.Label), oaepKMSRule)
	}
	return row.alg, row.hash, nil
}

// CryptKey is what an OAEP plan needs to know about a KMS encryption key.
type CryptKey struct {
	// Spec is the KMS key spec; SpecUnknown skips the consistency check with Pub.
	Spec kmsbackend.KeySpec
	// Pub is the parsed public key (required).
	Pub *PublicKey
	// Algorithms the key allows; when empty, any algorithm is assumed allowed.
	Algorithms []kmsbackend.EncryptionAlgorithm
}

// OAEPPlan is one RSA-OAEP encryption (local, with the public key) or
// decryption (KMS Decrypt), bound to a key. Immutable after construction.
type OAEPPlan struct {
	// Algorithm is the KMS algorithm decryption asks for.
	Algorithm kmsbackend.EncryptionAlgorithm
	// Hash is the OAEP hash (and MGF1's).
	Hash crypto.Hash
	// ModulusLen is k: the ciphertext length, and the size-query answer for
	// decryption (an upper bound of the plaintext, PKCS#11 2.40 §5.2).
	ModulusLen int
	// MaxPlaintext is k-2hLen-2, the longest message OAEP carries
	// (Current Mechanisms 2.40 §2.1.8, RFC 8017 §7.1.1).
	MaxPlaintext int

	pub *rsa.PublicKey
}

// NewOAEPPlan validates (mechanism, parameters, key) for C_EncryptInit and
// C_DecryptInit (PKCS#11 2.40 §5.8, §5.9). CK_RVs: CKR_MECHANISM_INVALID for
// anything but CKM_RSA_PKCS_OAEP (AWS KMS has no PKCS#1 v1.5 or raw RSA
// decryption); CKR_KEY_TYPE_INCONSISTENT for an EC key; CKR_KEY_SIZE_RANGE for
// a modulus outside 2048..4096 bits; CKR_MECHANISM_PARAM_INVALID for missing
// parameters, parameters KMS cannot honour, or an algorithm the key does not allow.
func NewOAEPPlan(mech uint, param []byte, key CryptKey) (*OAEPPlan, error) {
	row, ok := lookupCrypt(mech)
	if !ok {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s is not supported for encryption: the module offers CKM_RSA_PKCS_OAEP only (%s)", ck.MechName(mech), oaepKMSRule)
	}
	pub := key.Pub
	if pub == nil || pub.Kind == KindUnknown {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "key has no parsed public key")
	}
	if key.Spec != kmsbackend.SpecUnknown && specKind(key.Spec) != pub.Kind {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "key spec %s does not match its %s public key", key.Spec, pub.Kind)
	}
	if row.kind != pub.Kind {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "%s needs an %s key, not %s", ck.MechName(mech), row.kind, pub.Kind)
	}
	if bits := uint(pub.ModulusBits()); bits < row.minBits || bits > row.maxBits {
		return nil, ck.Errorf(ck.CKR_KEY_SIZE_RANGE, "%s takes %d..%d-bit keys, not %d", ck.MechName(mech), row.minBits, row.maxBits, bits)
	}
	if len(param) == 0 {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s needs CK_RSA_PKCS_OAEP_PARAMS", ck.MechName(mech))
	}
	params, err := ParseOAEPParams(param)
	if err != nil {
		return nil, err
	}
	alg, h, err := params.KMSAlgorithm()
	if err != nil {
		return nil, err
	}
	if len(key.Algorithms) != 0 && !slices.Contains(key.Algorithms, alg) {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "OAEP with %s needs KMS algorithm %s, which the key does not allow (it allows %v)",
			ck.MechName(params.Hash), alg, key.Algorithms)
	}
	k := pub.RSA.Size()
	return &OAEPPlan{Algorithm: alg, Hash: h, ModulusLen: k, MaxPlaintext: k - 2*h.Size() - 2, pub: pub.RSA}, nil
}

// CheckCiphertext applies the local checks before KMS Decrypt: a length other
// than k is CKR_ENCRYPTED_DATA_LEN_RANGE (Current Mechanisms 2.40 §2.1.8,
// C_Decrypt input length k); a value not below the modulus cannot be an RSA
// ciphertext (RFC 8017 §5.1.2 RSADP step 1), CKR_ENCRYPTED_DATA_INVALID.
func (p *OAEPPlan) CheckCiphertext(ct []byte) error {
	if len(ct) != p.ModulusLen {
		return ck.Errorf(ck.CKR_ENCRYPTED_DATA_LEN_RANGE, "RSA-OAEP ciphertext is %d bytes, the modulus %d", len(ct), p.ModulusLen)
	}
	if new(big.Int).SetBytes(ct).Cmp(p.pub.N) >= 0 {
		return ck.Errorf(ck.CKR_ENCRYPTED_DATA_INVALID, "RSA-OAEP ciphertext is not below the modulus")
	}
	return nil
}

// CheckPlaintext checks what KMS Decrypt returned: no OAEP plaintext is longer
// than MaxPlaintext, so a longer one is a backend fault (CKR_FUNCTION_FAILED).
func (p *OAEPPlan) CheckPlaintext(pt []byte) error {
	if len(pt) > p.MaxPlaintext {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS returned %d bytes of plaintext; RSA-OAEP carries at most %d", len(pt), p.MaxPlaintext)
	}
	return nil
}

// CheckMessage refuses a message longer than MaxPlaintext with
// CKR_DATA_LEN_RANGE (Current Mechanisms 2.40 §2.1.8, C_Encrypt input length
// <= k-2-2hLen).
func (p *OAEPPlan) CheckMessage(msg []byte) error {
	if len(msg) > p.MaxPlaintext {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "RSA-OAEP message is %d bytes; at most %d with a %d-byte modulus and %v", len(msg), p.MaxPlaintext, p.ModulusLen, p.Hash)
	}
	return nil
}

// Encrypt encrypts msg locally with the public key: RSAES-OAEP with Hash, MGF1
// of the same hash and an empty label (RFC 8017 §7.1.1), the only form KMS can
// decrypt. A message that fails CheckMessage is CKR_DATA_LEN_RANGE.
func (p *OAEPPlan) Encrypt(random io.Reader, msg []byte) ([]byte, error) {
	if err := p.CheckMessage(msg); err != nil {
		return nil, err
	}
	ct, err := rsa.EncryptOAEP(p.Hash.New(), random, p.pub, msg, nil)
	if err != nil {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "RSA-OAEP encryption: %w", err)
	}
	return ct, nil
}
