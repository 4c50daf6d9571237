package token

import (
	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// macOp is an active HMAC operation on a CKO_SECRET_KEY, started by
// C_SignInit or C_VerifyInit (sign.go and verify.go dispatch here). The key
// lives in KMS: the message is gathered locally and sent whole (KMS takes
// 1..4,096 bytes), the MAC computed by GenerateMac or checked by VerifyMac.
// A constant-time local comparison is impossible: the key never leaves KMS.
type macOp struct {
	key   *keyEntry
	plan  *mechanisms.MacPlan
	macer kmsbackend.Macer
	buf   []byte
	// multi is set by the first C_SignUpdate/C_VerifyUpdate: the
	// operation must then end with C_SignFinal/C_VerifyFinal.
	multi bool
}

// newMacOp validates an HMAC key and mechanism for C_SignInit (use
// CKA_SIGN) or C_VerifyInit (use CKA_VERIFY). CK_RVs: those of
// mechanisms.NewMacPlan; CKR_KEY_FUNCTION_NOT_PERMITTED for a key without
// the use attribute; CKR_FUNCTION_FAILED if the backend computes no MACs
// (keys.go builds no secret-key object then, so this is a safety net).
func (m *Module) newMacOp(sess *session, o *object, mech Mechanism, use uint) (*macOp, error) {
	if o.key == nil { // a derived session key (derive.go): no mechanism uses one
		return nil, Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "secret key %d was derived in the module; p11kms computes nothing with derived keys", o.handle)
	}
	if !o.boolAttr(use) {
		return nil, Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "secret key %d lacks attribute 0x%X", o.handle, use)
	}
	macer, ok := sess.slot.backend.(kmsbackend.Macer)
	if !ok {
		return nil, Errorf(ck.CKR_FUNCTION_FAILED, "the token's backend computes no MACs")
	}
	info := o.key.info
	plan, err := mechanisms.NewMacPlan(mech.Type, mech.Param, mechanisms.MacKey{Spec: info.Spec, Algorithms: info.MacAlgorithms})
	if err != nil {
		return nil, err
	}
	return &macOp{key: o.key, plan: plan, macer: macer}, nil
}

// macOnKeyPair refuses an HMAC mechanism on a private or public key:
// CKR_KEY_TYPE_INCONSISTENT (PKCS#11 2.40 §5.1: key type inconsistent with
// the mechanism). nil for any other mechanism.
func macOnKeyPair(mech uint, kh uint) error {
	if mechanisms.IsMacMechanism(mech) {
		return Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "%s needs an HMAC secret key; object %d is not one", ck.MechName(mech), kh)
	}
	return nil
}

// add gathers one C_SignUpdate/C_VerifyUpdate part. Past KMS's 4,096 bytes
// it fails at once with CKR_DATA_LEN_RANGE (and the caller ends the
// operation, PKCS#11 2.40 §5.12): nothing longer can ever be MACed.
func (op *macOp) add(part []byte) error {
	op.multi = true
	if len(op.buf)+len(part) > kmsbackend.MaxMacMessage {
		return Errorf(ck.CKR_DATA_LEN_RANGE, "%s through KMS takes at most %d bytes of message; %d gathered",
			ck.MechName(op.plan.Mechanism), kmsbackend.MaxMacMessage, len(op.buf)+len(part))
	}
	op.buf = append(op.buf, part...)
	return nil
}

// macSign implements C_Sign for a MAC operation, with the conventions of
// PKCS#11 2.40 §5.2: a size query or a short buffer is answered locally
// (the MAC length is the hash length) and keeps the operation; any other
// outcome ends it.
func (m *Module) macSign(sess *session, op *macOp, data []byte, query bool, bufLen uint) ([]byte, uint, error) {
	n := uint(op.plan.MacLen)
	if op.multi {
		sess.sign = nil
		return nil, n, Errorf(ck.CKR_OPERATION_ACTIVE, "C_Sign in a multi-part MAC operation; call C_SignFinal")
	}
	if keep, err := sizeCheck(query, bufLen, n); keep {
		return nil, n, err
	}
	sess.sign = nil
	mac, err := m.generateMac(sess, op, data)
	return mac, n, err
}

// macSignFinal implements C_SignFinal for a MAC operation, with C_Sign's
// output conventions, over the parts gathered by C_SignUpdate.
func (m *Module) macSignFinal(sess *session, op *macOp, query bool, bufLen uint) ([]byte, uint, error) {
	n := uint(op.plan.MacLen)
	if keep, err := sizeCheck(query, bufLen, n); keep {
		return nil, n, err
	}
	sess.sign = nil
	mac, err := m.generateMac(sess, op, op.buf)
	return mac, n, err
}

// generateMac asks KMS for the MAC of msg. A failure records its reason
// code in the session; a MAC of the wrong length is withheld.
func (m *Module) generateMac(sess *session, op *macOp, msg []byte) ([]byte, error) {
	if err := op.plan.CheckMessage(msg); err != nil {
		return nil, err
	}
	ctx, cancel := sess.slot.callContext(m.ctx)
	defer cancel()
	mac, err := op.macer.GenerateMac(ctx, op.key.info.ARN, op.plan.Algorithm, msg)
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return nil, fromBackend("KMS GenerateMac", err)
	}
	sess.deviceError = 0
	return op.plan.Output(mac)
}

// macVerify implements C_Verify for a MAC operation (the caller has ended it).
func (m *Module) macVerify(sess *session, op *macOp, data, mac []byte) error {
	if op.multi {
		return Errorf(ck.CKR_OPERATION_ACTIVE, "C_Verify in a multi-part MAC verification; call C_VerifyFinal")
	}
	return m.verifyMac(sess, op, data, mac)
}

// verifyMac asks KMS whether mac is the MAC of msg: a MAC of the wrong length
// is CKR_SIGNATURE_LEN_RANGE without a call, one KMS rejects (AWS:
// KMSInvalidMacException) CKR_SIGNATURE_INVALID (PKCS#11 2.40 §5.13).
func (m *Module) verifyMac(sess *session, op *macOp, msg, mac []byte) error {
	if err := op.plan.CheckMac(mac); err != nil {
		return err
	}
	if err := op.plan.CheckMessage(msg); err != nil {
		return err
	}
	ctx, cancel := sess.slot.callContext(m.ctx)
	defer cancel()
	ok, err := op.macer.VerifyMac(ctx, op.key.info.ARN, op.plan.Algorithm, msg, mac)
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return fromBackend("KMS VerifyMac", err)
	}
	sess.deviceError = 0
	if !ok {
		return Errorf(ck.CKR_SIGNATURE_INVALID, "KMS: the MAC does not match (%s, key %s)", op.plan.Algorithm, op.key.info.ARN)
	}
	return nil
}
