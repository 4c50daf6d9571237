package mechanisms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// oaepParams returns the flattened parameter cgo builds for hashAlg/mgf/source/label.
func oaepParams(hash, mgf, source uint, label []byte) []byte {
	return EncodeOAEPParams(OAEPParams{Hash: hash, MGF: mgf, Source: source, Label: label})
}

var (
	oaepSHA1   = oaepParams(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, ck.CKZ_DATA_SPECIFIED, nil)
	oaepSHA256 = oaepParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil)
)

// cryptKeyFor returns the test key of a spec as an encryption key allowing both KMS OAEP algorithms.
func cryptKeyFor(t testing.TB, spec kmsbackend.KeySpec) CryptKey {
	t.Helper()
	pub, err := ParsePublicKey(keyFor(t, spec).spki)
	require.NoError(t, err)
	return CryptKey{Spec: spec, Pub: pub, Algorithms: []kmsbackend.EncryptionAlgorithm{kmsbackend.RSAES_OAEP_SHA_1, kmsbackend.RSAES_OAEP_SHA_256}}
}

func TestOAEPParamsLayoutOnLinux64(t *testing.T) {
	require.Contains(t, []string{"amd64", "arm64"}, runtime.GOARCH, "this layout test is written for LP64 little-endian")
	want := make([]byte, 24, 27)
	binary.LittleEndian.PutUint64(want[0:], ck.CKM_SHA256)
	binary.LittleEndian.PutUint64(want[8:], ck.CKG_MGF1_SHA256)
	binary.LittleEndian.PutUint64(want[16:], ck.CKZ_DATA_SPECIFIED)
	want = append(want, 'a', 'b', 'c')
	assert.Equal(t, 24, OAEPParamsHeaderLen)
	assert.Equal(t, want, oaepParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, []byte("abc")))
	p, err := ParseOAEPParams(want)
	require.NoError(t, err)
	assert.Equal(t, OAEPParams{Hash: ck.CKM_SHA256, MGF: ck.CKG_MGF1_SHA256, Source: ck.CKZ_DATA_SPECIFIED, Label: []byte("abc")}, p)
	p, err = ParseOAEPParams(oaepSHA1)
	require.NoError(t, err)
	assert.Empty(t, p.Label, "a header alone is an empty label")
}

func TestParseOAEPParamsRefusesShortInput(t *testing.T) {
	rows := []struct {
		name    string
		input   []byte
		wantMsg string
	}{
		{"refuses nil", nil, "CK_RSA_PKCS_OAEP_PARAMS: 0 bytes, want at least 24"},
		{"refuses one CK_ULONG", make([]byte, 8), "CK_RSA_PKCS_OAEP_PARAMS: 8 bytes, want at least 24"},
		{"refuses 23 bytes", make([]byte, 23), "CK_RSA_PKCS_OAEP_PARAMS: 23 bytes, want at least 24"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := ParseOAEPParams(r.input)
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Zero(t, p)
		})
	}
}

func TestOAEPParamsKMSAlgorithm(t *testing.T) {
	const rule = "AWS KMS decrypts RSA-OAEP only with SHA-1 or SHA-256 (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256), MGF1 of the same hash and no label"
	rows := []struct {
		name     string
		params   OAEPParams
		wantAlg  kmsbackend.EncryptionAlgorithm
		wantHash crypto.Hash
		wantMsg  string
	}{
		{"accepts SHA-1 with MGF1-SHA1", OAEPParams{ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, ck.CKZ_DATA_SPECIFIED, nil}, kmsbackend.RSAES_OAEP_SHA_1, crypto.SHA1, ""},
		{"accepts SHA-256 with MGF1-SHA256", OAEPParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil}, kmsbackend.RSAES_OAEP_SHA_256, crypto.SHA256, ""},
		{"accepts an unset source without a label", OAEPParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 0, []byte{}}, kmsbackend.RSAES_OAEP_SHA_256, crypto.SHA256, ""},
		{"refuses SHA-384", OAEPParams{ck.CKM_SHA384, ck.CKG_MGF1_SHA384, ck.CKZ_DATA_SPECIFIED, nil}, 0, 0, "OAEP hashAlg CKM_SHA384: " + rule},
		{"refuses SHA-512", OAEPParams{ck.CKM_SHA512, ck.CKG_MGF1_SHA512, ck.CKZ_DATA_SPECIFIED, nil}, 0, 0, "OAEP hashAlg CKM_SHA512: " + rule},
		{"refuses SHA-224", OAEPParams{ck.CKM_SHA224, ck.CKG_MGF1_SHA224, ck.CKZ_DATA_SPECIFIED, nil}, 0, 0, "OAEP hashAlg CKM_SHA224: " + rule},
		{"refuses SHA-256 with MGF1-SHA1", OAEPParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA1, ck.CKZ_DATA_SPECIFIED, nil}, 0, 0, "OAEP mgf 0x1 with hashAlg CKM_SHA256: " + rule},
		{"refuses SHA-1 with MGF1-SHA256", OAEPParams{ck.CKM_SHA_1, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil}, 0, 0, "OAEP mgf 0x2 with hashAlg CKM_SHA_1: " + rule},
		{"refuses a 3-byte label (pkcs11-tool --test)", OAEPParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, []byte("abc")}, 0, 0, "OAEP label of 3 bytes: " + rule},
		{"refuses a label with an unset source", OAEPParams{ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, 0, []byte{0}}, 0, 0, "OAEP label of 1 bytes: " + rule},
		{"refuses an unknown source", OAEPParams{ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, 2, nil}, 0, 0, "OAEP source 0x2 is not CKZ_DATA_SPECIFIED: " + rule},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			alg, h, err := r.params.KMSAlgorithm()
			if r.wantMsg == "" {
				require.NoError(t, err)
			} else {
				requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
				assert.Equal(t, r.wantMsg, ckMsg(err))
			}
			assert.Equal(t, r.wantAlg, alg)
			assert.Equal(t, r.wantHash, h)
		})
	}
}

func TestNewOAEPPlan(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallDER, err := x509.MarshalPKIXPublicKey(&small.PublicKey)
	require.NoError(t, err)
	smallPub, err := ParsePublicKey(smallDER)
	require.NoError(t, err)
	only256 := cryptKeyFor(t, kmsbackend.SpecRSA2048)
	only256.Algorithms = []kmsbackend.EncryptionAlgorithm{kmsbackend.RSAES_OAEP_SHA_256}
	rows := []struct {
		name          string
		mech          uint
		param         []byte
		key           CryptKey
		wantRV        uint
		wantAlg       kmsbackend.EncryptionAlgorithm
		wantK, wantPT int
	}{
		{"RSA-2048 SHA-256 plans 256-byte ciphertexts, 190-byte messages", ck.CKM_RSA_PKCS_OAEP, oaepSHA256, cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_OK, kmsbackend.RSAES_OAEP_SHA_256, 256, 190},
		{"RSA-3072 SHA-1 plans 384-byte ciphertexts, 342-byte messages", ck.CKM_RSA_PKCS_OAEP, oaepSHA1, cryptKeyFor(t, kmsbackend.SpecRSA3072), ck.CKR_OK, kmsbackend.RSAES_OAEP_SHA_1, 384, 342},
		{"RSA-4096 SHA-256 plans 512-byte ciphertexts, 446-byte messages", ck.CKM_RSA_PKCS_OAEP, oaepSHA256, cryptKeyFor(t, kmsbackend.SpecRSA4096), ck.CKR_OK, kmsbackend.RSAES_OAEP_SHA_256, 512, 446},
		{"mechanism invalid for PKCS#1 v1.5 decryption (KMS has none)", ck.CKM_RSA_PKCS, nil, cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_INVALID, 0, 0, 0},
		{"mechanism invalid for raw RSA", ck.CKM_RSA_X_509, nil, cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_INVALID, 0, 0, 0},
		{"mechanism invalid for a signing mechanism", ck.CKM_SHA256_RSA_PKCS, nil, cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_INVALID, 0, 0, 0},
		{"key type inconsistent for a P-256 key", ck.CKM_RSA_PKCS_OAEP, oaepSHA256, CryptKey{Spec: kmsbackend.SpecECCNISTP256, Pub: testKMSKey(t, kmsbackend.SpecECCNISTP256).Pub}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0, 0},
		{"key size range for a 1024-bit key", ck.CKM_RSA_PKCS_OAEP, oaepSHA256, CryptKey{Pub: smallPub}, ck.CKR_KEY_SIZE_RANGE, 0, 0, 0},
		{"param invalid without parameters", ck.CKM_RSA_PKCS_OAEP, nil, cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"param invalid for a truncated parameter", ck.CKM_RSA_PKCS_OAEP, oaepSHA256[:16], cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"param invalid for SHA-384 OAEP", ck.CKM_RSA_PKCS_OAEP, oaepParams(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, ck.CKZ_DATA_SPECIFIED, nil), cryptKeyFor(t, kmsbackend.SpecRSA2048), ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"param invalid for SHA-1 on a key allowing only SHA-256", ck.CKM_RSA_PKCS_OAEP, oaepSHA1, only256, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0, 0},
		{"function failed for a key without a public key", ck.CKM_RSA_PKCS_OAEP, oaepSHA256, CryptKey{Spec: kmsbackend.SpecRSA2048}, ck.CKR_FUNCTION_FAILED, 0, 0, 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := NewOAEPPlan(r.mech, r.param, r.key)
			requireRV(t, r.wantRV, err)
			if r.wantRV != ck.CKR_OK {
				assert.Nil(t, p)
				return
			}
			assert.Equal(t, r.wantAlg, p.Algorithm)
			assert.Equal(t, r.wantK, p.ModulusLen)
			assert.Equal(t, r.wantPT, p.MaxPlaintext)
		})
	}
}

func TestOAEPPlanCheckCiphertext(t *testing.T) {
	p, err := NewOAEPPlan(ck.CKM_RSA_PKCS_OAEP, oaepSHA256, cryptKeyFor(t, kmsbackend.SpecRSA2048))
	require.NoError(t, err)
	n := keyFor(t, kmsbackend.SpecRSA2048).rsa.N
	ct, err := p.Encrypt(rand.Reader, []byte("x"))
	require.NoError(t, err)
	ones := make([]byte, 256)
	for i := range ones {
		ones[i] = 0xff
	}
	rows := []struct {
		name   string
		ct     []byte
		wantRV uint
	}{
		{"accepts a real ciphertext", ct, ck.CKR_OK},
		{"accepts zero", make([]byte, 256), ck.CKR_OK},
		{"len range for 255 bytes", ct[:255], ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"len range for 257 bytes", append([]byte{0}, ct...), ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"len range for nothing", nil, ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"invalid for the modulus itself", n.FillBytes(make([]byte, 256)), ck.CKR_ENCRYPTED_DATA_INVALID},
		{"invalid for all ones", ones, ck.CKR_ENCRYPTED_DATA_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			requireRV(t, r.wantRV, p.CheckCiphertext(r.ct))
		})
	}
	requireRV(t, ck.CKR_OK, p.CheckPlaintext(make([]byte, 190)))
	requireRV(t, ck.CKR_FUNCTION_FAILED, p.CheckPlaintext(make([]byte, 191)))
}

// TestOAEPEncryptDecryptsWithOpenSSL has openssl (an independent
// implementation) decrypt what the plan encrypts, with the private key the
// test holds, for each hash, key size and message length edge.
func TestOAEPEncryptDecryptsWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed as the independent decrypter")
	dir := t.TempDir()
	rows := []struct {
		name   string
		spec   kmsbackend.KeySpec
		param  []byte
		md     string
		msgLen int
		wantRV uint
	}{
		{"RSA-2048 SHA-256 longest message decrypts", kmsbackend.SpecRSA2048, oaepSHA256, "sha256", 190, ck.CKR_OK},
		{"RSA-2048 SHA-256 empty message decrypts", kmsbackend.SpecRSA2048, oaepSHA256, "sha256", 0, ck.CKR_OK},
		{"RSA-3072 SHA-1 32-byte message decrypts", kmsbackend.SpecRSA3072, oaepSHA1, "sha1", 32, ck.CKR_OK},
		{"RSA-4096 SHA-1 longest message decrypts", kmsbackend.SpecRSA4096, oaepSHA1, "sha1", 470, ck.CKR_OK},
		{"RSA-2048 SHA-256 data len range one byte over", kmsbackend.SpecRSA2048, oaepSHA256, "sha256", 191, ck.CKR_DATA_LEN_RANGE},
		{"RSA-2048 SHA-1 data len range one byte over", kmsbackend.SpecRSA2048, oaepSHA1, "sha1", 215, ck.CKR_DATA_LEN_RANGE},
	}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := NewOAEPPlan(ck.CKM_RSA_PKCS_OAEP, r.param, cryptKeyFor(t, r.spec))
			require.NoError(t, err)
			msg := make([]byte, r.msgLen)
			_, _ = rand.Read(msg)
			ct, err := p.Encrypt(rand.Reader, msg)
			requireRV(t, r.wantRV, err)
			if r.wantRV != ck.CKR_OK {
				assert.Nil(t, ct)
				return
			}
			require.Len(t, ct, p.ModulusLen)
			der, err := x509.MarshalPKCS8PrivateKey(keyFor(t, r.spec).rsa)
			require.NoError(t, err)
			keyFile, ctFile := filepath.Join(dir, fmt.Sprintf("%d.key", i)), filepath.Join(dir, fmt.Sprintf("%d.ct", i))
			require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
			decrypt := func(ct []byte) ([]byte, error) {
				require.NoError(t, os.WriteFile(ctFile, ct, 0o600))
				return exec.Command(openssl, "pkeyutl", "-decrypt", "-inkey", keyFile, "-in", ctFile,
					"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+r.md, "-pkeyopt", "rsa_mgf1_md:"+r.md).Output()
			}
			out, err := decrypt(ct)
			require.NoError(t, err)
			assert.Equal(t, msg, out, "openssl's plaintext")
			bad := append([]byte(nil), ct...)
			bad[len(bad)/2] ^= 0x01
			_, err = decrypt(bad)
			require.Error(t, err, "openssl decrypted a tampered ciphertext")
		})
	}
}

// FuzzParseOAEPParams: any input parses or is CKR_MECHANISM_PARAM_INVALID,
// never panics, and a parsed value encodes back to the same bytes.
func FuzzParseOAEPParams(f *testing.F) {
	f.Add(oaepSHA256)
	f.Add(oaepParams(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, ck.CKZ_DATA_SPECIFIED, []byte("label")))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseOAEPParams(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		assert.Equal(t, b, EncodeOAEPParams(p))
		if _, _, err := p.KMSAlgorithm(); err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
		}
	})
}
