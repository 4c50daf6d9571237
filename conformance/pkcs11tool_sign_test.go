package conformance

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// What a pkcs11-tool mechanism signs.
const (
	inData       = "data"        // the message (the mechanism hashes it)
	inHash       = "hash"        // a bare digest of the message (hash named by the row)
	inDigestInfo = "digest-info" // DER DigestInfo || digest (RFC 8017 §9.2)
)

// p11toolSign is one pkcs11-tool signing mechanism and how openssl verifies
// its result.
type p11toolSign struct {
	mech    string   // pkcs11-tool -m
	input   string   // inData, inHash or inDigestInfo
	hash    string   // openssl digest of the message
	args    []string // extra pkcs11-tool arguments (PSS parameters)
	sigopts []string // openssl -sigopt for verification
}

// pss32 are the openssl options for PSS with a 32-byte salt (KMS: salt = hash length).
var pss32 = []string{"rsa_padding_mode:pss", "rsa_pss_saltlen:32"}

// p11toolRSASigns are the RSA mechanisms pkcs11-tool signs with. Source:
// PKCS#11 2.40 Current Mechanisms §2.1.6 (RSA-PKCS), §2.1.10 (RSA-PKCS-PSS),
// §2.1.11 (SHA*-RSA-PKCS, SHA*-RSA-PKCS-PSS); CLIENTS.md command lines.
var p11toolRSASigns = []p11toolSign{
	{"RSA-PKCS", inDigestInfo, "sha256", nil, nil},
	{"SHA256-RSA-PKCS", inData, "sha256", nil, nil},
	{"SHA384-RSA-PKCS", inData, "sha384", nil, nil},
	{"SHA512-RSA-PKCS", inData, "sha512", nil, nil},
	{"RSA-PKCS-PSS", inHash, "sha256", []string{"--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256", "--salt-len", "32"}, pss32},
	{"SHA256-RSA-PKCS-PSS", inData, "sha256", []string{"--salt-len", "32"}, pss32}, // pkcs11-tool refuses --hash-algorithm here
}

// p11toolECSigns are the ECDSA mechanisms pkcs11-tool signs with on every
// curve; hash "" means the curve's own KMS digest. Source: PKCS#11 2.40
// Current Mechanisms §2.3.6 (ECDSA), §2.3.7 (ECDSA-SHA*).
var p11toolECSigns = []p11toolSign{
	{"ECDSA", inHash, "", nil, nil},
	{"ECDSA-SHA256", inData, "sha256", nil, nil},
	{"ECDSA-SHA384", inData, "sha384", nil, nil},
}

// digestInfoSHA256 is the DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// digest returns the named hash of data ("sha256", "sha384", "sha512").
func digest(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	switch name {
	case "sha256":
		s := sha256.Sum256(data)
		return s[:]
	case "sha384":
		s := sha512.Sum384(data)
		return s[:]
	case "sha512":
		s := sha512.Sum512(data)
		return s[:]
	}
	t.Fatalf("unknown digest %q", name)
	return nil
}

// TestPkcs11ToolSign signs with every mechanism and key through pkcs11-tool,
// verifies each signature with openssl and with pkcs11-tool --verify.
func TestPkcs11ToolSign(t *testing.T) {
	for _, k := range env.signKeys() {
		rows := p11toolRSASigns
		if !k.IsRSA() {
			rows = p11toolECSigns
		}
		for _, row := range rows {
			check(t, clientPkcs11Tool, "--sign/--verify "+row.mech+": "+k.Name, func(t *testing.T) {
				requireTool(t, "pkcs11-tool", "openssl")
				f := newSignFiles(t, k, row)
				dataFile, inFile, sigFile, hash := f.data, f.in, f.sig, f.hash
				args := append(loginArgs(), "--sign", "--id", k.IDHex(), "-m", row.mech, "-i", inFile, "-o", sigFile)
				run(t, p11toolArgs(append(args, row.args...)...)...)
				if k.IsRSA() {
					sig, err := os.ReadFile(sigFile)
					require.NoError(t, err)
					require.Len(t, sig, k.Bits()/8, "RSA signature length")
					verifyFilesWithOpenSSL(t, k, hash, dataFile, sigFile, row.sigopts...)
				} else {
					verifyRawECDSAFile(t, k, hash, dataFile, sigFile)
				}
				vargs := append(loginArgs(), "--verify", "--id", k.IDHex(), "-m", row.mech, "-i", inFile, "--signature-file", sigFile)
				out := run(t, p11toolArgs(append(vargs, row.args...)...)...)
				require.Contains(t, out, "Signature is valid")
			})
		}
	}
}

// signFiles are the files of one pkcs11-tool --sign check: random data, the
// input pkcs11-tool signs (the data, its hash, or DigestInfo||hash as the
// row says), the signature's path, and the hash that verifies it.
type signFiles struct {
	data, in, sig, hash string
}

// newSignFiles writes the data and the input for row with key k.
func newSignFiles(t *testing.T, k *confKey, row p11toolSign) signFiles {
	t.Helper()
	hash := row.hash
	if hash == "" {
		hash = k.Curve().hash
	}
	dir := t.TempDir()
	data := make([]byte, 1000)
	_, err := rand.Read(data)
	require.NoError(t, err)
	input := data
	switch row.input {
	case inHash:
		input = digest(t, hash, data)
	case inDigestInfo:
		input = append(append([]byte{}, digestInfoSHA256...), digest(t, "sha256", data)...)
	}
	f := signFiles{data: filepath.Join(dir, "data"), in: filepath.Join(dir, "in"), sig: filepath.Join(dir, "sig"), hash: hash}
	require.NoError(t, os.WriteFile(f.data, data, 0o600))
	require.NoError(t, os.WriteFile(f.in, input, 0o600))
	return f
}
