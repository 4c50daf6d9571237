package mechanisms

import (
	"crypto"
	"encoding/asn1"
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
)

// TestOpenSSLVerifiesPlanSignatures has openssl (an independent
// implementation) verify signatures made through plans and the fake KMS,
// including the cases where the digest is padded or cut for KMS. A tampered
// signature must fail, so the check can fail.
func TestOpenSSLVerifiesPlanSignatures(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed as the independent verifier")
	rows := []struct {
		name  string
		spec  kmsbackend.KeySpec
		mech  uint
		param []byte
		input []byte // C_Sign input; openssl verifies testMessage with dgst
		dgst  string
		sigop []string
	}{
		{"secp256k1 ECDSA-SHA256 verifies", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA_SHA256, nil, testMessage, "-sha256", nil},
		{"secp256k1 ECDSA over a SHA-512 digest (cut) verifies", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA, nil, hashOf(crypto.SHA512, testMessage), "-sha512", nil},
		{"P-521 ECDSA over a SHA-256 digest (padded) verifies", kmsbackend.SpecECCNISTP521, ck.CKM_ECDSA, nil, hashOf(crypto.SHA256, testMessage), "-sha256", nil},
		{"P-521 ECDSA-SHA512 verifies", kmsbackend.SpecECCNISTP521, ck.CKM_ECDSA_SHA512, nil, testMessage, "-sha512", nil},
		{"P-384 ECDSA-SHA512 (cut) verifies", kmsbackend.SpecECCNISTP384, ck.CKM_ECDSA_SHA512, nil, testMessage, "-sha512", nil},
		{"P-256 ECDSA-SHA384 (cut) verifies", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA_SHA384, nil, testMessage, "-sha384", nil},
		{"RSA-2048 RSA-PKCS over a SHA-512 DigestInfo verifies", kmsbackend.SpecRSA2048, ck.CKM_RSA_PKCS, nil,
			append(mustHex(t, rfcSHA512Prefix), hashOf(crypto.SHA512, testMessage)...), "-sha512", nil},
		{"RSA-3072 SHA256-RSA-PKCS-PSS verifies with salt 32", kmsbackend.SpecRSA3072, ck.CKM_SHA256_RSA_PKCS_PSS, pssParams[crypto.SHA256], testMessage, "-sha256",
			[]string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"}},
		{"RSA-4096 RSA-PKCS-PSS over a SHA-512 hash verifies with salt 64", kmsbackend.SpecRSA4096, ck.CKM_RSA_PKCS_PSS, pssParams[crypto.SHA512], hashOf(crypto.SHA512, testMessage), "-sha512",
			[]string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64", "-sigopt", "rsa_mgf1_md:sha512"}},
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(data, testMessage, 0o600))
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			tk := keyFor(t, r.spec)
			plan, err := NewSignPlan(r.mech, r.param, testKMSKey(t, r.spec))
			require.NoError(t, err)
			req, err := plan.Request(r.input)
			require.NoError(t, err)
			sig, err := plan.Output(fakeKMSSign(t, tk, req))
			require.NoError(t, err)
			if tk.rsa == nil {
				sig = rawToDERForOpenSSL(t, sig)
			}
			pub := filepath.Join(dir, "pub"+string(rune('a'+i))+".der")
			require.NoError(t, os.WriteFile(pub, tk.spki, 0o600))
			run := func(sig []byte) (string, error) {
				sigFile := filepath.Join(dir, "sig")
				require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
				args := append([]string{"dgst", r.dgst, "-keyform", "DER", "-verify", pub, "-signature", sigFile}, r.sigop...)
				out, err := exec.Command(openssl, append(args, data)...).CombinedOutput()
				return strings.TrimSpace(string(out)), err
			}
			out, err := run(sig)
			require.NoError(t, err, out)
			assert.Equal(t, "Verified OK", out)
			bad := append([]byte(nil), sig...)
			bad[len(bad)-5] ^= 0x01
			out, err = run(bad)
			require.Error(t, err, "openssl accepted a tampered signature")
			assert.Contains(t, out, "Verification failure")
		})
	}
}

// rawToDERForOpenSSL re-encodes r||s with encoding/asn1 (not this package's RawToDER).
func rawToDERForOpenSSL(t *testing.T, raw []byte) []byte {
	n := len(raw) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
	require.NoError(t, err)
	return der
}
