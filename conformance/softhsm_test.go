package conformance

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientDiff compares the module with SoftHSM2 holding the same keys.
const clientDiff = "SoftHSM2 differential (pkcs11-tool, p11tool, certtool)"

func init() {
	registerClient(clientDiff, func() (string, error) {
		out, err := exec.Command("softhsm2-util", "--version").Output()
		if err != nil {
			return "", err
		}
		return "SoftHSM2 " + strings.TrimSpace(string(out)) + " as the reference", nil
	})
}

// diffToken is the token label on both sides of the differential.
const diffToken = "differential"

// diffKeySpecs are the keys made with openssl for the differential, with
// the genpkey options that make them. Labels and CKA_IDs are the same on
// both sides by construction: SoftHSM2 imports each key under the label the
// module derives from the alias and the CKA_ID it derives from the key id
// (token/objectid.go), so no label or ID needs normalising.
var diffKeySpecs = []struct {
	name    string
	spec    kmsbackend.KeySpec
	genpkey []string
}{
	{"diff-rsa2048", kmsbackend.SpecRSA2048, []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},    // AWS RSA_2048
	{"diff-p256", kmsbackend.SpecECCNISTP256, []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}}, // AWS ECC_NIST_P256
}

// diffDigestInfo are the DER DigestInfo prefixes of RFC 8017 §9.2 note 1.
var diffDigestInfo = map[string]string{
	"sha256": "3031300d060960864801650304020105000420",
	"sha384": "3041300d060960864801650304020205000430",
	"sha512": "3051300d060960864801650304020305000440",
}

// diffSide is one module of the differential.
type diffSide struct {
	name   string   // "p11kms" or "SoftHSM2"
	module string   // library path
	env    []string // settings that select the side's token
	pub    map[string]string
}

// tool returns a pkcs11-tool command on the side's token.
func (s *diffSide) tool(args ...string) Cmd {
	return Cmd{Args: append([]string{"pkcs11-tool", "--module", s.module, "--token-label", diffToken}, args...), Env: s.env}
}

// sign signs the file in with key k and pkcs11-tool mechanism arguments
// mech, and returns the signature file.
func (s *diffSide) sign(t *testing.T, dir string, k *confKey, mech []string, in string) string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("%s-%s-%x.sig", s.name, k.Name, sha256.Sum256([]byte(strings.Join(mech, " ")+in))))
	args := append([]string{"--login", "--pin", env.PIN, "--sign", "--id", k.IDHex()}, mech...)
	s.tool(append(args, "-i", in, "-o", out)...).Run(t)
	return out
}

// verify checks sig over in with the side's C_Verify (pkcs11-tool --verify
// exits 0 even for a bad signature; its message tells).
func (s *diffSide) verify(t *testing.T, k *confKey, mech []string, in, sig string) {
	t.Helper()
	args := append([]string{"--login", "--pin", env.PIN, "--verify", "--id", k.IDHex()}, mech...)
	c := s.tool(append(args, "-i", in, "--signature-file", sig)...)
	r := c.Run(t)
	if !strings.Contains(r.Stdout, "Signature is valid") {
		t.Fatalf("%s", describeFailure(c, r, s.name+" does not verify the signature"))
	}
}

// TestSoftHSMDifferential gives the module under test and SoftHSM2 the same
// openssl-generated keys and compares what clients see: public key
// attributes, deterministic signatures byte for byte, and randomized
// signatures verified by the other module and by openssl with the other
// module's public key.
func TestSoftHSMDifferential(t *testing.T) {
	dir := t.TempDir()
	var keys []*confKey
	var under, ref *diffSide
	parent := t // the dev KMS must outlive the set-up check
	if !check(t, clientDiff, "set-up: the same openssl keys in both modules", func(t *testing.T) {
		requireTool(t, "openssl", "softhsm2-util", "pkcs11-tool", "p11tool", "certtool")
		keys = diffKeys(t, dir)
		under, ref = diffUnderTest(t, parent, dir, keys), diffReference(t, dir, keys)
		for _, s := range []*diffSide{under, ref} {
			s.pub = map[string]string{}
			for _, k := range keys {
				pemText := Cmd{Args: []string{"p11tool", "--provider", s.module, "--export", diffURI(k)}, Env: s.env}.Run(t).Stdout
				s.pub[k.Name] = filepath.Join(dir, s.name+"-"+k.Name+".pub.pem")
				require.NoError(t, os.WriteFile(s.pub[k.Name], []byte(pemText), 0o644))
			}
		}
	}) {
		return
	}
	sides := [2]*diffSide{under, ref}
	data := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(data, []byte("p11kms differential: both modules sign this\n"), 0o644))

	for _, k := range keys {
		check(t, clientDiff, "pkcs11-tool -O public key object: "+k.Name, func(t *testing.T) {
			var blocks [2]string
			for i, s := range sides {
				out := s.tool("-O", "--type", "pubkey").Run(t).Stdout
				blocks[i] = diffObjectBlock(t, out, k)
			}
			assert.Equal(t, diffNormalizeO(blocks[1]), diffNormalizeO(blocks[0]), "pkcs11-tool -O (%s | %s):\n%s\n%s", ref.name, under.name, blocks[1], blocks[0])
			t.Logf("normalized away: %s %q; %s %q", ref.name, diffDesignLines(blocks[1]), under.name, diffDesignLines(blocks[0]))
			assert.Regexp(t, `Usage:.*\bverify\b`, blocks[0], "%s public key usage", under.name)
		})
		check(t, clientDiff, "p11tool --list-all public object: "+k.Name, func(t *testing.T) {
			var lists [2]string
			for i, s := range sides {
				lists[i] = Cmd{Args: []string{"p11tool", "--provider", s.module, "--list-all", diffURI(k)}, Env: s.env}.Run(t).Stdout
			}
			assert.Equal(t, diffNormalizeP11tool(lists[1]), diffNormalizeP11tool(lists[0]), "p11tool --list-all (%s | %s):\n%s\n%s", ref.name, under.name, lists[1], lists[0])
			t.Logf("normalized away: %s %q; %s %q", ref.name, diffDesignLines(lists[1]), under.name, diffDesignLines(lists[0]))
			assert.Contains(t, lists[0], "Label: "+k.Label+"\n")
		})
		check(t, clientDiff, "p11tool --export public key (certtool --pubkey-info): "+k.Name, func(t *testing.T) {
			var infos [2]string
			for i, s := range sides {
				b, err := os.ReadFile(s.pub[k.Name])
				require.NoError(t, err)
				requireSamePublicKey(t, k, string(b))
				infos[i] = Cmd{Args: []string{"certtool", "--pubkey-info", "--infile", s.pub[k.Name]}}.Run(t).Stdout
			}
			assert.Equal(t, infos[1], infos[0], "certtool --pubkey-info of the exported keys")
			marker := "Curve:"
			if k.IsRSA() {
				marker = "Modulus"
			}
			assert.Contains(t, infos[0], marker, "certtool output shows the key material")
		})
		if k.IsRSA() {
			diffRSAChecks(t, dir, data, k, sides)
		} else {
			diffECDSAChecks(t, dir, data, k, sides)
		}
	}
}

// diffRSAChecks compares RSA signatures: PKCS#1 v1.5 is deterministic
// (RFC 8017 §8.2.1), so both modules must produce the same bytes; PSS is
// randomized (RFC 8017 §9.1.1), so each signature is verified by the other
// module and by openssl with the other module's public key.
func diffRSAChecks(t *testing.T, dir, data string, k *confKey, sides [2]*diffSide) {
	v15 := []struct {
		label string
		mech  []string
		hash  string
		di    bool // input is DigestInfo || digest
	}{
		{"SHA256-RSA-PKCS", []string{"-m", "SHA256-RSA-PKCS"}, "sha256", false},
		{"SHA384-RSA-PKCS", []string{"-m", "SHA384-RSA-PKCS"}, "sha384", false},
		{"SHA512-RSA-PKCS", []string{"-m", "SHA512-RSA-PKCS"}, "sha512", false},
		{"RSA-PKCS over SHA-256 DigestInfo", []string{"-m", "RSA-PKCS"}, "sha256", true},
		{"RSA-PKCS over SHA-512 DigestInfo", []string{"-m", "RSA-PKCS"}, "sha512", true},
	}
	for _, row := range v15 {
		check(t, clientDiff, "PKCS#1 v1.5 signatures byte-identical ("+row.label+"): "+k.Name, func(t *testing.T) {
			in := data
			if row.di {
				in = diffDigestFile(t, dir, data, row.hash, true)
			}
			a, b := diffRead(t, sides[0].sign(t, dir, k, row.mech, in)), diffRead(t, sides[1].sign(t, dir, k, row.mech, in))
			require.Len(t, a, k.Bits()/8)
			assert.Equal(t, hex.EncodeToString(b), hex.EncodeToString(a), "%s and %s signatures differ", sides[1].name, sides[0].name)
			verifyFilesWithOpenSSL(t, k, row.hash, data, diffWriteTemp(t, dir, a))
		})
	}
	pss := []struct {
		label string
		mech  []string
		hash  string
		hashd bool // input is the digest
	}{
		{"SHA256-RSA-PKCS-PSS salt 32", []string{"-m", "SHA256-RSA-PKCS-PSS", "--salt-len", "32"}, "sha256", false},
		{"SHA512-RSA-PKCS-PSS salt 64", []string{"-m", "SHA512-RSA-PKCS-PSS", "--salt-len", "64"}, "sha512", false},
		{"RSA-PKCS-PSS over SHA-256 salt 32", []string{"-m", "RSA-PKCS-PSS", "--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256", "--salt-len", "32"}, "sha256", true},
	}
	for _, row := range pss {
		check(t, clientDiff, "PSS signatures cross-verified ("+row.label+"): "+k.Name, func(t *testing.T) {
			in := data
			if row.hashd {
				in = diffDigestFile(t, dir, data, row.hash, false)
			}
			salt := row.mech[len(row.mech)-1]
			for i, signer := range sides {
				other := sides[1-i]
				sig := signer.sign(t, dir, k, row.mech, in)
				other.verify(t, k, row.mech, in, sig)
				diffOpenSSLVerify(t, other.pub[k.Name], row.hash, data, sig, "rsa_padding_mode:pss", "rsa_pss_saltlen:"+salt)
			}
		})
	}
}

// diffECDSAChecks cross-verifies ECDSA signatures (randomized, FIPS 186-5
// §6.4): each module's raw r||s signature must verify with the other module
// (CKM_ECDSA over the digest) and with openssl and the other's public key.
// SoftHSM2 2.6.1 cannot sign with CKM_ECDSA_SHA256 (CLIENTS.md), so that
// row only goes one way.
func diffECDSAChecks(t *testing.T, dir, data string, k *confKey, sides [2]*diffSide) {
	rows := []struct {
		label     string
		mech      []string
		hashInput bool // the token gets the digest
		refSigns  bool // SoftHSM2 implements the mechanism
	}{
		{"ECDSA over SHA-256", []string{"-m", "ECDSA"}, true, true},
		{"ECDSA-SHA256", []string{"-m", "ECDSA-SHA256"}, false, false},
	}
	for _, row := range rows {
		check(t, clientDiff, "ECDSA signatures cross-verified ("+row.label+"): "+k.Name, func(t *testing.T) {
			if !row.refSigns && env.Name == moduleSoftHSM {
				skipCheck(t, "the module under test is SoftHSM2 too, which has no %s", row.label)
			}
			digest := diffDigestFile(t, dir, data, "sha256", false)
			in := data
			if row.hashInput {
				in = digest
			}
			for i, signer := range sides {
				if i == 1 && !row.refSigns {
					continue
				}
				other := sides[1-i]
				sig := signer.sign(t, dir, k, row.mech, in)
				raw := diffRead(t, sig)
				require.Len(t, raw, 2*k.Curve().size, "%s raw r||s length", signer.name)
				other.verify(t, k, []string{"-m", "ECDSA"}, digest, sig)
				der, err := ecRawToDER(raw)
				require.NoError(t, err)
				diffOpenSSLVerify(t, other.pub[k.Name], "sha256", data, diffWriteTemp(t, dir, der))
			}
		})
	}
}

// diffOpenSSLVerify verifies sig over data with openssl and a PEM public key file.
func diffOpenSSLVerify(t *testing.T, pubPEM, hash, data, sig string, sigopts ...string) {
	t.Helper()
	args := []string{"openssl", "dgst", "-" + hash, "-verify", pubPEM, "-signature", sig}
	for _, o := range sigopts {
		args = append(args, "-sigopt", o)
	}
	c := Cmd{Args: append(args, data), Env: noEngine()}
	r := c.Try(t)
	if r.Err != nil || strings.TrimSpace(r.Stdout) != "Verified OK" {
		t.Fatalf("%s", describeFailure(c, r, "openssl does not verify the signature"))
	}
}

// diffKeys generates the differential's keys with openssl genpkey and
// returns them as confKeys with fresh KMS key ids.
func diffKeys(t *testing.T, dir string) []*confKey {
	t.Helper()
	var keys []*confKey
	for _, s := range diffKeySpecs {
		file := filepath.Join(dir, s.name+".key.pem")
		Cmd{Args: append(append([]string{"openssl", "genpkey"}, s.genpkey...), "-out", file), Env: noEngine()}.Run(t)
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		block, _ := pem.Decode(b)
		require.NotNil(t, block, "openssl genpkey wrote no PEM")
		priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		require.NoError(t, err)
		signer, ok := priv.(crypto.Signer)
		require.True(t, ok, "%T is not a crypto.Signer", priv)
		var id [16]byte
		_, err = rand.Read(id[:])
		require.NoError(t, err)
		id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80 // RFC 9562 §5.4: version 4, variant 10
		h := hex.EncodeToString(id[:])
		k := &confKey{Name: s.name, Label: s.name, KeyID: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
			ID: id[:], Spec: s.spec, Usage: kmsbackend.UsageSignVerify, Public: signer.Public(), private: signer}
		k.PubDER, err = marshalSPKI(k.Public, k.Spec)
		require.NoError(t, err)
		k.PubPEM = filepath.Join(dir, s.name+".pub.pem")
		require.NoError(t, os.WriteFile(k.PubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.PubDER}), 0o644))
		require.NoError(t, os.Remove(file))
		keys = append(keys, k)
	}
	return keys
}

// diffUnderTest seeds the keys into a dev KMS of the differential's own
// (the suite's seed stays untouched), stopped when owner ends, and returns
// the module under test configured for it. With P11KMS_CONFORMANCE_MODULE=softhsm2 the "module
// under test" is a second SoftHSM2 token, which checks the harness itself.
func diffUnderTest(t, owner *testing.T, dir string, keys []*confKey) *diffSide {
	t.Helper()
	if env.Name == moduleSoftHSM {
		conf, err := softHSMToken(&suiteEnv{Token: diffToken, PIN: env.PIN}, filepath.Join(dir, "softhsm-under-test"), keys)
		require.NoError(t, err)
		return &diffSide{name: "SoftHSM2-under-test", module: env.Module, env: []string{"SOFTHSM2_CONF=" + conf}}
	}
	seed := make([]devkms.SeedKey, len(keys))
	for i, k := range keys {
		seed[i] = devkms.SeedKey{ID: k.KeyID, Spec: k.Spec, Usage: k.Usage, Aliases: []string{devkms.AliasName(k.Label)}, Private: k.private}
	}
	seedFile := filepath.Join(dir, "diff-seed.yaml")
	require.NoError(t, devkms.WriteSeedFile(seedFile, seed))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devkms.Start(ctx, devkms.Options{SeedFile: seedFile, DataDir: filepath.Join(dir, "diff-kms")})
	require.NoError(t, err)
	owner.Cleanup(func() { _ = srv.Close() })
	cfg := filepath.Join(dir, "diff-p11kms.yaml")
	require.NoError(t, writeConfig(cfg, &suiteEnv{Token: diffToken, KMSURL: srv.URL()}, srv.Region(), filepath.Join(dir, "diff-module.log"), nil))
	return &diffSide{name: "p11kms", module: env.Module, env: []string{"P11KMS_CONFIG=" + cfg}}
}

// diffReference imports the keys into a SoftHSM2 token of their own
// (softhsm2-util --import, under the same label and CKA_ID).
func diffReference(t *testing.T, dir string, keys []*confKey) *diffSide {
	t.Helper()
	conf, err := softHSMToken(&suiteEnv{Token: diffToken, PIN: env.PIN}, filepath.Join(dir, "softhsm-reference"), keys)
	require.NoError(t, err)
	return &diffSide{name: "SoftHSM2", module: softHSMLib, env: []string{"SOFTHSM2_CONF=" + conf}}
}

// diffURI is the PKCS#11 URI (RFC 7512 §2.3, id percent-encoded) of k's
// public key object on the differential token.
func diffURI(k *confKey) string {
	var id strings.Builder
	for _, b := range k.ID {
		fmt.Fprintf(&id, "%%%02x", b)
	}
	return fmt.Sprintf("pkcs11:token=%s;id=%s;type=public", diffToken, id.String())
}

// diffObjectBlock returns the pkcs11-tool -O block of the object with k's CKA_ID.
func diffObjectBlock(t *testing.T, out string, k *confKey) string {
	t.Helper()
	var found []string
	for _, b := range regexp.MustCompile(`(?m)^\S`).Split(out, -1) {
		if regexp.MustCompile(`\n\s+ID:\s+` + k.IDHex() + `\n`).MatchString(b) {
			found = append(found, b)
		}
	}
	require.Len(t, found, 1, "one public key object with CKA_ID %s in:\n%s", k.IDHex(), out)
	return found[0]
}

// diffNormalizeO drops the pkcs11-tool -O lines that differ by design:
// "Usage:" (softhsm2-util --import marks every imported public key
// encrypt/verify/wrap; a KMS SIGN_VERIFY key only verifies) and "Access:"
// (the flags of an imported versus a KMS-generated key).
func diffNormalizeO(block string) string {
	return regexp.MustCompile(`(?m)^\s+(Usage|Access):.*\n`).ReplaceAllString(block, "")
}

// diffNormalizeP11tool drops what differs by design in p11tool --list-all
// output: the token's model, manufacturer and serial in the "URL:" line
// (token, id, object and type stay), and the "Flags:" line (softhsm2-util
// --import sets CKA_WRAP on RSA public keys; a KMS SIGN_VERIFY key has none).
func diffNormalizeP11tool(list string) string {
	list = regexp.MustCompile(`model=[^;]*;manufacturer=[^;]*;serial=[^;]*;`).ReplaceAllString(list, "")
	return regexp.MustCompile(`(?m)^\s+Flags:.*\n`).ReplaceAllString(list, "")
}

// diffDesignLines returns the lines the normalizers drop, for the log.
func diffDesignLines(out string) []string {
	return regexp.MustCompile(`(?m)^\s+(Usage|Access|Flags):.*$|model=[^;]*;manufacturer=[^;]*;serial=[^;]*;`).FindAllString(out, -1)
}

// diffDigestFile writes the digest of data (with its DigestInfo prefix when
// di) to a file and returns its path.
func diffDigestFile(t *testing.T, dir, data, hash string, di bool) string {
	t.Helper()
	b, err := os.ReadFile(data)
	require.NoError(t, err)
	var sum []byte
	switch hash {
	case "sha256":
		s := sha256.Sum256(b)
		sum = s[:]
	case "sha384":
		s := sha512.Sum384(b)
		sum = s[:]
	case "sha512":
		s := sha512.Sum512(b)
		sum = s[:]
	default:
		t.Fatalf("no digest %s", hash)
	}
	name := filepath.Join(dir, "data."+hash)
	if di {
		prefix, err := hex.DecodeString(diffDigestInfo[hash])
		require.NoError(t, err)
		sum = append(prefix, sum...)
		name += ".di"
	}
	require.NoError(t, os.WriteFile(name, sum, 0o644))
	return name
}

// diffRead reads a file.
func diffRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotEmpty(t, b, "%s is empty", path)
	return b
}

// diffWriteTemp writes b to a new file in dir and returns its path.
func diffWriteTemp(t *testing.T, dir string, b []byte) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "blob-*")
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, errors.Join(err, f.Close()))
	return f.Name()
}
