package mechanisms

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// sm2Ciphertext is the GM/T 0009 ASN.1 form, built here with encoding/asn1
// to make malformed variants.
type sm2Ciphertext struct {
	X, Y   *big.Int
	C3, C2 []byte
}

// sm2CryptKey is an openssl SM2 key as an encryption key.
func sm2CryptKey(k *sm2TestKey, algs ...kmsbackend.EncryptionAlgorithm) CryptKey {
	return CryptKey{Spec: kmsbackend.SpecSM2, Pub: k.key.Pub, Algorithms: algs}
}

// opensslEncrypt has openssl encrypt msg to the key (its ASN.1 output).
func (k *sm2TestKey) opensslEncrypt(t testing.TB, msg []byte) []byte {
	t.Helper()
	ctPath := filepath.Join(k.dir, "ossl.ct")
	out, err := openSSL(t, "pkeyutl", "-encrypt", "-pubin", "-inkey", k.pub, "-in", k.write(t, "ossl.pt", msg), "-out", ctPath)
	require.NoError(t, err, out)
	ct, err := os.ReadFile(ctPath)
	require.NoError(t, err)
	return ct
}

// opensslDecrypt has openssl decrypt ct with the private key.
func (k *sm2TestKey) opensslDecrypt(t testing.TB, ct []byte) ([]byte, string, error) {
	t.Helper()
	ptPath := filepath.Join(k.dir, "dec.pt")
	_ = os.Remove(ptPath)
	out, err := openSSL(t, "pkeyutl", "-decrypt", "-inkey", k.priv, "-in", k.write(t, "dec.ct", ct), "-out", ptPath)
	if err != nil {
		return nil, out, err
	}
	pt, rerr := os.ReadFile(ptPath)
	require.NoError(t, rerr)
	return pt, out, nil
}

func TestSM2PKEEncryptDecryptedByOpenSSL(t *testing.T) {
	k := newSM2TestKey(t)
	plan, err := NewSM2PKEPlan(CKM_P11KMS_SM2PKE, nil, sm2CryptKey(k, kmsbackend.SM2PKE))
	require.NoError(t, err)
	assert.Equal(t, kmsbackend.SM2PKE, plan.Algorithm)
	for _, n := range []int{1, 16, 100, MaxSM2Plaintext} {
		msg := make([]byte, n)
		_, err := rand.Read(msg)
		require.NoError(t, err)
		ct, err := plan.Encrypt(rand.Reader, msg)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(ct), plan.MaxCiphertextLen(n), "the size-query answer bounds the ciphertext")
		got, err := plan.PlaintextLen(ct)
		require.NoError(t, err)
		assert.Equal(t, n, got)
		pt, out, err := k.opensslDecrypt(t, ct)
		require.NoError(t, err, "openssl cannot decrypt our %d-byte ciphertext: %s", n, out)
		assert.Equal(t, msg, pt)
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 0x01 // C2 changed: C3 no longer matches
		_, out, err = k.opensslDecrypt(t, bad)
		assert.Error(t, err, "openssl decrypted a tampered ciphertext: %s", out)
	}
}

func TestSM2PKEPlaintextLenOfOpenSSLCiphertext(t *testing.T) {
	k := newSM2TestKey(t)
	plan, err := NewSM2PKEPlan(CKM_P11KMS_SM2PKE, nil, sm2CryptKey(k))
	require.NoError(t, err)
	for _, n := range []int{1, 57, MaxSM2Plaintext} {
		ct := k.opensslEncrypt(t, bytes.Repeat([]byte{'p'}, n))
		got, err := plan.PlaintextLen(ct)
		require.NoError(t, err)
		assert.Equal(t, n, got)
		assert.LessOrEqual(t, len(ct), plan.MaxCiphertextLen(n))
	}
}

func TestSM2PKERefusals(t *testing.T) {
	k := newSM2TestKey(t)
	plan, err := NewSM2PKEPlan(CKM_P11KMS_SM2PKE, nil, sm2CryptKey(k))
	require.NoError(t, err)
	good := k.opensslEncrypt(t, []byte("twelve bytes"))
	var c sm2Ciphertext
	rest, err := asn1.Unmarshal(good, &c)
	require.NoError(t, err)
	require.Empty(t, rest)
	build := func(f func(c *sm2Ciphertext)) []byte {
		cc := sm2Ciphertext{new(big.Int).Set(c.X), new(big.Int).Set(c.Y), bytes.Clone(c.C3), bytes.Clone(c.C2)}
		f(&cc)
		b, err := asn1.Marshal(cc)
		require.NoError(t, err)
		return b
	}
	rows := []struct {
		name string
		ct   []byte
		rv   uint
	}{
		{"re-encoded as is, accepted", build(func(*sm2Ciphertext) {}), ck.CKR_OK},
		{"not DER at all", []byte("not a ciphertext"), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"empty", []byte{}, ck.CKR_ENCRYPTED_DATA_INVALID},
		{"trailing byte", append(bytes.Clone(good), 0), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"bare C1||C3||C2, no ASN.1", bytes.Join([][]byte{{4}, c.X.FillBytes(make([]byte, 32)), c.Y.FillBytes(make([]byte, 32)), c.C3, c.C2}, nil), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"C3 of 31 bytes", build(func(c *sm2Ciphertext) { c.C3 = c.C3[:31] }), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"C1 off the curve", build(func(c *sm2Ciphertext) { c.Y.Add(c.Y, big.NewInt(1)) }), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"negative x", build(func(c *sm2Ciphertext) { c.X.Neg(c.X) }), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"empty C2", build(func(c *sm2Ciphertext) { c.C2 = []byte{} }), ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"C2 of 1025 bytes", build(func(c *sm2Ciphertext) { c.C2 = make([]byte, MaxSM2Plaintext+1) }), ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"6144 bytes", make([]byte, 6144), ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := plan.PlaintextLen(r.ct)
			requireRV(t, r.rv, err)
		})
	}
	t.Run("plaintext length outside 1..1024", func(t *testing.T) {
		requireRV(t, ck.CKR_DATA_LEN_RANGE, plan.CheckMessage(nil))
		requireRV(t, ck.CKR_DATA_LEN_RANGE, plan.CheckMessage(make([]byte, MaxSM2Plaintext+1)))
		_, err := plan.Encrypt(rand.Reader, make([]byte, MaxSM2Plaintext+1))
		requireRV(t, ck.CKR_DATA_LEN_RANGE, err)
		requireRV(t, ck.CKR_OK, plan.CheckMessage(make([]byte, MaxSM2Plaintext)))
	})
	t.Run("KMS plaintext of another length", func(t *testing.T) {
		requireRV(t, ck.CKR_FUNCTION_FAILED, plan.CheckPlaintext(12, make([]byte, 11)))
		requireRV(t, ck.CKR_OK, plan.CheckPlaintext(12, make([]byte, 12)))
	})
	rsa := testKMSKey(t, kmsbackend.SpecRSA2048)
	initRows := []struct {
		name  string
		mech  uint
		param []byte
		key   CryptKey
		rv    uint
	}{
		{"RSA key", CKM_P11KMS_SM2PKE, nil, CryptKey{Spec: kmsbackend.SpecRSA2048, Pub: rsa.Pub}, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"a parameter", CKM_P11KMS_SM2PKE, []byte{1}, sm2CryptKey(k), ck.CKR_MECHANISM_PARAM_INVALID},
		{"key without SM2PKE", CKM_P11KMS_SM2PKE, nil, sm2CryptKey(k, kmsbackend.RSAES_OAEP_SHA_256), ck.CKR_MECHANISM_INVALID},
		{"another mechanism", ck.CKM_RSA_PKCS_OAEP, nil, sm2CryptKey(k), ck.CKR_MECHANISM_INVALID},
	}
	for _, r := range initRows {
		t.Run("init refuses "+r.name, func(t *testing.T) {
			_, err := NewSM2PKEPlan(r.mech, r.param, r.key)
			requireRV(t, r.rv, err)
		})
	}
	t.Run("OAEP init on an SM2 key", func(t *testing.T) {
		_, err := NewOAEPPlan(ck.CKM_RSA_PKCS_OAEP, EncodeOAEPParams(OAEPParams{Hash: ck.CKM_SHA256, MGF: ck.CKG_MGF1_SHA256, Source: ck.CKZ_DATA_SPECIFIED}), sm2CryptKey(k))
		requireRV(t, ck.CKR_KEY_TYPE_INCONSISTENT, err)
	})
}
