package token

import (
	"hash"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// signOp is an active signing operation (PKCS#11 2.40 §5.12).
type signOp struct {
	key  *keyEntry
	plan *mechanisms.Plan
	// hash accumulates C_SignUpdate input for the hashing mechanisms; nil
	// until the first C_SignUpdate (then the operation is multi-part).
	hash hash.Hash
	// mac is set instead of plan for an HMAC operation on a secret key (mac.go).
	mac *macOp
}

// mechKey describes a key to mechanisms/.
func mechKey(k *keyEntry) mechanisms.Key {
	return mechanisms.Key{Spec: k.info.Spec, Pub: k.pub, Algorithms: k.info.SigningAlgorithms}
}

// SignInit implements C_SignInit: the key must be a private key with CKA_SIGN.
func (m *Module) SignInit(sh uint, mech Mechanism, kh uint) error {
	return m.withSession(sh, func(sess *session) error {
		if sess.sign != nil {
			return Errorf(ck.CKR_OPERATION_ACTIVE, "a signing operation is already active in this session")
		}
		o, err := m.object(sess, kh, ck.CKR_KEY_HANDLE_INVALID)
		if err != nil {
			return err
		}
		if o.class == ck.CKO_SECRET_KEY { // HMAC through KMS GenerateMac (mac.go)
			mop, err := m.newMacOp(sess, o, mech, ck.CKA_SIGN)
			if err != nil {
				return err
			}
			sess.sign = &signOp{key: o.key, mac: mop}
			return nil
		}
		if o.class != ck.CKO_PRIVATE_KEY || !o.boolAttr(ck.CKA_SIGN) {
			return Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "object %d cannot sign (not a private key with CKA_SIGN)", kh)
		}
		if err := macOnKeyPair(mech.Type, kh); err != nil {
			return err
		}
		plan, err := mechanisms.NewSignPlan(mech.Type, mech.Param, mechKey(o.key))
		if err != nil {
			return err
		}
		sess.sign = &signOp{key: o.key, plan: plan}
		return nil
	})
}

// Sign implements C_Sign. A size query (query true) or a short buffer answers
// locally and keeps the operation; any other outcome ends it (PKCS#11 2.40 §5.2).
func (m *Module) Sign(sh uint, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	var sig []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.sign
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_Sign without C_SignInit")
		}
		if op.mac != nil {
			var err error
			sig, n, err = m.macSign(sess, op.mac, data, query, bufLen)
			return err
		}
		if op.hash != nil {
			sess.sign = nil
			return Errorf(ck.CKR_OPERATION_ACTIVE, "C_Sign in a multi-part signing operation; call C_SignFinal")
		}
		n = uint(op.plan.SigLen)
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		sess.sign = nil
		req, err := op.plan.Request(data)
		if err != nil {
			return err
		}
		sig, err = m.remoteSign(sess, op, req)
		return err
	})
	return sig, n, err
}

// SignUpdate implements C_SignUpdate: the hashing mechanisms hash locally;
// the raw mechanisms (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA) are
// single-part only (PKCS#11 Current Mechanisms 2.40, mechanism tables).
func (m *Module) SignUpdate(sh uint, part []byte) error {
	return m.withSession(sh, func(sess *session) error {
		op := sess.sign
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_SignUpdate without C_SignInit")
		}
		if op.mac != nil {
			err := op.mac.add(part)
			if err != nil {
				sess.sign = nil
			}
			return err
		}
		if !op.plan.MultiPart() {
			sess.sign = nil
			return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s is single-part only; use C_Sign", ck.MechName(op.plan.Mechanism))
		}
		if op.hash == nil {
			op.hash = op.plan.NewHash()
		}
		op.hash.Write(part)
		return nil
	})
}

// SignFinal implements C_SignFinal, with C_Sign's output conventions.
func (m *Module) SignFinal(sh uint, query bool, bufLen uint) ([]byte, uint, error) {
	var sig []byte
	var n uint
	err := m.withSession(sh, func(sess *session) error {
		op := sess.sign
		if op == nil {
			return Errorf(ck.CKR_OPERATION_NOT_INITIALIZED, "C_SignFinal without C_SignInit")
		}
		if op.mac != nil {
			var err error
			sig, n, err = m.macSignFinal(sess, op.mac, query, bufLen)
			return err
		}
		if !op.plan.MultiPart() {
			sess.sign = nil
			return Errorf(ck.CKR_FUNCTION_NOT_SUPPORTED, "%s is single-part only; use C_Sign", ck.MechName(op.plan.Mechanism))
		}
		n = uint(op.plan.SigLen)
		if keep, err := sizeCheck(query, bufLen, n); keep {
			return err
		}
		sess.sign = nil
		if op.hash == nil { // C_SignFinal straight after C_SignInit: the empty message
			op.hash = op.plan.NewHash()
		}
		req, err := op.plan.RequestFromHash(op.hash.Sum(nil))
		if err != nil {
			return err
		}
		sig, err = m.remoteSign(sess, op, req)
		return err
	})
	return sig, n, err
}

// sizeCheck applies the output-buffer convention of PKCS#11 2.40 §5.2: a size
// query succeeds and a short buffer fails with CKR_BUFFER_TOO_SMALL, both
// keeping the operation (keep true); otherwise the caller goes on.
func sizeCheck(query bool, bufLen, need uint) (keep bool, err error) {
	switch {
	case query:
		return true, nil
	case bufLen < need:
		return true, Errorf(ck.CKR_BUFFER_TOO_SMALL, "output buffer of %d bytes; %d needed", bufLen, need)
	}
	return false, nil
}

// remoteSign asks KMS to sign the request, converts the signature to the
// PKCS#11 form and verifies it locally with the cached public key: a
// signature that does not verify never reaches the caller (CKR_DEVICE_ERROR).
// A failure records its reason code in the session.
func (m *Module) remoteSign(sess *session, op *signOp, req mechanisms.SignRequest) ([]byte, error) {
	ctx, cancel := sess.slot.callContext(m.ctx)
	defer cancel()
	raw, err := sess.slot.backend.Sign(ctx, op.key.info.ARN, req.Algorithm, req.MessageType, req.Message)
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return nil, fromBackend("KMS Sign", err)
	}
	sess.deviceError = 0
	sig, err := op.plan.OutputVerified(req, raw)
	if err != nil {
		sess.deviceError = deviceErrorBadSignature
		return nil, Errorf(ck.CKR_DEVICE_ERROR, "signature from KMS for %s withheld: %w", op.key.info.ARN, err)
	}
	return sig, nil
}

// EndSign ends the session's signing operation, if any. cgo calls it when it
// rejects a C_Sign* call's arguments itself (CKR_ARGUMENTS_BAD), which ends
// the operation like any other error (PKCS#11 2.40 §5.2).
func (m *Module) EndSign(sh uint) {
	_ = m.withSession(sh, func(sess *session) error { sess.sign = nil; return nil })
}
