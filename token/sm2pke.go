package token

import (
	"crypto/rand"
	"crypto/sha256"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// sm2pkeOp is an active CKM_P11KMS_SM2PKE encryption (local, with the
// cached public key) or decryption (AWS KMS Decrypt, SM2PKE) with an SM2
// ENCRYPT_DECRYPT key (mechanisms/sm2pke.go). Single-part only:
// C_EncryptUpdate and friends end it with CKR_FUNCTION_NOT_SUPPORTED
// (encrypt.go, decrypt.go).
type sm2pkeOp struct {
	key  *keyEntry
	plan *mechanisms.SM2PKEPlan
	// The last Encrypt's ciphertext, kept for the retry after
	// CKR_BUFFER_TOO_SMALL (a new encryption would differ: SM2PKE is
	// randomized), with the SHA-256 of its plaintext, never the plaintext.
	inSum [sha256.Size]byte
	out   []byte
}

// newSM2PKEOp checks a C_EncryptInit/C_DecryptInit with CKM_P11KMS_SM2PKE
// (PKCS#11 2.40 §5.8, §5.9): the object must be of class (CKO_PUBLIC_KEY to
// encrypt, CKO_PRIVATE_KEY to decrypt) with attr set, else
// CKR_KEY_FUNCTION_NOT_PERMITTED (an SM2 SIGN_VERIFY key has neither
// CKA_ENCRYPT nor CKA_DECRYPT); then mechanisms.NewSM2PKEPlan decides
// (CKR_KEY_TYPE_INCONSISTENT for a key that is not SM2, ...).
func newSM2PKEOp(o *object, mech Mechanism, class, attr uint, what string) (*sm2pkeOp, error) {
	if o.class != class || o.key == nil || !o.boolAttr(attr) {
		return nil, Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d cannot be used with CKM_P11KMS_SM2PKE (not %s)", o.handle, what)
	}
	plan, err := mechanisms.NewSM2PKEPlan(mech.Type, mech.Param, cryptKey(o.key))
	if err != nil {
		return nil, err
	}
	return &sm2pkeOp{key: o.key, plan: plan}, nil
}

// sm2DecryptInit is C_DecryptInit's CKM_P11KMS_SM2PKE case (see newSM2PKEOp).
func sm2DecryptInit(o *object, mech Mechanism) (*decryptOp, error) {
	op, err := newSM2PKEOp(o, mech, ck.CKO_PRIVATE_KEY, ck.CKA_DECRYPT, "a private key with CKA_DECRYPT")
	if err != nil {
		return nil, err
	}
	return &decryptOp{key: o.key, sm2: op, cache: &plaintextCache{}}, nil
}

// sm2Decrypt is C_Decrypt with CKM_P11KMS_SM2PKE and the PKCS#11 2.40 §5.2
// conventions. The ciphertext tells the plaintext's exact length (len(C2),
// mechanisms.SM2PKEPlan.PlaintextLen), so a size query or a short buffer is
// answered before any remote call and keeps the operation; any other
// outcome ends it. A malformed ciphertext is CKR_ENCRYPTED_DATA_INVALID, one
// carrying more than 1024 bytes CKR_ENCRYPTED_DATA_LEN_RANGE, both without a
// remote call; one KMS refuses (another key, tampered) CKR_ENCRYPTED_DATA_INVALID.
func (m *Module) sm2Decrypt(sess *session, op *sm2pkeOp, ct []byte, query bool, bufLen uint) ([]byte, uint, error) {
	n, err := op.plan.PlaintextLen(ct)
	if err != nil {
		sess.endDecrypt()
		return nil, 0, err
	}
	if keep, err := sizeCheck(query, bufLen, uint(n)); keep {
		return nil, uint(n), err
	}
	sess.endDecrypt()
	ctx, cancel := sess.slot.callContext(m.ctx)
	plain, err := sess.slot.backend.Decrypt(ctx, op.key.info.ARN, op.plan.Algorithm, ct)
	cancel()
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return nil, 0, fromBackend("KMS Decrypt", err)
	}
	sess.deviceError = 0
	if err := op.plan.CheckPlaintext(n, plain); err != nil {
		clear(plain)
		return nil, 0, Errorf(ck.CKR_DEVICE_ERROR, "plaintext from KMS for %s withheld: %w", op.key.info.ARN, err)
	}
	return plain, uint(n), nil
}

// sm2EncryptInit is C_EncryptInit's CKM_P11KMS_SM2PKE case (see newSM2PKEOp).
func sm2EncryptInit(o *object, mech Mechanism) (*encryptOp, error) {
	op, err := newSM2PKEOp(o, mech, ck.CKO_PUBLIC_KEY, ck.CKA_ENCRYPT, "a public key with CKA_ENCRYPT")
	if err != nil {
		return nil, err
	}
	return &encryptOp{sm2: op}, nil
}

// sm2Encrypt is C_Encrypt with CKM_P11KMS_SM2PKE and the PKCS#11 2.40 §5.2
// conventions: the ciphertext's length is known only after encrypting (its
// DER INTEGERs vary), so a size query answers an upper bound
// (SM2PKEPlan.MaxCiphertextLen) without encrypting; a short buffer gets
// CKR_BUFFER_TOO_SMALL with the exact length, the ciphertext kept for a
// retry with the same plaintext. Both keep the operation; any other outcome
// ends it. A plaintext outside 1..1024 bytes is CKR_DATA_LEN_RANGE.
func (m *Module) sm2Encrypt(sess *session, op *sm2pkeOp, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	if err := op.plan.CheckMessage(data); err != nil {
		sess.encrypt = nil
		return nil, 0, err
	}
	sum := sha256.Sum256(data)
	if op.out == nil || sum != op.inSum {
		op.out = nil
		if query {
			return nil, uint(op.plan.MaxCiphertextLen(len(data))), nil
		}
		ct, err := op.plan.Encrypt(rand.Reader, data)
		if err != nil {
			sess.encrypt = nil
			return nil, 0, err
		}
		op.inSum, op.out = sum, ct
	}
	n := uint(len(op.out))
	if keep, err := sizeCheck(query, bufLen, n); keep {
		return nil, n, err
	}
	sess.encrypt = nil
	return op.out, n, nil
}
