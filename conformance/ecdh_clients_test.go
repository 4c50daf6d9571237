package conformance

import (
	"crypto/ecdh"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend"

	"github.com/stretchr/testify/require"
)

// ecdhClientCurves are the KEY_AGREEMENT keys the libp11 engine and Java
// derive with. Sources: the brief (P-256 and P-384 at least); AWS KMS
// Developer Guide "Key spec reference" (ECC_NIST_* keys with KeyUsage
// KEY_AGREEMENT; DeriveSharedSecret returns the raw x-coordinate, as long
// as the curve's field); openssl curve names.
var ecdhClientCurves = []struct {
	name    string // key name: alias "conf-" + name, CKA_LABEL the same
	spec    kmsbackend.KeySpec
	curve   ecdh.Curve // Go's implementation: the independent oracle
	openssl string
	size    int // bytes of the shared secret
}{
	{"ecdh-p256", kmsbackend.SpecECCNISTP256, ecdh.P256(), "P-256", 32},
	{"ecdh-p384", kmsbackend.SpecECCNISTP384, ecdh.P384(), "P-384", 48},
}

// libp11EnumerateLimit is what the libp11 0.4.12 engine prints when the
// token holds a key whose CKA_KEY_TYPE it does not know (CKK_ML_DSA 0x4A;
// CKK_EC_EDWARDS 0x40 too in 0.4.12): its key enumeration gives up at the
// first such key (pkcs11-spy: every call returns CKR_OK and the engine
// stops right after reading CKA_KEY_TYPE 0x4A; in libp11 master,
// pkcs11_object_from_handle returns NULL for the type, so pkcs11_init_key
// and the whole pkcs11_find_keys fail), and no key of the token loads.
const libp11EnumerateLimit = "Unable to enumerate private keys"

// TestECDHClients derives ECDH shared secrets through real clients with
// KEY_AGREEMENT keys made by the aws backend's CreateKey (C_DeriveKey
// CKM_ECDH1_DERIVE: PKCS#11 2.40 Current Mechanisms §2.3.8, §2.3.9): the
// OpenSSL 3 libp11 engine (`openssl pkeyutl -derive -engine pkcs11`) and
// Java 17's SunPKCS11 (KeyAgreement "ECDH"). Each secret must equal the
// peer side's derivation in software: openssl's for the engine, Go's
// crypto/ecdh and Java's SunEC for Java.
//
// The libp11 engine loads keys only from a token where it knows every
// key's type (libp11EnumerateLimit), so its checks use a token holding
// only the ECDH keys, and one check shows what happens with an ML-DSA key
// beside them.
func TestECDHClients(t *testing.T) {
	x := startExtraKMS(t, nil)
	keys := map[string]*extraKey{}
	var ids []string
	for _, c := range ecdhClientCurves {
		k := x.createKey(t, c.spec, kmsbackend.UsageKeyAgreement, "conf-"+c.name)
		keys[c.name] = k
		if k.Info != nil {
			ids = append(ids, k.Info.ID)
		}
	}
	mldsa := x.createKey(t, kmsbackend.SpecMLDSA44, kmsbackend.UsageSignVerify, "conf-ml-dsa-44")

	for _, c := range ecdhClientCurves {
		k := keys[c.name]
		check(t, clientEngine, "pkeyutl -derive (CKM_ECDH1_DERIVE): "+c.name, func(t *testing.T) {
			requireTool(t, "openssl")
			x.require(t)
			k.require(t)
			tok := ecdhTokenEnv(t, x, ids, nil)
			got, want := engineDerive(t, tok, k, c.name, c.openssl)
			require.Len(t, got, c.size, "shared secret length")
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "the engine's ECDH secret differs from openssl's")
		})
	}
	check(t, clientEngine, "pkeyutl -derive with an ML-DSA key on the same token: ecdh-p256", func(t *testing.T) {
		requireTool(t, "openssl")
		x.require(t)
		keys["ecdh-p256"].require(t)
		mldsa.require(t)
		got, want := engineDerive(t, x.Env, keys["ecdh-p256"], "ecdh-p256", "P-256")
		require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "the engine's ECDH secret differs from openssl's")
	})

	javaECDHChecks(t, x, keys, ids)
}

// engineDerive makes a peer key pair with openssl on the curve, derives
// with the engine and k (token selected by tok), and returns the engine's
// secret and openssl's derivation from the peer's private key and the KMS
// public key. An engine run that fails with libp11EnumerateLimit is a skip.
func engineDerive(t *testing.T, tok []string, k *extraKey, name, curve string) (got, want []byte) {
	t.Helper()
	dir := t.TempDir()
	peer, peerPub, z := filepath.Join(dir, "peer.pem"), filepath.Join(dir, "peer_pub.pem"), filepath.Join(dir, "z")
	ossl := func(args ...string) Result {
		return Cmd{Args: append([]string{"openssl"}, args...), Env: noEngine()}.Run(t)
	}
	ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+curve, "-out", peer)
	ossl("pkey", "-in", peer, "-pubout", "-out", peerPub)
	want = []byte(ossl("pkeyutl", "-derive", "-inkey", peer, "-peerkey", k.PubPEM).Stdout)

	uri := fmt.Sprintf("pkcs11:token=%s;object=conf-%s;type=private;pin-value=%s", env.Token, name, env.PIN)
	c := Cmd{Args: []string{"openssl", "pkeyutl", "-derive", "-engine", "pkcs11", "-keyform", "engine", "-inkey", uri,
		"-peerkey", peerPub, "-out", z}, Env: append(engineConf(t), tok...)}
	r := c.Try(t)
	if r.Err != nil && strings.Contains(r.Combined, libp11EnumerateLimit) {
		skipCheck(t, "libp11 0.4.12 loads no key from a token holding a key type it does not know (CKK_ML_DSA): %q", libp11EnumerateLimit)
	}
	if r.Err != nil {
		t.Fatalf("%s", describeFailure(c, r, "openssl pkeyutl -derive through the engine failed"))
	}
	got, err := os.ReadFile(z)
	require.NoError(t, err)
	return got, want
}

// ecdhTokenEnv writes a configuration for x's token showing only the keys
// ids (README "Configuration", `keys: ids:`) and, for Java, certificate
// objects (`certificates:`, key label -> PEM file), and returns the
// environment selecting it.
func ecdhTokenEnv(t *testing.T, x *extraKMS, ids []string, certs map[string]string) []string {
	t.Helper()
	base, err := os.ReadFile(strings.TrimPrefix(x.Env[0], "P11KMS_CONFIG="))
	require.NoError(t, err, "the check's dev KMS configuration")
	var b strings.Builder
	b.Write(base)
	b.WriteString("    keys:\n      ids:\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "        - %q\n", id)
	}
	if len(certs) > 0 {
		b.WriteString("    certificates:\n")
		for label, file := range certs {
			fmt.Fprintf(&b, "      - key: %q\n        file: %q\n", label, file)
		}
	}
	path := filepath.Join(t.TempDir(), "p11kms-ecdh.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return []string{"P11KMS_CONFIG=" + path}
}
