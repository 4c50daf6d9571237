package mechanisms

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	gmecdh "github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/smx509"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestParseECDH1Params(t *testing.T) {
	point := bytes.Repeat([]byte{7}, 65)
	rows := []struct {
		name  string
		param []byte
		want  ECDH1Params
		rv    uint
	}{
		{"CKD_NULL with a point parses", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_NULL, PublicData: point}), ECDH1Params{KDF: ck.CKD_NULL, SharedData: []byte{}, PublicData: point}, ck.CKR_OK},
		{"SHA256 KDF with shared data parses", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_SHA256_KDF, SharedData: []byte("info"), PublicData: point}),
			ECDH1Params{KDF: ck.CKD_SHA256_KDF, SharedData: []byte("info"), PublicData: point}, ck.CKR_OK},
		{"SHA1 KDF without shared data parses", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_SHA1_KDF, PublicData: point}), ECDH1Params{KDF: ck.CKD_SHA1_KDF, SharedData: []byte{}, PublicData: point}, ck.CKR_OK},
		{"no parameter is MECHANISM_PARAM_INVALID", nil, ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a short parameter is MECHANISM_PARAM_INVALID", make([]byte, ckULONGSize), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"shared data longer than the parameter is MECHANISM_PARAM_INVALID", func() []byte {
			b := EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_SHA256_KDF, SharedData: []byte("abc"), PublicData: point})
			putULONG(b[ckULONGSize:], 1000)
			return b
		}(), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKD_NULL with shared data is MECHANISM_PARAM_INVALID", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_NULL, SharedData: []byte("x"), PublicData: point}), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKD_SHA1_KDF_ASN1 is MECHANISM_PARAM_INVALID", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_SHA1_KDF_ASN1, PublicData: point}), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"kdf 0 is MECHANISM_PARAM_INVALID", EncodeECDH1Params(ECDH1Params{KDF: 0, PublicData: point}), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"no public data is MECHANISM_PARAM_INVALID", EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_NULL}), ECDH1Params{}, ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := ParseECDH1Params(r.param)
			require.Equal(t, ck.RVName(r.rv), ck.RVName(ck.RV(err)), "%v", err)
			if r.rv == ck.CKR_OK {
				assert.Equal(t, r.want, p)
			}
		})
	}
}

// ecdhPeer returns a fresh key on c and its uncompressed point.
func ecdhPeer(t *testing.T, c ecdh.Curve) (*ecdh.PrivateKey, []byte) {
	t.Helper()
	k, err := c.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k, k.PublicKey().Bytes()
}

func TestPeerSPKI(t *testing.T) {
	_, p256 := ecdhPeer(t, ecdh.P256())
	_, p384 := ecdhPeer(t, ecdh.P384())
	_, p521 := ecdhPeer(t, ecdh.P521())
	der := func(b []byte) []byte { d, _ := asn1.Marshal(b); return d }
	offCurve := bytes.Clone(p256)
	offCurve[64] ^= 1
	ck256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	compressed := elliptic.MarshalCompressed(elliptic.P256(), ck256.X, ck256.Y)
	sm2k, err := gmecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	sm2pt := sm2k.PublicKey().Bytes()
	rows := []struct {
		name   string
		curve  Curve
		public []byte
		point  []byte // the point the SPKI must hold
		rv     uint
	}{
		{"P-256 raw point is accepted", CurveP256, p256, p256, ck.CKR_OK},
		{"P-256 DER point is accepted", CurveP256, der(p256), p256, ck.CKR_OK},
		{"P-384 raw point is accepted", CurveP384, p384, p384, ck.CKR_OK},
		{"P-384 DER point is accepted", CurveP384, der(p384), p384, ck.CKR_OK},
		{"P-521 raw point is accepted", CurveP521, p521, p521, ck.CKR_OK},
		{"P-521 DER point (long form length) is accepted", CurveP521, der(p521), p521, ck.CKR_OK},
		{"a point off the curve is MECHANISM_PARAM_INVALID", CurveP256, offCurve, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a P-384 point for a P-256 key is MECHANISM_PARAM_INVALID", CurveP256, p384, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a P-256 point for a P-521 key is MECHANISM_PARAM_INVALID", CurveP521, der(p256), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a compressed point is MECHANISM_PARAM_INVALID", CurveP256, compressed, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a truncated point is MECHANISM_PARAM_INVALID", CurveP256, p256[:64], nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a DER point with trailing bytes is MECHANISM_PARAM_INVALID", CurveP256, append(der(p256), 0), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"the point at infinity is MECHANISM_PARAM_INVALID", CurveP256, []byte{0}, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"an SPKI is MECHANISM_PARAM_INVALID", CurveP256, mustSPKI(t, p256), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"2 KiB of data is MECHANISM_PARAM_INVALID", CurveP256, make([]byte, 2048), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"secp256k1 is KEY_TYPE_INCONSISTENT", CurveSecp256k1, p256, nil, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"SM2 raw point is accepted", CurveSM2, sm2pt, sm2pt, ck.CKR_OK},
		{"SM2 DER point is accepted", CurveSM2, der(sm2pt), sm2pt, ck.CKR_OK},
		{"a P-256 point for an SM2 key is MECHANISM_PARAM_INVALID", CurveSM2, p256, nil, ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			spki, err := PeerSPKI(r.curve, r.public)
			require.Equal(t, ck.RVName(r.rv), ck.RVName(ck.RV(err)), "%v", err)
			if r.rv != ck.CKR_OK {
				return
			}
			pk, err := smx509.ParsePKIXPublicKey(spki) // also parses the NIST curves
			require.NoError(t, err)
			k := pk.(*ecdsa.PublicKey)
			n := (len(r.point) - 1) / 2
			assert.Equal(t, r.point[1:1+n], k.X.FillBytes(make([]byte, n)))
			assert.Equal(t, r.point[1+n:], k.Y.FillBytes(make([]byte, n)))
			if r.curve != CurveSM2 {
				_, err := x509.ParsePKIXPublicKey(spki)
				require.NoError(t, err, "Go's own parser takes the NIST SPKIs")
			}
		})
	}
}

func mustSPKI(t *testing.T, point []byte) []byte {
	pub, err := ecdh.P256().NewPublicKey(point)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return der
}

func TestDeriveValueNullTruncatesFromTheFront(t *testing.T) {
	z := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	rows := []struct {
		name string
		n    int
		want []byte
		rv   uint
	}{
		{"whole secret", 8, z, ck.CKR_OK},
		{"last 3 bytes", 3, []byte{6, 7, 8}, ck.CKR_OK},
		{"last byte", 1, []byte{8}, ck.CKR_OK},
		{"longer than the secret is TEMPLATE_INCONSISTENT", 9, nil, ck.CKR_TEMPLATE_INCONSISTENT},
		{"zero length is ATTRIBUTE_VALUE_INVALID", 0, nil, ck.CKR_ATTRIBUTE_VALUE_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			v, err := DeriveValue(ck.CKD_NULL, z, nil, r.n)
			require.Equal(t, ck.RVName(r.rv), ck.RVName(ck.RV(err)), "%v", err)
			assert.Equal(t, r.want, v)
		})
	}
}

// TestX963KDFMatchesOpenSSL checks the KDF against openssl's X963KDF (an
// independent implementation), over lengths that end inside and on hash blocks.
func TestX963KDFMatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent X9.63 implementation")
	z := make([]byte, 66)
	_, _ = rand.Read(z)
	rows := []struct {
		kdf    uint
		digest string
		info   []byte
		n      int
	}{
		{ck.CKD_SHA1_KDF, "SHA1", []byte("shared info"), 16},
		{ck.CKD_SHA224_KDF, "SHA224", nil, 28},
		{ck.CKD_SHA256_KDF, "SHA256", []byte{0xde, 0xad}, 32},
		{ck.CKD_SHA256_KDF, "SHA256", []byte("x"), 33},
		{ck.CKD_SHA384_KDF, "SHA384", []byte("three blocks"), 130},
		{ck.CKD_SHA512_KDF, "SHA512", nil, 64},
		{ck.CKD_SHA512_KDF, "SHA512", []byte("y"), 1},
	}
	for _, r := range rows {
		t.Run(KDFName(r.kdf)+"/"+strconv.Itoa(r.n), func(t *testing.T) {
			got, err := DeriveValue(r.kdf, z, r.info, r.n)
			require.NoError(t, err)
			args := []string{"kdf", "-keylen", strconv.Itoa(r.n), "-kdfopt", "digest:" + r.digest, "-kdfopt", "hexsecret:" + hex.EncodeToString(z)}
			if len(r.info) > 0 {
				args = append(args, "-kdfopt", "hexinfo:"+hex.EncodeToString(r.info))
			}
			out, err := exec.Command(openssl, append(args, "X963KDF")...).CombinedOutput()
			require.NoError(t, err, string(out))
			want, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestX963KDFLengthLimit(t *testing.T) {
	_, err := DeriveValue(ck.CKD_SHA256_KDF, []byte{1}, nil, MaxDerivedKeyLen+1)
	assert.Equal(t, "CKR_ATTRIBUTE_VALUE_INVALID", ck.RVName(ck.RV(err)))
	v, err := DeriveValue(ck.CKD_SHA256_KDF, []byte{1}, nil, MaxDerivedKeyLen)
	require.NoError(t, err)
	assert.Len(t, v, MaxDerivedKeyLen)
	assert.Equal(t, X963KDF(crypto.SHA256, []byte{1}, nil, 32), v[:32], "a longer output extends a shorter one")
}

func TestECDHMechanismsAndInfo(t *testing.T) {
	agree := func(s kmsbackend.KeySpec) KeyUse { return KeyUse{Spec: s, Usage: kmsbackend.UsageKeyAgreement} }
	sign := KeyUse{Spec: kmsbackend.SpecECCNISTP256, Usage: kmsbackend.UsageSignVerify}
	const flags = ck.CKF_DERIVE | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS
	mechRows := []struct {
		name string
		key  KeyUse
		want []uint
	}{
		{"P-256 KEY_AGREEMENT derives", agree(kmsbackend.SpecECCNISTP256), []uint{ck.CKM_ECDH1_DERIVE}},
		{"P-384 KEY_AGREEMENT derives", agree(kmsbackend.SpecECCNISTP384), []uint{ck.CKM_ECDH1_DERIVE}},
		{"P-521 KEY_AGREEMENT derives", agree(kmsbackend.SpecECCNISTP521), []uint{ck.CKM_ECDH1_DERIVE}},
		{"SM2 KEY_AGREEMENT derives", agree(kmsbackend.SpecSM2), []uint{ck.CKM_ECDH1_DERIVE}},
		{"secp256k1 KEY_AGREEMENT has nothing", agree(kmsbackend.SpecECCSECGP256K1), nil},
		{"RSA KEY_AGREEMENT has nothing", agree(kmsbackend.SpecRSA2048), nil},
	}
	for _, r := range mechRows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.want, MechanismsFor(r.key.Spec, r.key.Usage))
		})
	}
	assert.NotContains(t, MechanismsFor(sign.Spec, sign.Usage), uint(ck.CKM_ECDH1_DERIVE), "a signing key does not derive")
	infoRows := []struct {
		name            string
		mech            uint
		keys            []KeyUse
		min, max, flags uint
		ok              bool
	}{
		{"ECDH1 with a P-384 agreement key", ck.CKM_ECDH1_DERIVE, []KeyUse{agree(kmsbackend.SpecECCNISTP384)}, 256, 521, flags, true},
		{"no ECDH1 with only a signing key", ck.CKM_ECDH1_DERIVE, []KeyUse{sign}, 0, 0, 0, false},
		{"no ECDH1 on an empty token", ck.CKM_ECDH1_DERIVE, nil, 0, 0, 0, false},
		{"no ECDSA with only an agreement key", ck.CKM_ECDSA, []KeyUse{agree(kmsbackend.SpecECCNISTP256)}, 0, 0, 0, false},
		{"ECDSA with a signing key beside an agreement key", ck.CKM_ECDSA, []KeyUse{agree(kmsbackend.SpecECCNISTP256), sign}, 256, 521, ecSignFlags, true},
	}
	for _, r := range infoRows {
		t.Run(r.name, func(t *testing.T) {
			minBits, maxBits, fl, ok := InfoFor(r.mech, r.keys)
			assert.Equal(t, r.ok, ok)
			assert.Equal(t, r.min, minBits)
			assert.Equal(t, r.max, maxBits)
			assert.Equal(t, r.flags, fl)
		})
	}
}

// FuzzECDH1Params: any bytes parse without panic, what parses encodes back
// to the same bytes, and any public data is either a valid point's SPKI or
// CKR_MECHANISM_PARAM_INVALID.
func FuzzECDH1Params(f *testing.F) {
	f.Add(EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_NULL, PublicData: bytes.Repeat([]byte{4}, 65)}))
	f.Add(EncodeECDH1Params(ECDH1Params{KDF: ck.CKD_SHA256_KDF, SharedData: []byte("info"), PublicData: []byte{4, 0x41, 4}}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseECDH1Params(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		require.Equal(t, b, EncodeECDH1Params(p))
		for _, c := range []Curve{CurveP256, CurveP384, CurveP521} {
			if _, err := PeerSPKI(c, p.PublicData); err != nil {
				requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			}
		}
	})
}
