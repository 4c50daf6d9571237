package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// p11toolECDHCurves are the KEY_AGREEMENT key specs pkcs11-tool derives
// with. Sources: AWS KMS Developer Guide "Key spec reference" (ECC_NIST_*
// keys may have KeyUsage KEY_AGREEMENT; DeriveSharedSecret returns the raw
// shared secret, as long as the curve's field); openssl curve names.
var p11toolECDHCurves = []struct {
	name    string
	spec    kmsbackend.KeySpec
	openssl string
	size    int // bytes of the shared secret
}{
	{"ecdh-p256", kmsbackend.SpecECCNISTP256, "P-256", 32},
	{"ecdh-p384", kmsbackend.SpecECCNISTP384, "P-384", 48},
	{"ecdh-p521", kmsbackend.SpecECCNISTP521, "P-521", 66},
}

// TestPkcs11ToolDerive derives ECDH shared secrets with pkcs11-tool
// --derive -m ECDH1-DERIVE (C_DeriveKey; PKCS#11 2.40 Current Mechanisms
// §2.3.8 CK_ECDH1_DERIVE_PARAMS, §2.3.9 CKM_ECDH1_DERIVE) and KEY_AGREEMENT
// keys made by the aws backend's CreateKey, and compares each secret with
// openssl's derivation from the peer's private key and the KMS public key.
//
// pkcs11-tool 0.23 reads the peer's public key as a DER SubjectPublicKeyInfo
// (-i), passes the raw uncompressed point as pPublicData with kdf CKD_NULL
// (or, with --derive-pass-der, the point as a DER OCTET STRING, which a
// token MAY accept), asks for a session CKK_GENERIC_SECRET key with
// CKA_VALUE_LEN = the field size, CKA_SENSITIVE false and CKA_EXTRACTABLE
// true, and writes its CKA_VALUE to -o.
func TestPkcs11ToolDerive(t *testing.T) {
	x := startExtraKMS(t, nil)
	for _, c := range p11toolECDHCurves {
		k := x.createKey(t, c.spec, kmsbackend.UsageKeyAgreement, "conf-"+c.name)
		check(t, clientPkcs11Tool, "--derive ECDH1-DERIVE: "+c.name, func(t *testing.T) {
			requireTool(t, "pkcs11-tool", "openssl")
			x.require(t)
			k.require(t)
			got, want := deriveWithPeer(t, x, k, c.openssl, false)
			require.Len(t, got, c.size, "shared secret length")
			require.Equal(t, want, got, "the token's ECDH secret differs from openssl's")
		})
		if c.name != "ecdh-p256" {
			continue
		}
		check(t, clientPkcs11Tool, "--derive ECDH1-DERIVE --derive-pass-der (DER ECPoint, optional): "+c.name, func(t *testing.T) {
			requireTool(t, "pkcs11-tool", "openssl")
			x.require(t)
			k.require(t)
			got, want := deriveWithPeer(t, x, k, c.openssl, true)
			require.Len(t, got, c.size, "shared secret length")
			require.Equal(t, want, got, "the token's ECDH secret differs from openssl's")
		})
		deriveRefusals(t, x, k)
	}
}

// deriveRefusals checks what the module must refuse around ECDH, each with
// its exact CK_RV: a peer point on another curve (PKCS#11 2.40 §5.18
// C_DeriveKey; the parameter is invalid), deriving with a SIGN_VERIFY key
// (CKA_DERIVE false) and signing with a KEY_AGREEMENT key (CKA_SIGN false:
// PKCS#11 2.40 §4.9 Table 34, CKR_KEY_FUNCTION_NOT_PERMITTED).
func deriveRefusals(t *testing.T, x *extraKMS, p256 *extraKey) {
	rows := []struct {
		op   string // check name, without the subject
		peer string // curve of the peer key made by openssl
		main bool   // use the main token's SIGN_VERIFY p256 key instead of p256
		args []string
		want string
	}{
		{"--derive refused: P-384 peer for a P-256 key gives CKR_MECHANISM_PARAM_INVALID", "P-384", false, []string{"--derive", "-m", "ECDH1-DERIVE"},
			"error: PKCS11 function C_DeriveKey failed: rv = CKR_MECHANISM_PARAM_INVALID (0x71)"},
		{"--derive refused: SIGN_VERIFY key gives CKR_KEY_FUNCTION_NOT_PERMITTED", "P-256", true, []string{"--derive", "-m", "ECDH1-DERIVE"},
			"error: PKCS11 function C_DeriveKey failed: rv = CKR_KEY_FUNCTION_NOT_PERMITTED (0x68)"},
		{"--sign ECDSA refused: KEY_AGREEMENT key gives CKR_KEY_FUNCTION_NOT_PERMITTED", "P-256", false, []string{"--sign", "-m", "ECDSA"},
			"error: PKCS11 function C_SignInit failed: rv = CKR_KEY_FUNCTION_NOT_PERMITTED (0x68)"},
	}
	for _, row := range rows {
		subject := "ecdh-p256"
		if row.main {
			subject = "p256"
		}
		check(t, clientPkcs11Tool, row.op+": "+subject, func(t *testing.T) {
			requireTool(t, "pkcs11-tool", "openssl")
			x.require(t)
			p256.require(t)
			dir := t.TempDir()
			peer, in := filepath.Join(dir, "peer.pem"), filepath.Join(dir, "in")
			Cmd{Args: []string{"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + row.peer, "-out", peer}, Env: noEngine()}.Run(t)
			Cmd{Args: []string{"openssl", "pkey", "-in", peer, "-pubout", "-outform", "DER", "-out", in}, Env: noEngine()}.Run(t)
			if row.args[0] == "--sign" { // ECDSA signs a bare SHA-256 digest
				require.NoError(t, os.WriteFile(in, make([]byte, 32), 0o600))
			}
			id, tokEnv := p256.IDHex(), x.Env
			if row.main {
				id, tokEnv = env.key("p256").IDHex(), nil
			}
			args := append(append(loginArgs(), row.args...), "--id", id, "-i", in, "-o", filepath.Join(dir, "out"))
			c := Cmd{Args: p11toolArgs(args...), Env: tokEnv}
			r := c.Try(t)
			require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool did not fail"))
			require.Contains(t, r.Stderr, row.want, describeFailure(c, r, "not the expected refusal")) // stderr alone: its order against stdout is not kept in Combined
		})
	}
}

// deriveWithPeer makes a peer key pair on the curve with openssl, derives
// with pkcs11-tool and k, and returns the token's secret and openssl's.
// With passDER a refusal with CKR_MECHANISM_PARAM_INVALID is a skip: a
// token MAY refuse a DER-encoded ECPoint (PKCS#11 2.40 §2.3.8).
func deriveWithPeer(t *testing.T, x *extraKMS, k *extraKey, curve string, passDER bool) (got, want []byte) {
	t.Helper()
	dir := t.TempDir()
	peer, peerDER, secret := filepath.Join(dir, "peer.pem"), filepath.Join(dir, "peer_pub.der"), filepath.Join(dir, "secret")
	ossl := func(args ...string) Result {
		return Cmd{Args: append([]string{"openssl"}, args...), Env: noEngine()}.Run(t)
	}
	ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+curve, "-out", peer)
	ossl("pkey", "-in", peer, "-pubout", "-outform", "DER", "-out", peerDER)
	want = []byte(ossl("pkeyutl", "-derive", "-inkey", peer, "-peerkey", k.PubPEM).Stdout)

	args := append(loginArgs(), "--derive", "-m", "ECDH1-DERIVE", "--id", k.IDHex(), "-i", peerDER, "-o", secret)
	if passDER {
		args = append(args, "--derive-pass-der")
	}
	c := Cmd{Args: p11toolArgs(args...), Env: x.Env}
	r := c.Try(t)
	if r.Err != nil && passDER && strings.Contains(r.Combined, "C_DeriveKey failed: rv = CKR_MECHANISM_PARAM_INVALID") {
		skipCheck(t, "the module takes only the raw point as pPublicData (a DER ECPoint is optional: PKCS#11 2.40 §2.3.8)")
	}
	if r.Err != nil {
		t.Fatalf("%s", describeFailure(c, r, fmt.Sprintf("pkcs11-tool --derive failed (passDER %v)", passDER)))
	}
	assert.NotRegexp(t, warningLine, r.Combined)
	got, err := os.ReadFile(secret)
	require.NoError(t, err)
	return got, want
}
