package cabitest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
)

// childEnv names the scenario a re-executed test binary runs instead of the
// tests; lateConfigEnv is the configuration the "late-env" scenario sets.
const (
	childEnv      = "P11KMS_CABITEST_CHILD"
	lateConfigEnv = "P11KMS_CABITEST_LATE_CONFIG"
)

// runChild runs one scenario in a child process and returns its exit code.
// It prints "rv=0x..." and "label=..." lines on stdout for the parent.
func runChild(scenario string) int {
	path, err := libraryPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if scenario == "late-env" { // setenv after start, before the library is loaded
		if err := os.Setenv("P11KMS_CONFIG", os.Getenv(lateConfigEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	l, err := rawc.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch scenario {
	case "init", "late-env": // C_Initialize(NULL), the first token's label, C_Finalize.
		rv := l.Initialize(rawc.InitArgs{Null: true})
		fmt.Printf("rv=%#x\n", rv)
		if rv != 0 {
			return 0
		}
		ti, rv := l.TokenInfo(0)
		fmt.Printf("rv=%#x\nlabel=%s\n", rv, bytes.TrimRight(ti.Label[:], " "))
		fmt.Printf("rv=%#x\n", l.Finalize())
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown scenario", scenario)
	return 2
}

// childResult is what a child printed: its CK_RVs in order and the labels.
type childResult struct {
	rvs    []uint
	labels []string
}

// runChildProcess runs the test binary again as a child running scenario,
// with env added to (and P11KMS_CONFIG removed from, when unsetConfig) the
// environment. Anything else on stdout fails the test: the module must never
// write there (DESIGN.md).
func runChildProcess(t *testing.T, scenario string, unsetConfig bool, env ...string) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if !unsetConfig || !strings.HasPrefix(kv, "P11KMS_CONFIG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append(env, childEnv+"="+scenario)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "child %s: stderr:\n%s", scenario, stderr.String())
	var res childResult
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if v, ok := strings.CutPrefix(line, "label="); ok {
			res.labels = append(res.labels, v)
			continue
		}
		v, ok := strings.CutPrefix(line, "rv=")
		require.True(t, ok, "child stdout line %q (stderr:\n%s)", line, stderr.String())
		n, err := strconv.ParseUint(v, 0, 64)
		require.NoError(t, err)
		res.rvs = append(res.rvs, uint(n))
	}
	return res
}
