package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
)

// clientGnuTLS is GnuTLS's p11tool and certtool.
const clientGnuTLS = "GnuTLS p11tool/certtool"

func init() {
	registerClient(clientGnuTLS, func() (string, error) {
		out, err := exec.Command("p11tool", "--version").Output()
		if err != nil {
			return "", err
		}
		first, _, _ := strings.Cut(string(out), "\n")
		return first, nil
	})
}

// gnutlsRun runs a GnuTLS command; when it fails on secp256k1 with GnuTLS's
// "unsupported" error the check is skipped (GnuTLS 3.7 has no secp256k1),
// any other failure fails the check.
func gnutlsRun(t *testing.T, k *confKey, c Cmd) Result {
	t.Helper()
	r := c.Try(t)
	if r.Err != nil && k.Spec == kmsbackend.SpecECCSECGP256K1 && strings.Contains(strings.ToLower(r.Combined), "unsupported") {
		skipCheck(t, "GnuTLS does not support secp256k1: %s", firstLine(r.Combined))
	}
	if r.Err != nil {
		t.Fatalf("%s", describeFailure(c, r, "command failed"))
	}
	return r
}

// firstLine returns the first non-empty line of s.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// p11toolCmd is a p11tool command against the module; login adds the PIN.
func p11toolCmd(login bool, args ...string) Cmd {
	c := Cmd{Args: append([]string{"p11tool", "--provider", env.Module}, args...)}
	if login {
		c.Args = append([]string{"p11tool", "--provider", env.Module, "--login"}, args...)
		c.Env = []string{"GNUTLS_PIN=" + env.PIN}
	}
	return c
}

// TestGnuTLS lists and exports keys with p11tool, signs with --test-sign and
// makes a self-signed certificate with certtool, verified by openssl.
func TestGnuTLS(t *testing.T) {
	tokenURI := "pkcs11:token=" + env.Token
	check(t, clientGnuTLS, "p11tool --list-all without login", func(t *testing.T) {
		requireTool(t, "p11tool")
		out := p11toolCmd(false, "--list-all", tokenURI).Run(t).Stdout
		for _, k := range env.Keys {
			assert.Regexp(t, `object=`+regexp.QuoteMeta(k.Label)+`;type=public\n`, out, "public key %s not listed", k.Name)
		}
	})
	check(t, clientGnuTLS, "p11tool --list-all-privkeys with login", func(t *testing.T) {
		requireTool(t, "p11tool")
		out := p11toolCmd(true, "--list-all-privkeys", tokenURI).Run(t).Stdout
		for _, k := range env.Keys {
			assert.Regexp(t, `object=`+regexp.QuoteMeta(k.Label)+`;type=private\n`, out, "private key %s not listed", k.Name)
		}
	})
	for _, k := range env.Keys {
		check(t, clientGnuTLS, "p11tool --export public key: "+k.Name, func(t *testing.T) {
			requireTool(t, "p11tool")
			out := gnutlsRun(t, k, p11toolCmd(false, "--export", k.URI("public"))).Stdout
			// Same key as openssl sees: normalise through openssl (no engine).
			pemOut := Cmd{Args: []string{"openssl", "pkey", "-pubin"}, Stdin: out, Env: noEngine()}.Run(t).Stdout
			requireSamePublicKey(t, k, pemOut)
		})
	}
	for _, k := range env.signKeys() {
		params := []string{""}
		if k.IsRSA() {
			params = append(params, "rsa-pss")
		}
		for _, p := range params {
			op := "p11tool --test-sign: " + k.Name
			if p != "" {
				op = "p11tool --test-sign --sign-params " + p + ": " + k.Name
			}
			check(t, clientGnuTLS, op, func(t *testing.T) {
				requireTool(t, "p11tool")
				args := []string{"--test-sign", k.URI("private")}
				if p != "" {
					args = append(args, "--sign-params", p)
				}
				out := gnutlsRun(t, k, p11toolCmd(true, args...)).Combined
				require.Regexp(t, `Signing using \S+\.\.\. ok`, out)
				require.Contains(t, out, "Verifying against public key in the token... ok")
				if p == "rsa-pss" {
					require.Contains(t, out, "Signing using RSA-PSS")
				}
			})
		}
	}
	for _, name := range []string{"rsa2048", "p256", "p384"} {
		k := env.key(name)
		check(t, clientGnuTLS, "certtool --generate-self-signed: "+k.Name, func(t *testing.T) {
			requireTool(t, "certtool")
			dir := t.TempDir()
			tmpl, crt := filepath.Join(dir, "tmpl"), filepath.Join(dir, "c.crt")
			require.NoError(t, os.WriteFile(tmpl, []byte("cn = \"certtool "+k.Label+"\"\nexpiration_days = 30\nca\ncert_signing_key\n"), 0o600))
			Cmd{Args: []string{"certtool", "--generate-self-signed", "--provider", env.Module, "--load-privkey", k.URI("private"),
				"--load-pubkey", k.URI("public"), "--template", tmpl, "--outfile", crt}, Env: []string{"GNUTLS_PIN=" + env.PIN}}.Run(t)
			verifyCertWithOpenSSL(t, crt, crt, k)
		})
	}
}
