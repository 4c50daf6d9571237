package token

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

var sm2pke = Mechanism{Type: mechanisms.CKM_P11KMS_SM2PKE}

// sm2OpenSSLEncrypt has openssl encrypt pt to the KMS public key of alias.
func sm2OpenSSLEncrypt(t *testing.T, alias string, pt []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "pt"), filepath.Join(dir, "ct")
	require.NoError(t, os.WriteFile(in, pt, 0o600))
	msg, err := sm2OpenSSL(t, "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", sm2PubFile(t, alias), "-in", in, "-out", out)
	require.NoError(t, err, msg)
	ct, err := os.ReadFile(out)
	require.NoError(t, err)
	return ct
}

func TestSM2PKEDecryptsOpenSSLCiphertext(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	priv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-crypt")
	for _, n := range []int{1, 32, 1000, mechanisms.MaxSM2Plaintext} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ct := sm2OpenSSLEncrypt(t, "t-sm2-crypt", pt)
		require.NoError(t, m.DecryptInit(sh, sm2pke, priv))
		_, size, err := m.Decrypt(sh, ct, true, 0)
		require.NoError(t, err)
		assert.Equal(t, uint(n), size, "the size query is exact: C2's length")
		if n > 1 {
			_, size, err = m.Decrypt(sh, ct, false, uint(n-1))
			assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
			assert.Equal(t, uint(n), size)
		}
		got, size, err := m.Decrypt(sh, ct, false, uint(n))
		require.NoError(t, err)
		assert.Equal(t, uint(n), size)
		assert.Equal(t, pt, got)
	}
}

func TestSM2PKEEncryptDecryptedByKMS(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	pub := sm2Object(t, m, sh, ck.CKO_PUBLIC_KEY, "t-sm2-crypt")
	priv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-crypt")
	oracle := sm2Oracle(t)
	for _, n := range []int{1, 100, mechanisms.MaxSM2Plaintext} {
		pt := bytes.Repeat([]byte{'s'}, n)
		require.NoError(t, m.EncryptInit(sh, sm2pke, pub))
		_, bound, err := m.Encrypt(sh, pt, true, 0)
		require.NoError(t, err)
		_, exact, err := m.Encrypt(sh, pt, false, 10)
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
		assert.LessOrEqual(t, exact, bound, "the size query bounds the ciphertext")
		ct, size, err := m.Encrypt(sh, pt, false, exact)
		require.NoError(t, err)
		assert.Equal(t, exact, size, "the retry returns the ciphertext the short buffer was told of")
		require.Len(t, ct, int(exact))
		got, err := oracle.Decrypt(context.Background(), sm2Infos["t-sm2-crypt"].ARN, kmsbackend.SM2PKE, ct)
		require.NoError(t, err, "KMS Decrypt of the token's ciphertext")
		assert.Equal(t, pt, got)
		back, err := tokenDecrypt(t, m, sh, priv, sm2pke, ct)
		require.NoError(t, err)
		assert.Equal(t, pt, back)
	}
}

func TestSM2PKERefusals(t *testing.T) {
	m := sm2Module(t)
	sh := openSession(t, m)
	priv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-crypt")
	pub := sm2Object(t, m, sh, ck.CKO_PUBLIC_KEY, "t-sm2-crypt")
	signPriv := sm2Object(t, m, sh, ck.CKO_PRIVATE_KEY, "t-sm2-sign")
	signPub := sm2Object(t, m, sh, ck.CKO_PUBLIC_KEY, "t-sm2-sign")
	good := sm2OpenSSLEncrypt(t, "t-sm2-crypt", []byte("twelve bytes"))
	t.Run("init", func(t *testing.T) {
		assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(m.DecryptInit(sh, sm2pke, signPriv)), "SIGN_VERIFY key")
		assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(m.EncryptInit(sh, sm2pke, signPub)), "SIGN_VERIFY key")
		assert.Equal(t, "CKR_KEY_FUNCTION_NOT_PERMITTED", rvOf(m.DecryptInit(sh, sm2pke, pub)), "public key cannot decrypt")
		assert.Equal(t, "CKR_MECHANISM_PARAM_INVALID", rvOf(m.DecryptInit(sh, Mechanism{Type: mechanisms.CKM_P11KMS_SM2PKE, Param: []byte{0}}, priv)))
		assert.Equal(t, "CKR_KEY_TYPE_INCONSISTENT", rvOf(m.DecryptInit(sh, oaep256, priv)), "RSA-OAEP on an SM2 key")
	})
	ctRows := []struct {
		name string
		ct   []byte
		rv   string
	}{
		{"garbage", []byte("not an SM2 ciphertext"), "CKR_ENCRYPTED_DATA_INVALID"},
		{"trailing byte", append(bytes.Clone(good), 0), "CKR_ENCRYPTED_DATA_INVALID"},
		{"tampered C2 (KMS refuses)", flipByte(good, len(good)-1), "CKR_ENCRYPTED_DATA_INVALID"},
		{"another key's ciphertext (KMS refuses)", sm2OpenSSLEncrypt(t, "t-sm2-sign", []byte("twelve bytes")), "CKR_ENCRYPTED_DATA_INVALID"},
		{"too long", make([]byte, 6144), "CKR_ENCRYPTED_DATA_LEN_RANGE"},
	}
	for _, r := range ctRows {
		t.Run("decrypt "+r.name, func(t *testing.T) {
			require.NoError(t, m.DecryptInit(sh, sm2pke, priv))
			_, _, err := m.Decrypt(sh, r.ct, false, 2048)
			assert.Equal(t, r.rv, rvOf(err))
			_, _, err = m.Decrypt(sh, good, false, 2048)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "the refusal ended the operation")
		})
	}
	for _, n := range []int{0, mechanisms.MaxSM2Plaintext + 1} {
		t.Run(fmt.Sprintf("encrypt a %d-byte plaintext", n), func(t *testing.T) {
			require.NoError(t, m.EncryptInit(sh, sm2pke, pub))
			_, _, err := m.Encrypt(sh, make([]byte, n), false, 4096)
			assert.Equal(t, "CKR_DATA_LEN_RANGE", rvOf(err), "%d bytes", n)
		})
	}
	t.Run("single-part only", func(t *testing.T) {
		require.NoError(t, m.DecryptInit(sh, sm2pke, priv))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.DecryptUpdate(sh)))
		require.NoError(t, m.EncryptInit(sh, sm2pke, pub))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.EncryptFinal(sh)))
	})
}
