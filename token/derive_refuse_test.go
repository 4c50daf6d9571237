package token

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// TestDeriveRefusals checks every refusal's exact CK_RV, and that none
// makes a remote call.
func TestDeriveRefusals(t *testing.T) {
	m, ac := ecdhModule(t, "")
	sh := openSession(t, m)
	p256, p256pub := ecdhPair(t, m, sh, "t-ecdh-p256")
	p521, _ := ecdhPair(t, m, sh, "t-ecdh-p521")
	signKey, _ := ecdhPair(t, m, sh, "t-ecdh-sign")
	rsaKey, _ := ecdhPair(t, m, sh, "t-ecdh-rsa")
	gen := func(c ecdh.Curve) []byte {
		k, err := c.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return k.PublicKey().Bytes()
	}
	point, point384 := gen(ecdh.P256()), gen(ecdh.P384())
	offCurve := append([]byte(nil), point...)
	offCurve[64] ^= 1
	null := ecdhMech(ck.CKD_NULL, nil, point)
	ul := func(typ, v uint) Attribute { return Attribute{Type: typ, Value: encodeULong(v)} }
	bo := func(typ uint, v bool) Attribute { return Attribute{Type: typ, Value: encodeBool(v)} }
	rows := []struct {
		name string
		mech Mechanism
		base uint
		tmpl []Attribute
		rv   string
	}{
		// Mechanism and base key.
		{"CKM_ECDSA is MECHANISM_INVALID", Mechanism{Type: ck.CKM_ECDSA}, p256, nil, "CKR_MECHANISM_INVALID"},
		{"CKM_ECDH1_COFACTOR_DERIVE is MECHANISM_INVALID", Mechanism{Type: ck.CKM_ECDH1_COFACTOR_DERIVE, Param: null.Param}, p256, nil, "CKR_MECHANISM_INVALID"},
		{"an unknown base handle is KEY_HANDLE_INVALID", null, 0x7fff_fff0, nil, "CKR_KEY_HANDLE_INVALID"},
		{"a SIGN_VERIFY EC key is KEY_FUNCTION_NOT_PERMITTED", null, signKey, nil, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"an RSA key is KEY_TYPE_INCONSISTENT", null, rsaKey, nil, "CKR_KEY_TYPE_INCONSISTENT"},
		{"the public key object is KEY_TYPE_INCONSISTENT", null, p256pub, nil, "CKR_KEY_TYPE_INCONSISTENT"},
		// Parameters.
		{"no parameter is MECHANISM_PARAM_INVALID", Mechanism{Type: ck.CKM_ECDH1_DERIVE}, p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"no public data is MECHANISM_PARAM_INVALID", ecdhMech(ck.CKD_NULL, nil, nil), p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"a point off the curve is MECHANISM_PARAM_INVALID", ecdhMech(ck.CKD_NULL, nil, offCurve), p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"a P-384 point for a P-256 key is MECHANISM_PARAM_INVALID", ecdhMech(ck.CKD_NULL, nil, point384), p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"a P-256 point for a P-521 key is MECHANISM_PARAM_INVALID", null, p521, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"a truncated point is MECHANISM_PARAM_INVALID", ecdhMech(ck.CKD_NULL, nil, point[:40]), p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"CKD_NULL with shared data is MECHANISM_PARAM_INVALID", ecdhMech(ck.CKD_NULL, []byte("x"), point), p256, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"CKD_SHA3_256_KDF is MECHANISM_PARAM_INVALID", ecdhMech(0xA, nil, point), p256, []Attribute{ul(ck.CKA_VALUE_LEN, 32)}, "CKR_MECHANISM_PARAM_INVALID"},
		// Template.
		{"CKA_CLASS private key is TEMPLATE_INCONSISTENT", null, p256, []Attribute{ul(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"CKA_KEY_TYPE DES3 is TEMPLATE_INCONSISTENT", null, p256, []Attribute{ul(ck.CKA_KEY_TYPE, ck.CKK_DES3)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"CKA_TOKEN true is TEMPLATE_INCONSISTENT", null, p256, []Attribute{bo(ck.CKA_TOKEN, true)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"CKA_MODIFIABLE true is TEMPLATE_INCONSISTENT", null, p256, []Attribute{bo(ck.CKA_MODIFIABLE, true)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"conflicting duplicates are TEMPLATE_INCONSISTENT", null, p256, []Attribute{bo(ck.CKA_SENSITIVE, true), bo(ck.CKA_SENSITIVE, false)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"CKA_VALUE_LEN 33 with CKD_NULL on P-256 is TEMPLATE_INCONSISTENT", null, p256, []Attribute{ul(ck.CKA_VALUE_LEN, 33)}, "CKR_TEMPLATE_INCONSISTENT"},
		{"AES without CKA_VALUE_LEN is TEMPLATE_INCOMPLETE", null, p256, []Attribute{ul(ck.CKA_KEY_TYPE, ck.CKK_AES)}, "CKR_TEMPLATE_INCOMPLETE"},
		{"a KDF without CKA_VALUE_LEN is TEMPLATE_INCOMPLETE", ecdhMech(ck.CKD_SHA256_KDF, nil, point), p256, nil, "CKR_TEMPLATE_INCOMPLETE"},
		{"AES of 20 bytes is ATTRIBUTE_VALUE_INVALID", null, p256, []Attribute{ul(ck.CKA_KEY_TYPE, ck.CKK_AES), ul(ck.CKA_VALUE_LEN, 20)}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"CKA_VALUE_LEN 0 is ATTRIBUTE_VALUE_INVALID", null, p256, []Attribute{ul(ck.CKA_VALUE_LEN, 0)}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"a KDF length over 1024 is ATTRIBUTE_VALUE_INVALID", ecdhMech(ck.CKD_SHA256_KDF, nil, point), p256, []Attribute{ul(ck.CKA_VALUE_LEN, 1025)}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"a 4-byte CKA_CLASS is ATTRIBUTE_VALUE_INVALID", null, p256, []Attribute{{Type: ck.CKA_CLASS, Value: []byte{4, 0, 0, 0}}}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"a 2-byte CK_BBOOL is ATTRIBUTE_VALUE_INVALID", null, p256, []Attribute{{Type: ck.CKA_SENSITIVE, Value: []byte{1, 0}}}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"a 5-byte date is ATTRIBUTE_VALUE_INVALID", null, p256, []Attribute{{Type: ck.CKA_START_DATE, Value: []byte("20261")}}, "CKR_ATTRIBUTE_VALUE_INVALID"},
		{"CKA_VALUE is ATTRIBUTE_READ_ONLY", null, p256, []Attribute{{Type: ck.CKA_VALUE, Value: make([]byte, 32)}}, "CKR_ATTRIBUTE_READ_ONLY"},
		{"CKA_LOCAL is ATTRIBUTE_READ_ONLY", null, p256, []Attribute{bo(ck.CKA_LOCAL, false)}, "CKR_ATTRIBUTE_READ_ONLY"},
		{"CKA_TRUSTED true is ATTRIBUTE_READ_ONLY", null, p256, []Attribute{bo(ck.CKA_TRUSTED, true)}, "CKR_ATTRIBUTE_READ_ONLY"},
		{"CKA_MODULUS is ATTRIBUTE_TYPE_INVALID", null, p256, []Attribute{{Type: ck.CKA_MODULUS, Value: []byte{1}}}, "CKR_ATTRIBUTE_TYPE_INVALID"},
		{"CKA_PRIVATE true without login is USER_NOT_LOGGED_IN", null, p256, []Attribute{bo(ck.CKA_PRIVATE, true)}, "CKR_USER_NOT_LOGGED_IN"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := ac.derives.Load()
			h, err := m.DeriveKey(sh, r.mech, r.base, r.tmpl)
			assert.Equal(t, r.rv, rvOf(err), "%v", err)
			assert.Zero(t, h)
			assert.Equal(t, before, ac.derives.Load(), "refused before any remote call")
		})
	}
	assert.Empty(t, m.sessionObjects(m.slots[0]), "no refusal left an object behind")
}

// TestDeriveAcceptsTemplates checks templates that must work, as clients send them.
func TestDeriveAcceptsTemplates(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m) // read-only: session objects only
	p384, _ := ecdhPair(t, m, sh, "t-ecdh-p384")
	k, err := ecdh.P384().GenerateKey(rand.Reader)
	require.NoError(t, err)
	point := k.PublicKey().Bytes()
	ul := func(typ, v uint) Attribute { return Attribute{Type: typ, Value: encodeULong(v)} }
	bo := func(typ uint, v bool) Attribute { return Attribute{Type: typ, Value: encodeBool(v)} }
	rows := []struct {
		name    string
		mech    Mechanism
		tmpl    []Attribute
		wantLen uint
	}{
		{"pkcs11-tool's template gives the whole secret", ecdhMech(ck.CKD_NULL, nil, point), []Attribute{bo(ck.CKA_TOKEN, false),
			ul(ck.CKA_CLASS, ck.CKO_SECRET_KEY), ul(ck.CKA_KEY_TYPE, ck.CKK_GENERIC_SECRET), bo(ck.CKA_ENCRYPT, true), bo(ck.CKA_DECRYPT, true)}, 48},
		{"an empty template gives a generic secret of the whole secret", ecdhMech(ck.CKD_NULL, nil, point), nil, 48},
		{"AES-256 from CKD_NULL", ecdhMech(ck.CKD_NULL, nil, point), []Attribute{ul(ck.CKA_KEY_TYPE, ck.CKK_AES), ul(ck.CKA_VALUE_LEN, 32)}, 32},
		{"AES-128 from SHA-512 KDF", ecdhMech(ck.CKD_SHA512_KDF, []byte("ctx"), point), []Attribute{ul(ck.CKA_KEY_TYPE, ck.CKK_AES), ul(ck.CKA_VALUE_LEN, 16)}, 16},
		{"100 bytes from SHA-1 KDF", ecdhMech(ck.CKD_SHA1_KDF, nil, point), []Attribute{ul(ck.CKA_VALUE_LEN, 100)}, 100},
		{"same-valued duplicates and CKA_CHECK_VALUE are fine", ecdhMech(ck.CKD_NULL, nil, point), []Attribute{bo(ck.CKA_DERIVE, true), bo(ck.CKA_DERIVE, true),
			{Type: ck.CKA_CHECK_VALUE, Value: []byte{1, 2, 3}}, {Type: ck.CKA_START_DATE, Value: []byte("20260101")}}, 48},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h, err := m.DeriveKey(sh, r.mech, p384, r.tmpl)
			require.NoError(t, err)
			assert.Len(t, derivedValue(t, m, sh, h), int(r.wantLen))
			assert.Equal(t, encodeULong(r.wantLen), attrValue(t, m, sh, h, ck.CKA_VALUE_LEN))
			require.NoError(t, m.DestroyObject(sh, h))
		})
	}
}
