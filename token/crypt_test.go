package token

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// cryptSuite is created once, in the shared dev KMS, tagged suite=crypt so
// that only cryptModule's token sees it (testModule selects suite=token).
var cryptSuite = &keySuite{tag: "crypt", desc: "p11kms crypt test", keys: []suiteKey{
	{"t-crypt-rsa2048", kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt},
	{"t-crypt-rsa3072", kmsbackend.SpecRSA3072, kmsbackend.UsageEncryptDecrypt},
	{"t-crypt-sign", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify},
}}

// decryptCounter counts the KMS Decrypt calls of a real backend.
type decryptCounter struct {
	kmsbackend.Backend
	decrypts atomic.Int64
}

func (c *decryptCounter) Decrypt(ctx context.Context, arn string, alg kmsbackend.EncryptionAlgorithm, ct []byte) ([]byte, error) {
	c.decrypts.Add(1)
	return c.Backend.Decrypt(ctx, arn, alg, ct)
}

// cryptModule returns an initialized module whose one token sees cryptSuite.
func cryptModule(t *testing.T) (*Module, *decryptCounter) {
	t.Helper()
	cryptSuite.create(t)
	return suiteModule(t, "crypt", "{tags: {suite: crypt}}", "", func(b kmsbackend.Backend) *decryptCounter {
		return &decryptCounter{Backend: b}
	})
}

// tokenRSAKey reads the public key off the token, as a client would (CKA_MODULUS, CKA_PUBLIC_EXPONENT).
func tokenRSAKey(t *testing.T, m *Module, sh, pub uint) *rsa.PublicKey {
	t.Helper()
	n := new(big.Int).SetBytes(attrValue(t, m, sh, pub, ck.CKA_MODULUS))
	e := new(big.Int).SetBytes(attrValue(t, m, sh, pub, ck.CKA_PUBLIC_EXPONENT))
	return &rsa.PublicKey{N: n, E: int(e.Int64())}
}

func oaepMech(hashMech, mgf uint, label []byte) Mechanism {
	return Mechanism{Type: ck.CKM_RSA_PKCS_OAEP, Param: mechanisms.EncodeOAEPParams(mechanisms.OAEPParams{Hash: hashMech, MGF: mgf, Source: ck.CKZ_DATA_SPECIFIED, Label: label})}
}

var (
	oaep1   = oaepMech(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, nil)
	oaep256 = oaepMech(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil)
)

// tokenDecrypt runs C_DecryptInit and a C_Decrypt with a buffer of the modulus length.
func tokenDecrypt(t *testing.T, m *Module, sh, priv uint, mech Mechanism, ct []byte) ([]byte, error) {
	t.Helper()
	require.NoError(t, m.DecryptInit(sh, mech, priv))
	pt, _, err := m.Decrypt(sh, ct, false, uint(len(ct)))
	return pt, err
}

func TestCryptMechanismListAndInfo(t *testing.T) {
	digests := []uint{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512}
	m, _ := cryptModule(t)
	list, err := m.MechanismList(0)
	require.NoError(t, err)
	assert.Contains(t, list, uint(ck.CKM_RSA_PKCS_OAEP), "an ENCRYPT_DECRYPT RSA key brings RSA-OAEP")
	assert.Contains(t, list, uint(ck.CKM_SHA256_RSA_PKCS), "the signing key brings the signing mechanisms")
	assert.Subset(t, list, digests)
	info, err := m.MechanismInfo(0, ck.CKM_RSA_PKCS_OAEP)
	require.NoError(t, err)
	assert.Equal(t, MechanismInfo{MinKeySize: 2048, MaxKeySize: 4096, Flags: ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, info)

	signOnly, _ := testModule(t, "")
	list, err = signOnly.MechanismList(0)
	require.NoError(t, err)
	assert.NotContains(t, list, uint(ck.CKM_RSA_PKCS_OAEP), "no ENCRYPT_DECRYPT key, no RSA-OAEP")
	assert.Subset(t, list, digests, "digests need no key")
	_, err = signOnly.MechanismInfo(0, ck.CKM_RSA_PKCS_OAEP)
	assert.Equal(t, "CKR_MECHANISM_INVALID", rvOf(err))
	for _, d := range digests {
		info, err := signOnly.MechanismInfo(0, d)
		require.NoError(t, err, ck.MechName(d))
		assert.Equal(t, MechanismInfo{Flags: ck.CKF_DIGEST}, info, "%s: software digest, key sizes 0", ck.MechName(d))
	}
}

// TestDecryptInterop: what Go's crypto/rsa and the token's own C_Encrypt
// encrypt with the public key read off the token, KMS decrypts through the
// token, for both hashes KMS supports and message-length edges.
func TestDecryptInterop(t *testing.T) {
	m, dc := cryptModule(t)
	sh := openSession(t, m)
	for _, c := range []struct {
		label string
		mech  Mechanism
		hash  crypto.Hash
		n     int
	}{
		{"t-crypt-rsa2048", oaep256, crypto.SHA256, 190},
		{"t-crypt-rsa2048", oaep1, crypto.SHA1, 0},
		{"t-crypt-rsa3072", oaep1, crypto.SHA1, 342},
		{"t-crypt-rsa3072", oaep256, crypto.SHA256, 17},
	} {
		priv, pubH := keyPair(t, m, sh, c.label)
		pub := tokenRSAKey(t, m, sh, pubH)
		msg := make([]byte, c.n)
		_, _ = rand.Read(msg)
		t.Run(fmt.Sprintf("%s/%v/%d-byte message/Go crypto encrypts", c.label, c.hash, c.n), func(t *testing.T) {
			ct, err := rsa.EncryptOAEP(c.hash.New(), rand.Reader, pub, msg, nil)
			require.NoError(t, err)
			before := dc.decrypts.Load()
			pt, err := tokenDecrypt(t, m, sh, priv, c.mech, ct)
			require.NoError(t, err)
			assert.Equal(t, msg, pt)
			assert.Equal(t, before+1, dc.decrypts.Load(), "one KMS Decrypt")
		})
		t.Run(fmt.Sprintf("%s/%v/%d-byte message/token encrypts", c.label, c.hash, c.n), func(t *testing.T) {
			require.NoError(t, m.EncryptInit(sh, c.mech, pubH))
			ct, n, err := m.Encrypt(sh, msg, false, 1024)
			require.NoError(t, err)
			assert.Equal(t, uint(pub.Size()), n)
			pt, err := tokenDecrypt(t, m, sh, priv, c.mech, ct)
			require.NoError(t, err)
			assert.Equal(t, msg, pt)
		})
	}
}

// TestDecryptOutputConventions: PKCS#11 2.40 §5.2 for C_Decrypt. A size query
// answers the modulus length without a remote call; a short buffer gets the
// exact length after one KMS Decrypt, and the retry is answered from the
// cached plaintext; the cache is wiped when the operation ends.
func TestDecryptOutputConventions(t *testing.T) {
	m, dc := cryptModule(t)
	sh := openSession(t, m)
	priv, pubH := keyPair(t, m, sh, "t-crypt-rsa2048")
	pub := tokenRSAKey(t, m, sh, pubH)
	msg, other := []byte("twenty-four bytes secret"), []byte("another one")
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	require.NoError(t, err)
	ct2, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, other, nil)
	require.NoError(t, err)

	require.NoError(t, m.DecryptInit(sh, oaep256, priv))
	before := dc.decrypts.Load()
	for range 2 {
		_, n, err := m.Decrypt(sh, ct, true, 0)
		require.NoError(t, err, "size query")
		assert.Equal(t, uint(256), n, "size query: the modulus length, an upper bound")
	}
	assert.Equal(t, before, dc.decrypts.Load(), "no KMS Decrypt for size queries")

	_, n, err := m.Decrypt(sh, ct, false, 23)
	assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	assert.Equal(t, uint(len(msg)), n, "the exact plaintext length")
	assert.Equal(t, before+1, dc.decrypts.Load(), "one KMS Decrypt to learn the length")
	_, n, err = m.Decrypt(sh, ct, true, 0)
	require.NoError(t, err)
	assert.Equal(t, uint(len(msg)), n, "a size query after the decryption is exact")
	pt, n, err := m.Decrypt(sh, ct, false, 24)
	require.NoError(t, err)
	assert.Equal(t, msg, pt)
	assert.Equal(t, uint(24), n)
	assert.Equal(t, before+1, dc.decrypts.Load(), "the retry needs no second KMS Decrypt")
	_, _, err = m.Decrypt(sh, ct, false, 256)
	assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "success ended the operation")

	require.NoError(t, m.DecryptInit(sh, oaep256, priv))
	_, _, err = m.Decrypt(sh, ct, false, 1)
	require.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	pt, _, err = m.Decrypt(sh, ct2, false, 256)
	require.NoError(t, err)
	assert.Equal(t, other, pt, "a retry with another ciphertext decrypts that one")
	assert.Equal(t, before+3, dc.decrypts.Load())

	require.NoError(t, m.DecryptInit(sh, oaep256, priv))
	_, _, err = m.Decrypt(sh, ct, false, 1)
	require.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
	sess, ok := m.sessions.get(sh)
	require.True(t, ok)
	cached := sess.decrypt.cache.plain
	require.Equal(t, msg, cached)
	m.EndDecrypt(sh)
	assert.Equal(t, make([]byte, len(msg)), cached, "the cached plaintext is zeroed when the operation ends")
}

// TestDecryptErrors: every refusal with its exact CK_RV, and whether KMS was asked.
func TestDecryptErrors(t *testing.T) {
	m, dc := cryptModule(t)
	sh := openSession(t, m)
	priv, pubH := keyPair(t, m, sh, "t-crypt-rsa2048")
	priv3072, _ := keyPair(t, m, sh, "t-crypt-rsa3072")
	signPriv, _ := keyPair(t, m, sh, "t-crypt-sign")
	pub := tokenRSAKey(t, m, sh, pubH)
	ct256, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("hello"), nil)
	require.NoError(t, err)
	ct1, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte("hello"), nil)
	require.NoError(t, err)
	initRows := []struct {
		name   string
		mech   Mechanism
		key    uint
		wantRV string
	}{
		{"param invalid for SHA-384 OAEP", oaepMech(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, nil), priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for SHA-512 OAEP", oaepMech(ck.CKM_SHA512, ck.CKG_MGF1_SHA512, nil), priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for SHA-256 with MGF1-SHA1", oaepMech(ck.CKM_SHA256, ck.CKG_MGF1_SHA1, nil), priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a label", oaepMech(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, []byte("abc")), priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid without parameters", Mechanism{Type: ck.CKM_RSA_PKCS_OAEP}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"mechanism invalid for PKCS#1 v1.5", Mechanism{Type: ck.CKM_RSA_PKCS}, priv, "CKR_MECHANISM_INVALID"},
		{"key function not permitted for a signing key", oaep256, signPriv, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"key function not permitted for the public key", oaep256, pubH, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"key handle invalid for no object", oaep256, 0, "CKR_KEY_HANDLE_INVALID"},
	}
	for _, r := range initRows {
		t.Run("C_DecryptInit "+r.name, func(t *testing.T) {
			assert.Equal(t, r.wantRV, rvOf(m.DecryptInit(sh, r.mech, r.key)))
			_, _, err := m.Decrypt(sh, ct256, false, 256)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "no operation was started")
		})
	}
	decRows := []struct {
		name      string
		key       uint
		mech      Mechanism
		ct        []byte
		wantRV    string
		wantCalls int64
		wantDevEr uint
	}{
		{"encrypted data len range for 255 bytes", priv, oaep256, ct256[:255], "CKR_ENCRYPTED_DATA_LEN_RANGE", 0, 0},
		{"encrypted data len range for another key's length", priv3072, oaep256, ct256, "CKR_ENCRYPTED_DATA_LEN_RANGE", 0, 0},
		{"encrypted data invalid for a value above the modulus", priv, oaep256, bytesOf(0xff, 256), "CKR_ENCRYPTED_DATA_INVALID", 0, 0},
		{"encrypted data invalid for SHA-1 ciphertext as SHA-256 (KMS)", priv, oaep256, ct1, "CKR_ENCRYPTED_DATA_INVALID", 1, uint(kmsbackend.KindInvalidCiphertext)},
		{"encrypted data invalid for a corrupted ciphertext (KMS)", priv, oaep1, flipByte(ct1, 100), "CKR_ENCRYPTED_DATA_INVALID", 1, uint(kmsbackend.KindInvalidCiphertext)},
	}
	for _, r := range decRows {
		t.Run("C_Decrypt "+r.name, func(t *testing.T) {
			require.NoError(t, m.DecryptInit(sh, r.mech, r.key))
			before := dc.decrypts.Load()
			_, _, err := m.Decrypt(sh, r.ct, false, 512)
			assert.Equal(t, r.wantRV, rvOf(err))
			assert.Equal(t, before+r.wantCalls, dc.decrypts.Load(), "KMS Decrypt calls")
			if r.wantCalls > 0 {
				info, err := m.SessionInfo(sh)
				require.NoError(t, err)
				assert.Equal(t, r.wantDevEr, info.DeviceError, "ulDeviceError: the invalid-ciphertext reason code")
			}
			_, _, err = m.Decrypt(sh, ct256, false, 512)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "the error ended the operation")
		})
	}
	t.Run("operation state", func(t *testing.T) {
		_, _, err := m.Decrypt(sh, ct256, false, 256)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.DecryptUpdate(sh)))
		require.NoError(t, m.DecryptInit(sh, oaep256, priv))
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(m.DecryptInit(sh, oaep256, priv)))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.DecryptUpdate(sh)), "single-part mechanism")
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.DecryptFinal(sh)), "C_DecryptUpdate ended it")
		require.NoError(t, m.DecryptInit(sh, oaep256, priv))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.DecryptFinal(sh)))
		_, _, err = m.Decrypt(sh+1, ct256, false, 256)
		assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(err))
	})
}

func TestEncryptConventionsAndErrors(t *testing.T) {
	m, dc := cryptModule(t)
	sh := openSession(t, m)
	priv, pubH := keyPair(t, m, sh, "t-crypt-rsa2048")
	_, signPub := keyPair(t, m, sh, "t-crypt-sign")
	for _, r := range []struct {
		name   string
		mech   Mechanism
		key    uint
		wantRV string
	}{
		{"key function not permitted for the private key", oaep256, priv, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"key function not permitted for a signing key", oaep256, signPub, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
		{"param invalid for a label (KMS could not decrypt it)", oaepMech(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, []byte("x")), pubH, "CKR_MECHANISM_PARAM_INVALID"},
		{"mechanism invalid for PKCS#1 v1.5", Mechanism{Type: ck.CKM_RSA_PKCS}, pubH, "CKR_MECHANISM_INVALID"},
	} {
		t.Run("C_EncryptInit "+r.name, func(t *testing.T) {
			assert.Equal(t, r.wantRV, rvOf(m.EncryptInit(sh, r.mech, r.key)))
		})
	}
	t.Run("size query and short buffer keep the operation", func(t *testing.T) {
		require.NoError(t, m.EncryptInit(sh, oaep1, pubH))
		_, n, err := m.Encrypt(sh, []byte("m"), true, 0)
		require.NoError(t, err)
		assert.Equal(t, uint(256), n)
		_, n, err = m.Encrypt(sh, []byte("m"), false, 255)
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
		assert.Equal(t, uint(256), n)
		ct, _, err := m.Encrypt(sh, []byte("m"), false, 256)
		require.NoError(t, err)
		pt, err := tokenDecrypt(t, m, sh, priv, oaep1, ct)
		require.NoError(t, err)
		assert.Equal(t, []byte("m"), pt)
		_, _, err = m.Encrypt(sh, []byte("m"), false, 256)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
	})
	t.Run("data len range one byte over k-2hLen-2 ends the operation", func(t *testing.T) {
		require.NoError(t, m.EncryptInit(sh, oaep256, pubH))
		_, _, err := m.Encrypt(sh, make([]byte, 191), false, 256)
		assert.Equal(t, "CKR_DATA_LEN_RANGE", rvOf(err))
		_, _, err = m.Encrypt(sh, nil, false, 256)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
	})
	t.Run("multi-part is not supported", func(t *testing.T) {
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.EncryptUpdate(sh)))
		require.NoError(t, m.EncryptInit(sh, oaep256, pubH))
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(m.EncryptInit(sh, oaep256, pubH)))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.EncryptUpdate(sh)))
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.EncryptFinal(sh)))
		require.NoError(t, m.EncryptInit(sh, oaep256, pubH))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.EncryptFinal(sh)))
	})
	assert.Equal(t, int64(1), dc.decrypts.Load(), "only the one C_Decrypt reached KMS: encryption is local")
}

func TestDigest(t *testing.T) {
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	msg := []byte("digested locally, never sent to KMS")
	sums := map[uint]func([]byte) []byte{
		ck.CKM_SHA_1:  func(b []byte) []byte { s := sha1.Sum(b); return s[:] },
		ck.CKM_SHA224: func(b []byte) []byte { s := sha256.Sum224(b); return s[:] },
		ck.CKM_SHA256: func(b []byte) []byte { s := sha256.Sum256(b); return s[:] },
		ck.CKM_SHA384: func(b []byte) []byte { s := sha512.Sum384(b); return s[:] },
		ck.CKM_SHA512: func(b []byte) []byte { s := sha512.Sum512(b); return s[:] },
	}
	for mech, sum := range sums {
		want := sum(msg)
		t.Run(ck.MechName(mech)+"/single-part matches crypto", func(t *testing.T) {
			require.NoError(t, m.DigestInit(sh, Mechanism{Type: mech}))
			_, n, err := m.Digest(sh, msg, true, 0)
			require.NoError(t, err)
			assert.Equal(t, uint(len(want)), n, "size query")
			_, n, err = m.Digest(sh, msg, false, uint(len(want)-1))
			assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
			assert.Equal(t, uint(len(want)), n)
			got, _, err := m.Digest(sh, msg, false, 64)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			_, _, err = m.Digest(sh, msg, false, 64)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "C_Digest ended the operation")
		})
		t.Run(ck.MechName(mech)+"/multi-part matches crypto", func(t *testing.T) {
			require.NoError(t, m.DigestInit(sh, Mechanism{Type: mech}))
			for _, part := range [][]byte{msg[:3], nil, msg[3:20], msg[20:]} {
				require.NoError(t, m.DigestUpdate(sh, part))
			}
			_, n, err := m.DigestFinal(sh, false, 1)
			assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
			assert.Equal(t, uint(len(want)), n)
			got, _, err := m.DigestFinal(sh, false, 64)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
		t.Run(ck.MechName(mech)+"/empty message matches crypto", func(t *testing.T) {
			require.NoError(t, m.DigestInit(sh, Mechanism{Type: mech}))
			got, _, err := m.DigestFinal(sh, false, 64)
			require.NoError(t, err)
			assert.Equal(t, sum(nil), got)
		})
	}
	t.Run("refusals", func(t *testing.T) {
		assert.Equal(t, "CKR_MECHANISM_INVALID", rvOf(m.DigestInit(sh, Mechanism{Type: ck.CKM_MD5})))
		assert.Equal(t, "CKR_MECHANISM_PARAM_INVALID", rvOf(m.DigestInit(sh, Mechanism{Type: ck.CKM_SHA256, Param: []byte{1}})))
		assert.Equal(t, "CKR_SESSION_HANDLE_INVALID", rvOf(m.DigestInit(sh+1, Mechanism{Type: ck.CKM_SHA256})))
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.DigestUpdate(sh, msg)))
		require.NoError(t, m.DigestInit(sh, Mechanism{Type: ck.CKM_SHA256}))
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(m.DigestInit(sh, Mechanism{Type: ck.CKM_SHA256})))
		require.NoError(t, m.DigestUpdate(sh, msg))
		_, _, err := m.Digest(sh, msg, false, 64)
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(err), "C_Digest cannot finish a multi-part digest")
		_, _, err = m.DigestFinal(sh, false, 64)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "and the error ended it")
		require.NoError(t, m.DigestInit(sh, Mechanism{Type: ck.CKM_SHA256}))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.DigestKey(sh, 1)))
		_, _, err = m.DigestFinal(sh, false, 64)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "C_DigestKey's error ended the operation")
	})
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func flipByte(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	out[i] ^= 0x01
	return out
}
