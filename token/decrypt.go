package token

import (
	"bytes"
	"runtime"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// decryptOp is an active RSA-OAEP decryption through KMS Decrypt (PKCS#11
// 2.40 §5.9). CKM_RSA_PKCS_OAEP is single-part (Current Mechanisms 2.40
// §2.1.8): C_DecryptUpdate and C_DecryptFinal end it with
// CKR_FUNCTION_NOT_SUPPORTED, as C_SignUpdate does for the raw signing mechanisms.
type decryptOp struct {
	key   *keyEntry
	plan  *mechanisms.OAEPPlan
	cache *plaintextCache
	// blob is set instead of plan for CKM_P11KMS_KMS_BLOB (kmsblob.go).
	blob *blobOp
	// sm2 is set instead of plan for CKM_P11KMS_SM2PKE (sm2pke.go).
	sm2 *sm2pkeOp
}

// plaintextCache holds the result of a KMS Decrypt whose plaintext did not fit
// the caller's buffer (CKR_BUFFER_TOO_SMALL), so that the retry with a bigger
// buffer and the same ciphertext makes no second remote call. It is wiped
// whenever the operation ends, and by a runtime cleanup when a session that
// still holds it is closed.
type plaintextCache struct {
	ct, plain []byte
}

// wipe zeroes and drops the cached plaintext.
func (c *plaintextCache) wipe() {
	clear(c.plain)
	c.ct, c.plain = nil, nil
}

// cryptKey describes a key to mechanisms/ for encryption and decryption.
func cryptKey(k *keyEntry) mechanisms.CryptKey {
	return mechanisms.CryptKey{Spec: k.info.Spec, Pub: k.pub, Algorithms: k.info.EncryptionAlgorithms}
}

// endDecrypt ends the session's decryption, wiping any cached plaintext.
func (sess *session) endDecrypt() {
	if sess.decrypt != nil {
		sess.decrypt.cache.wipe()
		sess.decrypt = nil
	}
}

// DecryptInit implements C_DecryptInit (PKCS#11 2.40 §5.9): the key must be a
// private key with CKA_DECRYPT (a KMS ENCRYPT_DECRYPT key); the mechanism
// CKM_RSA_PKCS_OAEP with parameters KMS can honour (mechanisms.NewOAEPPlan).
func (m *Module) DecryptInit(sh uint, mech Mechanism, kh uint) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.decrypt != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "a decryption is already active in this session")
		}
		o, err := m.object(sess, kh, ck.CKR_KEY_HANDLE_INVALID)
		if err != nil {
			return err
		}
		if mech.Type == mechanisms.CKM_P11KMS_KMS_BLOB { // SYMMETRIC_DEFAULT keys (kmsblob.go)
			op, err := blobDecryptInit(sess, o, mech)
			if err == nil {
				sess.decrypt = op
			}
			return err
		}
		if mech.Type == mechanisms.CKM_P11KMS_SM2PKE { // SM2 keys (sm2pke.go)
			op, err := sm2DecryptInit(o, mech)
			if err == nil {
				sess.decrypt = op
			}
			return err
		}
		if o.class != ck.CKO_PRIVATE_KEY || !o.boolAttr(ck.CKA_DECRYPT) {
			return Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d cannot decrypt (not a private key with CKA_DECRYPT)", kh)
		}
		plan, err := mechanisms.NewOAEPPlan(mech.Type, mech.Param, cryptKey(o.key))
		if err != nil {
			return err
		}
		op := &decryptOp{key: o.key, plan: plan, cache: &plaintextCache{}}
		runtime.AddCleanup(op, (*plaintextCache).wipe, op.cache)
		sess.decrypt = op
		return nil
	})
}

// Decrypt implements C_Decrypt with the PKCS#11 2.40 §5.2 conventions. The
// plaintext length is unknown until KMS has decrypted, so a size query (query
// true) answers the modulus length, an upper bound §5.2 allows, without a
// remote call. A buffer shorter than the real plaintext gets
// CKR_BUFFER_TOO_SMALL with its exact length after the remote call; the
// plaintext stays cached in the operation, and a retry with the same
// ciphertext is answered from it. Both keep the operation; any other outcome
// ends it. The caller owns the returned plaintext and should wipe it after use.
func (m *Module) Decrypt(sh uint, ct []byte, query bool, bufLen uint) ([]byte, uint, error) {
	var plain []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.decrypt
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_Decrypt without C_DecryptInit")
		}
		if op.blob != nil {
			var err error
			plain, n, err = m.blobDecrypt(sess, op, ct, query, bufLen)
			return err
		}
		if op.sm2 != nil {
			var err error
			plain, n, err = m.sm2Decrypt(sess, op.sm2, ct, query, bufLen)
			return err
		}
		c := op.cache
		if c.plain == nil || !bytes.Equal(c.ct, ct) {
			c.wipe()
			if err := op.plan.CheckCiphertext(ct); err != nil {
				sess.endDecrypt()
				return err
			}
			if query {
				n = uint(op.plan.ModulusLen)
				return nil
			}
			p, err := m.remoteDecrypt(sess, op, ct)
			if err != nil {
				sess.endDecrypt()
				return err
			}
			c.ct, c.plain = bytes.Clone(ct), p
		}
		n = uint(len(c.plain))
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		plain, c.plain = c.plain, nil // handed to the caller, not wiped here
		sess.endDecrypt()
		return nil
	})
	return plain, n, err
}

// remoteDecrypt asks KMS to decrypt and checks the plaintext's length. A
// failure records its reason code in the session.
func (m *Module) remoteDecrypt(sess *session, op *decryptOp, ct []byte) ([]byte, error) {
	ctx, cancel := sess.slot.callContext(m.ctx)
	defer cancel()
	plain, err := sess.slot.backend.Decrypt(ctx, op.key.info.ARN, op.plan.Algorithm, ct)
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return nil, fromBackend("KMS Decrypt", err)
	}
	sess.deviceError = 0
	if err := op.plan.CheckPlaintext(plain); err != nil {
		clear(plain)
		return nil, Errorf(ck.CKR_DEVICE_ERROR, "plaintext from KMS for %s withheld: %w", op.key.info.ARN, err)
	}
	if plain == nil {
		plain = []byte{} // an empty message decrypted: not "nothing cached"
	}
	return plain, nil
}

// DecryptUpdate implements C_DecryptUpdate: CKM_RSA_PKCS_OAEP is single-part
// only, so it ends the operation with CKR_FUNCTION_NOT_SUPPORTED.
func (m *Module) DecryptUpdate(sh uint) error {
	return m.singlePartDecrypt(sh, "C_DecryptUpdate")
}

// DecryptFinal implements C_DecryptFinal; see DecryptUpdate.
func (m *Module) DecryptFinal(sh uint) error {
	return m.singlePartDecrypt(sh, "C_DecryptFinal")
}

func (m *Module) singlePartDecrypt(sh uint, fn string) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.decrypt == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "%s without C_DecryptInit", fn)
		}
		mech := "CKM_RSA_PKCS_OAEP"
		if sess.decrypt.blob != nil {
			mech = "CKM_P11KMS_KMS_BLOB"
		}
		if sess.decrypt.sm2 != nil {
			mech = "CKM_P11KMS_SM2PKE"
		}
		sess.endDecrypt()
		return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s: %s is single-part only; use C_Decrypt", fn, mech)
	})
}

// EndDecrypt ends the session's decryption, if any (see EndSign).
func (m *Module) EndDecrypt(sh uint) {
	_ = m.withSession(sh, func(sess *session) error { sess.endDecrypt(); return nil })
}
