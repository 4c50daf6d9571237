package token

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/mechanisms"
)

// blobSuite is created once in the shared dev KMS, tagged suite=kmsblob so
// that only blobModule's token sees it.
var blobSuite = &keySuite{tag: "kmsblob", desc: "p11kms kmsblob test", keys: []suiteKey{
	{"t-kms-a", kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt},
	{"t-kms-b", kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt},
	{"t-kms-sign", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify},
}}

// blobInfos are blobSuite's keys as CreateKey returned them, by alias
// (filled by blobOracle).
var blobInfos map[string]*kmsbackend.KeyInfo

// blobCounter counts the symmetric calls of a real backend.
type blobCounter struct {
	kmsbackend.Backend
	sym                kmsbackend.SymmetricCrypter
	encrypts, decrypts atomic.Int64
}

func (c *blobCounter) Encrypt(ctx context.Context, arn string, pt []byte, ec map[string]string) ([]byte, error) {
	c.encrypts.Add(1)
	return c.sym.Encrypt(ctx, arn, pt, ec)
}

func (c *blobCounter) DecryptWithContext(ctx context.Context, arn string, ct []byte, ec map[string]string) ([]byte, error) {
	c.decrypts.Add(1)
	return c.sym.DecryptWithContext(ctx, arn, ct, ec)
}

// blobOracle is an aws backend on the shared dev KMS, independent of the
// module; it creates blobSuite on first use.
func blobOracle(t *testing.T) *aws.Backend {
	t.Helper()
	b := kmsOracle(t)
	blobInfos = blobSuite.create(t)
	return b
}

// blobModule returns an initialized module whose one token sees blobSuite,
// its counting backend and an open session.
func blobModule(t *testing.T) (*Module, *blobCounter, uint) {
	t.Helper()
	blobOracle(t)
	m, bc := suiteModule(t, "blob", "{tags: {suite: kmsblob}}", "", func(b kmsbackend.Backend) *blobCounter {
		return &blobCounter{Backend: b, sym: b.(kmsbackend.SymmetricCrypter)}
	})
	return m, bc, openSession(t, m)
}

func blobMech(ec map[string]string) Mechanism {
	return Mechanism{Type: mechanisms.CKM_P11KMS_KMS_BLOB, Param: mechanisms.EncodeEncryptionContext(ec)}
}

// blobEncrypt encrypts through the module with a buffer large enough.
func blobEncrypt(t *testing.T, m *Module, sh, key uint, ec map[string]string, pt []byte) []byte {
	t.Helper()
	require.NoError(t, m.EncryptInit(sh, blobMech(ec), key))
	ct, n, err := m.Encrypt(sh, pt, false, kmsbackend.MaxCiphertextBlob)
	require.NoError(t, err)
	require.Equal(t, uint(len(ct)), n)
	return ct
}

// blobDecrypt decrypts through the module; it returns the CK_RV name too.
func blobDecrypt(t *testing.T, m *Module, sh, key uint, ec map[string]string, ct []byte) ([]byte, string) {
	t.Helper()
	require.NoError(t, m.DecryptInit(sh, blobMech(ec), key))
	pt, _, err := m.Decrypt(sh, ct, false, kmsbackend.MaxCiphertextBlob)
	return pt, rvOf(err)
}

func TestKMSBlobKeyIsOneSecretKeyObject(t *testing.T) {
	m, _, sh := blobModule(t)
	secrets := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_SECRET_KEY)})
	assert.Len(t, secrets, 2, "one secret key per SYMMETRIC_DEFAULT key")
	info := blobInfos["t-kms-a"]
	h := secretKey(t, m, sh, "t-kms-a")
	id, ok := parseUUID(info.ID)
	require.True(t, ok)
	want := map[uint][]byte{
		ck.CKA_KEY_TYPE: encodeULong(0x804B4D53), ck.CKA_VALUE_LEN: encodeULong(32),
		ck.CKA_ID: id, ck.CKA_LABEL: []byte("t-kms-a"), ck.CKA_ALLOWED_MECHANISMS: encodeULong(0xCB4D5301),
		ck.CKA_KEY_GEN_MECHANISM: encodeULong(uint(ck.UnavailableInformation)),
	}
	for _, a := range []uint{ck.CKA_TOKEN, ck.CKA_ENCRYPT, ck.CKA_DECRYPT, ck.CKA_SENSITIVE, ck.CKA_ALWAYS_SENSITIVE, ck.CKA_NEVER_EXTRACTABLE, ck.CKA_LOCAL} {
		want[a] = encodeBool(true)
	}
	for _, a := range []uint{ck.CKA_PRIVATE, ck.CKA_MODIFIABLE, ck.CKA_SIGN, ck.CKA_VERIFY, ck.CKA_WRAP, ck.CKA_UNWRAP, ck.CKA_DERIVE, ck.CKA_EXTRACTABLE} {
		want[a] = encodeBool(false)
	}
	for typ, v := range want {
		assert.Equal(t, v, attrValue(t, m, sh, h, typ), "attribute 0x%X", typ)
	}
	reqs := []AttrRequest{{Type: ck.CKA_VALUE, HasBuf: true, BufLen: 64}}
	assert.Equal(t, "CKR_ATTRIBUTE_SENSITIVE", rvOf(m.GetAttributeValue(sh, h, reqs)))
	mechs, err := m.MechanismList(0)
	require.NoError(t, err)
	assert.Contains(t, mechs, uint(mechanisms.CKM_P11KMS_KMS_BLOB))
	mi, err := m.MechanismInfo(0, mechanisms.CKM_P11KMS_KMS_BLOB)
	require.NoError(t, err)
	assert.Equal(t, MechanismInfo{MinKeySize: 32, MaxKeySize: 32, Flags: ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, mi)
}

// TestKMSBlobRoundTripsCheckedIndependently: what the module encrypts, the
// aws backend (without the module) decrypts, and the other way round.
func TestKMSBlobRoundTripsCheckedIndependently(t *testing.T) {
	oracle := blobOracle(t)
	m, _, sh := blobModule(t)
	h := secretKey(t, m, sh, "t-kms-a")
	arn := blobInfos["t-kms-a"].ARN
	for _, n := range []int{1, 100, kmsbackend.MaxEncryptPlaintext} {
		for _, ec := range []map[string]string{nil, {"cartorio": "3-B", "livro": "folha 112"}} {
			t.Run(fmt.Sprintf("%d bytes, %d context pairs: both directions decrypt to the plaintext", n, len(ec)), func(t *testing.T) {
				pt := bytes.Repeat([]byte(fmt.Sprintf("%d;", n)), n)[:n]
				ct := blobEncrypt(t, m, sh, h, ec, pt)
				assert.LessOrEqual(t, len(ct), mechanisms.KMSBlobEncryptLen(n), "the size query bound holds")
				got, err := oracle.DecryptWithContext(context.Background(), arn, ct, ec)
				require.NoError(t, err)
				assert.Equal(t, pt, got, "the aws backend decrypts the module's blob")
				ct2, err := oracle.Encrypt(context.Background(), arn, pt, ec)
				require.NoError(t, err)
				got, rv := blobDecrypt(t, m, sh, h, ec, ct2)
				require.Equal(t, "CKR_OK", rv)
				assert.Equal(t, pt, got, "the module decrypts the aws backend's blob")
			})
		}
	}
}

func TestKMSBlobSizeQueryAndShortBufferKeepTheOperation(t *testing.T) {
	m, bc, sh := blobModule(t)
	h := secretKey(t, m, sh, "t-kms-a")
	pt := []byte("chave de sessão")
	ec := map[string]string{"a": "1"}
	require.NoError(t, m.EncryptInit(sh, blobMech(ec), h))
	enc0 := bc.encrypts.Load()
	ct, n, err := m.Encrypt(sh, pt, true, 0)
	require.NoError(t, err)
	assert.Nil(t, ct)
	assert.Equal(t, uint(len(pt)+2048), n, "size query: plaintext + documented overhead")
	assert.Equal(t, enc0, bc.encrypts.Load(), "size query makes no remote call")
	ct, n, err = m.Encrypt(sh, pt, false, 1)
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	assert.Nil(t, ct)
	assert.Equal(t, enc0+1, bc.encrypts.Load())
	exact := n
	ct, n, err = m.Encrypt(sh, pt, false, exact)
	require.NoError(t, err)
	assert.Equal(t, exact, n)
	assert.Len(t, ct, int(exact))
	assert.Equal(t, enc0+1, bc.encrypts.Load(), "the retry is answered from the cached blob")
	_, _, err = m.Encrypt(sh, pt, false, exact)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "a completed C_Encrypt ends the operation")

	require.NoError(t, m.DecryptInit(sh, blobMech(ec), h))
	dec0 := bc.decrypts.Load()
	out, n, err := m.Decrypt(sh, ct, true, 0)
	require.NoError(t, err)
	assert.Nil(t, out)
	assert.Equal(t, uint(len(ct)), n, "size query: the blob's length")
	assert.Equal(t, dec0, bc.decrypts.Load(), "size query makes no remote call")
	out, n, err = m.Decrypt(sh, ct, false, 3)
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	assert.Nil(t, out)
	assert.Equal(t, uint(len(pt)), n, "exact length after the call")
	out, n, err = m.Decrypt(sh, ct, false, n)
	require.NoError(t, err)
	assert.Equal(t, pt, out)
	assert.Equal(t, uint(len(pt)), n)
	assert.Equal(t, dec0+1, bc.decrypts.Load(), "the retry is answered from the cache")
	_, _, err = m.Decrypt(sh, ct, false, 64)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
}

func TestKMSBlobDecryptRefusals(t *testing.T) {
	m, _, sh := blobModule(t)
	a, b := secretKey(t, m, sh, "t-kms-a"), secretKey(t, m, sh, "t-kms-b")
	ec := map[string]string{"a": "1"}
	ct := blobEncrypt(t, m, sh, a, ec, []byte("segredo"))
	damaged := bytes.Clone(ct)
	damaged[len(damaged)-1] ^= 1
	rows := []struct {
		name string
		key  uint
		ec   map[string]string
		ct   []byte
		rv   string
	}{
		{"encrypted data invalid for another context value", a, map[string]string{"a": "2"}, ct, "CKR_ENCRYPTED_DATA_INVALID"},
		{"encrypted data invalid without the context", a, nil, ct, "CKR_ENCRYPTED_DATA_INVALID"},
		{"encrypted data invalid for an extra context pair", a, map[string]string{"a": "1", "b": "2"}, ct, "CKR_ENCRYPTED_DATA_INVALID"},
		{"encrypted data invalid for another key", b, ec, ct, "CKR_ENCRYPTED_DATA_INVALID"},
		{"encrypted data invalid for a damaged blob", a, ec, damaged, "CKR_ENCRYPTED_DATA_INVALID"},
		{"encrypted data len range for an empty blob", a, ec, []byte{}, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
		{"encrypted data len range for a 6145-byte blob", a, ec, make([]byte, 6145), "CKR_ENCRYPTED_DATA_LEN_RANGE"},
		{"ok with the right key and context", a, map[string]string{"a": "1"}, ct, "CKR_OK"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, rv := blobDecrypt(t, m, sh, r.key, r.ec, r.ct)
			assert.Equal(t, r.rv, rv)
			si, err := m.SessionInfo(sh)
			require.NoError(t, err)
			if r.rv == "CKR_ENCRYPTED_DATA_INVALID" {
				assert.Equal(t, uint(kmsbackend.KindInvalidCiphertext), si.DeviceError, "ulDeviceError names the backend kind")
			} else if r.rv == "CKR_OK" {
				assert.Equal(t, uint(0), si.DeviceError)
			}
			_, _, err = m.Decrypt(sh, r.ct, false, 64)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "the outcome ended the operation")
		})
	}
}

func TestKMSBlobInitAndEncryptRefusals(t *testing.T) {
	m, bc, sh := blobModule(t)
	a := secretKey(t, m, sh, "t-kms-a")
	priv := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PRIVATE_KEY)})
	require.Len(t, priv, 1)
	initRows := []struct {
		name string
		mech Mechanism
		key  uint
		rv   string
	}{
		{"param invalid for key=value text", Mechanism{Type: mechanisms.CKM_P11KMS_KMS_BLOB, Param: []byte("a=1\x00")}, a, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a number value", Mechanism{Type: mechanisms.CKM_P11KMS_KMS_BLOB, Param: []byte(`{"a":1}`)}, a, "CKR_MECHANISM_PARAM_INVALID"},
		{"key type inconsistent for an EC private key", blobMech(nil), priv[0], "CKR_KEY_TYPE_INCONSISTENT"},
		{"key function not permitted for OAEP with the KMS key", Mechanism{Type: ck.CKM_RSA_PKCS_OAEP}, a, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	}
	for _, r := range initRows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.rv, rvOf(m.EncryptInit(sh, r.mech, r.key)))
			assert.Equal(t, r.rv, rvOf(m.DecryptInit(sh, r.mech, r.key)))
		})
	}
	before := bc.encrypts.Load()
	encRows := []struct {
		name string
		pt   []byte
		rv   string
	}{
		{"data len range for an empty plaintext", []byte{}, "CKR_DATA_LEN_RANGE"},
		{"data len range for a 4097-byte plaintext", make([]byte, 4097), "CKR_DATA_LEN_RANGE"},
	}
	for _, r := range encRows {
		t.Run(r.name, func(t *testing.T) {
			require.NoError(t, m.EncryptInit(sh, blobMech(nil), a))
			_, _, err := m.Encrypt(sh, r.pt, true, 0)
			assert.Equal(t, r.rv, rvOf(err))
			_, _, err = m.Encrypt(sh, []byte("x"), true, 0)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
		})
	}
	assert.Equal(t, before, bc.encrypts.Load(), "refused before any remote call")
	t.Run("function not supported for C_EncryptUpdate: single-part only", func(t *testing.T) {
		require.NoError(t, m.EncryptInit(sh, blobMech(nil), a))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.EncryptUpdate(sh)))
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.EncryptFinal(sh)))
	})
	t.Run("function not supported for C_DecryptUpdate: single-part only", func(t *testing.T) {
		require.NoError(t, m.DecryptInit(sh, blobMech(nil), a))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.DecryptUpdate(sh)))
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.DecryptFinal(sh)))
	})
}
