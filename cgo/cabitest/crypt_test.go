package cabitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// cryptKeySpecs are the ENCRYPT_DECRYPT RSA keys TestCryptOAEP creates in the
// dev KMS (the seed has none), tagged so that only its own token selects them.
// They are scheduled for deletion when the test ends, so the main token, which
// shows every Enabled key, never sees them in other tests.
var cryptKeySpecs = []struct {
	label string
	spec  kmsbackend.KeySpec
}{
	{"cabitest-crypt-rsa2048", kmsbackend.SpecRSA2048},
	{"cabitest-crypt-rsa3072", kmsbackend.SpecRSA3072},
}

const cryptTag = "cabitest-crypt"

// createCryptKeys creates cryptKeySpecs through the AWS backend, straight at the dev KMS.
func createCryptKeys(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := aws.New(ctx, aws.Options{Region: devkms.DefaultRegion, Endpoint: devKMSURL, Anonymous: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	for _, k := range cryptKeySpecs {
		info, err := b.CreateKey(ctx, k.spec, kmsbackend.UsageEncryptDecrypt, "alias/"+k.label, "p11kms cabitest crypt", map[string]string{"suite": cryptTag})
		require.NoError(t, err, "CreateKey %s", k.label)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			assert.NoError(t, b.ScheduleKeyDeletion(ctx, info.ARN, 7), "ScheduleKeyDeletion %s", k.label)
		})
	}
}

// cryptConfig is a configuration whose one token shows the crypt keys, logging at debug level to logPath.
func cryptConfig(logPath string) string {
	return fmt.Sprintf("log: {level: debug, file: %q}\ntokens:\n%s", logPath,
		tokenYAML("crypt", fmt.Sprintf("    keys: {tags: {suite: %s}}\n", cryptTag)))
}

// oaep returns the CKM_RSA_PKCS_OAEP mechanism as miekg/pkcs11 lays it out in C memory.
func oaep(hashAlg, mgf uint, label []byte) []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(hashAlg, mgf, ck.CKZ_DATA_SPECIFIED, label))}
}

// rawOAEPParams lays out CK_RSA_PKCS_OAEP_PARAMS by hand (linux/amd64: five
// 8-byte fields) with the pointer pSourceData as a number, for what miekg
// cannot express (a NULL label with a length).
func rawOAEPParams(hashAlg, mgf, source, ptr, n uint64) []*pkcs11.Mechanism {
	b := make([]byte, 40)
	for i, v := range []uint64{hashAlg, mgf, source, ptr, n} {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, b)}
}

// openSSLEncrypt has openssl encrypt msg with RSA-OAEP (hash md, MGF1 md) under the PEM public key.
func openSSLEncrypt(t *testing.T, pubPEM string, md string, msg []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "msg"), filepath.Join(dir, "ct")
	require.NoError(t, os.WriteFile(in, msg, 0o600))
	cmd := exec.Command("openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pubPEM, "-in", in, "-out", out,
		"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:"+md, "-pkeyopt", "rsa_mgf1_md:"+md)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "openssl pkeyutl -encrypt: %s", b)
	ct, err := os.ReadFile(out)
	require.NoError(t, err)
	return ct
}

// TestCryptOAEP drives RSA-OAEP through the built library: openssl, Go's
// crypto/rsa and the token itself encrypt with the public key read off the
// token; the token decrypts through KMS; every refusal has its exact CK_RV.
func TestCryptOAEP(t *testing.T) {
	_, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent encrypter")
	createCryptKeys(t)
	logPath := filepath.Join(tmpDir, "crypt.log")
	p := initializedWith(t, cryptConfig(logPath))
	slot := slotByLabel(t, p, "crypt")
	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)

	t.Run("mechanism list and info", func(t *testing.T) {
		mechs, err := p.GetMechanismList(slot)
		requireRV(t, ck.CKR_OK, err)
		var types []uint
		for _, m := range mechs {
			types = append(types, m.Mechanism)
		}
		assert.Contains(t, types, uint(ck.CKM_RSA_PKCS_OAEP))
		assert.NotContains(t, types, uint(ck.CKM_RSA_PKCS), "no PKCS#1 v1.5: KMS does not decrypt it, and the keys cannot sign")
		info, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, nil)})
		requireRV(t, ck.CKR_OK, err)
		assert.Equal(t, pkcs11.MechanismInfo{MinKeySize: 2048, MaxKeySize: 4096, Flags: ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, info)
	})

	for _, k := range cryptKeySpecs {
		priv, pubH := keyObjects(t, p, sh, &keyFixture{alias: "alias/" + k.label})
		pub, ok := tokenPublicKey(t, p, sh, pubH).(*rsa.PublicKey)
		require.True(t, ok, "RSA public key")
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		pubPEM := filepath.Join(t.TempDir(), "pub.pem")
		require.NoError(t, os.WriteFile(pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
		for _, h := range []struct {
			name      string
			mech, mgf uint
			md        string
			goEncrypt func(msg []byte) ([]byte, error)
		}{
			{"SHA-256", ck.CKM_SHA256, ck.CKG_MGF1_SHA256, "sha256", func(m []byte) ([]byte, error) { return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, m, nil) }},
			{"SHA-1", ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, "sha1", func(m []byte) ([]byte, error) { return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, m, nil) }},
		} {
			maxLen := pub.Size() - 2*map[string]int{"sha256": 32, "sha1": 20}[h.md] - 2
			encrypters := []struct {
				name    string
				encrypt func(msg []byte) []byte
			}{
				{"openssl", func(m []byte) []byte { return openSSLEncrypt(t, pubPEM, h.md, m) }},
				{"Go crypto/rsa", func(m []byte) []byte { ct, err := h.goEncrypt(m); require.NoError(t, err); return ct }},
				{"the token", func(m []byte) []byte {
					requireRV(t, ck.CKR_OK, p.EncryptInit(sh, oaep(h.mech, h.mgf, nil), pubH), "C_EncryptInit")
					ct, err := p.Encrypt(sh, m)
					requireRV(t, ck.CKR_OK, err, "C_Encrypt")
					return ct
				}},
			}
			for _, e := range encrypters {
				for _, n := range []int{1, 32, maxLen} {
					t.Run(fmt.Sprintf("%s/%s/%s encrypts %d bytes, the token decrypts", k.label, h.name, e.name, n), func(t *testing.T) {
						msg := make([]byte, n)
						_, _ = rand.Read(msg)
						ct := e.encrypt(msg)
						require.Len(t, ct, pub.Size())
						before := kmsRequests.count("Decrypt")
						requireRV(t, ck.CKR_OK, p.DecryptInit(sh, oaep(h.mech, h.mgf, nil), priv), "C_DecryptInit")
						pt, err := p.Decrypt(sh, ct) // miekg: a size query (NULL buffer), then the call
						requireRV(t, ck.CKR_OK, err, "C_Decrypt")
						assert.Equal(t, msg, pt)
						assert.Equal(t, before+1, kmsRequests.count("Decrypt"), "one KMS Decrypt: the size query made none")
					})
				}
			}
		}
	}

	priv, pubH := keyObjects(t, p, sh, &keyFixture{alias: "alias/" + cryptKeySpecs[0].label})
	pub := tokenPublicKey(t, p, sh, pubH).(*rsa.PublicKey)
	secret := []byte("plaintext-marker-7f3a9c never logged")
	good, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
	require.NoError(t, err)

	t.Run("refusals", func(t *testing.T) {
		rows := []struct {
			name      string
			mech      []*pkcs11.Mechanism
			key       pkcs11.ObjectHandle
			ct        []byte
			wantInit  uint
			wantDec   uint
			wantCalls int
		}{
			{"param invalid for SHA-384 OAEP", oaep(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, nil), priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"param invalid for SHA-256 with MGF1-SHA1", oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA1, nil), priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"param invalid for a 3-byte label (pkcs11-tool --test)", oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, []byte("abc")), priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"param invalid for a NULL label with a length", rawOAEPParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, 0, 5), priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"param invalid for a PSS-sized parameter", []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, make([]byte, 24))}, priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"param invalid without a parameter", []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, nil)}, priv, good, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
			{"mechanism invalid for PKCS#1 v1.5 decryption", []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS, nil)}, priv, good, ck.CKR_MECHANISM_INVALID, 0, 0},
			{"key function not permitted for the public key", oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), pubH, good, ck.CKR_KEY_FUNCTION_NOT_PERMITTED, 0, 0},
			{"encrypted data len range for a short ciphertext", oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), priv, good[1:], ck.CKR_OK, ck.CKR_ENCRYPTED_DATA_LEN_RANGE, 0},
			{"encrypted data invalid for a SHA-1 decryption of SHA-256 (KMS)", oaep(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, nil), priv, good, ck.CKR_OK, ck.CKR_ENCRYPTED_DATA_INVALID, 1},
			{"encrypted data invalid for a corrupted ciphertext (KMS)", oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), priv, flipped(good), ck.CKR_OK, ck.CKR_ENCRYPTED_DATA_INVALID, 1},
		}
		for _, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				requireRV(t, r.wantInit, p.DecryptInit(sh, r.mech, r.key), "C_DecryptInit")
				before := kmsRequests.attemptCount("Decrypt")
				_, err := p.Decrypt(sh, r.ct)
				want := r.wantDec
				if r.wantInit != ck.CKR_OK {
					want = ck.CKR_OPERATION_NOT_INITIALIZED
				}
				requireRV(t, want, err, "C_Decrypt")
				assert.Equal(t, before+r.wantCalls, kmsRequests.attemptCount("Decrypt"), "KMS Decrypt requests (no retry of a refused ciphertext)")
				_, err = p.Decrypt(sh, good)
				requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, err, "the operation is over")
			})
		}
		requireRV(t, ck.CKR_OK, p.DecryptInit(sh, oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), priv))
		_, err := p.DecryptUpdate(sh, good)
		requireRV(t, ck.CKR_FUNCTION_NOT_SUPPORTED, err, "C_DecryptUpdate: single-part mechanism")
		requireRV(t, ck.CKR_OK, p.EncryptInit(sh, oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), pubH))
		_, err = p.Encrypt(sh, make([]byte, pub.Size()-2*32-1))
		requireRV(t, ck.CKR_DATA_LEN_RANGE, err, "C_Encrypt one byte over k-2hLen-2")
	})

	t.Run("source 0 without a label decrypts (pkcs11-tool 0.23 sends it)", func(t *testing.T) {
		mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 0, nil))}
		requireRV(t, ck.CKR_OK, p.DecryptInit(sh, mech, priv))
		pt, err := p.Decrypt(sh, good)
		requireRV(t, ck.CKR_OK, err)
		assert.Equal(t, secret, pt)
	})

	t.Run("log says what KMS supports and never holds the plaintext", func(t *testing.T) {
		requireRV(t, ck.CKR_OK, p.DecryptInit(sh, oaep(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, nil), priv))
		pt, err := p.Decrypt(sh, good)
		requireRV(t, ck.CKR_OK, err)
		require.Equal(t, secret, pt)
		log, err := os.ReadFile(logPath)
		require.NoError(t, err)
		assert.Contains(t, string(log), "OAEP hashAlg CKM_SHA384: AWS KMS decrypts RSA-OAEP only with SHA-1 or SHA-256")
		assert.Contains(t, string(log), "OAEP label of 3 bytes: AWS KMS decrypts RSA-OAEP only with SHA-1 or SHA-256")
		assert.False(t, bytes.Contains(log, []byte("plaintext-marker")), "the plaintext is in the module log")
	})
}

// TestCryptDigest checks C_Digest* through the built library against Go's
// crypto/sha*, on the main token (digests need no key), and C_DigestKey's refusal.
func TestCryptDigest(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	msg := bytes.Repeat([]byte("p11kms digests locally. "), 100)
	for _, c := range []struct {
		mech uint
		sum  []byte
	}{
		{ck.CKM_SHA_1, func() []byte { s := sha1.Sum(msg); return s[:] }()},
		{ck.CKM_SHA224, func() []byte { s := sha256.Sum224(msg); return s[:] }()},
		{ck.CKM_SHA256, func() []byte { s := sha256.Sum256(msg); return s[:] }()},
		{ck.CKM_SHA384, func() []byte { s := sha512.Sum384(msg); return s[:] }()},
		{ck.CKM_SHA512, func() []byte { s := sha512.Sum512(msg); return s[:] }()},
	} {
		t.Run(strings.TrimPrefix(ck.MechName(c.mech), "CKM_"), func(t *testing.T) {
			info, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(c.mech, nil)})
			requireRV(t, ck.CKR_OK, err, "C_GetMechanismInfo (Java needs it for SHA-256)")
			assert.Equal(t, pkcs11.MechanismInfo{Flags: ck.CKF_DIGEST}, info, "software digest: CKF_DIGEST only, key sizes 0")
			mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(c.mech, nil)}
			requireRV(t, ck.CKR_OK, p.DigestInit(sh, mech))
			got, err := p.Digest(sh, msg)
			requireRV(t, ck.CKR_OK, err, "C_Digest")
			assert.Equal(t, c.sum, got, "single-part")
			requireRV(t, ck.CKR_OK, p.DigestInit(sh, mech))
			for i := 0; i < len(msg); i += 333 {
				requireRV(t, ck.CKR_OK, p.DigestUpdate(sh, msg[i:min(i+333, len(msg))]))
			}
			got, err = p.DigestFinal(sh)
			requireRV(t, ck.CKR_OK, err, "C_DigestFinal")
			assert.Equal(t, c.sum, got, "multi-part")
		})
	}
	mechs, err := p.GetMechanismList(slot)
	requireRV(t, ck.CKR_OK, err)
	var types []uint
	for _, m := range mechs {
		types = append(types, m.Mechanism)
	}
	assert.Subset(t, types, []uint{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512})
	assert.NotContains(t, types, uint(ck.CKM_RSA_PKCS_OAEP), "the seeded keys are signing keys")

	requireRV(t, ck.CKR_MECHANISM_INVALID, p.DigestInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_MD5, nil)}))
	requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, p.DigestInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_SHA256, []byte{1})}))
	requireRV(t, ck.CKR_OK, p.DigestInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_SHA256, nil)}))
	priv, _ := keyObjects(t, p, sh, fixture("RSA2048"))
	requireRV(t, ck.CKR_FUNCTION_NOT_SUPPORTED, p.DigestKey(sh, priv), "C_DigestKey: key values never reach the module")
	_, err = p.DigestFinal(sh)
	requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, err, "C_DigestKey's error ended the operation")
}

func flipped(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)/2] ^= 0x01
	return out
}
