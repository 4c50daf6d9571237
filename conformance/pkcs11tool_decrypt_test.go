package conformance

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// p11toolOAEP is one set of RSA-OAEP parameters pkcs11-tool decrypts with.
type p11toolOAEP struct {
	name   string   // operation name
	args   []string // pkcs11-tool --hash-algorithm/--mgf ("" row: pkcs11-tool's defaults)
	md     string   // openssl rsa_oaep_md and rsa_mgf1_md of the ciphertext
	hashSz int      // bytes of the hash: the longest plaintext is k - 2*hashSz - 2
}

// p11toolOAEPRows are the OAEP parameters AWS KMS decrypts with (RSAES_OAEP_SHA_1,
// RSAES_OAEP_SHA_256: MGF1 of the same hash, no label; AWS KMS API reference,
// Decrypt EncryptionAlgorithm) as pkcs11-tool 0.23 spells them; with no
// --hash-algorithm it sends SHA-256/MGF1-SHA256 (CLIENTS.md).
var p11toolOAEPRows = []p11toolOAEP{
	{"SHA256", []string{"--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256"}, "sha256", 32},
	{"SHA-1", []string{"--hash-algorithm", "SHA-1", "--mgf", "MGF1-SHA1"}, "sha1", 20},
	{"default parameters (SHA256)", nil, "sha256", 32},
}

// p11toolDecryptRefusals are decryptions KMS cannot do: the module must
// refuse them at C_DecryptInit with the exact CK_RV (DESIGN.md "RSA-OAEP
// decrypt"; PKCS#11 2.40 §5.10 C_DecryptInit).
var p11toolDecryptRefusals = []struct {
	name string
	args []string // pkcs11-tool -m and parameters
	want string   // pkcs11-tool's error line
}{
	{"SHA384 (KMS has no RSAES_OAEP_SHA_384)", []string{"-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA384", "--mgf", "MGF1-SHA384"},
		"error: PKCS11 function C_DecryptInit failed: rv = CKR_MECHANISM_PARAM_INVALID (0x71)"},
	{"SHA256 with MGF1-SHA1 (KMS: MGF1 of the same hash)", []string{"-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA1"},
		"error: PKCS11 function C_DecryptInit failed: rv = CKR_MECHANISM_PARAM_INVALID (0x71)"},
	{"RSA-PKCS (KMS decrypts no PKCS#1 v1.5)", []string{"-m", "RSA-PKCS"},
		"error: PKCS11 function C_DecryptInit failed: rv = CKR_MECHANISM_INVALID (0x70)"},
}

// decryptKeys returns the RSA ENCRYPT_DECRYPT keys.
func decryptKeys() []*confKey {
	var out []*confKey
	for _, k := range env.Keys {
		if !k.CanSign() && k.IsRSA() {
			out = append(out, k)
		}
	}
	return out
}

// opensslOAEPEncrypt encrypts pt to k's public key with openssl (no engine).
func opensslOAEPEncrypt(t *testing.T, k *confKey, md, pt, ct string) {
	t.Helper()
	Cmd{Args: []string{"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", k.PubPEM, "-pkeyopt", "rsa_padding_mode:oaep",
		"-pkeyopt", "rsa_oaep_md:" + md, "-pkeyopt", "rsa_mgf1_md:" + md, "-in", pt, "-out", ct}, Env: noEngine()}.Run(t)
}

// p11toolDecrypt returns the pkcs11-tool command that decrypts in to out with k.
func p11toolDecrypt(k *confKey, in, out string, mech ...string) Cmd {
	args := append(loginArgs(), "--decrypt", "--id", k.IDHex(), "-i", in, "-o", out)
	return Cmd{Args: p11toolArgs(append(args, mech...)...)}
}

// TestPkcs11ToolDecrypt decrypts with pkcs11-tool what openssl encrypted
// with RSA-OAEP, and checks the refusals and pkcs11-tool --encrypt.
func TestPkcs11ToolDecrypt(t *testing.T) {
	for _, k := range decryptKeys() {
		for _, row := range p11toolOAEPRows {
			check(t, clientPkcs11Tool, "--decrypt RSA-PKCS-OAEP "+row.name+": "+k.Name, func(t *testing.T) {
				requireTool(t, "pkcs11-tool", "openssl")
				if env.Name == moduleSoftHSM && row.md == "sha256" {
					skipCheck(t, "SoftHSM2 2.6.1 rejects OAEP with SHA-256 (CKR_ARGUMENTS_BAD; CLIENTS.md)")
				}
				dir := t.TempDir()
				// 1 byte, and the longest plaintext OAEP takes (RFC 8017 §7.1.1).
				for _, n := range []int{1, k.Bits()/8 - 2*row.hashSz - 2} {
					pt := make([]byte, n)
					_, err := rand.Read(pt)
					require.NoError(t, err)
					ptFile, ctFile, outFile := filepath.Join(dir, "pt"), filepath.Join(dir, "ct"), filepath.Join(dir, "out")
					require.NoError(t, os.WriteFile(ptFile, pt, 0o600))
					opensslOAEPEncrypt(t, k, row.md, ptFile, ctFile)
					r := p11toolDecrypt(k, ctFile, outFile, append([]string{"-m", "RSA-PKCS-OAEP"}, row.args...)...).Run(t)
					assert.NotRegexp(t, warningLine, r.Combined)
					got, err := os.ReadFile(outFile)
					require.NoError(t, err)
					require.Equal(t, pt, got, "plaintext of %d bytes", n)
				}
			})
		}
		for _, row := range p11toolDecryptRefusals {
			check(t, clientPkcs11Tool, "--decrypt refused: "+row.name+": "+k.Name, func(t *testing.T) {
				requireTool(t, "pkcs11-tool")
				if env.Name == moduleSoftHSM {
					skipCheck(t, "a refusal of the KMS module; SoftHSM2 decrypts these")
				}
				dir := t.TempDir()
				ct := filepath.Join(dir, "ct")
				require.NoError(t, os.WriteFile(ct, make([]byte, k.Bits()/8), 0o600))
				c := p11toolDecrypt(k, ct, filepath.Join(dir, "out"), row.args...)
				r := c.Try(t)
				require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool did not fail"))
				require.Contains(t, r.Stderr, row.want, describeFailure(c, r, "not the expected refusal")) // stderr alone: its order against stdout is not kept in Combined
			})
		}
		check(t, clientPkcs11Tool, "--decrypt refused: tampered ciphertext gives CKR_ENCRYPTED_DATA_INVALID: "+k.Name, func(t *testing.T) {
			requireTool(t, "pkcs11-tool", "openssl")
			if env.Name == moduleSoftHSM {
				skipCheck(t, "reads the p11kms module log")
			}
			dir := t.TempDir()
			pt, ct, out := filepath.Join(dir, "pt"), filepath.Join(dir, "ct"), filepath.Join(dir, "out")
			require.NoError(t, os.WriteFile(pt, []byte("tampered"), 0o600))
			opensslOAEPEncrypt(t, k, "sha256", pt, ct)
			b, err := os.ReadFile(ct)
			require.NoError(t, err)
			b[len(b)/2] ^= 0x01
			require.NoError(t, os.WriteFile(ct, b, 0o600))
			logFrom := moduleLogSize()
			c := p11toolDecrypt(k, ct, out, "-m", "RSA-PKCS-OAEP")
			r := c.Try(t)
			require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool decrypted a tampered ciphertext"))
			// pkcs11-tool 0.23 retries a failed C_Decrypt with C_DecryptUpdate
			// and prints only the retry's error; the module log has C_Decrypt's.
			assert.Regexp(t, `fn=C_Decrypt rv=CKR_ENCRYPTED_DATA_INVALID\b`, moduleLogSince(logFrom), describeFailure(c, r, "no CKR_ENCRYPTED_DATA_INVALID in the module log"))
			if got, err := os.ReadFile(out); err == nil {
				assert.Empty(t, got, "pkcs11-tool wrote a plaintext")
			}
		})
		check(t, clientPkcs11Tool, "--encrypt RSA-PKCS-OAEP, token decrypts: "+k.Name, func(t *testing.T) {
			requireTool(t, "pkcs11-tool")
			dir := t.TempDir()
			pt, ct, out := filepath.Join(dir, "pt"), filepath.Join(dir, "ct"), filepath.Join(dir, "out")
			require.NoError(t, os.WriteFile(pt, []byte("encrypted by pkcs11-tool"), 0o600))
			oaep := []string{"-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256"}
			if env.Name == moduleSoftHSM { // SoftHSM2 2.6.1 rejects OAEP with SHA-256 (CLIENTS.md)
				oaep = []string{"-m", "RSA-PKCS-OAEP", "--hash-algorithm", "SHA-1", "--mgf", "MGF1-SHA1"}
			}
			c := Cmd{Args: p11toolArgs(append(append(loginArgs(), "--encrypt", "--id", k.IDHex(), "-i", pt, "-o", ct), oaep...)...)}
			r := c.Try(t)
			if r.Err != nil && strings.Contains(r.Stderr, "error: Secret key not found") {
				// Client limitation: OpenSC 0.23's --encrypt looks only for
				// CKO_SECRET_KEY objects (the same on SoftHSM2).
				skipCheck(t, "pkcs11-tool 0.23 --encrypt takes only secret keys (\"Secret key not found\")")
			}
			if r.Err != nil {
				t.Fatalf("%s", describeFailure(c, r, "pkcs11-tool --encrypt failed"))
			}
			p11toolDecrypt(k, ct, out, oaep...).Run(t)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			require.Equal(t, "encrypted by pkcs11-tool", string(got))
		})
	}
}

// moduleLogSize returns the module log's current size (0 if it has none).
func moduleLogSize() int64 {
	if fi, err := os.Stat(env.ModuleLog); err == nil {
		return fi.Size()
	}
	return 0
}

// moduleLogSince returns what the module logged after offset from.
func moduleLogSince(from int64) string {
	b, err := os.ReadFile(env.ModuleLog)
	if err != nil || int64(len(b)) < from {
		return ""
	}
	return string(b[from:])
}
