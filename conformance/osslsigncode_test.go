package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clientOsslsigncode is osslsigncode (Authenticode signing through the libp11 engine).
const clientOsslsigncode = "osslsigncode"

func init() {
	registerClient(clientOsslsigncode, func() (string, error) {
		out, err := exec.Command("osslsigncode", "--version").Output()
		if err != nil {
			return "", err
		}
		first, _, _ := strings.Cut(string(out), "\n")
		v, _, _ := strings.Cut(first, ",")
		return v, nil
	})
}

// peOnce builds testdata/hello as a Windows PE once per run.
var peOnce = struct {
	sync.Once
	path string
	err  error
	out  string
}{}

// windowsPE returns the path of a tiny unsigned Windows executable.
func windowsPE(t *testing.T) string {
	t.Helper()
	peOnce.Do(func() {
		peOnce.path = filepath.Join(env.Dir, "hello.exe")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", peOnce.path, "./testdata/hello")
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		peOnce.err, peOnce.out = err, string(out)
	})
	if peOnce.err != nil {
		t.Fatalf("GOOS=windows GOARCH=amd64 go build ./testdata/hello: %v\n%s", peOnce.err, peOnce.out)
	}
	return peOnce.path
}

// TestOsslsigncode Authenticode-signs a PE with RSA and ECDSA token keys and
// checks the signature with osslsigncode verify against the signer
// certificate (made through the engine, extendedKeyUsage codeSigning).
func TestOsslsigncode(t *testing.T) {
	for _, name := range []string{"rsa2048", "p256", "p384"} {
		k := env.key(name)
		check(t, clientOsslsigncode, "sign -pkcs11module, verify -CAfile: "+k.Name, func(t *testing.T) {
			requireTool(t, "osslsigncode", "openssl", "go")
			dir := t.TempDir()
			signer, signed := filepath.Join(dir, "signer.crt"), filepath.Join(dir, "signed.exe")
			Cmd{Args: []string{"openssl", "req", "-new", "-x509", "-days", "30", "-engine", "pkcs11", "-keyform", "engine",
				"-key", pinURI(k), "-sha256", "-subj", "/CN=code signing " + k.Label,
				"-addext", "extendedKeyUsage=codeSigning", "-addext", "keyUsage=critical,digitalSignature",
				"-out", signer}, Env: engineConf(t)}.Run(t)
			verifyCertWithOpenSSL(t, signer, signer, k)
			Cmd{Args: []string{"osslsigncode", "sign", "-pkcs11module", env.Module, "-pkcs11engine", enginePath,
				"-certs", signer, "-key", k.URI("private"), "-pass", env.PIN, "-h", "sha256",
				"-n", "p11kms conformance", "-in", windowsPE(t), "-out", signed}, Timeout: 3 * time.Minute}.Run(t)
			out := Cmd{Args: []string{"osslsigncode", "verify", "-CAfile", signer, "-in", signed}, Env: noEngine()}.Run(t).Combined
			require.Contains(t, out, "Signature verification: ok")
			require.Contains(t, out, "Message digest algorithm  : SHA256")
		})
	}
}
