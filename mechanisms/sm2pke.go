package mechanisms

import (
	"crypto/ecdsa"
	"io"
	"slices"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/internal/sm2pke"
	"github.com/p11kms/p11kms/kmsbackend"
)

// MaxSM2Plaintext is the longest message SM2PKE carries through AWS KMS:
// 1024 bytes (AWS KMS API reference, Encrypt: "SM2PKE: 1024 bytes (China
// Regions only)"). The shortest is 1 byte (Encrypt Plaintext minimum).
const MaxSM2Plaintext = 1024

// sm2C3Len is the length of C3, the SM3 hash in the ciphertext (GM/T 0003.4-2012 §6.1 A7).
const sm2C3Len = sm2pke.C3Len

// sm2CiphertextOverhead bounds what the GM/T 0009-2012 ASN.1 ciphertext
// SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (C3), ciphertext OCTET
// STRING (C2) } adds to a plaintext of up to MaxSM2Plaintext bytes: SEQUENCE
// header 4, each INTEGER at most 2+33, C3 2+32, C2's header at most 4.
const sm2CiphertextOverhead = 4 + 2*(2+33) + (2 + sm2C3Len) + 4

// SM2PKEPlan is one CKM_P11KMS_SM2PKE encryption (local, with the public
// key) or decryption (AWS KMS Decrypt, SM2PKE) bound to an SM2 key.
// Immutable after construction.
type SM2PKEPlan struct {
	// Algorithm is the KMS algorithm decryption asks for: SM2PKE.
	Algorithm kmsbackend.EncryptionAlgorithm

	pub *ecdsa.PublicKey
}

// NewSM2PKEPlan validates (mechanism, parameter, key) for C_EncryptInit and
// C_DecryptInit (PKCS#11 2.40 §5.8, §5.9). CK_RVs: CKR_MECHANISM_INVALID for
// another mechanism, or when the key does not allow SM2PKE;
// CKR_KEY_TYPE_INCONSISTENT for a key that is not SM2;
// CKR_MECHANISM_PARAM_INVALID for any parameter (it takes none).
func NewSM2PKEPlan(mech uint, param []byte, key CryptKey) (*SM2PKEPlan, error) {
	if mech != CKM_P11KMS_SM2PKE {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s is not CKM_P11KMS_SM2PKE", ck.MechName(mech))
	}
	if key.Pub == nil || key.Pub.Kind == KindUnknown {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "key has no parsed public key")
	}
	k := sm2Key(key.Pub)
	if k == nil || (key.Spec != kmsbackend.SpecUnknown && key.Spec != kmsbackend.SpecSM2) {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "CKM_P11KMS_SM2PKE needs an SM2 key, not %s (%s)", key.Pub.Kind, key.Spec)
	}
	if len(param) != 0 {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_P11KMS_SM2PKE takes no parameter, got %d bytes", len(param))
	}
	if len(key.Algorithms) != 0 && !slices.Contains(key.Algorithms, kmsbackend.SM2PKE) {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "CKM_P11KMS_SM2PKE needs KMS algorithm SM2PKE, which the key does not allow (it allows %v)", key.Algorithms)
	}
	return &SM2PKEPlan{Algorithm: kmsbackend.SM2PKE, pub: k}, nil
}

// CheckMessage refuses a plaintext outside 1..MaxSM2Plaintext bytes with
// CKR_DATA_LEN_RANGE (PKCS#11 2.40 §5.8): KMS could not decrypt a longer
// one, and SM2PKE of nothing is no ciphertext.
func (p *SM2PKEPlan) CheckMessage(msg []byte) error {
	if len(msg) < 1 || len(msg) > MaxSM2Plaintext {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "SM2PKE plaintext of %d bytes; AWS KMS takes 1 to %d", len(msg), MaxSM2Plaintext)
	}
	return nil
}

// MaxCiphertextLen is the size a C_Encrypt size query answers for a
// plaintext of n bytes: an upper bound (PKCS#11 2.40 §5.2 allows one); the
// DER INTEGERs x and y are 33 bytes or fewer, so the exact length is known
// only after encrypting.
func (p *SM2PKEPlan) MaxCiphertextLen(n int) int {
	return n + sm2CiphertextOverhead
}

// Encrypt encrypts msg locally with the public key (GM/T 0003.4-2012 §6.1)
// and returns the GM/T 0009 ASN.1 ciphertext, the form AWS KMS Decrypt
// takes (AWS KMS Developer Guide, "SM2OfflineOperationHelper":
// offlineSM2PKEEncrypt). It uses internal/sm2pke, the implementation the dev
// KMS shares, not gmsm's sm2.Encrypt (v0.15.5 returns an undecryptable
// ciphertext about 1 time in 256 for a 1-byte message). random supplies k.
// A message failing CheckMessage is CKR_DATA_LEN_RANGE; a failing random
// source is CKR_FUNCTION_FAILED.
func (p *SM2PKEPlan) Encrypt(random io.Reader, msg []byte) ([]byte, error) {
	if err := p.CheckMessage(msg); err != nil {
		return nil, err
	}
	ct, err := sm2pke.Encrypt(random, p.pub, msg)
	if err != nil {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "SM2PKE encryption: %w", err)
	}
	return ct, nil
}

// PlaintextLen parses a ciphertext before KMS Decrypt and returns the exact
// plaintext length, len(C2) (GM/T 0003.4-2012 §7.1: C2 is as long as the
// message). Not one strict DER SEQUENCE { x, y INTEGER, C3 OCTET STRING of
// 32 bytes, C2 OCTET STRING } with (x, y) on sm2p256v1 is
// CKR_ENCRYPTED_DATA_INVALID; a C2 outside 1..MaxSM2Plaintext bytes is
// CKR_ENCRYPTED_DATA_LEN_RANGE (PKCS#11 2.40 §5.9).
func (p *SM2PKEPlan) PlaintextLen(ct []byte) (int, error) {
	if len(ct) > MaxSM2Plaintext+sm2CiphertextOverhead {
		return 0, ck.Errorf(ck.CKR_ENCRYPTED_DATA_LEN_RANGE, "SM2PKE ciphertext of %d bytes; one of at most %d plaintext bytes is at most %d", len(ct), MaxSM2Plaintext, MaxSM2Plaintext+sm2CiphertextOverhead)
	}
	c, err := sm2pke.Parse(ct)
	if err != nil {
		return 0, ck.Errorf(ck.CKR_ENCRYPTED_DATA_INVALID, "SM2PKE ciphertext: %v", err)
	}
	if len(c.C2) < 1 || len(c.C2) > MaxSM2Plaintext {
		return 0, ck.Errorf(ck.CKR_ENCRYPTED_DATA_LEN_RANGE, "SM2PKE ciphertext carries %d bytes; AWS KMS decrypts 1 to %d", len(c.C2), MaxSM2Plaintext)
	}
	return len(c.C2), nil
}

// CheckPlaintext checks what KMS Decrypt returned against PlaintextLen: any
// other length is a backend fault (CKR_FUNCTION_FAILED).
func (p *SM2PKEPlan) CheckPlaintext(want int, pt []byte) error {
	if len(pt) != want {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS returned %d bytes of SM2PKE plaintext; the ciphertext carries %d", len(pt), want)
	}
	return nil
}
