package token

import (
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/mechanisms"
)

// SM2 keys live in the shared dev KMS tagged suite=sm2, so only sm2Module's
// token sees them. OpenSSL 3 (the CLI) is the independent party: it verifies
// the token's signatures (dgst -sm3 with distid) and encrypts to the KMS
// public key for the token to decrypt.

// sm2Suite is created once.
var sm2Suite = &keySuite{tag: "sm2", desc: "p11kms sm2 test", keys: []suiteKey{
	{"t-sm2-sign", kmsbackend.SpecSM2, kmsbackend.UsageSignVerify},
	{"t-sm2-crypt", kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt},
}}

// sm2Infos are sm2Suite's keys as CreateKey returned them, by alias (filled
// by sm2Module).
var sm2Infos map[string]*kmsbackend.KeyInfo

// sm2Oracle is an aws backend straight at the dev KMS: KMS itself, for the
// calls the test makes outside the module (Decrypt, RAW Sign).
func sm2Oracle(t *testing.T) *aws.Backend {
	t.Helper()
	return kmsOracle(t)
}

// sm2Module returns an initialized module whose one token holds sm2Suite.
func sm2Module(t *testing.T) *Module {
	t.Helper()
	sm2Infos = sm2Suite.create(t)
	m, _ := suiteModule[kmsbackend.Backend](t, "sm2", "{tags: {suite: sm2}}", "", nil)
	return m
}

// sm2Object returns the one object of class cls labelled alias.
func sm2Object(t *testing.T, m *Module, sh, cls uint, alias string) uint {
	t.Helper()
	hs := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(cls)}, Attribute{Type: ck.CKA_LABEL, Value: []byte(alias)})
	require.Len(t, hs, 1)
	return hs[0]
}

// sm2PubFile writes the KMS public key of alias (DER SPKI) for openssl.
func sm2PubFile(t *testing.T, alias string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), alias+".der")
	require.NoError(t, os.WriteFile(p, sm2Infos[alias].PublicKeyDER, 0o600))
	return p
}

// sm2OpenSSL runs the openssl CLI, returning its combined output.
func sm2OpenSSL(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent SM2 implementation these tests need")
	out, err := exec.Command(bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// sm2OpenSSLVerify has openssl verify r||s over msg with the key's public
// key and the distinguishing ID id.
func sm2OpenSSLVerify(t *testing.T, pubDER string, id, msg, rs []byte) (string, error) {
	t.Helper()
	require.Len(t, rs, 64)
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
	require.NoError(t, err)
	dir := t.TempDir()
	sig, data := filepath.Join(dir, "sig"), filepath.Join(dir, "msg")
	require.NoError(t, os.WriteFile(sig, der, 0o600))
	require.NoError(t, os.WriteFile(data, msg, 0o600))
	return sm2OpenSSL(t, "dgst", "-sm3", "-keyform", "DER", "-verify", pubDER, "-sigopt", "hexdistid:"+hex.EncodeToString(id), "-signature", sig, data)
}

func TestSM2KeyObjects(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	sm2Params := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d} // DER of 1.2.156.10197.1.301
	rows := []struct {
		alias                    string
		mechs                    []uint
		sign, verify, enc, decry bool
	}{
		{"t-sm2-sign", []uint{mechanisms.CKM_P11KMS_SM2DSA, mechanisms.CKM_P11KMS_SM3_SM2DSA}, true, true, false, false},
		{"t-sm2-crypt", []uint{mechanisms.CKM_P11KMS_SM2PKE}, false, false, true, true},
	}
	for _, r := range rows {
		t.Run(r.alias, func(t *testing.T) {
			spki := sm2Infos[r.alias].PublicKeyDER
			point, err := asn1.Marshal(spki[len(spki)-65:]) // the SPKI ends with the 65-byte point
			require.NoError(t, err)
			priv, pub := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, r.alias), sm2Object(t, m, sh, ck.CKO_PUBLIC_KEY, r.alias)
			for _, oh := range []uint{priv, pub} {
				assert.Equal(t, encodeULong(ck.CKK_EC), attrValue(t, m, sh, oh, ck.CKA_KEY_TYPE))
				assert.Equal(t, sm2Params, attrValue(t, m, sh, oh, ck.CKA_EC_PARAMS))
				assert.Equal(t, point, attrValue(t, m, sh, oh, ck.CKA_EC_POINT))
				assert.Equal(t, spki, attrValue(t, m, sh, oh, ck.CKA_PUBLIC_KEY_INFO))
				assert.Equal(t, encodeULongs(r.mechs), attrValue(t, m, sh, oh, ck.CKA_ALLOWED_MECHANISMS))
			}
			assert.Equal(t, encodeBool(r.sign), attrValue(t, m, sh, priv, ck.CKA_SIGN))
			assert.Equal(t, encodeBool(r.decry), attrValue(t, m, sh, priv, ck.CKA_DECRYPT))
			assert.Equal(t, encodeBool(r.verify), attrValue(t, m, sh, pub, ck.CKA_VERIFY))
			assert.Equal(t, encodeBool(r.enc), attrValue(t, m, sh, pub, ck.CKA_ENCRYPT))
		})
	}
	t.Run("mechanism list and info", func(t *testing.T) {
		list, err := m.MechanismList(0)
		require.NoError(t, err)
		assert.Subset(t, list, []uint{mechanisms.CKM_P11KMS_SM2DSA, mechanisms.CKM_P11KMS_SM3_SM2DSA, mechanisms.CKM_P11KMS_SM2PKE})
		assert.NotContains(t, list, uint(ck.CKM_ECDSA), "SM2 keys bring no ECDSA")
		info, err := m.MechanismInfo(0, mechanisms.CKM_P11KMS_SM3_SM2DSA)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{MinKeySize: 256, MaxKeySize: 256, Flags: ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, info)
		info, err = m.MechanismInfo(0, mechanisms.CKM_P11KMS_SM2PKE)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{MinKeySize: 256, MaxKeySize: 256, Flags: ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, info)
		_, err = m.MechanismInfo(0, ck.CKM_ECDSA)
		assert.Equal(t, "CKR_MECHANISM_INVALID", rvOf(err))
	})
}
