package conformance

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxEdDSAMessage is the longest message CKM_EDDSA signs through KMS.
// Source: AWS KMS API reference, Sign Message ("up to 4096 bytes" for
// MessageType RAW) with ED25519_SHA_512.
const maxEdDSAMessage = 4096

// TestPkcs11ToolEdDSA signs with an Ed25519 key (made by the aws backend's
// CreateKey on a dev KMS of the test's own) through pkcs11-tool -m EDDSA
// and verifies with openssl against the public key KMS returned.
func TestPkcs11ToolEdDSA(t *testing.T) {
	x := startExtraKMS(t, nil)
	ed := x.createKey(t, kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, "conf-ed25519")
	tool := func(args ...string) []string { return p11toolArgs(append(loginArgs(), args...)...) }

	check(t, clientPkcs11Tool, "--read-object --type pubkey: ed25519", func(t *testing.T) {
		requireTool(t, "pkcs11-tool")
		x.require(t)
		ed.require(t)
		out := filepath.Join(t.TempDir(), "pub")
		Cmd{Args: p11toolArgs("--read-object", "--type", "pubkey", "--id", ed.IDHex(), "-o", out), Env: x.Env}.Run(t)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		// pkcs11-tool 0.23 writes EdDSA public keys as PEM (RSA and EC ones as DER).
		if b, _ := pem.Decode(got); b != nil {
			t.Logf("pkcs11-tool wrote PEM (%s)", b.Type)
			got = b.Bytes
		}
		require.Equal(t, ed.Info.PublicKeyDER, got, "the token's public key is not the one KMS returned (GetPublicKey)")
	})

	check(t, clientPkcs11Tool, "--sign/--verify EDDSA: ed25519", func(t *testing.T) {
		requireTool(t, "pkcs11-tool", "openssl")
		x.require(t)
		ed.require(t)
		dir := t.TempDir()
		msg, sig := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
		for _, n := range []int{1, 1000, maxEdDSAMessage} {
			data := make([]byte, n)
			_, err := rand.Read(data)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(msg, data, 0o600))
			r := Cmd{Args: tool("--sign", "--id", ed.IDHex(), "-m", "EDDSA", "-i", msg, "-o", sig), Env: x.Env}.Run(t)
			assert.NotRegexp(t, warningLine, r.Combined)
			s, err := os.ReadFile(sig)
			require.NoError(t, err)
			require.Len(t, s, 64, "Ed25519 signature (RFC 8032 §5.1.6)")
			requireOpenSSLEdVerify(t, ed.PubPEM, msg, sig, true)
			out := Cmd{Args: tool("--verify", "--id", ed.IDHex(), "-m", "EDDSA", "-i", msg, "--signature-file", sig), Env: x.Env}.Run(t).Combined
			require.Contains(t, out, "Signature is valid", "%d-byte message", n)

			// A flipped bit: openssl refuses, the token answers
			// CKR_SIGNATURE_INVALID (pkcs11-tool 0.23 says so and exits 0).
			s[n%64] ^= 0x04
			require.NoError(t, os.WriteFile(sig, s, 0o600))
			requireOpenSSLEdVerify(t, ed.PubPEM, msg, sig, false)
			out = Cmd{Args: tool("--verify", "--id", ed.IDHex(), "-m", "EDDSA", "-i", msg, "--signature-file", sig), Env: x.Env}.Run(t).Combined
			require.Contains(t, out, "Invalid signature", "%d-byte message, flipped signature", n)
			require.NotContains(t, out, "Signature is valid")
		}
	})

	check(t, clientPkcs11Tool, "--sign EDDSA refused: message over 4096 bytes gives CKR_DATA_LEN_RANGE: ed25519", func(t *testing.T) {
		requireTool(t, "pkcs11-tool")
		x.require(t)
		ed.require(t)
		dir := t.TempDir()
		msg := filepath.Join(dir, "msg")
		require.NoError(t, os.WriteFile(msg, bytes.Repeat([]byte{'a'}, maxEdDSAMessage+1), 0o600))
		c := Cmd{Args: tool("--sign", "--id", ed.IDHex(), "-m", "EDDSA", "-i", msg, "-o", filepath.Join(dir, "sig")), Env: x.Env}
		r := c.Try(t)
		require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool signed 4097 bytes"))
		// pkcs11-tool 0.23 signs inputs over 4096 bytes multi-part: the refusal comes at C_SignFinal.
		require.Contains(t, r.Stderr, "error: PKCS11 function C_SignFinal failed: rv = CKR_DATA_LEN_RANGE (0x21)", describeFailure(c, r, "not the expected refusal"))
	})
}

// requireOpenSSLEdVerify checks with openssl (no engine) that sigFile is
// (valid) or is not (!valid) an Ed25519 signature of msgFile under pubPEM.
func requireOpenSSLEdVerify(t *testing.T, pubPEM, msgFile, sigFile string, valid bool) {
	t.Helper()
	c := Cmd{Args: []string{"openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin", "-in", msgFile, "-sigfile", sigFile}, Env: noEngine()}
	r := c.Try(t)
	if valid && (r.Err != nil || !strings.Contains(r.Stdout, "Signature Verified Successfully")) {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the Ed25519 signature"))
	}
	if !valid && (r.Err == nil || !strings.Contains(r.Combined, "Signature Verification Failure")) {
		t.Fatalf("%s", describeFailure(c, r, "openssl did not refuse the altered Ed25519 signature"))
	}
}
