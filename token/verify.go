package token

import (
	"hash"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// verifyOp is an active verification, done locally with the cached public key.
type verifyOp struct {
	plan *mechanisms.Plan
	hash hash.Hash
	// mac is set instead of plan for an HMAC verification with a secret
	// key, done remotely by KMS VerifyMac (mac.go).
	mac *macOp
}

// VerifyInit implements C_VerifyInit (PKCS#11 2.40 §5.13): the key must be a
// public key with CKA_VERIFY.
func (m *Module) VerifyInit(sh uint, mech Mechanism, kh uint) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.verify != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "a verification is already active in this session")
		}
		o, err := m.object(sess, kh, ck.CKR_KEY_HANDLE_INVALID)
		if err != nil {
			return err
		}
		if o.class == ck.CKO_SECRET_KEY { // HMAC through KMS VerifyMac (mac.go)
			mop, err := m.newMacOp(sess, o, mech, ck.CKA_VERIFY)
			if err != nil {
				return err
			}
			sess.verify = &verifyOp{mac: mop}
			return nil
		}
		if o.class != ck.CKO_PUBLIC_KEY || !o.boolAttr(ck.CKA_VERIFY) {
			return Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d cannot verify (not a public key with CKA_VERIFY)", kh)
		}
		if err := macOnKeyPair(mech.Type, kh); err != nil {
			return err
		}
		plan, err := mechanisms.NewVerifyPlan(mech.Type, mech.Param, mechKey(o.key))
		if err != nil {
			return err
		}
		sess.verify = &verifyOp{plan: plan}
		return nil
	})
}

// Verify implements C_Verify; it always ends the operation.
func (m *Module) Verify(sh uint, data, sig []byte) error {
	return m.withSession(sh, func(sess *session) error {
		op := sess.verify
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_Verify without C_VerifyInit")
		}
		sess.verify = nil
		if op.mac != nil {
			return m.macVerify(sess, op.mac, data, sig)
		}
		if op.hash != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "C_Verify in a multi-part verification; call C_VerifyFinal")
		}
		return op.plan.Verify(data, sig)
	})
}

// VerifyUpdate implements C_VerifyUpdate (hashing mechanisms only).
func (m *Module) VerifyUpdate(sh uint, part []byte) error {
	return m.withSession(sh, func(sess *session) error {
		op := sess.verify
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_VerifyUpdate without C_VerifyInit")
		}
		if op.mac != nil {
			err := op.mac.add(part)
			if err != nil {
				sess.verify = nil
			}
			return err
		}
		if !op.plan.MultiPart() {
			sess.verify = nil
			return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s is single-part only; use C_Verify", ck.MechName(op.plan.Mechanism))
		}
		if op.hash == nil {
			op.hash = op.plan.NewHash()
		}
		op.hash.Write(part)
		return nil
	})
}

// VerifyFinal implements C_VerifyFinal; it always ends the operation.
func (m *Module) VerifyFinal(sh uint, sig []byte) error {
	return m.withSession(sh, func(sess *session) error {
		op := sess.verify
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_VerifyFinal without C_VerifyInit")
		}
		sess.verify = nil
		if op.mac != nil {
			return m.verifyMac(sess, op.mac, op.mac.buf, sig)
		}
		if !op.plan.MultiPart() {
			return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s is single-part only; use C_Verify", ck.MechName(op.plan.Mechanism))
		}
		if op.hash == nil {
			op.hash = op.plan.NewHash()
		}
		return op.plan.VerifyDigest(op.hash.Sum(nil), sig)
	})
}

// EndVerify ends the session's verification, if any (see EndSign).
func (m *Module) EndVerify(sh uint) {
	_ = m.withSession(sh, func(sess *session) error { sess.verify = nil; return nil })
}
