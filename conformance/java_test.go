package conformance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientJava is Java 17's SunPKCS11 provider, driven through keytool and jarsigner.
const clientJava = "Java SunPKCS11 (keytool, jarsigner)"

func init() {
	registerClient(clientJava, func() (string, error) {
		out, err := exec.Command("java", "-version").CombinedOutput()
		if err != nil {
			return "", err
		}
		first, _, _ := strings.Cut(string(out), "\n")
		return first, nil
	})
}

// javaTimeout bounds one keytool/jarsigner run: a JVM start takes 2-5 s on
// the shared 2-core machine.
const javaTimeout = 90 * time.Second

// javaJarSigs are the jarsigner signature algorithms tested, each with the
// key it signs with and the signature algorithm openssl must find in the
// signature block. Sources: Java Security Standard Algorithm Names
// (Signature algorithms); CLIENTS.md "Java 17 SunPKCS11" (SHA256withRSA ->
// CKM_SHA256_RSA_PKCS multi-part, SHA256withECDSA -> CKM_ECDSA,
// RSASSA-PSS -> CKM_RSA_PKCS_PSS sLen 32).
var javaJarSigs = []struct {
	sigalg string // jarsigner -sigalg
	key    string // confKey name
	cmsAlg string // signatureAlgorithm openssl cms -cmsout -print shows
	// javaVerify: jarsigner -verify can check it. Java 17 has no secp256k1
	// ("keytool -genkeypair -groupname secp256k1": "Curve not supported"), so
	// SunPKCS11 signs through the token but Java cannot verify; openssl does.
	javaVerify bool
}{
	{"SHA256withRSA", "rsa2048", "sha256WithRSAEncryption", true}, // PKCS#1 v1.5
	{"RSASSA-PSS", "rsa2048", "rsassaPss", true},                  // PSS, SHA-256, salt 32
	{"SHA256withECDSA", "p256", "ecdsa-with-SHA256", true},        // ECDSA over SHA-256
	{"SHA384withECDSA", "p384", "ecdsa-with-SHA384", true},        // the curve's own digest
	{"SHA512withRSA", "rsa4096", "sha512WithRSAEncryption", true}, // the largest RSA key, SHA-512
	{"SHA256withECDSA", "secp256k1", "ecdsa-with-SHA256", false},  // verified by openssl only
}

// javaCSRs are the keytool -certreq signature algorithms tested (Java
// Security Standard Algorithm Names).
var javaCSRs = []struct{ sigalg, key string }{
	{"SHA256withRSA", "rsa2048"},
	{"SHA256withECDSA", "p256"},
}

// javaCertKeys are the keys that get a certificate on the main token, and
// so a keystore entry: every SIGN_VERIFY key but secp256k1, whose
// certificate goes on a token of its own (javaK1Keys) so that a module
// refusing it fails only the secp256k1 checks.
func javaCertKeys() []*confKey {
	var out []*confKey
	for _, k := range env.signKeys() {
		if k.Name != "secp256k1" {
			out = append(out, k)
		}
	}
	return out
}

// javaK1Keys are the keys with a certificate on the secp256k1 token: every
// SIGN_VERIFY key.
func javaK1Keys() []*confKey { return env.signKeys() }

// TestJava lists the token's keys with keytool, signs jars with jarsigner
// and verifies them with jarsigner and openssl. Java only lists a key that
// has a certificate object with the same CKA_ID (CLIENTS.md), so the
// certificates are first made with the libp11 engine and the token key, and
// attached through the module configuration's `certificates:` option.
func TestJava(t *testing.T) {
	dir := t.TempDir()
	var certs map[string]string
	var mainEnv, k1Env []string // token settings; nil when the set-up failed
	check(t, clientJava, "attach certificates made by the libp11 engine", func(t *testing.T) {
		requireTool(t, "openssl", "keytool", "jarsigner", "jar", "java")
		certs = javaMakeCertificates(t, dir, javaK1Keys())
		mainEnv = javaAttachCertificates(t, filepath.Join(dir, "main"), certs, javaCertKeys())
	})
	check(t, clientJava, "attach certificates made by the libp11 engine: secp256k1", func(t *testing.T) {
		if certs == nil {
			skipCheck(t, "no certificates (the certificate set-up check failed)")
		}
		k1Env = javaAttachCertificates(t, filepath.Join(dir, "k1"), certs, javaK1Keys())
	})
	cfg := filepath.Join(dir, "sunpkcs11.cfg")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, "name = p11kms-conformance\nlibrary = %s\nslotListIndex = 0\n", env.Module), 0o644))
	ks := []string{"-keystore", "NONE", "-storetype", "PKCS11", "-providerClass", "sun.security.pkcs11.SunPKCS11",
		"-providerArg", cfg, "-storepass", env.PIN}
	// java runs a keytool/jarsigner command on the token that holds k's
	// certificate (k nil: the main token).
	java := func(t *testing.T, k *confKey, args ...string) Result {
		t.Helper()
		tokenEnv, which := mainEnv, "certificate set-up"
		if k != nil && k.Name == "secp256k1" {
			tokenEnv, which = k1Env, "secp256k1 certificate set-up"
		}
		if tokenEnv == nil {
			skipCheck(t, "no token with the certificate (the %s check failed)", which)
		}
		return Cmd{Args: args, Env: tokenEnv, Dir: dir, Timeout: javaTimeout}.Run(t)
	}

	check(t, clientJava, "keytool -list", func(t *testing.T) {
		out := java(t, nil, append([]string{"keytool", "-list"}, ks...)...).Stdout
		keys := javaCertKeys()
		assert.Contains(t, out, fmt.Sprintf("Your keystore contains %d entries", len(keys)))
		for _, k := range keys {
			fp := javaFingerprint(t, certs[k.Name])
			assert.Regexp(t, regexp.QuoteMeta(k.Label)+`, PrivateKeyEntry, *\nCertificate fingerprint \(SHA-256\): `+fp+`\n`, out,
				"%s is not a PrivateKeyEntry with its certificate", k.Label)
		}
	})

	jar := filepath.Join(dir, "t.jar")
	check(t, clientJava, "jar: build the jar to sign", func(t *testing.T) {
		requireTool(t, "jar")
		src := filepath.Join(dir, "jarsrc")
		require.NoError(t, os.MkdirAll(src, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, "hello.txt"), []byte("p11kms signs this jar\n"), 0o644))
		Cmd{Args: []string{"jar", "cf", jar, "-C", src, "hello.txt"}, Timeout: javaTimeout}.Run(t)
	})

	for _, row := range javaJarSigs {
		k := env.key(row.key)
		check(t, clientJava, "jarsigner -sigalg "+row.sigalg+": "+k.Name, func(t *testing.T) {
			if _, err := os.Stat(jar); err != nil {
				skipCheck(t, "no jar to sign (the jar check failed)")
			}
			signed := filepath.Join(dir, "signed-"+row.sigalg+"-"+k.Name+".jar")
			args := append([]string{"jarsigner"}, ks...)
			out := java(t, k, append(args, "-sigalg", row.sigalg, "-signedjar", signed, jar, k.Label)...).Stdout
			require.Contains(t, out, "jar signed.")
			// Java's own verifier, then openssl on the signature block.
			if row.javaVerify {
				v := Cmd{Args: []string{"jarsigner", "-verify", signed}, Timeout: javaTimeout}.Run(t)
				require.Contains(t, v.Stdout, "jar verified.")
			}
			javaVerifyBlock(t, dir, signed, k, row.cmsAlg)
		})
	}

	for _, row := range javaCSRs {
		k := env.key(row.key)
		check(t, clientJava, "keytool -certreq -sigalg "+row.sigalg+": "+k.Name, func(t *testing.T) {
			csr := filepath.Join(dir, k.Name+".java.csr")
			args := append([]string{"keytool", "-certreq"}, ks...)
			java(t, k, append(args, "-alias", k.Label, "-sigalg", row.sigalg, "-file", csr)...)
			verifyCSRWithOpenSSL(t, csr, k)
		})
	}
}

// javaMakeCertificates makes a self-signed certificate for each key with
// the libp11 engine (`openssl req -x509` signing on the token, CLIENTS.md
// "OpenSSL 3 + libp11 engine"), checks it with openssl without the engine,
// and returns the PEM file of each key by name.
func javaMakeCertificates(t *testing.T, dir string, keys []*confKey) map[string]string {
	t.Helper()
	conf := filepath.Join(dir, "engine.cnf")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, `openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
MODULE_PATH = %s
init = 0
`, env.Module), 0o644))
	certs := map[string]string{}
	for _, k := range keys {
		hash := "sha256"
		if !k.IsRSA() {
			hash = k.Curve().hash
		}
		out := filepath.Join(dir, k.Name+".crt")
		key := k.URI("private") + ";pin-value=" + env.PIN
		Cmd{Args: []string{"openssl", "req", "-new", "-x509", "-days", "30", "-engine", "pkcs11", "-keyform", "engine",
			"-key", key, "-" + hash, "-subj", "/CN=" + k.Label + "/O=p11kms conformance", "-out", out},
			Env: []string{"OPENSSL_CONF=" + conf}}.Run(t)
		verifyCertWithOpenSSL(t, out, out, k)
		certs[k.Name] = out
	}
	return certs
}

// javaAttachCertificates makes the certificates visible to Java as
// CKO_CERTIFICATE objects with the key's CKA_ID and label, and returns the
// environment settings that select that token. p11kms: a copy of the
// module configuration with the token option `certificates: [{key, file}]`
// (key: the alias without "alias/" or the key id; file: PEM or DER; both
// forms are used). SoftHSM: a token of its own holding the same keys, the
// certificates written with pkcs11-tool --write-object.
func javaAttachCertificates(t *testing.T, dir string, certs map[string]string, keys []*confKey) []string {
	t.Helper()
	javaMkdir(t, dir)
	if env.Name == moduleSoftHSM {
		conf, err := softHSMToken(env, filepath.Join(dir, "softhsm-certs"), env.signKeys())
		require.NoError(t, err)
		for _, k := range keys {
			der := javaDERFile(t, certs[k.Name])
			Cmd{Args: []string{"pkcs11-tool", "--module", env.Module, "--token-label", env.Token, "--login", "--pin", env.PIN,
				"--write-object", der, "--type", "cert", "--id", k.IDHex(), "--label", k.Label},
				Env: []string{"SOFTHSM2_CONF=" + conf}}.Run(t)
		}
		return []string{"SOFTHSM2_CONF=" + conf}
	}
	base, err := os.ReadFile(os.Getenv("P11KMS_CONFIG"))
	require.NoError(t, err, "the suite's module configuration")
	var b strings.Builder
	b.Write(base)
	b.WriteString("    certificates:\n")
	for i, k := range keys {
		key, file := k.Label, certs[k.Name]
		if i%2 == 1 { // every other key: by key id, certificate in DER
			key, file = k.KeyID, javaDERFile(t, file)
		}
		fmt.Fprintf(&b, "      - key: %q\n        file: %q\n", key, file)
	}
	path := filepath.Join(dir, "p11kms-certs.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	// The configuration must be accepted and every certificate served.
	out := Cmd{Args: []string{"pkcs11-tool", "--module", env.Module, "--token-label", env.Token, "-O", "--type", "cert"},
		Env: []string{"P11KMS_CONFIG=" + path}}.Run(t).Combined
	for _, k := range keys {
		assert.Regexp(t, `Certificate Object;.*\n\s+label:\s+`+regexp.QuoteMeta(k.Label)+`\n(.*\n)*?\s+ID:\s+`+k.IDHex()+`\n`, out,
			"no certificate object for %s with its label and CKA_ID", k.Name)
	}
	return []string{"P11KMS_CONFIG=" + path}
}

// javaDERFile writes the DER form of a PEM certificate next to it and returns its path.
func javaDERFile(t *testing.T, pemFile string) string {
	t.Helper()
	b, err := os.ReadFile(pemFile)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block, "%s holds no PEM block", pemFile)
	der := strings.TrimSuffix(pemFile, filepath.Ext(pemFile)) + ".der"
	require.NoError(t, os.WriteFile(der, block.Bytes, 0o644))
	return der
}

// javaFingerprint returns the SHA-256 fingerprint of a PEM certificate as
// keytool prints it (upper-case hex pairs joined by colons).
func javaFingerprint(t *testing.T, pemFile string) string {
	t.Helper()
	b, err := os.ReadFile(pemFile)
	require.NoError(t, err)
	block, _ := pem.Decode(b)
	require.NotNil(t, block)
	sum := sha256.Sum256(block.Bytes)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// javaVerifyBlock checks a signed jar's signature with openssl instead of
// Java: the PKCS#7 signature block (META-INF/*.RSA or *.EC) must verify over
// the signature file (META-INF/*.SF), with the expected signature algorithm,
// and carry a certificate with k's seeded public key.
func javaVerifyBlock(t *testing.T, dir, signedJar string, k *confKey, cmsAlg string) {
	t.Helper()
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(signedJar), ".jar"))
	Cmd{Args: []string{"jar", "xf", signedJar, "META-INF"}, Dir: javaMkdir(t, out), Timeout: javaTimeout}.Run(t)
	sfs, err := filepath.Glob(filepath.Join(out, "META-INF", "*.SF"))
	require.NoError(t, err)
	require.Len(t, sfs, 1, "one signature file")
	base := strings.TrimSuffix(sfs[0], ".SF")
	block := base + ".RSA"
	if !k.IsRSA() {
		block = base + ".EC"
	}
	c := Cmd{Args: []string{"openssl", "cms", "-verify", "-inform", "DER", "-in", block, "-content", sfs[0], "-binary",
		"-noverify", "-out", os.DevNull}, Env: noEngine()}
	r := c.Try(t)
	if r.Err != nil || !strings.Contains(r.Combined, "Verification successful") {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the jar's signature block"))
	}
	printed := Cmd{Args: []string{"openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", block}, Env: noEngine()}.Run(t).Stdout
	m := regexp.MustCompile(`signatureAlgorithm: \n\s+algorithm: (\S+) `).FindStringSubmatch(printed)
	require.NotNil(t, m, "no signatureAlgorithm in the signature block")
	assert.Equal(t, cmsAlg, m[1], "signature algorithm of the signature block")
	certsPEM := Cmd{Args: []string{"openssl", "pkcs7", "-inform", "DER", "-in", block, "-print_certs"}, Env: noEngine()}.Run(t).Stdout
	certFile := filepath.Join(out, "signer.pem")
	require.NoError(t, os.WriteFile(certFile, []byte(certsPEM), 0o644))
	requireSamePublicKey(t, k, Cmd{Args: []string{"openssl", "x509", "-in", certFile, "-noout", "-pubkey"}, Env: noEngine()}.Run(t).Stdout)
}

// javaMkdir creates dir and returns it.
func javaMkdir(t *testing.T, dir string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}
