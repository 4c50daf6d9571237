package token

import (
	"hash"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// digestOp is an active message-digesting operation, computed locally
// (PKCS#11 2.40 §5.10). No key and no login are involved.
type digestOp struct {
	hash hash.Hash
	// multi is set by the first C_DigestUpdate: C_Digest may then no longer
	// be used ("C_Digest cannot be used to terminate a multi-part operation").
	multi bool
}

// DigestInit implements C_DigestInit (PKCS#11 2.40 §5.10) for the digest
// mechanisms of mechanisms.DigestHash.
func (m *Module) DigestInit(sh uint, mech Mechanism) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.digest != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "a digest operation is already active in this session")
		}
		h, err := mechanisms.DigestHash(mech.Type, mech.Param)
		if err != nil {
			return err
		}
		sess.digest = &digestOp{hash: h.New()}
		return nil
	})
}

// Digest implements C_Digest with the PKCS#11 2.40 §5.2 conventions: a size
// query or a short buffer keeps the operation (the digest length is fixed);
// any other outcome ends it.
func (m *Module) Digest(sh uint, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	var sum []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.digest
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_Digest without C_DigestInit")
		}
		if op.multi {
			sess.digest = nil
			return Errorf(ck.CKR_OPERATION_ACTIVE, "C_Digest in a multi-part digest operation; call C_DigestFinal")
		}
		n = uint(op.hash.Size())
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		sess.digest = nil
		op.hash.Write(data)
		sum = op.hash.Sum(nil)
		return nil
	})
	return sum, n, err
}

// DigestUpdate implements C_DigestUpdate: the part is hashed at once.
func (m *Module) DigestUpdate(sh uint, part []byte) error {
	return m.withSession(sh, func(sess *session) error {
		op := sess.digest
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_DigestUpdate without C_DigestInit")
		}
		op.multi = true
		op.hash.Write(part)
		return nil
	})
}

// DigestFinal implements C_DigestFinal, with C_Digest's output conventions.
// Straight after C_DigestInit it returns the digest of the empty message.
func (m *Module) DigestFinal(sh uint, query bool, bufLen uint) ([]byte, uint, error) {
	var sum []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.digest
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_DigestFinal without C_DigestInit")
		}
		n = uint(op.hash.Size())
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		sess.digest = nil
		sum = op.hash.Sum(nil)
		return nil
	})
	return sum, n, err
}

// DigestKey implements C_DigestKey: the module never holds a key's value (the
// private keys stay in KMS), so it is CKR_FUNCTION_NOT_SUPPORTED, and, as an
// error, ends the session's digest operation if there is one (PKCS#11 2.40 §5.10).
func (m *Module) DigestKey(sh, kh uint) error {
	return m.withSession(sh, func(sess *session) error {
		sess.digest = nil
		return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "C_DigestKey: key values are not available to the module (object %d)", kh)
	})
}

// EndDigest ends the session's digest operation, if any (see EndSign).
func (m *Module) EndDigest(sh uint) {
	_ = m.withSession(sh, func(sess *session) error { sess.digest = nil; return nil })
}
