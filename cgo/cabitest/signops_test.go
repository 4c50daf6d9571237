package cabitest

import (
	"crypto"
	"crypto/sha256"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// TestSignOutputConventions checks PKCS#11 2.40 §5.2 for C_Sign and
// C_SignFinal: a size query (NULL pSignature) returns the length, keeps the
// operation and calls no KMS; a short buffer returns CKR_BUFFER_TOO_SMALL
// with the length and keeps it; a successful signature ends it.
func TestSignOutputConventions(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	msg := []byte("size queries never reach KMS")
	for _, c := range []struct {
		key   string
		v     signVariant
		multi bool
	}{
		{"RSA2048", variant(ck.CKM_SHA256_RSA_PKCS, crypto.SHA256), false},
		{"RSA3072", variant(ck.CKM_RSA_PKCS_PSS, crypto.SHA384), false},
		{"RSA4096", variant(ck.CKM_SHA256_RSA_PKCS, crypto.SHA256), true},
		{"P256", variant(ck.CKM_ECDSA, 0), false},
		{"P521", variant(ck.CKM_ECDSA_SHA512, crypto.SHA512), true},
		{"Secp256k1", variant(ck.CKM_ECDSA_SHA256, crypto.SHA256), false},
	} {
		k := fixture(c.key)
		t.Run(k.name+"/"+c.v.name()+map[bool]string{false: "/single", true: "/multi"}[c.multi], func(t *testing.T) {
			priv, pubH := keyObjects(t, p, sh, k)
			pub := tokenPublicKey(t, p, sh, pubH)
			input, digest := c.v.signInput(k, msg)
			want := uint(k.sigLen())
			requireRV(t, ck.CKR_OK, p.SignInit(sh, c.v.mechanism(), priv))
			call := func(o rawc.Out) ([]byte, uint, uint) {
				if c.multi {
					return r.SignFinal(uint(sh), o)
				}
				return r.Sign(uint(sh), input, o)
			}
			if c.multi {
				requireRawRV(t, ck.CKR_OK, r.SignUpdate(uint(sh), input, uint(len(input))))
			}
			signs := kmsRequests.count("Sign")
			for range 3 {
				_, n, rv := call(rawc.Out{NullBuf: true})
				requireRawRV(t, ck.CKR_OK, rv, "size query")
				assert.Equal(t, want, n, "length from the size query")
			}
			_, n, rv := call(rawc.Out{Len: want - 1})
			requireRawRV(t, ck.CKR_BUFFER_TOO_SMALL, rv, "buffer one byte short")
			assert.Equal(t, want, n, "length with CKR_BUFFER_TOO_SMALL")
			assert.Equal(t, signs, kmsRequests.count("Sign"), "KMS Sign requests during size queries and a short buffer")

			sig, n, rv := call(rawc.Out{Len: want + 10})
			requireRawRV(t, ck.CKR_OK, rv, "the operation survived: real signature")
			assert.Equal(t, want, n, "signature length")
			assert.Equal(t, signs+1, kmsRequests.count("Sign"), "exactly one KMS Sign request")
			require.NoError(t, verifySignature(pub, c.v.scheme, c.v.hashFor(k), digest, sig))

			_, _, rv = call(rawc.Out{Len: want})
			requireRawRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, rv, "a successful signature ended the operation")
		})
	}
}

// TestSignErrors: each row is a C_SignInit or C_Sign that must fail with the
// exact CK_RV, after which the operation is over (PKCS#11 2.40 §5.12).
func TestSignErrors(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	rsaPriv, rsaPub := keyObjects(t, p, sh, fixture("RSA2048"))
	ecPriv, ecPub := keyObjects(t, p, sh, fixture("P256"))
	mech := func(m uint, param []byte) []*pkcs11.Mechanism {
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(m, param)}
	}
	sum := sha256.Sum256([]byte("data"))
	di := func(h crypto.Hash, n int) []byte {
		return append(append([]byte{}, digestInfoPrefix[h]...), make([]byte, n)...)
	}
	initCases := []struct {
		name string
		mech []*pkcs11.Mechanism
		key  pkcs11.ObjectHandle
		rv   uint
	}{
		{"CKR_MECHANISM_PARAM_INVALID for PSS salt 20 with SHA-256", mech(ck.CKM_RSA_PKCS_PSS, pssParams(crypto.SHA256, crypto.SHA256, 20)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS maximum salt (libp11's default)", mech(ck.CKM_RSA_PKCS_PSS, pssParams(crypto.SHA256, crypto.SHA256, 222)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS salt 0", mech(ck.CKM_SHA256_RSA_PKCS_PSS, pssParams(crypto.SHA256, crypto.SHA256, 0)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS MGF1-SHA1 with SHA-256", mech(ck.CKM_RSA_PKCS_PSS, pssParams(crypto.SHA256, crypto.SHA1, 32)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS MGF1-SHA512 with SHA-256", mech(ck.CKM_SHA256_RSA_PKCS_PSS, pssParams(crypto.SHA256, crypto.SHA512, 32)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS with SHA-1", mech(ck.CKM_RSA_PKCS_PSS, pssParams(crypto.SHA1, crypto.SHA1, 20)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for SHA256_RSA_PKCS_PSS with SHA-384 parameters", mech(ck.CKM_SHA256_RSA_PKCS_PSS, pssParams(crypto.SHA384, crypto.SHA384, 48)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS without parameters", mech(ck.CKM_RSA_PKCS_PSS, nil), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for PSS parameters of the wrong size", mech(ck.CKM_RSA_PKCS_PSS, make([]byte, 8)), rsaPriv, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_KEY_TYPE_INCONSISTENT for an RSA mechanism on an EC key", mech(ck.CKM_SHA256_RSA_PKCS, nil), ecPriv, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"CKR_KEY_TYPE_INCONSISTENT for CKM_RSA_PKCS on an EC key", mech(ck.CKM_RSA_PKCS, nil), ecPriv, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"CKR_KEY_TYPE_INCONSISTENT for ECDSA on an RSA key", mech(ck.CKM_ECDSA, nil), rsaPriv, ck.CKR_KEY_TYPE_INCONSISTENT},
		// The token's choice for a public key (token/sign.go, as SoftHSM): the object lacks CKA_SIGN
		// (PKCS#11 2.40 §5.1.6 CKR_KEY_FUNCTION_NOT_PERMITTED).
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for an RSA public key", mech(ck.CKM_SHA256_RSA_PKCS, nil), rsaPub, ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for an EC public key", mech(ck.CKM_ECDSA, nil), ecPub, ck.CKR_KEY_FUNCTION_NOT_PERMITTED},
		{"CKR_KEY_HANDLE_INVALID for an unknown key", mech(ck.CKM_ECDSA, nil), 0x7eadbeef, ck.CKR_KEY_HANDLE_INVALID},
		{"CKR_KEY_HANDLE_INVALID for key handle 0", mech(ck.CKM_ECDSA, nil), 0, ck.CKR_KEY_HANDLE_INVALID},
		{"CKR_MECHANISM_INVALID for SHA1_RSA_PKCS", mech(ck.CKM_SHA1_RSA_PKCS, nil), rsaPriv, ck.CKR_MECHANISM_INVALID},
		{"CKR_MECHANISM_INVALID for ECDSA_SHA1", mech(ck.CKM_ECDSA_SHA1, nil), ecPriv, ck.CKR_MECHANISM_INVALID},
		{"CKR_MECHANISM_INVALID for a decryption mechanism", mech(ck.CKM_RSA_PKCS_OAEP, nil), rsaPriv, ck.CKR_MECHANISM_INVALID},
	}
	for _, c := range initCases {
		t.Run("SignInit/"+c.name, func(t *testing.T) {
			requireRV(t, c.rv, p.SignInit(sh, c.mech, c.key))
			_, err := p.Sign(sh, sum[:])
			requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, err, "no operation after a failed C_SignInit")
		})
	}

	signCases := []struct {
		name string
		mech []*pkcs11.Mechanism
		key  pkcs11.ObjectHandle
		data []byte
		rv   uint
	}{
		{"CKR_DATA_INVALID for a SHA-1 DigestInfo", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, di(crypto.SHA1, 20), ck.CKR_DATA_INVALID},
		{"CKR_DATA_INVALID for a SHA-224 DigestInfo", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, di(crypto.SHA224, 28), ck.CKR_DATA_INVALID},
		{"CKR_DATA_INVALID for a SHA-256 DigestInfo with a short digest", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, di(crypto.SHA256, 31), ck.CKR_DATA_INVALID},
		{"CKR_DATA_INVALID for a SHA-256 DigestInfo with trailing bytes", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, di(crypto.SHA256, 33), ck.CKR_DATA_INVALID},
		{"CKR_DATA_INVALID for a bare SHA-256 digest", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, sum[:], ck.CKR_DATA_INVALID},
		{"CKR_DATA_INVALID for garbage", mech(ck.CKM_RSA_PKCS, nil), rsaPriv, []byte("this is not a DigestInfo at all, just text"), ck.CKR_DATA_INVALID},
	}
	for _, c := range signCases {
		t.Run("Sign/"+c.name, func(t *testing.T) {
			signs := kmsRequests.count("Sign")
			requireRV(t, ck.CKR_OK, p.SignInit(sh, c.mech, c.key))
			_, err := p.Sign(sh, c.data)
			requireRV(t, c.rv, err)
			assert.Equal(t, signs, kmsRequests.count("Sign"), "no KMS request for refused input")
			_, err = p.Sign(sh, c.data)
			requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, err, "the failure ended the operation")
		})
	}
}

// TestSignOperationState: each row is a sequence of calls in a fresh session
// with the exact CK_RV of each (PKCS#11 2.40 §5.12: C_Sign, C_SignUpdate and
// C_SignFinal end the operation on any error but CKR_BUFFER_TOO_SMALL).
func TestSignOperationState(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	slot := mainSlot(t, p)
	sh0 := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	priv, _ := keyObjects(t, p, sh0, fixture("P256"))
	ecdsaSHA := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA_SHA256, nil)}
	ecdsaRaw := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}
	type step struct {
		call string
		rv   uint
		do   func(sh pkcs11.SessionHandle) uint
	}
	signInit := func(m []*pkcs11.Mechanism) func(pkcs11.SessionHandle) uint {
		return func(sh pkcs11.SessionHandle) uint { return rvOf(p.SignInit(sh, m, priv)) }
	}
	sign := func(sh pkcs11.SessionHandle) uint {
		_, _, rv := r.Sign(uint(sh), make([]byte, 32), rawc.Out{Len: 64})
		return rv
	}
	update := func(sh pkcs11.SessionHandle) uint { return rvOf(p.SignUpdate(sh, []byte("part"))) }
	final := func(sh pkcs11.SessionHandle) uint { _, _, rv := r.SignFinal(uint(sh), rawc.Out{Len: 64}); return rv }
	rows := []struct {
		name  string
		steps []step
	}{
		{"CKR_OPERATION_NOT_INITIALIZED without C_SignInit", []step{
			{"C_Sign", ck.CKR_OPERATION_NOT_INITIALIZED, sign},
			{"C_SignUpdate", ck.CKR_OPERATION_NOT_INITIALIZED, update},
			{"C_SignFinal", ck.CKR_OPERATION_NOT_INITIALIZED, final}}},
		{"CKR_OPERATION_ACTIVE for a second C_SignInit, the first intact", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_SignInit again", ck.CKR_OPERATION_ACTIVE, signInit(ecdsaSHA)},
			{"C_Sign", ck.CKR_OK, sign}}},
		{"CKR_ARGUMENTS_BAD for a NULL mechanism, leaving no operation", []step{
			{"C_SignInit(NULL)", ck.CKR_ARGUMENTS_BAD, func(sh pkcs11.SessionHandle) uint { return r.SignInitNull(uint(sh), uint(priv)) }},
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)}}},
		{"CKR_ARGUMENTS_BAD for a NULL pulSignatureLen, ending the operation", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_Sign(pulSignatureLen=NULL)", ck.CKR_ARGUMENTS_BAD, func(sh pkcs11.SessionHandle) uint {
				_, _, rv := r.Sign(uint(sh), []byte("x"), rawc.Out{NullLen: true})
				return rv
			}},
			{"C_Sign", ck.CKR_OPERATION_NOT_INITIALIZED, sign}}},
		{"CKR_ARGUMENTS_BAD for a NULL part, ending the operation", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_SignUpdate(NULL, 5)", ck.CKR_ARGUMENTS_BAD, func(sh pkcs11.SessionHandle) uint { return r.SignUpdate(uint(sh), nil, 5) }},
			{"C_SignFinal", ck.CKR_OPERATION_NOT_INITIALIZED, final}}},
		{"CKR_ARGUMENTS_BAD for a NULL pulSignatureLen in C_SignFinal, ending the operation", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_SignUpdate", ck.CKR_OK, update},
			{"C_SignFinal(pulSignatureLen=NULL)", ck.CKR_ARGUMENTS_BAD, func(sh pkcs11.SessionHandle) uint {
				_, _, rv := r.SignFinal(uint(sh), rawc.Out{NullLen: true})
				return rv
			}},
			{"C_SignFinal", ck.CKR_OPERATION_NOT_INITIALIZED, final}}},
		// token/sign.go: a raw mechanism is single-part only, and the refusal ends the operation.
		{"CKR_FUNCTION_NOT_SUPPORTED for C_SignUpdate with CKM_ECDSA", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaRaw)},
			{"C_SignUpdate", ck.CKR_FUNCTION_NOT_SUPPORTED, update},
			{"C_Sign", ck.CKR_OPERATION_NOT_INITIALIZED, sign}}},
		// token/sign.go: C_Sign inside a multi-part operation, which it ends.
		{"CKR_OPERATION_ACTIVE for C_Sign after C_SignUpdate", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_SignUpdate", ck.CKR_OK, update},
			{"C_Sign", ck.CKR_OPERATION_ACTIVE, sign},
			{"C_SignFinal", ck.CKR_OPERATION_NOT_INITIALIZED, final}}},
		{"CKR_OK for C_SignFinal straight after C_SignInit (the empty message)", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_SignFinal", ck.CKR_OK, final},
			{"C_SignFinal again", ck.CKR_OPERATION_NOT_INITIALIZED, final}}},
		{"CKR_SESSION_HANDLE_INVALID after closing the session mid-operation", []step{
			{"C_SignInit", ck.CKR_OK, signInit(ecdsaSHA)},
			{"C_CloseSession", ck.CKR_OK, func(sh pkcs11.SessionHandle) uint { return rvOf(p.CloseSession(sh)) }},
			{"C_Sign", ck.CKR_SESSION_HANDLE_INVALID, sign}}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
			for i, st := range row.steps {
				requireRawRV(t, st.rv, st.do(sh), "step %d: %s", i+1, st.call)
			}
		})
	}
}
