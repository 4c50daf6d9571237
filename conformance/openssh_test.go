package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clientOpenSSH is OpenSSH's ssh-keygen, ssh-agent and ssh-add.
const clientOpenSSH = "OpenSSH"

func init() {
	registerClient(clientOpenSSH, func() (string, error) {
		out, err := exec.Command("ssh", "-V").CombinedOutput()
		if err != nil {
			return "", err
		}
		v, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
		return v, nil
	})
}

// sshKeyNames are the keys OpenSSH can use: RSA and the NIST curves
// (RFC 5656 §10.1; OpenSSH has no secp256k1 key type).
var sshKeyNames = []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384", "p521"}

// sshPublicKey converts k's seeded public key to OpenSSH's "type base64"
// with ssh-keygen itself (an independent encoder).
func sshPublicKey(t *testing.T, k *confKey) string {
	t.Helper()
	out := Cmd{Args: []string{"ssh-keygen", "-i", "-m", "PKCS8", "-f", k.PubPEM}}.Run(t).Stdout
	f := strings.Fields(out)
	require.GreaterOrEqual(t, len(f), 2, "ssh-keygen -i output %q", out)
	return f[0] + " " + f[1]
}

// sshAgent is an ssh-agent the test started (in the foreground, -D) and stops.
type sshAgent struct {
	sock string
	cmd  *exec.Cmd
	log  *lockedBuffer // the agent's own output, shown when a check fails
}

// startAgent starts ssh-agent allowing PKCS#11 modules in the module's
// directory (its default allow-list is only /usr/lib*/* and /usr/local/lib*/*).
// The agent lives until owner (the test holding every check that uses it)
// ends.
func startAgent(t, owner *testing.T, moduleEnv []string) *sshAgent {
	t.Helper()
	dir, err := os.MkdirTemp("", "confsuite-ssh-")
	require.NoError(t, err)
	owner.Cleanup(func() { _ = os.RemoveAll(dir) })
	real, err := filepath.EvalSymlinks(env.Module)
	require.NoError(t, err)
	a := &sshAgent{sock: filepath.Join(dir, "agent.sock")}
	a.cmd = exec.Command("ssh-agent", "-D", "-a", a.sock, "-P", filepath.Dir(real)+"/*")
	a.cmd.Env = append(os.Environ(), moduleEnv...) // ssh-pkcs11-helper inherits it
	var out lockedBuffer
	a.cmd.Stdout, a.cmd.Stderr = &out, &out
	a.log = &out
	require.NoError(t, a.cmd.Start())
	owner.Cleanup(a.stop)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(a.sock); err == nil {
			return a
		}
	}
	t.Fatalf("ssh-agent did not create %s within 10 s", a.sock)
	return nil
}

// stop kills the agent (our own child, by its pid) and reaps it; it is safe
// to call twice.
func (a *sshAgent) stop() {
	if a.cmd.Process != nil && a.cmd.ProcessState == nil {
		_ = a.cmd.Process.Kill()
		_ = a.cmd.Wait()
	}
}

// env returns the environment that points ssh tools at the agent.
func (a *sshAgent) env(extra ...string) []string {
	return append([]string{"SSH_AUTH_SOCK=" + a.sock}, extra...)
}

// TestOpenSSH lists keys with ssh-keygen -D and signs through ssh-agent
// with the module loaded by ssh-add -s, verified with ssh-keygen -Y verify.
func TestOpenSSH(t *testing.T) {
	check(t, clientOpenSSH, "ssh-keygen -D lists every RSA/ECDSA key", func(t *testing.T) {
		requireTool(t, "ssh-keygen")
		out := runStdout(t, "ssh-keygen", "-D", env.Module)
		for _, name := range sshKeyNames {
			require.Contains(t, out, sshPublicKey(t, env.key(name))+" ", "ssh-keygen -D does not list %s", name)
		}
	})
	var agent *sshAgent
	parent := t
	loaded := check(t, clientOpenSSH, "ssh-agent + ssh-add -s loads the module", func(t *testing.T) {
		requireTool(t, "ssh-agent", "ssh-add")
		// OpenSSH 9.2 cannot encode a secp256k1 key ("ssh-unknown") and then
		// refuses the whole module in ssh-add -s: the agent gets a token
		// without it.
		subset := make([]*confKey, len(sshKeyNames))
		for i, n := range sshKeyNames {
			subset[i] = env.key(n)
		}
		moduleEnv, err := env.tokenEnv("ssh", subset)
		require.NoError(t, err)
		agent = startAgent(t, parent, moduleEnv)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("ssh-agent output:\n%s", agent.log.String())
			}
		})
		askpass := filepath.Join(t.TempDir(), "askpass.sh")
		require.NoError(t, os.WriteFile(askpass, []byte("#!/bin/sh\necho \"$P11_PIN\"\n"), 0o700))
		out := Cmd{Args: []string{"ssh-add", "-s", env.Module}, Env: agent.env("P11_PIN="+env.PIN, "SSH_ASKPASS="+askpass,
			"SSH_ASKPASS_REQUIRE=force", "DISPLAY=none")}.Run(t).Combined
		require.Contains(t, out, "Card added: "+env.Module)
		listed := Cmd{Args: []string{"ssh-add", "-L"}, Env: agent.env()}.Run(t).Stdout
		for _, name := range sshKeyNames {
			require.Contains(t, listed, sshPublicKey(t, env.key(name))+" ", "agent does not hold %s", name)
		}
	})
	for _, name := range []string{"rsa2048", "rsa4096", "p256", "p384", "p521"} {
		k := env.key(name)
		check(t, clientOpenSSH, "ssh-keygen -Y sign via the agent, -Y verify: "+k.Name, func(t *testing.T) {
			requireTool(t, "ssh-keygen")
			if !loaded {
				skipCheck(t, "ssh-add -s did not load the module (see that check)")
			}
			sshSignVerify(t, agent, k)
		})
	}
	if agent != nil {
		Cmd{Args: []string{"ssh-add", "-e", env.Module}, Env: agent.env()}.Try(t)
		agent.stop()
	}
}

// sshSignVerify signs random data with k through the agent and verifies the
// signature with ssh-keygen -Y verify against the seeded public key.
func sshSignVerify(t *testing.T, agent *sshAgent, k *confKey) {
	t.Helper()
	dir := t.TempDir()
	pub, data, allowed := filepath.Join(dir, "key.pub"), filepath.Join(dir, "data"), filepath.Join(dir, "allowed")
	key := sshPublicKey(t, k)
	require.NoError(t, os.WriteFile(pub, []byte(key+" "+k.Label+"\n"), 0o600))
	writeRandom(t, data, 2048)
	Cmd{Args: []string{"ssh-keygen", "-Y", "sign", "-f", pub, "-n", "file", data}, Env: agent.env()}.Run(t)
	require.NoError(t, os.WriteFile(allowed, []byte("conformance@p11kms "+key+"\n"), 0o600))
	in, err := os.ReadFile(data)
	require.NoError(t, err)
	out := Cmd{Args: []string{"ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "conformance@p11kms", "-n", "file", "-s", data + ".sig"},
		Stdin: string(in)}.Run(t).Combined
	require.Contains(t, out, fmt.Sprintf("Good \"file\" signature for conformance@p11kms with %s key", strings.ToUpper(sshKeyAlgo(key))))
}

// sshKeyAlgo returns the short algorithm name ssh-keygen -Y verify prints
// ("RSA", "ECDSA") for an OpenSSH public key line.
func sshKeyAlgo(key string) string {
	if strings.HasPrefix(key, "ssh-rsa ") {
		return "rsa"
	}
	return "ecdsa"
}
