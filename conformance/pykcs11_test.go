package conformance

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientPyKCS11 is PyKCS11 under Debian's Python.
const clientPyKCS11 = "PyKCS11"

// pyPython is Debian's interpreter, which has python3-pykcs11 and
// python3-cryptography; the python3 first on PATH may be another one
// (a pyenv build) without them.
const pyPython = "/usr/bin/python3"

// pyScript signs with every key and mechanism and verifies in software.
var pyScript = filepath.Join("testdata", "pykcs11", "sign_verify.py")

func init() {
	registerClient(clientPyKCS11, func() (string, error) {
		// dpkg-query lists packages sorted by name, so name each line.
		out, err := exec.Command("dpkg-query", "-W", "-f=${Package} ${Version}\n", "python3-pykcs11", "python3-cryptography").Output()
		if err != nil {
			return "", err
		}
		v := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				v[f[0]] = f[1]
			}
		}
		if v["python3-pykcs11"] == "" || v["python3-cryptography"] == "" {
			return "", fmt.Errorf("dpkg-query printed %q", out)
		}
		return "PyKCS11 " + v["python3-pykcs11"] + " (verifier: python3-cryptography " + v["python3-cryptography"] + ")", nil
	})
}

// pyRecord is one line of sign_verify.py's output.
type pyRecord struct {
	Op     string `json:"op"`
	Key    string `json:"key"` // CKA_LABEL; "" for a mechanism
	Result string `json:"result"`
	Detail string `json:"detail"`
	SPKI   string `json:"spki"` // public key records only
	ID     string `json:"id"`   // public key records only
}

// pyRequired are the operations the script must have run on every key of
// a kind: what the brief and CLIENTS.md name (SHA256-RSA-PKCS, RSA-PKCS
// over DigestInfo, PSS SHA-256 salt 32 with and without hashing on the
// token, the multi-part path Java uses, raw ECDSA, ECDSA-SHA256), and
// RSA-OAEP with the two hashes AWS KMS decrypts with (DESIGN.md).
var pyRequired = []struct {
	kind string // "rsa", "ec" or "decrypt"
	op   string
}{
	{"rsa", "sign CKM_SHA256_RSA_PKCS"},
	{"rsa", "sign CKM_SHA256_RSA_PKCS multi-part"},
	{"rsa", "sign CKM_RSA_PKCS over SHA256 DigestInfo"},
	{"rsa", "sign CKM_SHA256_RSA_PKCS_PSS"},
	{"rsa", "sign CKM_RSA_PKCS_PSS over SHA256"},
	{"ec", "sign CKM_ECDSA over SHA256"},
	{"ec", "sign CKM_ECDSA_SHA256"},
	{"ec", "sign CKM_ECDSA_SHA256 multi-part"},
	{"decrypt", "decrypt CKM_RSA_PKCS_OAEP SHA1"},
	{"decrypt", "decrypt CKM_RSA_PKCS_OAEP SHA256"},
}

// pySoftHSMLimits are what SoftHSM2 2.6.1, the reference module, cannot do
// (CLIENTS.md): in P11KMS_CONFORMANCE_MODULE=softhsm2 runs these are skips.
var pySoftHSMLimits = map[string]string{
	"decrypt CKM_RSA_PKCS_OAEP SHA256": "SoftHSM2 2.6.1 rejects OAEP with SHA-256 (CKR_ARGUMENTS_BAD)",
}

// pyKind returns the pyRequired kind of a key.
func pyKind(k *confKey) string {
	switch {
	case !k.CanSign():
		return "decrypt"
	case k.IsRSA():
		return "rsa"
	}
	return "ec"
}

// TestPyKCS11 runs sign_verify.py with Debian's Python and registers each
// of its checks: every private key with every signing mechanism the token
// lists, each signature verified by python3-cryptography from the public
// key object's attributes, which must be the seeded public key.
func TestPyKCS11(t *testing.T) {
	var records []pyRecord
	if !check(t, clientPyKCS11, "run sign_verify.py", func(t *testing.T) {
		if _, err := os.Stat(pyPython); err != nil {
			failOrSkip(t, "%s is missing", pyPython)
		}
		probe := Cmd{Args: []string{pyPython, "-c", "import PyKCS11, cryptography"}}.Try(t)
		if probe.Err != nil {
			failOrSkip(t, "%s lacks python3-pykcs11 or python3-cryptography: %s", pyPython, strings.TrimSpace(probe.Combined))
		}
		r := Cmd{Args: []string{pyPython, pyScript, "--module", env.Module, "--token", env.Token},
			Env: []string{"P11_PIN=" + env.PIN}, Timeout: 5 * time.Minute}.Run(t)
		sc := bufio.NewScanner(strings.NewReader(r.Stdout))
		for sc.Scan() {
			var rec pyRecord
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "output line %q", sc.Text())
			records = append(records, rec)
		}
		require.NotEmpty(t, records, "sign_verify.py reported nothing:\n%s", r.Combined)
	}) {
		return
	}

	byLabel := map[string]*confKey{}
	for _, k := range env.Keys {
		byLabel[k.Label] = k
	}
	seen := map[string]bool{} // key name + "\x00" + op
	for _, rec := range records {
		subject := rec.Key
		k := byLabel[rec.Key]
		if k != nil {
			subject = k.Name
			seen[k.Name+"\x00"+rec.Op] = true
		}
		op := rec.Op
		if subject != "" {
			op += ": " + subject
		}
		check(t, clientPyKCS11, op, func(t *testing.T) {
			if rec.Key != "" && k == nil {
				t.Fatalf("the token shows a key labelled %q that the suite did not seed", rec.Key)
			}
			switch rec.Result {
			case "info": // a public key: must be the seeded one, under the key's CKA_ID
				der, err := hex.DecodeString(rec.SPKI)
				require.NoError(t, err)
				requireSameDER(t, k, der)
				assert.Equal(t, k.IDHex(), rec.ID, "CKA_ID of %s", k.Name)
			case "pass":
			case "fail":
				if why, ok := pySoftHSMLimits[rec.Op]; ok && env.Name == moduleSoftHSM {
					skipCheck(t, "%s (%s)", why, rec.Detail)
				}
				t.Fatalf("%s", rec.Detail)
			case "skip":
				skipCheck(t, "%s", rec.Detail)
			default:
				t.Fatalf("%s: %s", rec.Result, rec.Detail)
			}
		})
	}

	for _, k := range env.Keys {
		if !seen[k.Name+"\x00public key"] {
			check(t, clientPyKCS11, "public key: "+k.Name, func(t *testing.T) {
				t.Fatalf("sign_verify.py found no key pair labelled %s", k.Label)
			})
		}
		for _, req := range pyRequired {
			if req.kind != pyKind(k) || seen[k.Name+"\x00"+req.op] {
				continue
			}
			check(t, clientPyKCS11, req.op+": "+k.Name, func(t *testing.T) {
				if env.Name == moduleSoftHSM {
					skipCheck(t, "SoftHSM2 2.6.1 does not list this mechanism")
				}
				t.Fatalf("not run: the token does not list the mechanism, or the key does not allow it")
			})
		}
	}
}
