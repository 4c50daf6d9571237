package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The prefork harness's shape: nginx's default is one worker per core; 8
// workers of 20 signatures each exercise 8 concurrent connections.
const (
	preforkWorkers = 8
	preforkSigns   = 20
)

// preforkBinary is testdata/prefork/prefork.c, compiled once per run.
var preforkBinary struct {
	sync.Once
	path string
	err  error
}

// buildPrefork compiles the harness with gcc against the vendored headers.
func buildPrefork(t *testing.T) string {
	t.Helper()
	requireTool(t, "gcc")
	preforkBinary.Do(func() {
		path := filepath.Join(env.Dir, "prefork")
		out, err := exec.Command("gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-I", filepath.Join("..", "cgo", "include", "oasis"),
			"-o", path, filepath.Join("testdata", "prefork", "prefork.c"), "-ldl").CombinedOutput()
		if err != nil {
			err = fmt.Errorf("gcc prefork.c: %v\n%s", err, out)
		}
		preforkBinary.path, preforkBinary.err = path, err
	})
	require.NoError(t, preforkBinary.err)
	return preforkBinary.path
}

// workerLine matches a worker's report (testdata/prefork/prefork.c).
var workerLine = regexp.MustCompile(`^worker (\d+) (?:ok init=0x([0-9a-f]+)|fail call=(\S+) rv=0x([0-9a-f]+)) us=(\d+) signs=(\d+)$`)

// workerReport is one worker's report line.
type workerReport struct {
	ok       bool
	initRV   uint64 // C_Initialize's CK_RV (ok reports)
	call     string // the failed call (fail reports)
	rv       uint64 // its CK_RV
	elapsed  time.Duration
	signs    int
	fullLine string
}

// preforkResult is one harness run.
type preforkResult struct {
	Result
	cmd     Cmd
	workers map[int]workerReport
	other   []string // lines that are not worker reports or "done"
	done    bool
	dir     string
	seed    []byte
}

// runPrefork runs the harness with module (and extra environment), k and
// mode ("master-init" or "workers-only", testdata/prefork/prefork.c).
func runPrefork(t *testing.T, module string, extraEnv []string, k *confKey, mode string) preforkResult {
	t.Helper()
	bin := buildPrefork(t)
	pr := preforkResult{dir: t.TempDir(), seed: make([]byte, 32), workers: map[int]workerReport{}}
	_, err := rand.Read(pr.seed)
	require.NoError(t, err)
	pr.cmd = Cmd{Args: []string{bin, module, env.Token, k.Label, env.PIN, strconv.Itoa(preforkWorkers), strconv.Itoa(preforkSigns),
		hex.EncodeToString(pr.seed), pr.dir, "60000", mode}, Env: extraEnv, Timeout: 2 * time.Minute}
	pr.Result = pr.cmd.Try(t)
	for _, line := range strings.Split(strings.TrimSpace(pr.Stdout), "\n") {
		m := workerLine.FindStringSubmatch(line)
		switch {
		case line == "done":
			pr.done = true
		case m == nil:
			pr.other = append(pr.other, line)
		default:
			i, _ := strconv.Atoi(m[1])
			us, _ := strconv.Atoi(m[5])
			signs, _ := strconv.Atoi(m[6])
			w := workerReport{ok: m[2] != "", call: m[3], elapsed: time.Duration(us) * time.Microsecond, signs: signs, fullLine: line}
			w.initRV, _ = strconv.ParseUint(m[2], 16, 64)
			w.rv, _ = strconv.ParseUint(m[4], 16, 64)
			pr.workers[i] = w
		}
	}
	return pr
}

// verifyPreforkSig checks the signature file name-n.sig over the value the
// harness signed for (who, n), with Go's crypto and the seeded public key.
func (pr preforkResult) verifyPreforkSig(t *testing.T, k *confKey, name string, who, n uint32) {
	t.Helper()
	want := append([]byte{}, pr.seed...)
	v := who<<16 | n
	want[28], want[29], want[30], want[31] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	in, err := os.ReadFile(filepath.Join(pr.dir, fmt.Sprintf("%s-%d.in", name, n)))
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(in), "value signed as %s-%d", name, n)
	sig, err := os.ReadFile(filepath.Join(pr.dir, fmt.Sprintf("%s-%d.sig", name, n)))
	require.NoError(t, err)
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		require.NoError(t, rsa.VerifyPKCS1v15(pub, crypto.SHA256, want, sig), "%s-%d: PKCS#1 v1.5 signature", name, n)
	case *ecdsa.PublicKey:
		size := k.Curve().size
		require.Len(t, sig, 2*size, "%s-%d: raw r||s", name, n)
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		require.True(t, ecdsa.Verify(pub, want, r, s), "%s-%d: ECDSA signature", name, n)
	default:
		t.Fatalf("%s: unexpected public key %T", k.Name, k.Public)
	}
}

// preforkChecks runs the harness through p11-kit-client.so (every worker
// signs) and against the in-process module (every worker is refused).
func preforkChecks(t *testing.T, remote func(*testing.T) *p11KitServer) {
	for _, name := range []string{"p256", "rsa2048"} {
		k := env.key(name)
		op := fmt.Sprintf("prefork %d workers x %d signatures through p11-kit-client.so: %s", preforkWorkers, preforkSigns, k.Name)
		check(t, clientPrefork, op, func(t *testing.T) {
			s := remote(t)
			pr := runPrefork(t, p11KitClient, s.Env, k, "master-init")
			require.NoError(t, pr.Err, describeFailure(pr.cmd, pr.Result, "prefork (exit 2: master call failed, 3: worker call failed, 4: worker killed, 5: worker died)"))
			require.True(t, pr.done, "harness finished")
			assert.Empty(t, pr.other, "unexpected output")
			require.Len(t, pr.workers, preforkWorkers, "one report per worker")
			var slowest time.Duration
			for i := range preforkWorkers {
				w := pr.workers[i]
				require.True(t, w.ok, "worker %d: %s", i, w.fullLine)
				assert.Equal(t, preforkSigns, w.signs, w.fullLine)
				// p11-kit's client starts afresh in a forked child: CKR_OK (libp11 also accepts ALREADY_INITIALIZED).
				assert.Contains(t, []uint64{0, 0x191}, w.initRV, w.fullLine)
				slowest = max(slowest, w.elapsed)
				for n := range uint32(preforkSigns) {
					pr.verifyPreforkSig(t, k, fmt.Sprintf("w%d", i), uint32(i+1), n)
				}
			}
			pr.verifyPreforkSig(t, k, "master", 0, 0)
			pr.verifyPreforkSig(t, k, "master", 0, 1)
			noteCheck(t, "%d signatures verified (Go crypto) in %v; slowest worker %v (C_Initialize to C_Finalize, one p11-kit-remote each)",
				preforkWorkers*preforkSigns+2, pr.Elapsed.Round(time.Millisecond), slowest.Round(time.Millisecond))
		})
	}
	// In-process, a forked worker is refused whether the master initialized
	// the module or only loaded it: the Go runtime starts at dlopen.
	k := env.key("p256")
	for _, row := range []struct{ mode, what string }{
		{"master-init", "after the master's C_Initialize and signatures"},
		{"workers-only", "when the master only loaded the library"},
	} {
		op := fmt.Sprintf("prefork %d workers in-process %s: each worker's C_Initialize gets CKR_GENERAL_ERROR at once (expected): %s", preforkWorkers, row.what, k.Name)
		check(t, clientPrefork, op, func(t *testing.T) {
			if env.Name != moduleP11KMS {
				skipCheck(t, "the fork guard is p11kms's; %s behaves otherwise", env.Name)
			}
			pr := runPrefork(t, env.Module, nil, k, row.mode)
			require.False(t, pr.TimedOut, "the harness hung")
			require.Equal(t, 3, pr.Code, "exit status 3 (workers reported a failed call)\nstdout:\n%s\nstderr:\n%s", pr.Stdout, pr.Stderr)
			require.True(t, pr.done, "harness finished")
			assert.Empty(t, pr.other, "unexpected output")
			require.Len(t, pr.workers, preforkWorkers, "one report per worker")
			var slowest time.Duration
			for i := range preforkWorkers {
				w := pr.workers[i]
				assert.Equal(t, "C_Initialize 0x5 signs=0", fmt.Sprintf("%s %#x signs=%d", w.call, w.rv, w.signs), w.fullLine)
				assert.Less(t, w.elapsed, time.Second, w.fullLine)
				slowest = max(slowest, w.elapsed)
			}
			assert.Equal(t, preforkWorkers, strings.Count(pr.Stderr, forkGuardLine), "the fork guard's line, once per worker")
			files := 0
			if row.mode == "master-init" {
				pr.verifyPreforkSig(t, k, "master", 0, 0)
				pr.verifyPreforkSig(t, k, "master", 0, 1)
				files = 4
			}
			entries, err := os.ReadDir(pr.dir)
			require.NoError(t, err)
			assert.Len(t, entries, files, "only the master's signatures and inputs")
			noteCheck(t, "slowest worker's refusal took %v", slowest.Round(time.Microsecond))
		})
	}
}
