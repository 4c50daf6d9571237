package sm2pke

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/stretchr/testify/require"
)

// testKey is an SM2 key pair openssl generated, kept in files under dir for
// openssl pkeyutl, and parsed for Encrypt and Decrypt.
type testKey struct {
	dir, privPEM, pubPEM string
	priv                 *ecdsa.PrivateKey
}

// runOpenSSL runs openssl (the independent SM2 implementation of these
// tests) and returns its combined output.
func runOpenSSL(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent SM2PKE implementation these tests need")
	out, err := exec.Command(bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// newTestKey has openssl generate an SM2 key.
func newTestKey(t testing.TB) *testKey {
	t.Helper()
	dir := t.TempDir()
	k := &testKey{dir: dir, privPEM: filepath.Join(dir, "k.pem"), pubPEM: filepath.Join(dir, "pub.pem")}
	out, err := runOpenSSL(t, "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:sm2", "-out", k.privPEM)
	require.NoError(t, err, out)
	out, err = runOpenSSL(t, "pkey", "-in", k.privPEM, "-pubout", "-out", k.pubPEM)
	require.NoError(t, err, out)
	raw, err := os.ReadFile(k.privPEM)
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	require.NotNil(t, block)
	parsed, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	sk, ok := parsed.(*sm2.PrivateKey)
	require.True(t, ok, "openssl wrote a %T", parsed)
	k.priv = &sk.PrivateKey
	return k
}

// pub is the key's public half.
func (k *testKey) pub() *ecdsa.PublicKey { return &k.priv.PublicKey }

// file writes b to a fresh file of the key's directory.
func (k *testKey) file(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(k.dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// opensslDecrypt has openssl decrypt ct with the private key.
func (k *testKey) opensslDecrypt(t testing.TB, ct []byte) ([]byte, string, error) {
	t.Helper()
	ptPath := filepath.Join(k.dir, "dec.pt")
	_ = os.Remove(ptPath)
	out, err := runOpenSSL(t, "pkeyutl", "-decrypt", "-inkey", k.privPEM, "-in", k.file(t, "dec.ct", ct), "-out", ptPath)
	if err != nil {
		return nil, out, err
	}
	pt, err := os.ReadFile(ptPath)
	require.NoError(t, err)
	return pt, out, nil
}

// opensslEncrypt has openssl encrypt msg to the public key.
func (k *testKey) opensslEncrypt(t testing.TB, msg []byte) []byte {
	t.Helper()
	ctPath := filepath.Join(k.dir, "enc.ct")
	out, err := runOpenSSL(t, "pkeyutl", "-encrypt", "-pubin", "-inkey", k.pubPEM, "-in", k.file(t, "enc.pt", msg), "-out", ctPath)
	require.NoError(t, err, out)
	ct, err := os.ReadFile(ctPath)
	require.NoError(t, err)
	return ct
}

// scalar is v as a 32-byte big-endian k, what Encrypt reads per draw.
func scalar(v *big.Int) []byte { return v.FillBytes(make([]byte, coordLen)) }

// findK returns the first k = 1, 2, ... whose KDF output t for a 1-byte
// message to pub is the byte want (want 0: the all-zero t of step A5).
// About 256 scalar multiplications.
func findK(t testing.TB, pub *ecdsa.PublicKey, want byte) *big.Int {
	t.Helper()
	for i := int64(1); i < 1<<14; i++ {
		k := big.NewInt(i)
		x2, y2 := sm2.P256().ScalarMult(pub.X, pub.Y, scalar(k))
		if tt, _, _ := kdfT(x2, y2, 1); tt[0] == want {
			return k
		}
	}
	t.Fatalf("no k below 2^14 gives t = %#x", want)
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
