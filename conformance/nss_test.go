package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientNSS is Mozilla NSS's command-line tools.
const clientNSS = "NSS (modutil, certutil)"

func init() {
	// certutil and modutil have no version option; the Debian package has it.
	registerClient(clientNSS, func() (string, error) {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "libnss3-tools").Output()
		if err != nil {
			return "", err
		}
		return "NSS " + string(out), nil
	})
}

// nssSpyLib is OpenSC's logging PKCS#11 proxy (Debian package opensc).
const nssSpyLib = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so"

// nssCSRKeys are the keys certutil -R makes a CSR with: both key types,
// every NIST curve (NSS has no secp256k1: SEC 2 curves other than the NIST
// ones are not in its curve table).
var nssCSRKeys = []string{"rsa2048", "rsa4096", "p256", "p384", "p521"}

// nssKeyType is the key type certutil -K prints for a key.
func nssKeyType(k *confKey) string {
	if k.IsRSA() {
		return "rsa"
	}
	return "ec"
}

// nssDB is one NSS database with the module added.
type nssDB struct {
	dir     string   // the database directory (used as sql:dir)
	pinFile string   // holds the user PIN
	env     []string // environment of every command
}

// nssNewDB creates an empty database (certutil -N, no password) in dir
// (which must outlive the checks that use it) and adds lib to it as module name (modutil -add, answering its
// "close all applications" prompt), with a module parameter string when
// param is not empty (modutil -string; NSS passes it to C_Initialize in
// pReserved).
func nssNewDB(t *testing.T, dir, name, lib, param string, extraEnv ...string) *nssDB {
	t.Helper()
	requireTool(t, "certutil", "modutil")
	d := &nssDB{dir: dir, env: extraEnv}
	require.NoError(t, os.MkdirAll(dir, 0o700))
	d.pinFile = filepath.Join(d.dir, "pinfile")
	require.NoError(t, os.WriteFile(d.pinFile, []byte(env.PIN+"\n"), 0o600))
	Cmd{Args: []string{"certutil", "-N", "-d", "sql:" + d.dir, "--empty-password"}, Env: d.env}.Run(t)
	args := []string{"modutil", "-dbdir", "sql:" + d.dir, "-add", name, "-libfile", lib, "-force"}
	if param != "" {
		args = append(args, "-string", param)
	}
	out := Cmd{Args: args, Env: d.env, Stdin: "\n"}.Run(t).Combined
	require.Contains(t, out, fmt.Sprintf("Module %q added to database.", name))
	return d
}

// certutil runs certutil on the database with the PIN file.
func (d *nssDB) certutil(t *testing.T, args ...string) Result {
	t.Helper()
	all := append([]string{"certutil", "-d", "sql:" + d.dir, "-f", d.pinFile}, args...)
	return Cmd{Args: all, Env: d.env, Dir: d.dir}.Run(t)
}

// nssListedKeys parses certutil -K output lines "< n> type id nickname"
// into a map from CKA_ID (hex) to key type.
func nssListedKeys(out string) map[string]string {
	keys := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^<\s*\d+>\s+(\w+)\s+([0-9a-f]+)\s`).FindAllStringSubmatch(out, -1) {
		keys[m[2]] = m[1]
	}
	return keys
}

// TestNSS adds the module to an NSS database, lists its keys and makes
// certificate requests signed on the token, checked by openssl.
func TestNSS(t *testing.T) {
	var db *nssDB
	dbDir := t.TempDir()
	check(t, clientNSS, "modutil -add", func(t *testing.T) {
		db = nssNewDB(t, dbDir, "p11kms", env.Module, "")
	})
	requireDB := func(t *testing.T) {
		if db == nil {
			skipCheck(t, "no NSS database with the module (the modutil check failed)")
		}
	}

	check(t, clientNSS, "certutil -K list keys", func(t *testing.T) {
		requireDB(t)
		out := db.certutil(t, "-K", "-h", env.Token).Combined
		listed := nssListedKeys(out)
		for _, k := range env.Keys {
			assert.Equal(t, nssKeyType(k), listed[k.IDHex()], "%s (CKA_ID %s) in certutil -K:\n%s", k.Name, k.IDHex(), out)
		}
		assert.Len(t, listed, len(env.Keys), "one line per key:\n%s", out)
	})

	for _, name := range nssCSRKeys {
		k := env.key(name)
		check(t, clientNSS, "certutil -R CSR: "+k.Name, func(t *testing.T) {
			requireDB(t)
			noise := filepath.Join(db.dir, "noise")
			require.NoError(t, os.WriteFile(noise, []byte(strings.Repeat("p11kms noise ", 8)), 0o600))
			csr := filepath.Join(db.dir, k.Name+".csr")
			db.certutil(t, "-R", "-h", env.Token, "-k", k.IDHex(), "-s", "CN="+k.Label+",O=p11kms conformance",
				"-a", "-o", csr, "-z", noise)
			verifyCSRWithOpenSSL(t, csr, k)
		})
	}

	// NSS sets CKF_LIBRARY_CANT_CREATE_OS_THREADS and passes its module
	// parameter string in pReserved (CLIENTS.md); a Go module always has
	// threads, and must still initialise. pkcs11-spy shows what NSS passed
	// and what the module answered.
	check(t, clientNSS, "C_Initialize with CKF_LIBRARY_CANT_CREATE_OS_THREADS and a parameter string", func(t *testing.T) {
		if _, err := os.Stat(nssSpyLib); err != nil {
			failOrSkip(t, "%s is not installed (Debian package opensc)", nssSpyLib)
		}
		param := "p11kms-conformance-parameter=nss"
		if env.Name == moduleSoftHSM {
			param = "" // SoftHSM2 answers a non-NULL pReserved with CKR_ARGUMENTS_BAD
		}
		dir := t.TempDir()
		log := filepath.Join(dir, "spy.log")
		spy := nssNewDB(t, filepath.Join(dir, "db"), "p11kms-spy", nssSpyLib, param,
			"PKCS11SPY="+env.Module, "PKCS11SPY_OUTPUT="+log)
		require.NoError(t, os.Remove(log)) // keep only certutil's session
		out := spy.certutil(t, "-K", "-h", env.Token).Combined
		listed := nssListedKeys(out)
		for _, k := range env.Keys {
			assert.Equal(t, nssKeyType(k), listed[k.IDHex()], "%s in certutil -K through pkcs11-spy:\n%s", k.Name, out)
		}
		b, err := os.ReadFile(log)
		require.NoError(t, err)
		m := regexp.MustCompile(`(?s)C_Initialize\n.*?\[in\] pInitArgs = \S+\n(.*?)Returned:\s+(\d+) (\w+)`).FindStringSubmatch(string(b))
		require.NotNil(t, m, "no C_Initialize in the spy log:\n%s", b)
		assert.Contains(t, m[1], "CKF_LIBRARY_CANT_CREATE_OS_THREADS", "flags NSS passed")
		assert.Equal(t, "CKR_OK", m[3], "C_Initialize's return value")
	})

	// README "Configuration": a YAML configuration with a `tokens:` key may
	// come in pReserved instead of P11KMS_CONFIG; NSS passes modutil
	// -string there. A token label of its own shows which one was used.
	check(t, clientNSS, "configuration in the module parameter string (modutil -string)", func(t *testing.T) {
		if env.Name != moduleP11KMS {
			skipCheck(t, "p11kms only: %s takes no configuration string", env.Name)
		}
		const label = "conformance-nss"
		cfg := fmt.Sprintf("{tokens: [{label: %s, region: %s, endpoint: %s, anonymous: true}]}", label, devkms.DefaultRegion, env.KMSURL)
		pdb := nssNewDB(t, t.TempDir(), "p11kms-param", env.Module, cfg, "P11KMS_CONFIG=")
		out := pdb.certutil(t, "-K", "-h", label).Combined
		listed := nssListedKeys(out)
		for _, k := range env.Keys {
			assert.Equal(t, nssKeyType(k), listed[k.IDHex()], "%s on token %s:\n%s", k.Name, label, out)
		}
	})
}
