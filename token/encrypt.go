package token

import (
	"crypto/rand"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// encryptOp is an active RSA-OAEP encryption, done locally with the cached
// public key (PKCS#11 2.40 §5.8). It takes the same parameters as decryption
// (SHA-1 or SHA-256, MGF1 of the same hash, no label), so that whatever the
// token encrypts, KMS can decrypt. Single-part only, like decryption.
type encryptOp struct {
	plan *mechanisms.OAEPPlan
	// blob is set instead of plan for CKM_P11KMS_KMS_BLOB (kmsblob.go).
	blob *blobOp
	// sm2 is set instead of plan for CKM_P11KMS_SM2PKE (sm2pke.go).
	sm2 *sm2pkeOp
}

// EncryptInit implements C_EncryptInit (PKCS#11 2.40 §5.8): the key must be a
// public key with CKA_ENCRYPT (a KMS ENCRYPT_DECRYPT key).
func (m *Module) EncryptInit(sh uint, mech Mechanism, kh uint) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.encrypt != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "an encryption is already active in this session")
		}
		o, err := m.object(sess, kh, ck.CKR_KEY_HANDLE_INVALID)
		if err != nil {
			return err
		}
		if mech.Type == mechanisms.CKM_P11KMS_KMS_BLOB { // SYMMETRIC_DEFAULT keys (kmsblob.go)
			bo, err := newBlobOp(sess, o, mech, ck.CKA_ENCRYPT, "CKA_ENCRYPT")
			if err == nil {
				sess.encrypt = &encryptOp{blob: bo}
			}
			return err
		}
		if mech.Type == mechanisms.CKM_P11KMS_SM2PKE { // SM2 keys (sm2pke.go)
			op, err := sm2EncryptInit(o, mech)
			if err == nil {
				sess.encrypt = op
			}
			return err
		}
		if o.class != ck.CKO_PUBLIC_KEY || !o.boolAttr(ck.CKA_ENCRYPT) {
			return Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d cannot encrypt (not a public key with CKA_ENCRYPT)", kh)
		}
		plan, err := mechanisms.NewOAEPPlan(mech.Type, mech.Param, cryptKey(o.key))
		if err != nil {
			return err
		}
		sess.encrypt = &encryptOp{plan: plan}
		return nil
	})
}

// Encrypt implements C_Encrypt with the PKCS#11 2.40 §5.2 conventions: the
// ciphertext is always the modulus length, so a size query or a short buffer
// is answered at once and keeps the operation; any other outcome ends it. A
// message longer than k-2hLen-2 is CKR_DATA_LEN_RANGE.
func (m *Module) Encrypt(sh uint, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	var ct []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.encrypt
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_Encrypt without C_EncryptInit")
		}
		if op.blob != nil {
			var err error
			ct, n, err = m.blobEncrypt(sess, op.blob, data, query, bufLen)
			return err
		}
		if op.sm2 != nil {
			var err error
			ct, n, err = m.sm2Encrypt(sess, op.sm2, data, query, bufLen)
			return err
		}
		if err := op.plan.CheckMessage(data); err != nil {
			sess.encrypt = nil
			return err
		}
		n = uint(op.plan.ModulusLen)
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		sess.encrypt = nil
		var err error
		ct, err = op.plan.Encrypt(rand.Reader, data)
		return err
	})
	return ct, n, err
}

// EncryptUpdate implements C_EncryptUpdate: CKM_RSA_PKCS_OAEP is single-part
// only (Current Mechanisms 2.40 §2.1.8), so it ends the operation with
// CKR_FUNCTION_NOT_SUPPORTED.
func (m *Module) EncryptUpdate(sh uint) error {
	return m.singlePartEncrypt(sh, "C_EncryptUpdate")
}

// EncryptFinal implements C_EncryptFinal; see EncryptUpdate.
func (m *Module) EncryptFinal(sh uint) error {
	return m.singlePartEncrypt(sh, "C_EncryptFinal")
}

func (m *Module) singlePartEncrypt(sh uint, fn string) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.encrypt == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "%s without C_EncryptInit", fn)
		}
		mech := "CKM_RSA_PKCS_OAEP"
		if sess.encrypt.blob != nil {
			mech = "CKM_P11KMS_KMS_BLOB"
		}
		if sess.encrypt.sm2 != nil {
			mech = "CKM_P11KMS_SM2PKE"
		}
		sess.encrypt = nil
		return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s: %s is single-part only; use C_Encrypt", fn, mech)
	})
}

// EndEncrypt ends the session's encryption, if any (see EndSign).
func (m *Module) EndEncrypt(sh uint) {
	_ = m.withSession(sh, func(sess *session) error { sess.encrypt = nil; return nil })
}
