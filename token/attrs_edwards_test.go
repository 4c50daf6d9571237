package token

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// edSuite is an Ed25519 key "t-ed25519" in the shared dev KMS, tagged
// suite=ed25519 so the suite=token selection of other tests does not see it.
var edSuite = &keySuite{tag: "ed25519", desc: "p11kms token test", keys: []suiteKey{
	{"t-ed25519", kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify},
}}

// edDevKey creates edSuite once and returns its public key as KMS reports it.
func edDevKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pk, err := x509.ParsePKIXPublicKey(edSuite.create(t)["t-ed25519"].PublicKeyDER)
	require.NoError(t, err)
	edPub, _ := pk.(ed25519.PublicKey)
	require.Len(t, edPub, ed25519.PublicKeySize)
	return edPub
}

// edModule is a module whose one token holds only the Ed25519 test key.
func edModule(t *testing.T) (*Module, *countingBackend, ed25519.PublicKey) {
	t.Helper()
	pub := edDevKey(t)
	m, cb := suiteModule(t, "ed", "{tags: {suite: ed25519}}", "", func(b kmsbackend.Backend) *countingBackend {
		return &countingBackend{Backend: b}
	})
	return m, cb, pub
}

// edObject returns the one object of class cls of the Ed25519 key.
func edObject(t *testing.T, m *Module, sh, cls uint) uint {
	t.Helper()
	hs := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(cls)}, Attribute{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_EC_EDWARDS)})
	require.Len(t, hs, 1)
	return hs[0]
}

func TestEd25519KeyObjects(t *testing.T) {
	m, _, pub := edModule(t)
	sh := openSession(t, m)
	priv, pubo := edObject(t, m, sh, ck.CKO_PRIVATE_KEY), edObject(t, m, sh, ck.CKO_PUBLIC_KEY)
	oid := []byte{0x06, 0x03, 0x2b, 0x65, 0x70} // DER of 1.3.101.112 (RFC 8410)
	point := append([]byte{0x04, 0x20}, pub...)
	for name, oh := range map[string]uint{"private": priv, "public": pubo} {
		t.Run(name+" key has the Edwards attributes", func(t *testing.T) {
			assert.Equal(t, oid, attrValue(t, m, sh, oh, ck.CKA_EC_PARAMS))
			assert.Equal(t, point, attrValue(t, m, sh, oh, ck.CKA_EC_POINT))
			assert.Equal(t, []byte("t-ed25519"), attrValue(t, m, sh, oh, ck.CKA_LABEL))
			assert.Equal(t, encodeULongs([]uint{ck.CKM_EDDSA}), attrValue(t, m, sh, oh, ck.CKA_ALLOWED_MECHANISMS))
			assert.Equal(t, encodeULong(ck.CKM_EC_EDWARDS_KEY_PAIR_GEN), attrValue(t, m, sh, oh, ck.CKA_KEY_GEN_MECHANISM))
		})
	}
	t.Run("oid constant is the DER of mechanisms.OIDEd25519", func(t *testing.T) {
		assert.Equal(t, oid, edwardsECParams)
		assert.Equal(t, "1.3.101.112", mechanisms.OIDEd25519.String())
	})
	t.Run("both objects share CKA_ID", func(t *testing.T) {
		assert.Equal(t, attrValue(t, m, sh, priv, ck.CKA_ID), attrValue(t, m, sh, pubo, ck.CKA_ID))
	})
	t.Run("CKR_ATTRIBUTE_SENSITIVE for the private CKA_VALUE", func(t *testing.T) {
		reqs := []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 64}}
		assert.Equal(t, "CKR_ATTRIBUTE_SENSITIVE", rvOf(m.GetAttributeValue(sh, priv, reqs)))
	})
	t.Run("CKM_EDDSA is listed with 256-bit keys", func(t *testing.T) {
		list, err := m.MechanismList(0)
		require.NoError(t, err)
		assert.Contains(t, list, uint(ck.CKM_EDDSA))
		info, err := m.MechanismInfo(0, ck.CKM_EDDSA)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{MinKeySize: 256, MaxKeySize: 256, Flags: ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, info)
	})
}

// edSign signs msg through the module, single-part or in two parts.
func edSign(t *testing.T, m *Module, sh, key uint, param, msg []byte, multi bool) ([]byte, error) {
	t.Helper()
	require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_EDDSA, Param: param}, key))
	if !multi {
		sig, _, err := m.Sign(sh, msg, false, 64)
		return sig, err
	}
	if err := m.SignUpdate(sh, msg[:len(msg)/2]); err != nil {
		return nil, err
	}
	if err := m.SignUpdate(sh, msg[len(msg)/2:]); err != nil {
		return nil, err
	}
	sig, _, err := m.SignFinal(sh, false, 64)
	return sig, err
}

func TestEd25519SignVerify(t *testing.T) {
	m, cb, pub := edModule(t)
	sh := openSession(t, m)
	priv, pubo := edObject(t, m, sh, ck.CKO_PRIVATE_KEY), edObject(t, m, sh, ck.CKO_PUBLIC_KEY)
	msg := []byte("escritura pública de compra e venda")
	ph := mechanisms.EncodeEdDSAParams(mechanisms.EdDSAParams{PH: true})
	rows := []struct {
		name  string
		param []byte
		multi bool
		msg   []byte
		rv    string
	}{
		{"pure single-part verifies as Ed25519", nil, false, msg, "CKR_OK"},
		{"pure multi-part verifies as Ed25519", nil, true, msg, "CKR_OK"},
		{"pure 4096 bytes verifies as Ed25519", nil, false, make([]byte, 4096), "CKR_OK"},
		{"prehash single-part verifies as Ed25519ph", ph, false, msg, "CKR_OK"},
		{"prehash multi-part verifies as Ed25519ph", ph, true, msg, "CKR_OK"},
		{"prehash 5000 bytes verifies as Ed25519ph (hashed locally)", ph, false, make([]byte, 5000), "CKR_OK"},
		{"CKR_DATA_LEN_RANGE for 4097 bytes single-part", nil, false, make([]byte, 4097), "CKR_DATA_LEN_RANGE"},
		{"CKR_DATA_LEN_RANGE for 4097 bytes multi-part", nil, true, make([]byte, 4097), "CKR_DATA_LEN_RANGE"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := cb.signs.Load()
			sig, err := edSign(t, m, sh, priv, r.param, r.msg, r.multi)
			require.Equal(t, r.rv, rvOf(err), "%v", err)
			if r.rv != "CKR_OK" {
				assert.Equal(t, before, cb.signs.Load(), "refused locally, no KMS call")
				return
			}
			require.Len(t, sig, 64)
			if r.param == nil {
				assert.True(t, ed25519.Verify(pub, r.msg, sig))
			} else {
				d := sha512.Sum512(r.msg)
				require.NoError(t, ed25519.VerifyWithOptions(pub, d[:], sig, &ed25519.Options{Hash: crypto.SHA512}))
			}
			require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_EDDSA, Param: r.param}, pubo))
			require.NoError(t, m.Verify(sh, r.msg, sig))
			bad := append([]byte{}, sig...)
			bad[0] ^= 1
			require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_EDDSA, Param: r.param}, pubo))
			assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, r.msg, bad)))
		})
	}
	t.Run("CKR_MECHANISM_PARAM_INVALID for a context", func(t *testing.T) {
		param := mechanisms.EncodeEdDSAParams(mechanisms.EdDSAParams{Context: []byte("ctx")})
		assert.Equal(t, "CKR_MECHANISM_PARAM_INVALID", rvOf(m.SignInit(sh, Mechanism{Type: ck.CKM_EDDSA, Param: param}, priv)))
	})
	t.Run("CKR_KEY_TYPE_INCONSISTENT for ECDSA on the Ed25519 key", func(t *testing.T) {
		assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.SignInit(sh, Mechanism{Type: ck.CKM_ECDSA}, priv)))
	})
	t.Run("size query and short buffer are local and keep the operation", func(t *testing.T) {
		require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_EDDSA}, priv))
		before := cb.signs.Load()
		_, n, err := m.Sign(sh, msg, true, 0)
		require.NoError(t, err)
		assert.Equal(t, uint(64), n)
		_, n, err = m.Sign(sh, msg, false, 63)
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
		assert.Equal(t, uint(64), n)
		assert.Equal(t, before, cb.signs.Load())
		sig, _, err := m.Sign(sh, msg, false, 64)
		require.NoError(t, err)
		assert.True(t, ed25519.Verify(pub, msg, sig))
	})
}
