package cabitest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// tokenYAML is one token of a configuration reaching the dev KMS.
func tokenYAML(label, extra string) string {
	return fmt.Sprintf("  - label: %q\n    region: us-east-1\n    endpoint: %q\n    anonymous: true\n%s", label, devURL, extra)
}

// configYAML is a whole configuration with the given tokens, logging to the test's log file.
func configYAML(tokens ...string) string {
	s := fmt.Sprintf("log: {level: debug, file: %q}\ntokens:\n", moduleLog)
	for _, t := range tokens {
		s += t
	}
	return s
}

// TestConfigInPReserved passes configurations in pReserved (token/config.go:
// a YAML mapping with a "tokens" key). The token rejects a bad configuration
// with CKR_FUNCTION_FAILED (its choice, token/module.go) and ignores other
// strings there, as NSS passes them.
func TestConfigInPReserved(t *testing.T) {
	cases := []struct {
		name     string
		reserved string
		rv       uint
		label    string // the one token's label when rv is CKR_OK
	}{
		{"CKR_OK with a valid configuration", configYAML(tokenYAML("from-preserved", "")), ck.CKR_OK, "from-preserved"},
		{"CKR_OK ignoring an NSS parameter string", "configdir='sql:/etc/pki/nssdb' certPrefix='' flags=readOnly", ck.CKR_OK, tokenLabel},
		{"CKR_FUNCTION_FAILED with an unknown field", configYAML(tokenYAML("x", "    colour: blue\n")), ck.CKR_FUNCTION_FAILED, ""},
		{"CKR_FUNCTION_FAILED without a label", configYAML("  - region: us-east-1\n    endpoint: " + devURL + "\n    anonymous: true\n"), ck.CKR_FUNCTION_FAILED, ""},
		{"CKR_FUNCTION_FAILED with two tokens of one label", configYAML(tokenYAML("twin", ""), tokenYAML("twin", "")), ck.CKR_FUNCTION_FAILED, ""},
		{"CKR_FUNCTION_FAILED with a bad log level", "log: {level: loud}\ntokens:\n" + tokenYAML("x", ""), ck.CKR_FUNCTION_FAILED, ""},
		{"CKR_FUNCTION_FAILED with a malformed PIN hash", configYAML(tokenYAML("x", "    pin: \"1234\"\n")), ck.CKR_FUNCTION_FAILED, ""},
		{"CKR_FUNCTION_FAILED with no tokens", "tokens: []\n", ck.CKR_FUNCTION_FAILED, ""},
	}
	p, r := lib(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv := r.Initialize(rawc.InitArgs{Reserved: c.reserved})
			if rv == ck.CKR_OK {
				defer func() { requireRV(t, ck.CKR_OK, p.Finalize()) }()
			}
			requireRawRV(t, c.rv, rv, "C_Initialize")
			if c.rv != ck.CKR_OK {
				_, err := p.GetInfo()
				requireRV(t, ck.CKR_CRYPTOKI_NOT_INITIALIZED, err, "a failed C_Initialize leaves the module uninitialized")
				return
			}
			slots, err := p.GetSlotList(true)
			requireRV(t, ck.CKR_OK, err)
			require.Len(t, slots, 1)
			ti, err := p.GetTokenInfo(slots[0])
			requireRV(t, ck.CKR_OK, err)
			assert.Equal(t, c.label, ti.Label)
		})
	}
}

// TestConfigFile runs C_Initialize in child processes with P11KMS_CONFIG
// naming each file (the library reads its environment once, at load).
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), mode))
		require.NoError(t, os.Chmod(path, mode)) // umask may have cleared bits
		return path
	}
	valid := configYAML(tokenYAML("from-file", ""))
	cases := []struct {
		name string
		path string
		rvs  []uint // C_Initialize, then C_GetTokenInfo and C_Finalize when it succeeded
	}{
		{"CKR_OK with a valid file", write("valid.yaml", valid, 0o600), []uint{ck.CKR_OK, ck.CKR_OK, ck.CKR_OK}},
		{"CKR_FUNCTION_FAILED with bad YAML", write("bad.yaml", "tokens: [ {label: x\n", 0o600), []uint{ck.CKR_FUNCTION_FAILED}},
		{"CKR_FUNCTION_FAILED with an unknown field", write("unknown.yaml", "tokenz: []\n", 0o600), []uint{ck.CKR_FUNCTION_FAILED}},
		{"CKR_FUNCTION_FAILED with a world-writable file", write("ww.yaml", valid, 0o666), []uint{ck.CKR_FUNCTION_FAILED}},
		{"CKR_FUNCTION_FAILED with a missing file", filepath.Join(dir, "absent.yaml"), []uint{ck.CKR_FUNCTION_FAILED}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runChildProcess(t, "init", false, "P11KMS_CONFIG="+c.path)
			require.Equal(t, rvNames(c.rvs), rvNames(got.rvs))
			if c.rvs[0] == ck.CKR_OK {
				require.Equal(t, []string{"from-file"}, got.labels)
			}
		})
	}
}

// TestConfigEnvSetBeforeLoad: a host that sets P11KMS_CONFIG after it
// started but before loading the module (Python's os.environ, a launcher)
// must get that configuration. A Go c-shared library's os.Getenv sees only the
// environment the process started with, so the module must read it with C getenv.
func TestConfigEnvSetBeforeLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.yaml")
	require.NoError(t, os.WriteFile(path, []byte(configYAML(tokenYAML("set-late", ""))), 0o600))
	got := runChildProcess(t, "late-env", true, lateConfigEnv+"="+path)
	require.Equal(t, rvNames([]uint{ck.CKR_OK, ck.CKR_OK, ck.CKR_OK}), rvNames(got.rvs))
	require.Equal(t, []string{"set-late"}, got.labels, "token label from the configuration set before loading")
}

func rvNames(rvs []uint) []string {
	var out []string
	for _, rv := range rvs {
		out = append(out, ck.RVName(rv))
	}
	return out
}
