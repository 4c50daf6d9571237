package token

import (
	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// deviceErrorBadSecret is the ulDeviceError reason code when KMS returned a
// shared secret of the wrong length (next to deviceErrorBadSignature).
const deviceErrorBadSecret = 101

// DeriveKey implements C_DeriveKey (PKCS#11 2.40 §5.14) with
// CKM_ECDH1_DERIVE (Current Mechanisms 2.40 §2.3.16): AWS KMS
// DeriveSharedSecret computes the ECDH shared secret of the base key (a
// KEY_AGREEMENT key, CKA_DERIVE true) and the peer's point; the module
// applies the KDF of the parameters and makes a CKO_SECRET_KEY session
// object (sessobj.go) whose attributes follow the template
// (derive_template.go). No mechanism of the module uses the new key: it
// exists to be read (CKA_VALUE, when not sensitive and extractable) or
// destroyed.
//
// Every check runs before the remote call, in this order:
// CKR_MECHANISM_INVALID for another mechanism; CKR_KEY_HANDLE_INVALID;
// CKR_KEY_TYPE_INCONSISTENT for a base key that is not an EC private key
// on an agreement curve; CKR_KEY_FUNCTION_NOT_PERMITTED without
// CKA_DERIVE; CKR_MECHANISM_PARAM_INVALID for the parameters and the
// peer's point; the template's CK_RVs; CKR_USER_NOT_LOGGED_IN for a
// private object (CKA_PRIVATE true) in a session without login (§5.7).
// A read-only session may derive (the new key is a session object).
func (m *Module) DeriveKey(sh uint, mech Mechanism, baseKey uint, tmpl []Attribute) (uint, error) {
	var h uint
	err := m.withSession(sh, func(sess *session) error {
		if mech.Type != ck.CKM_ECDH1_DERIVE {
			return Errorf(ck.CKR_MECHANISM_INVALID, "C_DeriveKey: %s is not offered; p11kms derives with CKM_ECDH1_DERIVE only", ck.MechName(mech.Type))
		}
		base, err := m.object(sess, baseKey, ck.CKR_KEY_HANDLE_INVALID)
		if err != nil {
			return err
		}
		curve, err := agreementCurve(base)
		if err != nil {
			return err
		}
		params, err := mechanisms.ParseECDH1Params(mech.Param)
		if err != nil {
			return err
		}
		peer, err := mechanisms.PeerSPKI(curve, params.PublicData)
		if err != nil {
			return err
		}
		t, err := parseDeriveTemplate(tmpl)
		if err != nil {
			return err
		}
		n, err := t.derivedLen(mechanisms.SharedSecretLen(curve), mechanisms.IsKDF(params.KDF))
		if err != nil {
			return err
		}
		private := base.private
		if v, ok := t.bools[ck.CKA_PRIVATE]; ok {
			private = v
		}
		if private && !sess.slot.isLoggedIn() {
			return Errorf(ck.CKR_USER_NOT_LOGGED_IN, "C_DeriveKey: a private key (CKA_PRIVATE true) needs a logged-in session")
		}
		z, err := m.remoteAgree(sess, base, peer, curve)
		if err != nil {
			return err
		}
		defer clear(z)
		value, err := mechanisms.DeriveValue(params.KDF, z, params.SharedData, n)
		if err != nil {
			return err
		}
		o := newDerivedObject(t, base, value, private)
		clear(value)
		h, err = m.addSessionObject(sess, o)
		if err == nil {
			sess.slot.log.Debug("key derived", "base", base.keyARN, "kdf", mechanisms.KDFName(params.KDF), "len", n, "handle", h)
		}
		return err
	})
	return h, err
}

// agreementCurve returns the curve of a base key that may derive:
// CKR_KEY_TYPE_INCONSISTENT for anything but an EC private key on an
// agreement curve (Current Mechanisms 2.40 §2.3.16, allowed key types:
// CKK_EC; SM2 keys are CKK_EC on the SM2 curve), CKR_KEY_FUNCTION_NOT_PERMITTED for one without CKA_DERIVE
// (PKCS#11 2.40 §4.7: a KMS SIGN_VERIFY key, which KMS will not use for
// DeriveSharedSecret).
func agreementCurve(o *object) (mechanisms.Curve, error) {
	if o.class != ck.CKO_PRIVATE_KEY || o.key == nil || o.key.pub == nil ||
		(o.key.pub.Kind != mechanisms.KindEC && o.key.pub.Kind != mechanisms.KindSM2) {
		return mechanisms.CurveNone, Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "C_DeriveKey: object %d is not an EC private key; CKM_ECDH1_DERIVE needs one", o.handle)
	}
	curve := mechanisms.AgreeCurve(o.key.info.Spec)
	if curve == mechanisms.CurveNone {
		return curve, Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "C_DeriveKey: key %s is %s; KMS agrees keys on P-256, P-384, P-521 and SM2 only", o.keyARN, o.key.info.Spec)
	}
	if !o.boolAttr(ck.CKA_DERIVE) {
		return curve, Errorf(ck.CKR_KEY_FUNCTION_NOT_PERMITTED, "C_DeriveKey: key %s has CKA_DERIVE false (KMS KeyUsage %s, not KEY_AGREEMENT)", o.keyARN, o.key.info.Usage)
	}
	return curve, nil
}

// remoteAgree asks KMS for the shared secret (AWS KMS API reference,
// DeriveSharedSecret, KeyAgreementAlgorithm ECDH). A secret whose length
// is not the curve's field length is withheld (CKR_DEVICE_ERROR): the
// module cannot check the secret otherwise. A failure records its reason
// code in the session (README, "Device errors").
func (m *Module) remoteAgree(sess *session, base *object, peer []byte, curve mechanisms.Curve) ([]byte, error) {
	agreer, ok := sess.slot.backend.(kmsbackend.KeyAgreer)
	if !ok { // keys.go builds no KEY_AGREEMENT objects then: a safety net
		return nil, Errorf(ck.CKR_FUNCTION_FAILED, "the token's backend derives no shared secrets")
	}
	ctx, cancel := sess.slot.callContext(m.ctx)
	defer cancel()
	z, err := agreer.DeriveSharedSecret(ctx, base.keyARN, kmsbackend.ECDH, peer)
	if err != nil {
		sess.deviceError = deviceErrorCode(err)
		return nil, fromBackend("KMS DeriveSharedSecret", err)
	}
	if want := mechanisms.SharedSecretLen(curve); len(z) != want {
		clear(z)
		sess.deviceError = deviceErrorBadSecret
		return nil, Errorf(ck.CKR_DEVICE_ERROR, "KMS returned a %d-byte shared secret for %s, want %d (%s); withheld", len(z), base.keyARN, want, curve)
	}
	sess.deviceError = 0
	return z, nil
}

// newDerivedObject builds the secret key object of a derived value
// (PKCS#11 2.40 §4.10; Current Mechanisms 2.40 §2.3.16 for the
// sensitivity rules): CKA_ALWAYS_SENSITIVE is the new CKA_SENSITIVE if the
// base key's CKA_ALWAYS_SENSITIVE is true, else false; CKA_NEVER_EXTRACTABLE
// the opposite of the new CKA_EXTRACTABLE if the base key's is true, else
// false. CKA_LOCAL is false and so CKA_KEY_GEN_MECHANISM is
// CK_UNAVAILABLE_INFORMATION (§4.7). CKA_VALUE is sensitive (never
// revealed) when CKA_SENSITIVE is true or CKA_EXTRACTABLE false (§4.10).
// The value is copied.
func newDerivedObject(t *deriveTemplate, base *object, value []byte, private bool) *object {
	sensitive, extractable := t.boolOr(ck.CKA_SENSITIVE), t.boolOr(ck.CKA_EXTRACTABLE)
	attrs := map[uint][]byte{
		ck.CKA_CLASS:             encodeULong(ck.CKO_SECRET_KEY),
		ck.CKA_KEY_TYPE:          encodeULong(t.keyType),
		ck.CKA_PRIVATE:           encodeBool(private),
		ck.CKA_LABEL:             []byte{},
		ck.CKA_ID:                []byte{},
		ck.CKA_START_DATE:        []byte{},
		ck.CKA_END_DATE:          []byte{},
		ck.CKA_LOCAL:             encodeBool(false),
		ck.CKA_KEY_GEN_MECHANISM: encodeULong(uint(ck.UnavailableInformation)),
		ck.CKA_ALWAYS_SENSITIVE:  encodeBool(base.boolAttr(ck.CKA_ALWAYS_SENSITIVE) && sensitive),
		ck.CKA_NEVER_EXTRACTABLE: encodeBool(base.boolAttr(ck.CKA_NEVER_EXTRACTABLE) && !extractable),
		ck.CKA_VALUE:             append([]byte(nil), value...),
		ck.CKA_VALUE_LEN:         encodeULong(uint(len(value))),
	}
	for a := range deriveBools {
		if a != ck.CKA_PRIVATE {
			attrs[a] = encodeBool(t.boolOr(a))
		}
	}
	for a, v := range t.bytes {
		attrs[a] = v
	}
	o := &object{class: ck.CKO_SECRET_KEY, private: private, attrs: attrs, sensitive: map[uint]bool{}}
	if sensitive || !extractable {
		markSensitive(o, secretSensitive)
	}
	return o
}
