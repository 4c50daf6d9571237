package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
