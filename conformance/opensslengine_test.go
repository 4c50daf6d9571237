package conformance

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// clientEngine is OpenSSL 3 with the libp11 pkcs11 engine.
const clientEngine = "openssl + libp11 engine"

// enginePath is Debian's libp11 engine (libengine-pkcs11-openssl).
const enginePath = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"

func init() {
	registerClient(clientEngine, func() (string, error) {
		out, err := exec.Command("openssl", "version").Output()
		if err != nil {
			return "", err
		}
		v := strings.TrimSpace(strings.SplitN(string(out), "(", 2)[0])
		// The engine reports no version of its own; dpkg knows the package's.
		if pkg, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "libengine-pkcs11-openssl").Output(); err == nil {
			v += ", libp11 engine " + strings.SplitN(string(pkg), "-", 2)[0] + " (dpkg)"
		}
		return v, nil
	})
}

// engineKeys are the keys the engine checks use, with the digest each signs
// with. Source: the brief (RSA, P-256, P-384).
var engineKeys = []struct{ name, digest string }{
	{"rsa2048", "sha256"},
	{"p256", "sha256"},
	{"p384", "sha384"},
}

// engineConf writes an openssl configuration that loads the libp11 engine
// with MODULE_PATH = the module under test (CLIENTS.md) and returns the
// environment selecting it.
func engineConf(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(enginePath); err != nil {
		failOrSkip(t, "libp11 engine %s is not installed", enginePath)
	}
	path := filepath.Join(t.TempDir(), "engine.cnf")
	body := fmt.Sprintf(`openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = %s
MODULE_PATH = %s
init = 0
`, enginePath, env.Module)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return []string{"OPENSSL_CONF=" + path}
}

// pinURI is the private key's URI with the PIN, as the engine takes it.
func pinURI(k *confKey) string { return k.URI("private") + ";pin-value=" + env.PIN }

// engineRun runs openssl with the engine configuration.
func engineRun(t *testing.T, conf []string, args ...string) Result {
	t.Helper()
	return Cmd{Args: append([]string{"openssl"}, args...), Env: conf}.Run(t)
}

// selfSigned makes a self-signed CA certificate with k through the engine.
func selfSigned(t *testing.T, conf []string, k *confKey, digest, out string, extra ...string) {
	t.Helper()
	args := []string{"req", "-new", "-x509", "-days", "30", "-engine", "pkcs11", "-keyform", "engine", "-key", pinURI(k),
		"-" + digest, "-subj", "/CN=conformance " + k.Label, "-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", "-out", out}
	engineRun(t, conf, append(args, extra...)...)
}

// TestOpenSSLEngine signs certificates, CSRs and data through the libp11
// engine and verifies every result with openssl without the engine.
func TestOpenSSLEngine(t *testing.T) {
	check(t, clientEngine, "engine -t loads the module", func(t *testing.T) {
		requireTool(t, "openssl")
		r := engineRun(t, engineConf(t), "engine", "-t", "-c", "pkcs11")
		require.Contains(t, r.Stdout, "[ available ]")
	})
	for _, ek := range engineKeys {
		k := env.key(ek.name)
		check(t, clientEngine, "req -x509 self-signed certificate: "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			crt := filepath.Join(t.TempDir(), "self.crt")
			selfSigned(t, engineConf(t), k, ek.digest, crt)
			verifyCertWithOpenSSL(t, crt, crt, k)
		})
		check(t, clientEngine, "req -new CSR: "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			csr := filepath.Join(t.TempDir(), "x.csr")
			engineRun(t, engineConf(t), "req", "-new", "-engine", "pkcs11", "-keyform", "engine", "-key", k.URI("private"),
				"-passin", "pass:"+env.PIN, "-"+ek.digest, "-subj", "/CN=csr "+k.Label, "-out", csr)
			verifyCSRWithOpenSSL(t, csr, k)
		})
		check(t, clientEngine, "x509 -req certificate signed by a token CA key: "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			conf, dir := engineConf(t), t.TempDir()
			ca, csr, crt := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "leaf.csr"), filepath.Join(dir, "leaf.crt")
			selfSigned(t, conf, k, ek.digest, ca)
			leaf := env.key("p256")
			if k.Name == "p256" {
				leaf = env.key("rsa2048")
			}
			engineRun(t, conf, "req", "-new", "-engine", "pkcs11", "-keyform", "engine", "-key", pinURI(leaf),
				"-sha256", "-subj", "/CN=leaf "+leaf.Label, "-out", csr)
			engineRun(t, conf, "x509", "-req", "-in", csr, "-CA", ca, "-engine", "pkcs11", "-CAkeyform", "engine",
				"-CAkey", pinURI(k), "-CAcreateserial", "-CAserial", filepath.Join(dir, "ca.srl"), "-days", "1", "-"+ek.digest, "-out", crt)
			verifyCertWithOpenSSL(t, ca, crt, leaf)
		})
		check(t, clientEngine, "dgst -sign: "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			dir := t.TempDir()
			data, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
			writeRandom(t, data, 4096)
			engineRun(t, engineConf(t), "dgst", "-engine", "pkcs11", "-keyform", "engine", "-sign", pinURI(k), "-"+ek.digest, "-out", sig, data)
			verifyFilesWithOpenSSL(t, k, ek.digest, data, sig)
		})
	}
	// P-384 with SHA-256: the module gets a 32-byte digest for a curve KMS
	// signs with SHA-384 (DESIGN.md: pad it, never refuse or mis-sign).
	check(t, clientEngine, "dgst -sign -sha256 (shorter digest than the curve's): p384", func(t *testing.T) {
		requireTool(t, "openssl")
		k, dir := env.key("p384"), t.TempDir()
		data, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
		writeRandom(t, data, 4096)
		engineRun(t, engineConf(t), "dgst", "-engine", "pkcs11", "-keyform", "engine", "-sign", pinURI(k), "-sha256", "-out", sig, data)
		verifyFilesWithOpenSSL(t, k, "sha256", data, sig)
	})
	for _, name := range []string{"rsa2048", "rsa4096"} {
		k := env.key(name)
		check(t, clientEngine, "req -x509 RSA-PSS certificate (saltlen 32): "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			crt := filepath.Join(t.TempDir(), "pss.crt")
			selfSigned(t, engineConf(t), k, "sha256", crt, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32")
			text := Cmd{Args: []string{"openssl", "x509", "-in", crt, "-noout", "-text"}, Env: noEngine()}.Run(t).Stdout
			require.Contains(t, text, "Signature Algorithm: rsassaPss")
			require.Contains(t, text, "Salt Length: 0x20")
			verifyCertWithOpenSSL(t, crt, crt, k)
		})
		check(t, clientEngine, "dgst -sign RSA-PSS (saltlen 32): "+k.Name, func(t *testing.T) {
			requireTool(t, "openssl")
			dir := t.TempDir()
			data, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
			writeRandom(t, data, 4096)
			engineRun(t, engineConf(t), "dgst", "-engine", "pkcs11", "-keyform", "engine", "-sign", pinURI(k), "-sha256",
				"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-out", sig, data)
			verifyFilesWithOpenSSL(t, k, "sha256", data, sig, pss32...)
		})
	}
}

// writeRandom writes n random bytes to path.
func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}
