package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// verifyWithOpenSSL checks sig over data with openssl (no engine, no
// module: an independent verifier) and k's seeded public key: `openssl dgst
// -<hash> -verify pub.pem -signature sig [-sigopt ...] data`. sig must be
// DER for ECDSA (see ecRawToDER). sigopts are openssl -sigopt values such
// as "rsa_padding_mode:pss", "rsa_pss_saltlen:32".
func verifyWithOpenSSL(t *testing.T, k *confKey, hash string, data, sig []byte, sigopts ...string) {
	t.Helper()
	dir := t.TempDir()
	dataFile, sigFile := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
	require.NoError(t, os.WriteFile(dataFile, data, 0o600))
	require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
	verifyFilesWithOpenSSL(t, k, hash, dataFile, sigFile, sigopts...)
}

// verifyFilesWithOpenSSL is verifyWithOpenSSL on files.
func verifyFilesWithOpenSSL(t *testing.T, k *confKey, hash, dataFile, sigFile string, sigopts ...string) {
	t.Helper()
	args := []string{"openssl", "dgst", "-" + hash, "-verify", k.PubPEM, "-signature", sigFile}
	for _, o := range sigopts {
		args = append(args, "-sigopt", o)
	}
	args = append(args, dataFile)
	c := Cmd{Args: args, Env: noEngine()}
	r := c.Try(t)
	if r.Err != nil || strings.TrimSpace(r.Stdout) != "Verified OK" {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the signature"))
	}
}

// verifyRawECDSAFile converts a raw r||s signature file to DER and verifies
// it over dataFile with openssl.
func verifyRawECDSAFile(t *testing.T, k *confKey, hash, dataFile, rawSigFile string) {
	t.Helper()
	raw, err := os.ReadFile(rawSigFile)
	require.NoError(t, err)
	require.Len(t, raw, 2*k.Curve().size, "raw ECDSA signature length for %s", k.Name)
	der, err := ecRawToDER(raw)
	require.NoError(t, err)
	derFile := rawSigFile + ".der"
	require.NoError(t, os.WriteFile(derFile, der, 0o600))
	verifyFilesWithOpenSSL(t, k, hash, dataFile, derFile)
}

// verifyCertWithOpenSSL checks with openssl (no engine) that cert is signed
// by caCert (`openssl verify -CAfile ca -partial_chain`, so a non-root CA
// works too) and that the certificate carries subject's public key.
func verifyCertWithOpenSSL(t *testing.T, caCert, cert string, subject *confKey) {
	t.Helper()
	c := Cmd{Args: []string{"openssl", "verify", "-partial_chain", "-CAfile", caCert, cert}, Env: noEngine()}
	r := c.Try(t)
	if r.Err != nil || strings.TrimSpace(r.Stdout) != cert+": OK" {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the certificate"))
	}
	requireSamePublicKey(t, subject, Cmd{Args: []string{"openssl", "x509", "-in", cert, "-noout", "-pubkey"}, Env: noEngine()}.Run(t).Stdout)
}

// verifyCSRWithOpenSSL checks the CSR's self-signature with openssl (no
// engine) and that it carries subject's public key.
func verifyCSRWithOpenSSL(t *testing.T, csr string, subject *confKey) {
	t.Helper()
	c := Cmd{Args: []string{"openssl", "req", "-in", csr, "-noout", "-verify"}, Env: noEngine()}
	r := c.Try(t)
	if r.Err != nil || !strings.Contains(r.Combined, "verify OK") {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the CSR"))
	}
	requireSamePublicKey(t, subject, Cmd{Args: []string{"openssl", "req", "-in", csr, "-noout", "-pubkey"}, Env: noEngine()}.Run(t).Stdout)
}

// requireSamePublicKey checks that a PEM public key is k's seeded key.
func requireSamePublicKey(t *testing.T, k *confKey, pemText string) {
	t.Helper()
	want, err := os.ReadFile(k.PubPEM)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(string(want)), strings.TrimSpace(pemText), "public key differs from the seeded %s key", k.Name)
}

// requireSameDER checks that DER bytes are k's seeded SubjectPublicKeyInfo.
func requireSameDER(t *testing.T, k *confKey, der []byte) {
	t.Helper()
	require.True(t, bytes.Equal(k.PubDER, der), "public key DER differs from the seeded %s key", k.Name)
}

// noEngine returns environment settings that keep openssl away from the
// engine configuration (an independent verifier must not load the module).
func noEngine() []string { return []string{"OPENSSL_CONF=/dev/null"} }
