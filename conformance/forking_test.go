package conformance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
		assert.Contains(t, r.Stderr, "error: PKCS11 function C_Initialize in child\n failed: rv = CKR_GENERAL_ERROR (0x5)")
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
