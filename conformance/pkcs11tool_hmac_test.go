package conformance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// p11toolHMACs are the HMAC key specs and the pkcs11-tool mechanism of
// each. Sources: AWS KMS Developer Guide "Key spec reference" (HMAC specs,
// one MAC algorithm each, MAC length = hash length); PKCS#11 2.40 Current
// Mechanisms §2.20-§2.22 (CKM_SHA*_HMAC); pkcs11-tool 0.23 mechanism names.
var p11toolHMACs = []struct {
	name string // short name of the key (label "conf-" + name)
	spec kmsbackend.KeySpec
	mech string
	alg  kmsbackend.MacAlgorithm
	hash func() hash.Hash
}{
	{"hmac224", kmsbackend.SpecHMAC224, "SHA224-HMAC", kmsbackend.HMAC_SHA_224, sha256.New224},
	{"hmac256", kmsbackend.SpecHMAC256, "SHA256-HMAC", kmsbackend.HMAC_SHA_256, sha256.New},
	{"hmac384", kmsbackend.SpecHMAC384, "SHA384-HMAC", kmsbackend.HMAC_SHA_384, sha512.New384},
	{"hmac512", kmsbackend.SpecHMAC512, "SHA512-HMAC", kmsbackend.HMAC_SHA_512, sha512.New},
}

// alwaysAuthWarning is what pkcs11-tool 0.23 prints when it asks a secret
// key for CKA_ALWAYS_AUTHENTICATE, a private-key attribute (PKCS#11 2.40
// §4.9 Table 34), which the module rightly answers CKR_ATTRIBUTE_TYPE_INVALID.
const alwaysAuthWarning = "warning: PKCS11 function C_GetAttributeValue(ALWAYS_AUTHENTICATE) failed: rv = CKR_ATTRIBUTE_TYPE_INVALID (0x12)"

// TestPkcs11ToolHMAC signs (MACs) with pkcs11-tool and every HMAC key spec
// seeded into a dev KMS of the test's own, so that Go's crypto/hmac checks
// each MAC with the seeded material, and KMS VerifyMac (through the aws
// backend) checks it too; pkcs11-tool --verify checks it on the token.
func TestPkcs11ToolHMAC(t *testing.T) {
	specs := make([]devkms.StandardKey, len(p11toolHMACs))
	for i, h := range p11toolHMACs {
		specs[i] = devkms.StandardKey{Spec: h.spec, Usage: kmsbackend.UsageGenerateVerifyMac, Alias: "conf-" + h.name}
	}
	seed, seedErr := devkms.GenerateSeed(specs)
	x := startExtraKMS(t, seed)
	if seedErr != nil && x.err == nil {
		x.err = seedErr
	}
	tool := func(args ...string) []string { return p11toolArgs(append(loginArgs(), args...)...) }
	for i, h := range p11toolHMACs {
		var k *extraKey
		if x.err == nil {
			k = x.seededKey(t, seed[i].ID, h.name)
		}
		check(t, clientPkcs11Tool, "--sign/--verify "+h.mech+": "+h.name, func(t *testing.T) {
			requireTool(t, "pkcs11-tool")
			x.require(t)
			k.require(t)
			dir := t.TempDir()
			msg, mac := filepath.Join(dir, "msg"), filepath.Join(dir, "mac")
			for _, n := range []int{1, 1000, kmsbackend.MaxMacMessage} {
				data := make([]byte, n)
				_, err := rand.Read(data)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(msg, data, 0o600))
				r := Cmd{Args: tool("--sign", "--id", k.IDHex(), "-m", h.mech, "-i", msg, "-o", mac), Env: x.Env}.Run(t)
				assert.NotRegexp(t, warningLine, strings.ReplaceAll(r.Combined, alwaysAuthWarning, ""))
				got, err := os.ReadFile(mac)
				require.NoError(t, err)
				want := hmac.New(h.hash, seed[i].Secret)
				want.Write(data)
				require.Equal(t, want.Sum(nil), got, "HMAC of %d bytes (Go crypto/hmac with the seeded key)", n)
				requireKMSVerifyMac(t, x, k, h.alg, data, got, true)
				out := Cmd{Args: tool("--verify", "--id", k.IDHex(), "-m", h.mech, "-i", msg, "--signature-file", mac), Env: x.Env}.Run(t).Combined
				require.Contains(t, out, "Signature is valid", "%d-byte message", n)

				got[n%len(got)] ^= 0x01
				require.NoError(t, os.WriteFile(mac, got, 0o600))
				requireKMSVerifyMac(t, x, k, h.alg, data, got, false)
				out = Cmd{Args: tool("--verify", "--id", k.IDHex(), "-m", h.mech, "-i", msg, "--signature-file", mac), Env: x.Env}.Run(t).Combined
				require.Contains(t, out, "Invalid signature", "%d-byte message, flipped MAC", n)
				require.NotContains(t, out, "Signature is valid")
			}
		})
	}

	var k256 *extraKey
	if x.err == nil {
		k256 = x.seededKey(t, seed[1].ID, p11toolHMACs[1].name)
	}
	refusals := []struct {
		name string
		mech string
		size int
		want string
	}{
		{"message over 4096 bytes gives CKR_DATA_LEN_RANGE", "SHA256-HMAC", kmsbackend.MaxMacMessage + 1,
			// pkcs11-tool 0.23 signs inputs over 4096 bytes multi-part.
			"error: PKCS11 function C_SignUpdate failed: rv = CKR_DATA_LEN_RANGE (0x21)"},
		{"SHA384-HMAC with an HMAC_256 key gives CKR_KEY_TYPE_INCONSISTENT", "SHA384-HMAC", 100,
			"error: PKCS11 function C_SignInit failed: rv = CKR_KEY_TYPE_INCONSISTENT (0x63)"},
	}
	for _, row := range refusals {
		check(t, clientPkcs11Tool, "--sign HMAC refused: "+row.name+": hmac256", func(t *testing.T) {
			requireTool(t, "pkcs11-tool")
			x.require(t)
			k256.require(t)
			dir := t.TempDir()
			msg := filepath.Join(dir, "msg")
			require.NoError(t, os.WriteFile(msg, bytes.Repeat([]byte{'m'}, row.size), 0o600))
			c := Cmd{Args: tool("--sign", "--id", k256.IDHex(), "-m", row.mech, "-i", msg, "-o", filepath.Join(dir, "mac")), Env: x.Env}
			r := c.Try(t)
			require.Error(t, r.Err, describeFailure(c, r, "pkcs11-tool did not fail"))
			require.Contains(t, r.Stderr, row.want, describeFailure(c, r, "not the expected refusal")) // stderr alone: its order against stdout is not kept in Combined
		})
	}
}

// requireKMSVerifyMac checks with KMS VerifyMac, through the aws backend,
// that mac is (valid) or is not the HMAC of msg under k.
func requireKMSVerifyMac(t *testing.T, x *extraKMS, k *extraKey, alg kmsbackend.MacAlgorithm, msg, mac []byte, valid bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ok, err := x.Backend.VerifyMac(ctx, k.Info.ARN, alg, msg, mac)
	require.NoError(t, err, "KMS VerifyMac")
	require.Equal(t, valid, ok, "KMS VerifyMac of a %d-byte message", len(msg))
}
