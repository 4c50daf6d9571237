package conformance

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomBlock is the most AWS KMS GenerateRandom returns per call (AWS KMS
// API reference, GenerateRandom NumberOfBytes: 1 to 1024): a longer
// C_GenerateRandom spans several calls, whose blocks must all differ.
const randomBlock = 1024

// TestPkcs11ToolRandom draws random bytes through pkcs11-tool
// --generate-random (C_GenerateRandom, PKCS#11 2.40 §5.17).
func TestPkcs11ToolRandom(t *testing.T) {
	for _, n := range []int{4096, 10000} {
		check(t, clientPkcs11Tool, fmt.Sprintf("--generate-random: %d bytes", n), func(t *testing.T) {
			requireTool(t, "pkcs11-tool")
			dir := t.TempDir()
			var draws [][]byte
			for i := range 2 {
				out := filepath.Join(dir, fmt.Sprintf("r%d", i))
				r := Cmd{Args: p11toolArgs("--generate-random", fmt.Sprint(n), "-o", out)}.Run(t)
				assert.NotRegexp(t, warningLine, r.Combined)
				b, err := os.ReadFile(out)
				require.NoError(t, err)
				require.Len(t, b, n)
				requireLooksRandom(t, b)
				draws = append(draws, b)
			}
			require.False(t, bytes.Equal(draws[0], draws[1]), "two calls returned the same bytes")
		})
	}
}

// requireLooksRandom fails for output that is plainly not random: all
// bytes equal, a repeated KMS block, or few distinct byte values. For
// uniform bytes, 4096 of them miss one of the 256 values with probability
// about 256*e^-16 (3e-5), so fewer than 200 distinct values never happens.
func requireLooksRandom(t *testing.T, b []byte) {
	t.Helper()
	require.NotEqual(t, bytes.Repeat(b[:1], len(b)), b, "every byte is %#x", b[0])
	seen := map[byte]bool{}
	for _, c := range b {
		seen[c] = true
	}
	require.GreaterOrEqual(t, len(seen), 200, "distinct byte values in %d bytes", len(b))
	for i := 0; i+randomBlock <= len(b); i += randomBlock {
		for j := i + randomBlock; j+randomBlock <= len(b); j += randomBlock {
			require.False(t, bytes.Equal(b[i:i+randomBlock], b[j:j+randomBlock]), "bytes %d and %d start the same %d-byte block", i, j, randomBlock)
		}
	}
}

// p11toolDigests are the digests pkcs11-tool --hash computes on the token,
// with openssl's name for each. Source: PKCS#11 2.40 Current Mechanisms
// §2.16-§2.19 (CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384, CKM_SHA512);
// pkcs11-tool 0.23 mechanism names.
var p11toolDigests = []struct{ mech, openssl string }{
	{"SHA-1", "sha1"},
	{"SHA224", "sha224"},
	{"SHA256", "sha256"},
	{"SHA384", "sha384"},
	{"SHA512", "sha512"},
}

// TestPkcs11ToolDigest hashes with pkcs11-tool --hash (C_Digest*, PKCS#11
// 2.40 §5.12) and compares with openssl dgst: empty input, one short
// message, and 100000 bytes (pkcs11-tool digests files multi-part).
func TestPkcs11ToolDigest(t *testing.T) {
	for _, d := range p11toolDigests {
		check(t, clientPkcs11Tool, "--hash (empty, 1000 and 100000 bytes): "+d.mech, func(t *testing.T) {
			requireTool(t, "pkcs11-tool", "openssl")
			dir := t.TempDir()
			for _, n := range []int{0, 1000, 100000} {
				data := make([]byte, n)
				_, err := rand.Read(data)
				require.NoError(t, err)
				in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
				require.NoError(t, os.WriteFile(in, data, 0o600))
				r := Cmd{Args: p11toolArgs("--hash", "-m", d.mech, "-i", in, "-o", out)}.Run(t)
				assert.NotRegexp(t, warningLine, r.Combined)
				got, err := os.ReadFile(out)
				require.NoError(t, err)
				want := Cmd{Args: []string{"openssl", "dgst", "-" + d.openssl, "-binary", in}, Env: noEngine()}.Run(t).Stdout
				require.Equal(t, []byte(want), got, "%s of %d bytes", d.mech, n)
			}
		})
	}
	check(t, clientPkcs11Tool, "--hash refused with CKR_MECHANISM_INVALID: SHA3-256", func(t *testing.T) {
		requireTool(t, "pkcs11-tool")
		if env.Name == moduleSoftHSM {
			skipCheck(t, "the p11kms module's mechanism list")
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "in")
		require.NoError(t, os.WriteFile(in, []byte("x"), 0o600))
		c := Cmd{Args: p11toolArgs("--hash", "-m", "SHA3-256", "-i", in, "-o", filepath.Join(dir, "out"))}
		r := c.Try(t)
		require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool hashed with SHA3-256"))
		require.Contains(t, r.Stderr, "error: PKCS11 function C_DigestInit failed: rv = CKR_MECHANISM_INVALID (0x70)", describeFailure(c, r, "not the expected refusal"))
	})
}
