package token

import (
	"bytes"
	"crypto/sha256"
	"runtime"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// blobOp is an active CKM_P11KMS_KMS_BLOB encryption or decryption with a
// SYMMETRIC_DEFAULT key: KMS Encrypt / Decrypt with the encryption context
// of the mechanism parameter (mechanisms.ParseEncryptionContext).
// Single-part only: C_EncryptUpdate and friends end it with
// CKR_FUNCTION_NOT_SUPPORTED (encrypt.go, decrypt.go).
type blobOp struct {
	key    *keyEntry
	crypt  kmsbackend.SymmetricCrypter
	encCtx map[string]string
	// The last Encrypt's blob, kept for the retry after
	// CKR_BUFFER_TOO_SMALL, with the SHA-256 of its plaintext: the
	// plaintext itself is never kept. (Decryption caches in decryptOp.cache.)
	inSum [sha256.Size]byte
	out   []byte
}

// newBlobOp checks a C_EncryptInit/C_DecryptInit with CKM_P11KMS_KMS_BLOB
// (PKCS#11 2.40 §5.8, §5.9): the key must be a SYMMETRIC_DEFAULT secret key
// (else CKR_KEY_TYPE_INCONSISTENT) with the attribute attr (CKA_ENCRYPT or
// CKA_DECRYPT, else CKR_KEY_FUNCTION_NOT_PERMITTED); the parameter a valid
// encryption context (else CKR_MECHANISM_PARAM_INVALID).
func newBlobOp(sess *session, o *object, mech Mechanism, attr uint, attrName string) (*blobOp, error) {
	if o.class != ck.CKO_SECRET_KEY || o.key == nil || o.key.info.Spec != kmsbackend.SpecSymmetricDefault {
		return nil, Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "object %d is not a KMS SYMMETRIC_DEFAULT key; CKM_P11KMS_KMS_BLOB needs one", o.handle)
	}
	if !o.boolAttr(attr) {
		return nil, Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d lacks %s", o.handle, attrName)
	}
	crypt, ok := sess.slot.backend.(kmsbackend.SymmetricCrypter)
	if !ok {
		return nil, Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "the backend has no symmetric Encrypt/Decrypt")
	}
	encCtx, err := mechanisms.ParseEncryptionContext(mech.Param)
	if err != nil {
		return nil, err
	}
	return &blobOp{key: o.key, crypt: crypt, encCtx: encCtx}, nil
}

// blobEncrypt is C_Encrypt with CKM_P11KMS_KMS_BLOB and the PKCS#11 2.40
// §5.2 conventions. The blob's length is unknown before KMS answers, so a
// size query answers mechanisms.KMSBlobEncryptLen, an upper bound, without
// a remote call. A short buffer gets CKR_BUFFER_TOO_SMALL with the exact
// length after the call, and the blob is kept for a retry with the same
// plaintext, which makes no second call. Both keep the operation; any other
// outcome ends it. A plaintext outside 1..4096 bytes is CKR_DATA_LEN_RANGE.
func (m *Module) blobEncrypt(sess *session, op *blobOp, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	if err := mechanisms.CheckKMSBlobPlaintext(data); err != nil {
		sess.encrypt = nil
		return nil, 0, err
	}
	sum := sha256.Sum256(data)
	if op.out == nil || sum != op.inSum {
		op.out = nil
		if query {
			return nil, uint(mechanisms.KMSBlobEncryptLen(len(data))), nil
		}
		ctx, cancel := sess.slot.callContext(m.ctx)
		blob, err := op.crypt.Encrypt(ctx, op.key.info.ARN, data, op.encCtx)
		cancel()
		if err != nil {
			sess.deviceError = deviceErrorCode(err)
			sess.encrypt = nil
			return nil, 0, fromBackend("KMS Encrypt", err)
		}
		sess.deviceError = 0
		op.inSum, op.out = sum, blob
	}
	n := uint(len(op.out))
	if keep, err := sizeCheck(query, bufLen, n); keep {
		return nil, n, err
	}
	sess.encrypt = nil
	return op.out, n, nil
}

// blobDecryptInit is C_DecryptInit's CKM_P11KMS_KMS_BLOB case (see newBlobOp).
func blobDecryptInit(sess *session, o *object, mech Mechanism) (*decryptOp, error) {
	bo, err := newBlobOp(sess, o, mech, ck.CKA_DECRYPT, "CKA_DECRYPT")
	if err != nil {
		return nil, err
	}
	op := &decryptOp{key: o.key, blob: bo, cache: &plaintextCache{}}
	runtime.AddCleanup(op, (*plaintextCache).wipe, op.cache)
	return op, nil
}

// blobDecrypt is C_Decrypt with CKM_P11KMS_KMS_BLOB, with the conventions of
// the OAEP Decrypt (decrypt.go): a size query answers the blob's length (the
// plaintext is shorter) without a remote call; a short buffer gets the exact
// length, the plaintext cached for the retry and wiped when the operation
// ends. A blob outside 1..6144 bytes is CKR_ENCRYPTED_DATA_LEN_RANGE; one KMS
// refuses (another key, damaged, another encryption context) is
// CKR_ENCRYPTED_DATA_INVALID.
func (m *Module) blobDecrypt(sess *session, op *decryptOp, ct []byte, query bool, bufLen uint) ([]byte, uint, error) {
	c := op.cache
	if c.plain == nil || !bytes.Equal(c.ct, ct) {
		c.wipe()
		if err := mechanisms.CheckKMSBlobCiphertext(ct); err != nil {
			sess.endDecrypt()
			return nil, 0, err
		}
		if query {
			return nil, uint(len(ct)), nil
		}
		ctx, cancel := sess.slot.callContext(m.ctx)
		p, err := op.blob.crypt.DecryptWithContext(ctx, op.key.info.ARN, ct, op.blob.encCtx)
		cancel()
		if err != nil {
			sess.deviceError = deviceErrorCode(err)
			sess.endDecrypt()
			return nil, 0, fromBackend("KMS Decrypt", err)
		}
		sess.deviceError = 0
		if p == nil {
			p = []byte{}
		}
		c.ct, c.plain = bytes.Clone(ct), p
	}
	n := uint(len(c.plain))
	if keep, err := sizeCheck(query, bufLen, n); keep {
		return nil, n, err
	}
	plain := c.plain
	c.plain = nil // handed to the caller, not wiped here
	sess.endDecrypt()
	return plain, n, nil
}
