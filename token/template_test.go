package token

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestTemplateMatches(t *testing.T) {
	keys := objTestKeys(t)
	rsaKey, ecKey := keys[0], keys[1]
	rsaPriv, rsaPub := objMustBuild(t, rsaKey, objKeyInfo(rsaKey.spec, kmsbackend.UsageSignVerify, rsaKey.spki), true)
	ecPriv, ecPub := objMustBuild(t, ecKey, objKeyInfo(ecKey.spec, kmsbackend.UsageSignVerify, ecKey.spki), true)
	ul := objNativeULong
	a := func(typ uint, v []byte) Attribute { return Attribute{Type: typ, Value: v} }
	for _, tc := range []struct {
		name string
		tmpl []Attribute
		// want: rsaPriv, rsaPub, ecPriv, ecPub
		want [4]bool
	}{
		{"empty template matches every object", []Attribute{}, [4]bool{true, true, true, true}},
		{"nil template matches every object", nil, [4]bool{true, true, true, true}},
		{"private-key class matches private keys only", []Attribute{a(ck.CKA_CLASS, ul(ck.CKO_PRIVATE_KEY))}, [4]bool{true, false, true, false}},
		{"public-key class and RSA type match the RSA public key only",
			[]Attribute{a(ck.CKA_CLASS, ul(ck.CKO_PUBLIC_KEY)), a(ck.CKA_KEY_TYPE, ul(ck.CKK_RSA))}, [4]bool{false, true, false, false}},
		{"CKA_ID and label match every object of the key", []Attribute{a(ck.CKA_ID, objTestKeyIDBytes), a(ck.CKA_LABEL, []byte("alpha"))},
			[4]bool{true, true, true, true}},
		{"label prefix does not match", []Attribute{a(ck.CKA_LABEL, []byte("alph"))}, [4]bool{false, false, false, false}},
		{"CKA_ID one byte short does not match", []Attribute{a(ck.CKA_ID, objTestKeyIDBytes[:15])}, [4]bool{false, false, false, false}},
		{"CKA_SIGN true (1 byte) matches private keys", []Attribute{a(ck.CKA_SIGN, []byte{1})}, [4]bool{true, false, true, false}},
		{"CKA_SIGN false does not match signing keys; public keys lack it", []Attribute{a(ck.CKA_SIGN, []byte{0})}, [4]bool{false, false, false, false}},
		{"CK_BBOOL given as 4 bytes does not match", []Attribute{a(ck.CKA_TOKEN, []byte{1, 0, 0, 0})}, [4]bool{false, false, false, false}},
		{"CK_BBOOL non-1 true byte does not match", []Attribute{a(ck.CKA_TOKEN, []byte{2})}, [4]bool{false, false, false, false}},
		{"CK_ULONG class given as 4 bytes does not match", []Attribute{a(ck.CKA_CLASS, ul(ck.CKO_PRIVATE_KEY)[:4])}, [4]bool{false, false, false, false}},
		{"CKA_MODULUS of the RSA key matches its objects; EC objects lack it",
			[]Attribute{a(ck.CKA_MODULUS, rsaKey.rsa.N.Bytes())}, [4]bool{true, true, false, false}},
		{"CKA_MODULUS_BITS matches only the public key (private keys lack it)",
			[]Attribute{a(ck.CKA_MODULUS_BITS, ul(2048))}, [4]bool{false, true, false, false}},
		{"empty CKA_SUBJECT matches the empty subject", []Attribute{a(ck.CKA_SUBJECT, nil)}, [4]bool{true, true, true, true}},
		{"sensitive attribute never matches", []Attribute{a(ck.CKA_PRIVATE_EXPONENT, nil)}, [4]bool{false, false, false, false}},
		{"sensitive EC value never matches", []Attribute{a(ck.CKA_VALUE, nil)}, [4]bool{false, false, false, false}},
		{"one mismatching attribute among matching ones fails",
			[]Attribute{a(ck.CKA_CLASS, ul(ck.CKO_PRIVATE_KEY)), a(ck.CKA_TOKEN, []byte{1}), a(ck.CKA_LABEL, []byte("other"))},
			[4]bool{false, false, false, false}},
		{"attribute no object has does not match", []Attribute{a(ck.CKA_CERTIFICATE_TYPE, ul(ck.CKC_X_509))}, [4]bool{false, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := [4]bool{rsaPriv.matches(tc.tmpl), rsaPub.matches(tc.tmpl), ecPriv.matches(tc.tmpl), ecPub.matches(tc.tmpl)}
			assert.Equal(t, tc.want, got, "rsaPriv, rsaPub, ecPriv, ecPub")
		})
	}
}
