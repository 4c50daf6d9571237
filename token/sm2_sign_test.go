package token

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

var sm2Message = []byte("p11kms: SM2DSA through AWS KMS, checked by OpenSSL")

// sm2Sign signs through the module: single-part, or in three parts.
func sm2Sign(t *testing.T, m *Module, sh, key uint, mech Mechanism, msg []byte, multi bool) ([]byte, error) {
	t.Helper()
	if err := m.SignInit(sh, mech, key); err != nil {
		return nil, err
	}
	if !multi {
		sig, _, err := m.Sign(sh, msg, false, 64)
		return sig, err
	}
	for _, part := range [][]byte{msg[:3], msg[3:10], msg[10:]} {
		if err := m.SignUpdate(sh, part); err != nil {
			return nil, err
		}
	}
	sig, _, err := m.SignFinal(sh, false, 64)
	return sig, err
}

func TestSM2SignVerifiedByOpenSSL(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	priv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-sign")
	pub := sm2Object(t, m, sh, ck.CKO_PUBLIC_KEY, "t-sm2-sign")
	pubDER := sm2PubFile(t, "t-sm2-sign")
	kpub, err := mechanisms.ParsePublicKey(sm2Infos["t-sm2-sign"].PublicKeyDER)
	require.NoError(t, err)
	own := []byte("CN=alice,O=p11kms")
	eOwn, err := mechanisms.SM2Digest(kpub, own, sm2Message)
	require.NoError(t, err)
	rows := []struct {
		name  string
		mech  Mechanism
		input []byte // C_Sign input
		id    []byte // openssl verifies sm2Message under this ID
		multi bool
	}{
		{"SM3-SM2DSA, default ID", Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA}, sm2Message, mechanisms.SM2DefaultID, false},
		{"SM3-SM2DSA, default ID, multi-part", Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA}, sm2Message, mechanisms.SM2DefaultID, true},
		{"SM3-SM2DSA, own ID", Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA, Param: own}, sm2Message, own, false},
		{"SM3-SM2DSA, own ID, multi-part", Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA, Param: own}, sm2Message, own, true},
		{"SM2DSA over e of the own ID", Mechanism{Type: mechanisms.CKM_P11KMS_SM2DSA}, eOwn, own, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			sig, err := sm2Sign(t, m, sh, priv, r.mech, r.input, r.multi)
			require.NoError(t, err)
			require.Len(t, sig, 64)
			out, err := sm2OpenSSLVerify(t, pubDER, r.id, sm2Message, sig)
			require.NoError(t, err, out)
			assert.Equal(t, "Verified OK", out)
			bad := bytes.Clone(sig)
			bad[10] ^= 0x01
			out, err = sm2OpenSSLVerify(t, pubDER, r.id, sm2Message, bad)
			require.Error(t, err, "openssl accepted a tampered signature")
			assert.Contains(t, out, "Verification failure")

			require.NoError(t, m.VerifyInit(sh, r.mech, pub))
			require.NoError(t, m.Verify(sh, r.input, sig), "C_Verify of the token's own signature")
			require.NoError(t, m.VerifyInit(sh, r.mech, pub))
			assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, r.input, bad)))
		})
	}
	t.Run("C_Verify takes KMS's own RAW signature (KMS's default ID)", func(t *testing.T) {
		der, err := sm2Oracle(t).Sign(context.Background(), sm2Infos["t-sm2-sign"].ARN, kmsbackend.SM2DSA, kmsbackend.MessageRaw, sm2Message)
		require.NoError(t, err)
		rs, err := mechanisms.DERToRaw(der, 32)
		require.NoError(t, err)
		require.NoError(t, m.VerifyInit(sh, Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA}, pub))
		require.NoError(t, m.Verify(sh, sm2Message, rs))
		require.NoError(t, m.VerifyInit(sh, Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA, Param: own}, pub))
		assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, sm2Message, rs)), "not under another ID")
	})
}

func TestSM2SignRefusals(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	priv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-sign")
	cryptPriv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-crypt")
	sm2dsa, sm3 := Mechanism{Type: mechanisms.CKM_P11KMS_SM2DSA}, Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA}
	initRows := []struct {
		name string
		mech Mechanism
		key  uint
		rv   string
	}{
		{"CKM_ECDSA on an SM2 key", Mechanism{Type: ck.CKM_ECDSA}, priv, "CKR_KEY_TYPE_INCONSISTENT"},
		{"CKM_ECDSA_SHA256 on an SM2 key", Mechanism{Type: ck.CKM_ECDSA_SHA256}, priv, "CKR_KEY_TYPE_INCONSISTENT"},
		{"SM2DSA with a parameter", Mechanism{Type: mechanisms.CKM_P11KMS_SM2DSA, Param: []byte("id")}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"SM3-SM2DSA with an 8192-byte ID", Mechanism{Type: mechanisms.CKM_P11KMS_SM3_SM2DSA, Param: make([]byte, 8192)}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"SM2DSA with the ENCRYPT_DECRYPT key", sm2dsa, cryptPriv, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"SM3-SM2DSA with the ENCRYPT_DECRYPT key", sm3, cryptPriv, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	}
	for _, r := range initRows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.rv, rvOf(m.SignInit(sh, r.mech, r.key)))
		})
	}
	for _, n := range []int{0, 31, 33, 64} {
		t.Run(fmt.Sprintf("SM2DSA input of %d bytes", n), func(t *testing.T) {
			require.NoError(t, m.SignInit(sh, sm2dsa, priv))
			_, _, err := m.Sign(sh, make([]byte, n), false, 64)
			assert.Equal(t, "CKR_DATA_LEN_RANGE", rvOf(err), "%d bytes", n)
		})
	}
	t.Run("SM2DSA is single-part", func(t *testing.T) {
		require.NoError(t, m.SignInit(sh, sm2dsa, priv))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.SignUpdate(sh, make([]byte, 32))))
		_, _, err := m.Sign(sh, make([]byte, 32), false, 64)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "the refusal ended the operation")
	})
	t.Run("size query and short buffer keep the operation", func(t *testing.T) {
		require.NoError(t, m.SignInit(sh, sm3, priv))
		_, n, err := m.Sign(sh, sm2Message, true, 0)
		require.NoError(t, err)
		assert.Equal(t, uint(64), n)
		_, n, err = m.Sign(sh, sm2Message, false, 63)
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
		assert.Equal(t, uint(64), n)
		sig, _, err := m.Sign(sh, sm2Message, false, 64)
		require.NoError(t, err)
		assert.Len(t, sig, 64)
	})
}
