package token

import (
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// sm2Params is the SM2 curve sm2p256v1 (GM/T 0003.5-2012, also GB/T
// 32918.5) for crypto/elliptic's generic arithmetic, which assumes a = -3:
// SM2's a is p-3. It is the test's independent ECDH (the dev KMS and the
// module use gmsm); TestSM2ParamsMatchTheCurve ties it to the real curve.
var sm2Params = func() *elliptic.CurveParams {
	h := func(s string) *big.Int { v, _ := new(big.Int).SetString(s, 16); return v }
	return &elliptic.CurveParams{Name: "sm2p256v1", BitSize: 256,
		P:  h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
		N:  h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
		B:  h("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
		Gx: h("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
		Gy: h("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")}
}()

// TestSM2KeyAgreementMatchesIndependentECDH derives with an SM2
// KEY_AGREEMENT key (the dev KMS serves them in any region) and checks the
// secret against the peer's side computed with crypto/elliptic's generic
// arithmetic on the SM2 parameters.
func TestSM2KeyAgreementMatchesIndependentECDH(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	priv, pub := ecdhPair(t, m, sh, "t-ecdh-sm2")
	assert.Equal(t, encodeBool(true), attrValue(t, m, sh, priv, ck.CKA_DERIVE))
	assert.Equal(t, encodeULongs([]uint{ck.CKM_ECDH1_DERIVE}), attrValue(t, m, sh, priv, ck.CKA_ALLOWED_MECHANISMS))
	assert.Equal(t, mechanisms.CurveSM2.ECParams(), attrValue(t, m, sh, pub, ck.CKA_EC_PARAMS))
	kmsPoint := attrValue(t, m, sh, pub, ck.CKA_EC_POINT)[2:] // DER OCTET STRING 04 41 ...
	kx, ky := elliptic.Unmarshal(sm2Params, kmsPoint)
	require.NotNil(t, kx, "the KMS key's point is on the SM2 curve")
	for _, kdf := range []uint{ck.CKD_NULL, ck.CKD_SHA256_KDF} {
		t.Run(mechanisms.KDFName(kdf), func(t *testing.T) {
			d, err := rand.Int(rand.Reader, new(big.Int).Sub(sm2Params.N, big.NewInt(1)))
			require.NoError(t, err)
			d.Add(d, big.NewInt(1))
			px, py := sm2Params.ScalarBaseMult(d.FillBytes(make([]byte, 32)))
			zx, _ := sm2Params.ScalarMult(kx, ky, d.FillBytes(make([]byte, 32)))
			z := zx.FillBytes(make([]byte, 32))
			want, shared, tmpl := z, []byte(nil), []Attribute(nil)
			if kdf != ck.CKD_NULL {
				want, shared = x963(z, []byte("sm2 info"), 16), []byte("sm2 info")
				tmpl = []Attribute{{Type: ck.CKA_VALUE_LEN, Value: encodeULong(16)}}
			}
			h, err := m.DeriveKey(sh, ecdhMech(kdf, shared, elliptic.Marshal(sm2Params, px, py)), priv, tmpl)
			require.NoError(t, err)
			assert.Equal(t, want, derivedValue(t, m, sh, h))
		})
	}
	t.Run("a P-256 point is MECHANISM_PARAM_INVALID", func(t *testing.T) {
		x, y := elliptic.P256().ScalarBaseMult([]byte{7})
		_, err := m.DeriveKey(sh, ecdhMech(ck.CKD_NULL, nil, elliptic.Marshal(elliptic.P256(), x, y)), priv, nil)
		assert.Equal(t, "CKR_MECHANISM_PARAM_INVALID", rvOf(err))
	})
}

// TestSM2ParamsMatchTheCurve: with the test's SM2 parameters the generator
// is on the curve and has order n ((n-1)·G = -G); the KMS key's point
// being on this curve is checked above.
func TestSM2ParamsMatchTheCurve(t *testing.T) {
	assert.True(t, sm2Params.IsOnCurve(sm2Params.Gx, sm2Params.Gy))
	x, y := sm2Params.ScalarBaseMult(new(big.Int).Sub(sm2Params.N, big.NewInt(1)).Bytes())
	assert.Equal(t, sm2Params.Gx, x, "(n-1)·G = -G")
	assert.Equal(t, new(big.Int).Sub(sm2Params.P, sm2Params.Gy), y)
}
