package conformance

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Forking servers (docs/forking.md): the in-process module refuses to run in
// a child forked without exec, so servers that fork run it out of process
// with `p11-kit server` and load p11-kit's client module instead.
const (
	clientP11Kit  = "p11-kit server + p11-kit-client.so"
	clientPrefork = "prefork harness (testdata/prefork: master forks workers without exec)"
)

// p11KitClient is Debian's p11-kit client module (package p11-kit-modules).
const p11KitClient = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"

// forkGuardLine starts the line the module's fork guard writes to stderr
// once in each forked child (cgo/forkguard.c).
const forkGuardLine = "p11kms: this process was forked without exec;"

func init() {
	registerClient(clientP11Kit, func() (string, error) {
		// p11-kit has no --version; its pkg-config file and dpkg know.
		if out, err := exec.Command("pkg-config", "--modversion", "p11-kit-1").Output(); err == nil {
			return "p11-kit " + strings.TrimSpace(string(out)), nil
		}
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "p11-kit").Output()
		return "p11-kit " + strings.SplitN(string(out), "-", 2)[0] + " (dpkg)", err
	})
	registerClient(clientPrefork, func() (string, error) {
		out, err := exec.Command("gcc", "--version").Output()
		first, _, _ := strings.Cut(string(out), "\n")
		return "built with " + first, err
	})
}

// p11KitServer is a running `p11-kit server` exporting the module's tokens.
type p11KitServer struct {
	Env []string // P11_KIT_SERVER_ADDRESS=... for the clients
}

// serverAddress matches the address line `p11-kit server -s` prints.
var serverAddress = regexp.MustCompile(`P11_KIT_SERVER_ADDRESS=([^;\s]+);`)

// startP11KitServer runs `p11-kit server -f` on a private socket with the
// module under test as provider, stopped (with its p11-kit-remote children,
// one per client connection) when t ends.
func startP11KitServer(t *testing.T) (*p11KitServer, error) {
	if _, err := exec.LookPath("p11-kit"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "p11kit-") // short: a socket path has at most 107 bytes
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cmd := exec.Command("p11-kit", "server", "-f", "-s", "-n", filepath.Join(dir, "pkcs11.sock"), "--provider", env.Module, "pkcs11:")
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir) // private, in case p11-kit puts anything there
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := serverAddress.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return &p11KitServer{Env: []string{"P11_KIT_SERVER_ADDRESS=" + a}}, nil
	case <-exited:
		return nil, fmt.Errorf("p11-kit server exited: %s", stderr.String())
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("p11-kit server printed no address in 15 s: %s", stderr.String())
	}
}

// remoteTool is a pkcs11-tool command through p11-kit-client.so.
func (s *p11KitServer) remoteTool(args ...string) Cmd {
	return Cmd{Args: append([]string{"pkcs11-tool", "--module", p11KitClient, "--token-label", env.Token}, args...), Env: s.Env}
}

// p11KitKnownWarning is the one warning p11-kit 0.24.1's client prints on
// listing keys: its protocol cannot return CKA_ALLOWED_MECHANISMS (the module
// answers CKR_OK, pkcs11-spy on the server side shows; docs/forking.md).
var p11KitKnownWarning = regexp.MustCompile(`^warning: PKCS11 function C_GetAttributeValue\(ALLOWED_MECHANISMS\) failed: rv = CKR_DEVICE_ERROR \(0x30\)$`)

// TestForkingServersThroughP11Kit drives the module through `p11-kit server`
// and p11-kit-client.so with pkcs11-tool, the libp11 engine and the prefork
// harness, and shows what the in-process module does in a forked child.
func TestForkingServersThroughP11Kit(t *testing.T) {
	srv, srvErr := startP11KitServer(t)
	remote := func(t *testing.T) *p11KitServer {
		t.Helper()
		requireTool(t, "p11-kit", "pkcs11-tool", "openssl")
		if _, err := os.Stat(p11KitClient); err != nil {
			failOrSkip(t, "%s is not installed (Debian package p11-kit-modules)", p11KitClient)
		}
		require.NoError(t, srvErr, "p11-kit server --provider %s", env.Module)
		return srv
	}
	var remoteMechs []string
	check(t, clientP11Kit, "pkcs11-tool -L, -M through the client", func(t *testing.T) {
		s := remote(t)
		out := s.remoteTool("-L").Run(t).Combined
		assert.Regexp(t, `token label\s*: `+regexp.QuoteMeta(env.Token)+`\n`, out)
		remoteMechs = mechanismNames(s.remoteTool("-M").Run(t).Combined)
		local := mechanismNames(Cmd{Args: p11toolArgs("-M")}.Run(t).Combined)
		for _, m := range []string{"RSA-PKCS", "RSA-PKCS-PSS", "SHA256-RSA-PKCS", "ECDSA"} {
			assert.Contains(t, remoteMechs, m, "mechanism libp11/OpenSSH/Java use")
		}
		var dropped []string
		for _, m := range local {
			if !slices.Contains(remoteMechs, m) {
				dropped = append(dropped, m)
			}
		}
		assert.Subset(t, local, remoteMechs, "the client lists only mechanisms the module has")
		noteCheck(t, "%d of the module's %d mechanisms cross p11-kit's protocol; not carried: %s",
			len(remoteMechs), len(local), strings.Join(dropped, " "))
	})
	check(t, clientP11Kit, "pkcs11-tool --test-fork through the client: the child's C_Initialize succeeds", func(t *testing.T) {
		c := remote(t).remoteTool("--test-fork")
		c.Timeout = time.Minute
		r := c.Run(t)
		assert.Contains(t, r.Stdout, "*** Calling C_Initialize in forked child process ***")
	})
	check(t, clientP11Kit, "pkcs11-tool -O through the client: every key with its ID", func(t *testing.T) {
		r := remote(t).remoteTool("-O").Run(t)
		known := 0
		for _, line := range strings.Split(r.Combined, "\n") {
			if p11KitKnownWarning.MatchString(line) {
				known++
				continue
			}
			assert.NotRegexp(t, warningLine, line)
		}
		for _, k := range env.Keys {
			assert.Regexp(t, `label:\s+`+regexp.QuoteMeta(k.Label)+`\n\s+ID:\s+`+k.IDHex()+`\n`, r.Stdout, "key %s", k.Name)
		}
		assert.Equal(t, len(env.Keys), strings.Count(r.Stdout, "Public Key Object"), "one public key object per key")
		if known > 0 {
			noteCheck(t, "p11-kit 0.24 client warned %d times: C_GetAttributeValue(ALLOWED_MECHANISMS) CKR_DEVICE_ERROR", known)
		}
	})
	for _, name := range []string{"rsa2048", "p256", "p521"} {
		k := env.key(name)
		check(t, clientP11Kit, "pkcs11-tool --read-object --type pubkey through the client: "+k.Name, func(t *testing.T) {
			der := filepath.Join(t.TempDir(), "pub.der")
			remote(t).remoteTool("--read-object", "--type", "pubkey", "--id", k.IDHex(), "-o", der).Run(t)
			got, err := os.ReadFile(der)
			require.NoError(t, err)
			requireSameDER(t, k, got)
		})
	}
	for _, k := range env.signKeys() {
		rows := p11toolRSASigns
		if !k.IsRSA() {
			rows = p11toolECSigns
		}
		for _, row := range rows {
			if remoteMechs != nil && !slices.Contains(remoteMechs, row.mech) {
				continue // not carried by p11-kit's protocol: listed in the -M check's note
			}
			check(t, clientP11Kit, "pkcs11-tool --sign "+row.mech+" through the client: "+k.Name, func(t *testing.T) {
				remoteSign(t, remote(t), k, row)
			})
		}
	}
	for _, name := range []string{"rsa2048", "p256"} {
		k := env.key(name)
		check(t, clientP11Kit, "openssl dgst -sign with the libp11 engine through the client: "+k.Name, func(t *testing.T) {
			s := remote(t)
			conf := clientEngineConf(t)
			dir := t.TempDir()
			data, sig := filepath.Join(dir, "data"), filepath.Join(dir, "sig")
			require.NoError(t, os.WriteFile(data, []byte("signed by a KMS key through p11-kit\n"), 0o600))
			Cmd{Args: []string{"openssl", "dgst", "-engine", "pkcs11", "-keyform", "engine", "-sign", pinURI(k),
				"-sha256", "-out", sig, data}, Env: append(conf, s.Env...)}.Run(t)
			verifyFilesWithOpenSSL(t, k, "sha256", data, sig)
		})
	}
	check(t, clientP11Kit, "pkcs11-tool --test-fork in-process: the child gets CKR_GENERAL_ERROR at once (expected)", func(t *testing.T) {
		requireTool(t, "pkcs11-tool")
		if env.Name != moduleP11KMS {
			skipCheck(t, "the fork guard is p11kms's; %s behaves otherwise", env.Name)
		}
		c := Cmd{Args: []string{"pkcs11-tool", "--module", env.Module, "--test-fork"}, Timeout: 30 * time.Second}
		r := c.Try(t)
		require.False(t, r.TimedOut, describeFailure(c, r, "hung"))
		assert.Equal(t, 1, r.Code, describeFailure(c, r, "exit status"))
		assert.Contains(t, r.Combined, "error: PKCS11 function C_Initialize in child\n failed: rv = CKR_GENERAL_ERROR (0x5)")
		assert.Equal(t, 1, strings.Count(r.Stderr, forkGuardLine), "the fork guard's line, once")
		noteCheck(t, "pkcs11-tool --test-fork in-process ran %v", r.Elapsed.Round(time.Millisecond))
	})
	preforkChecks(t, remote)
	nginxChecks(t, remote)
}

// mechanismNames returns the mechanism names of a pkcs11-tool -M listing.
func mechanismNames(out string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^\s+([A-Z0-9-]+)[,\s]`).FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	return names
}

// remoteSign signs with one pkcs11-tool mechanism through the client and
// verifies the signature with openssl (as TestPkcs11ToolSign does in-process).
func remoteSign(t *testing.T, s *p11KitServer, k *confKey, row p11toolSign) {
	t.Helper()
	f := newSignFiles(t, k, row)
	dataFile, inFile, sigFile, hash := f.data, f.in, f.sig, f.hash
	args := append(loginArgs(), "--sign", "--id", k.IDHex(), "-m", row.mech, "-i", inFile, "-o", sigFile)
	s.remoteTool(append(args, row.args...)...).Run(t)
	if !k.IsRSA() {
		verifyRawECDSAFile(t, k, hash, dataFile, sigFile)
		return
	}
	verifyFilesWithOpenSSL(t, k, hash, dataFile, sigFile, row.sigopts...)
}

// clientEngineConf is an openssl configuration loading the libp11 engine
// with p11-kit-client.so as its module (docs/forking.md).
func clientEngineConf(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(enginePath); err != nil {
		failOrSkip(t, "libp11 engine %s is not installed", enginePath)
	}
	path := filepath.Join(t.TempDir(), "engine.cnf")
	body := fmt.Sprintf("openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n[engine_section]\npkcs11 = pkcs11_section\n"+
		"[pkcs11_section]\nengine_id = pkcs11\ndynamic_path = %s\nMODULE_PATH = %s\ninit = 0\n", enginePath, p11KitClient)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return []string{"OPENSSL_CONF=" + path}
}

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

// clientNginx is Debian's nginx with the libp11 engine through
// p11-kit-client.so: the master loads the key, forked workers sign.
const clientNginx = "nginx + libp11 engine through p11-kit-client.so"

func init() {
	registerClient(clientNginx, func() (string, error) {
		out, err := exec.Command("nginx", "-v").CombinedOutput() // nginx prints its version on stderr
		return strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version: "), err
	})
}

// nginxWorkers and nginxHandshakes: enough handshakes that SO_REUSEPORT
// spreads them over several forked workers.
const (
	nginxWorkers    = 4
	nginxHandshakes = 40
)

// nginxChecks serves HTTPS from nginx with a token key (optional client:
// skipped when nginx is not installed) and makes full TLS handshakes whose
// signatures Go's crypto/tls verifies against a certificate of the key.
func nginxChecks(t *testing.T, remote func(*testing.T) *p11KitServer) {
	for _, name := range []string{"p256", "rsa2048"} {
		k := env.key(name)
		op := fmt.Sprintf("nginx %d forked workers serve %d TLS handshakes with the key: %s", nginxWorkers, nginxHandshakes, k.Name)
		check(t, clientNginx, op, func(t *testing.T) {
			if _, err := exec.LookPath("nginx"); err != nil {
				skipCheck(t, "nginx is not installed (optional: apt-get install nginx)")
			}
			s := remote(t)
			dir := t.TempDir()
			cert := filepath.Join(dir, "cert.pem")
			Cmd{Args: []string{"openssl", "req", "-new", "-x509", "-days", "2", "-engine", "pkcs11", "-keyform", "engine",
				"-key", pinURI(k), "-sha256", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-out", cert},
				Env: append(clientEngineConf(t), s.Env...)}.Run(t)
			verifyCertWithOpenSSL(t, cert, cert, k)
			addr := startNginx(t, dir, cert, k, s)
			pids := map[string]int{}
			for range nginxHandshakes {
				pids[tlsGet(t, addr, cert)]++
			}
			assert.GreaterOrEqual(t, len(pids), 2, "handshakes served by distinct forked workers: %v", pids)
			noteCheck(t, "%d full handshakes verified by Go's crypto/tls, served by %d worker processes", nginxHandshakes, len(pids))
		})
	}
}

// startNginx runs nginx (master + nginxWorkers workers, master_process on,
// as in production) in dir with the key through the libp11 engine and
// returns its address; it is stopped when t ends.
func startNginx(t *testing.T, dir, cert string, k *confKey, s *p11KitServer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the test's p11-kit socket is root's (docs/forking.md: run p11-kit server as the workers' user)
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
%s
worker_processes %d;
pid %[3]s/nginx.pid;
error_log %[3]s/error.log info;
env P11_KIT_SERVER_ADDRESS;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[3]s/cb; proxy_temp_path %[3]s/px; fastcgi_temp_path %[3]s/fc; uwsgi_temp_path %[3]s/uw; scgi_temp_path %[3]s/sc;
  server {
    listen %[4]s ssl reuseport;
    ssl_certificate %[5]s;
    ssl_certificate_key "engine:pkcs11:%[6]s";
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { return 200 "$pid\n"; }
  }
}
`, user, nginxWorkers, dir, addr, cert, pinURI(k))
	confFile := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(confFile, []byte(conf), 0o600))
	engine := strings.Replace(clientEngineConf(t)[0], "OPENSSL_CONF=", "", 1)
	body, err := os.ReadFile(engine)
	require.NoError(t, err)
	// nginx does not initialise the engine itself (ENGINE_load_private_key needs it initialised).
	require.NoError(t, os.WriteFile(engine, []byte(strings.Replace(string(body), "init = 0", "init = 1", 1)), 0o600))
	cmd := exec.Command("nginx", "-p", dir, "-c", confFile)
	cmd.Env = append(append(os.Environ(), "OPENSSL_CONF="+engine), s.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s", out.String(), log)
		case <-time.After(100 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "nginx did not listen on %s in 20 s:\n%s", addr, out.String())
	}
}

// tlsGet makes one full TLS 1.3 handshake (no session resumption) with Go's
// crypto/tls, trusting only cert, and returns the worker pid nginx answers.
func tlsGet(t *testing.T, addr, cert string) string {
	t.Helper()
	pemBytes, err := os.ReadFile(cert)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pemBytes))
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	resp, err := c.Get("https://" + addr + "/")
	require.NoError(t, err, "TLS handshake with nginx (its signature checked by crypto/tls)")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.False(t, resp.TLS.DidResume, "a full handshake")
	require.Equal(t, tls.VersionName(tls.VersionTLS13), tls.VersionName(resp.TLS.Version), "TLS 1.3 (RSA keys sign RSA-PSS)")
	return strings.TrimSpace(string(b))
}
