package token

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestAttrGetAttributeValue(t *testing.T) {
	keys := objTestKeys(t)
	rsaKey, ecKey := keys[0], keys[3] // RSA-2048, P-521 (long EC_POINT: 04 81 85 04 ...)
	rsaPriv, rsaPub := objMustBuild(t, rsaKey, objKeyInfo(rsaKey.spec, kmsbackend.UsageSignVerify, rsaKey.spki), true)
	ecPriv, _ := objMustBuild(t, ecKey, objKeyInfo(ecKey.spec, kmsbackend.UsageSignVerify, ecKey.spki), true)

	const na = ck.UnavailableInformation
	label := []byte("alpha")
	modulus := rsaKey.rsa.N.Bytes()
	mechs := rsaPriv.attrs[ck.CKA_ALLOWED_MECHANISMS]
	require.NotEmpty(t, mechs)
	bufOf := func(typ uint, n uint) AttrRequest { return AttrRequest{Type: typ, HasBuf: true, BufLen: n} }
	query := func(typ uint) AttrRequest { return AttrRequest{Type: typ} }
	done := func(r AttrRequest, l uint, v []byte) AttrRequest { r.Len, r.Value = l, v; return r }

	for _, tc := range []struct {
		name   string
		obj    *object
		reqs   []AttrRequest
		want   []AttrRequest
		wantRV uint
	}{
		{"no entries returns CKR_OK", rsaPriv, []AttrRequest{}, []AttrRequest{}, ck.CKR_OK},
		{"size query (NULL pValue) gives the length and no bytes", rsaPriv,
			[]AttrRequest{query(ck.CKA_LABEL)}, []AttrRequest{done(query(ck.CKA_LABEL), 5, nil)}, ck.CKR_OK},
		{"larger buffer gets the value and its length", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_LABEL, 64)}, []AttrRequest{done(bufOf(ck.CKA_LABEL, 64), 5, label)}, ck.CKR_OK},
		{"exact buffer gets the value", rsaPub,
			[]AttrRequest{bufOf(ck.CKA_MODULUS, 256)}, []AttrRequest{done(bufOf(ck.CKA_MODULUS, 256), 256, modulus)}, ck.CKR_OK},
		{"buffer one byte short is CKR_BUFFER_TOO_SMALL with unavailable length", rsaPub,
			[]AttrRequest{bufOf(ck.CKA_MODULUS, 255)}, []AttrRequest{done(bufOf(ck.CKA_MODULUS, 255), na, nil)}, ck.CKR_BUFFER_TOO_SMALL},
		{"zero buffer for a non-empty value is CKR_BUFFER_TOO_SMALL", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_TOKEN, 0)}, []AttrRequest{done(bufOf(ck.CKA_TOKEN, 0), na, nil)}, ck.CKR_BUFFER_TOO_SMALL},
		{"empty value with zero buffer succeeds with length 0", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_SUBJECT, 0)}, []AttrRequest{done(bufOf(ck.CKA_SUBJECT, 0), 0, []byte{})}, ck.CKR_OK},
		{"empty value size query gives length 0", rsaPriv,
			[]AttrRequest{query(ck.CKA_END_DATE)}, []AttrRequest{done(query(ck.CKA_END_DATE), 0, nil)}, ck.CKR_OK},
		{"sensitive private exponent with a buffer is CKR_ATTRIBUTE_SENSITIVE", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_PRIVATE_EXPONENT, 4096)}, []AttrRequest{done(bufOf(ck.CKA_PRIVATE_EXPONENT, 4096), na, nil)}, ck.CKR_ATTRIBUTE_SENSITIVE},
		{"sensitive prime size query is CKR_ATTRIBUTE_SENSITIVE", rsaPriv,
			[]AttrRequest{query(ck.CKA_PRIME_1)}, []AttrRequest{done(query(ck.CKA_PRIME_1), na, nil)}, ck.CKR_ATTRIBUTE_SENSITIVE},
		{"sensitive EC private value is CKR_ATTRIBUTE_SENSITIVE", ecPriv,
			[]AttrRequest{bufOf(ck.CKA_VALUE, 66)}, []AttrRequest{done(bufOf(ck.CKA_VALUE, 66), na, nil)}, ck.CKR_ATTRIBUTE_SENSITIVE},
		{"CKA_VALUE on an RSA private key is CKR_ATTRIBUTE_TYPE_INVALID", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_VALUE, 64)}, []AttrRequest{done(bufOf(ck.CKA_VALUE, 64), na, nil)}, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"CKA_MODULUS_BITS on a private key is CKR_ATTRIBUTE_TYPE_INVALID", rsaPriv,
			[]AttrRequest{query(ck.CKA_MODULUS_BITS)}, []AttrRequest{done(query(ck.CKA_MODULUS_BITS), na, nil)}, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"CKA_PRIVATE_EXPONENT on a public key is CKR_ATTRIBUTE_TYPE_INVALID", rsaPub,
			[]AttrRequest{query(ck.CKA_PRIVATE_EXPONENT)}, []AttrRequest{done(query(ck.CKA_PRIVATE_EXPONENT), na, nil)}, ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"allowed mechanisms array is copied like any value", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_ALLOWED_MECHANISMS, 1024)},
			[]AttrRequest{done(bufOf(ck.CKA_ALLOWED_MECHANISMS, 1024), uint(len(mechs)), mechs)}, ck.CKR_OK},
		{"allowed mechanisms array one element short is CKR_BUFFER_TOO_SMALL", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_ALLOWED_MECHANISMS, uint(len(mechs)-ulongSize))},
			[]AttrRequest{done(bufOf(ck.CKA_ALLOWED_MECHANISMS, uint(len(mechs)-ulongSize)), na, nil)}, ck.CKR_BUFFER_TOO_SMALL},
		{"P-521 EC point of 136 bytes is copied", ecPriv,
			[]AttrRequest{bufOf(ck.CKA_EC_POINT, 136)},
			[]AttrRequest{done(bufOf(ck.CKA_EC_POINT, 136), 136, append([]byte{0x04, 0x81, 0x85}, ecKey.point...))}, ck.CKR_OK},
		{"sensitive, invalid and short entries together: CKR_ATTRIBUTE_SENSITIVE, every entry processed", rsaPriv,
			[]AttrRequest{bufOf(ck.CKA_MODULUS, 8), bufOf(ck.CKA_VALUE, 8), bufOf(ck.CKA_LABEL, 8), query(ck.CKA_COEFFICIENT), query(ck.CKA_ID)},
			[]AttrRequest{done(bufOf(ck.CKA_MODULUS, 8), na, nil), done(bufOf(ck.CKA_VALUE, 8), na, nil),
				done(bufOf(ck.CKA_LABEL, 8), 5, label), done(query(ck.CKA_COEFFICIENT), na, nil), done(query(ck.CKA_ID), 16, nil)},
			ck.CKR_ATTRIBUTE_SENSITIVE},
		{"invalid and short entries together: CKR_ATTRIBUTE_TYPE_INVALID, every entry processed", rsaPub,
			[]AttrRequest{bufOf(ck.CKA_MODULUS, 8), bufOf(ck.CKA_SIGN, 8), bufOf(ck.CKA_VERIFY, 1)},
			[]AttrRequest{done(bufOf(ck.CKA_MODULUS, 8), na, nil), done(bufOf(ck.CKA_SIGN, 8), na, nil), done(bufOf(ck.CKA_VERIFY, 1), 1, []byte{1})},
			ck.CKR_ATTRIBUTE_TYPE_INVALID},
		{"short entry after good ones: CKR_BUFFER_TOO_SMALL, good ones still filled", rsaPub,
			[]AttrRequest{bufOf(ck.CKA_LABEL, 5), bufOf(ck.CKA_MODULUS, 1), query(ck.CKA_MODULUS)},
			[]AttrRequest{done(bufOf(ck.CKA_LABEL, 5), 5, label), done(bufOf(ck.CKA_MODULUS, 1), na, nil), done(query(ck.CKA_MODULUS), 256, nil)},
			ck.CKR_BUFFER_TOO_SMALL},
		{"stale Len and Value from the caller are overwritten", rsaPriv,
			[]AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 8, Len: 3, Value: []byte("old")}},
			[]AttrRequest{done(bufOf(ck.CKA_VALUE, 8), na, nil)}, ck.CKR_ATTRIBUTE_TYPE_INVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.obj.getAttributeValue(tc.reqs)
			assert.Equal(t, ck.RVName(tc.wantRV), ck.RVName(ck.RV(err)))
			if tc.wantRV != ck.CKR_OK {
				var ce *ck.Error
				assert.True(t, errors.As(err, &ce), "the CK_RV travels in a ck.Error")
			}
			assert.Equal(t, tc.want, tc.reqs)
		})
	}
}

func TestAttrValueIsACopy(t *testing.T) {
	k := objTestKeys(t)[1]
	priv, _ := objMustBuild(t, k, objKeyInfo(k.spec, kmsbackend.UsageSignVerify, k.spki), true)
	r := []AttrRequest{{Type: ck.CKA_LABEL, HasBuf: true, BufLen: 16}}
	require.NoError(t, priv.getAttributeValue(r))
	r[0].Value[0] = 'X'
	again := []AttrRequest{{Type: ck.CKA_LABEL, HasBuf: true, BufLen: 16}}
	require.NoError(t, priv.getAttributeValue(again))
	assert.Equal(t, []byte("alpha"), again[0].Value, "a caller writing into Value does not change the object")
}
