package token

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// ecdhSuite is created once in the shared dev KMS, tagged suite=ecdh so
// that only ecdhModule's token sees it (testModule selects suite=token).
var ecdhSuite = &keySuite{tag: "ecdh", desc: "p11kms ecdh test", keys: []suiteKey{
	{"t-ecdh-p256", kmsbackend.SpecECCNISTP256, kmsbackend.UsageKeyAgreement},
	{"t-ecdh-p384", kmsbackend.SpecECCNISTP384, kmsbackend.UsageKeyAgreement},
	{"t-ecdh-p521", kmsbackend.SpecECCNISTP521, kmsbackend.UsageKeyAgreement},
	{"t-ecdh-sm2", kmsbackend.SpecSM2, kmsbackend.UsageKeyAgreement},
	{"t-ecdh-sign", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify},
	{"t-ecdh-rsa", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify},
}}

// agreeCounter counts the KMS DeriveSharedSecret calls of a real backend.
type agreeCounter struct {
	kmsbackend.Backend
	derives atomic.Int64
}

func (c *agreeCounter) DeriveSharedSecret(ctx context.Context, arn string, alg kmsbackend.KeyAgreementAlgorithm, peer []byte) ([]byte, error) {
	c.derives.Add(1)
	return c.Backend.(kmsbackend.KeyAgreer).DeriveSharedSecret(ctx, arn, alg, peer)
}

// ecdhModule returns an initialized module whose one token sees ecdhSuite,
// with extra YAML lines appended to the token, and its counting backend.
func ecdhModule(t *testing.T, extra string) (*Module, *agreeCounter) {
	t.Helper()
	ecdhSuite.create(t)
	return suiteModule(t, "ecdh", "{tags: {suite: ecdh}}", extra, func(b kmsbackend.Backend) *agreeCounter {
		return &agreeCounter{Backend: b}
	})
}

// ecdhPair finds the private and public key objects labelled alias.
func ecdhPair(t *testing.T, m *Module, sh uint, alias string) (priv, pub uint) {
	t.Helper()
	label := Attribute{Type: ck.CKA_LABEL, Value: []byte(alias)}
	privs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PRIVATE_KEY)})
	pubs := findAll(t, m, sh, label, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PUBLIC_KEY)})
	require.Len(t, privs, 1, alias)
	require.Len(t, pubs, 1, alias)
	return privs[0], pubs[0]
}

// kmsECDH returns the KMS key's public key, read from the token's public
// key object (CKA_PUBLIC_KEY_INFO, the SPKI KMS GetPublicKey returned).
func kmsECDH(t *testing.T, m *Module, sh, pub uint) *ecdh.PublicKey {
	t.Helper()
	k, err := x509.ParsePKIXPublicKey(attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO))
	require.NoError(t, err)
	e, err := k.(interface {
		ECDH() (*ecdh.PublicKey, error)
	}).ECDH()
	require.NoError(t, err)
	return e
}

// x963 is ANSI X9.63's KDF written out from its definition (SEC 1 v2
// §3.6.1), independently of mechanisms.X963KDF, for SHA-256.
func x963(z, info []byte, n int) []byte {
	var out []byte
	for c := uint32(1); len(out) < n; c++ {
		h := sha256.New()
		h.Write(z)
		_ = binary.Write(h, binary.BigEndian, c)
		h.Write(info)
		out = h.Sum(out)
	}
	return out[:n]
}

// ecdhMech builds a CKM_ECDH1_DERIVE mechanism as cgo flattens it.
func ecdhMech(kdf uint, shared, public []byte) Mechanism {
	return Mechanism{Type: ck.CKM_ECDH1_DERIVE, Param: mechanisms.EncodeECDH1Params(mechanisms.ECDH1Params{KDF: kdf, SharedData: shared, PublicData: public})}
}

// derivedValue reads CKA_VALUE of a derived key.
func derivedValue(t *testing.T, m *Module, sh, h uint) []byte {
	t.Helper()
	return attrValue(t, m, sh, h, ck.CKA_VALUE)
}

func TestDeriveECDHMatchesIndependentECDH(t *testing.T) {
	m, ac := ecdhModule(t, "")
	sh := openSession(t, m)
	curves := []struct {
		alias string
		curve ecdh.Curve
		zLen  int
	}{
		{"t-ecdh-p256", ecdh.P256(), 32},
		{"t-ecdh-p384", ecdh.P384(), 48},
		{"t-ecdh-p521", ecdh.P521(), 66},
	}
	info := []byte("p11kms shared info")
	for _, c := range curves {
		priv, pub := ecdhPair(t, m, sh, c.alias)
		kmsPub := kmsECDH(t, m, sh, pub)
		for _, form := range []string{"raw", "DER"} {
			for _, kdf := range []uint{ck.CKD_NULL, ck.CKD_SHA256_KDF} {
				t.Run(fmt.Sprintf("%s/%s point/%s", c.alias, form, mechanisms.KDFName(kdf)), func(t *testing.T) {
					peer, err := c.curve.GenerateKey(rand.Reader)
					require.NoError(t, err)
					point := peer.PublicKey().Bytes()
					if form == "DER" {
						point, err = asn1.Marshal(point)
						require.NoError(t, err)
					}
					z, err := peer.ECDH(kmsPub) // the peer's side, with Go's crypto/ecdh
					require.NoError(t, err)
					require.Len(t, z, c.zLen)
					want, shared, tmpl := z, []byte(nil), []Attribute{}
					if kdf != ck.CKD_NULL {
						want, shared = x963(z, info, 40), info
						tmpl = append(tmpl, Attribute{Type: ck.CKA_VALUE_LEN, Value: encodeULong(40)})
					}
					before := ac.derives.Load()
					h, err := m.DeriveKey(sh, ecdhMech(kdf, shared, point), priv, tmpl)
					require.NoError(t, err)
					assert.Equal(t, before+1, ac.derives.Load(), "one DeriveSharedSecret call")
					assert.Equal(t, want, derivedValue(t, m, sh, h))
					assert.Equal(t, encodeULong(uint(len(want))), attrValue(t, m, sh, h, ck.CKA_VALUE_LEN))
					require.NoError(t, m.DestroyObject(sh, h))
				})
			}
		}
	}
}

func TestDerivedKeyAttributes(t *testing.T) {
	m, _ := ecdhModule(t, "")
	sh := openSession(t, m)
	priv, pub := ecdhPair(t, m, sh, "t-ecdh-p256")
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	h, err := m.DeriveKey(sh, ecdhMech(ck.CKD_NULL, nil, peer.PublicKey().Bytes()), priv, []Attribute{
		{Type: ck.CKA_LABEL, Value: []byte("session secret")},
		{Type: ck.CKA_ID, Value: []byte{1, 2}},
		{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_AES)},
		{Type: ck.CKA_VALUE_LEN, Value: encodeULong(16)},
		{Type: ck.CKA_ENCRYPT, Value: encodeBool(true)},
	})
	require.NoError(t, err)
	z, err := peer.ECDH(kmsECDH(t, m, sh, pub))
	require.NoError(t, err)
	want := map[uint][]byte{
		ck.CKA_CLASS: encodeULong(ck.CKO_SECRET_KEY), ck.CKA_KEY_TYPE: encodeULong(ck.CKK_AES),
		ck.CKA_TOKEN: encodeBool(false), ck.CKA_PRIVATE: encodeBool(false), ck.CKA_LABEL: []byte("session secret"),
		ck.CKA_ID: {1, 2}, ck.CKA_VALUE_LEN: encodeULong(16), ck.CKA_VALUE: z[16:], // truncated from the front
		ck.CKA_ENCRYPT: encodeBool(true), ck.CKA_DECRYPT: encodeBool(false), ck.CKA_SENSITIVE: encodeBool(false),
		ck.CKA_EXTRACTABLE: encodeBool(true), ck.CKA_ALWAYS_SENSITIVE: encodeBool(false), ck.CKA_NEVER_EXTRACTABLE: encodeBool(false),
		ck.CKA_LOCAL: encodeBool(false), ck.CKA_KEY_GEN_MECHANISM: encodeULong(uint(ck.UnavailableInformation)),
		ck.CKA_DESTROYABLE: encodeBool(true), ck.CKA_MODIFIABLE: encodeBool(false), ck.CKA_DERIVE: encodeBool(false),
	}
	for a, v := range want {
		assert.Equal(t, v, attrValue(t, m, sh, h, a), "attribute 0x%X", a)
	}
	// The base key pair as the token shows it.
	keyAttrs := []struct {
		obj  uint
		attr uint
		want []byte
	}{
		{priv, ck.CKA_DERIVE, encodeBool(true)}, {priv, ck.CKA_SIGN, encodeBool(false)}, {priv, ck.CKA_DECRYPT, encodeBool(false)},
		{priv, ck.CKA_KEY_TYPE, encodeULong(ck.CKK_EC)}, {priv, ck.CKA_ALLOWED_MECHANISMS, encodeULongs([]uint{ck.CKM_ECDH1_DERIVE})},
		{pub, ck.CKA_DERIVE, encodeBool(false)}, {pub, ck.CKA_VERIFY, encodeBool(false)}, {pub, ck.CKA_ENCRYPT, encodeBool(false)},
		{pub, ck.CKA_EC_PARAMS, mechanisms.CurveP256.ECParams()},
	}
	for _, k := range keyAttrs {
		assert.Equal(t, k.want, attrValue(t, m, sh, k.obj, k.attr), "object %d attribute 0x%X", k.obj, k.attr)
	}
	info, err := m.MechanismInfo(0, ck.CKM_ECDH1_DERIVE)
	require.NoError(t, err)
	assert.Equal(t, MechanismInfo{MinKeySize: 256, MaxKeySize: 521,
		Flags: ck.CKF_DERIVE | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS}, info)
	list, err := m.MechanismList(0)
	require.NoError(t, err)
	assert.Contains(t, list, uint(ck.CKM_ECDH1_DERIVE))
}
