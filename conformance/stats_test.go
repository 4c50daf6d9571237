package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"
)

// clientStats is the in-process statistical check: github.com/miekg/pkcs11
// driving the module from several sessions and goroutines, every signature
// verified with Go's crypto (secp256k1: decred's).
const clientStats = "Go miekg/pkcs11 (statistical validity)"

func init() {
	registerClient(clientStats, func() (string, error) {
		// Test binaries record no dependency versions: ask the go command.
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/miekg/pkcs11").Output()
		if err != nil {
			return "", fmt.Errorf("go list -m github.com/miekg/pkcs11: %w", err)
		}
		return "miekg/pkcs11 " + strings.TrimSpace(string(out)) + ", " + runtime.Version(), nil
	})
}

// statsWorkers is how many goroutines (one session each) sign concurrently.
const statsWorkers = 8

// Signature schemes the statistical check uses. Source: PKCS#11 2.40 Current
// Mechanisms §2.3.6 (CKM_ECDSA over a bare digest), §2.1.6 (CKM_RSA_PKCS
// over DigestInfo, as libp11/OpenSSH/crypto11 send it), §2.1.10
// (CKM_RSA_PKCS_PSS, SHA-256, MGF1-SHA256, salt 32 = what KMS does).
const (
	schemeECDSA = "CKM_ECDSA"
	schemePKCS1 = "CKM_RSA_PKCS (DigestInfo SHA-256)"
	schemePSS   = "CKM_RSA_PKCS_PSS (SHA-256, salt 32)"
)

// statsJobs are the signature batches: at least 10,000 ECDSA signatures per
// curve and 1,000 per RSA size and padding (the conformance brief).
var statsJobs = []struct {
	key    string
	scheme string
	n      int
}{
	{"p256", schemeECDSA, 10000},
	{"p384", schemeECDSA, 10000},
	{"p521", schemeECDSA, 10000},
	{"secp256k1", schemeECDSA, 10000},
	{"rsa2048", schemePKCS1, 1000},
	{"rsa2048", schemePSS, 1000},
	{"rsa3072", schemePKCS1, 1000},
	{"rsa3072", schemePSS, 1000},
	{"rsa4096", schemePKCS1, 1000},
	{"rsa4096", schemePSS, 1000},
}

// statsScale returns the P11KMS_STATS_SCALE factor (default 1; a smaller
// one only outside strict mode, for debugging the suite).
func statsScale(t *testing.T) float64 {
	s := os.Getenv("P11KMS_STATS_SCALE")
	if s == "" || strict() {
		return 1
	}
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "P11KMS_STATS_SCALE")
	return f
}

// TestStatisticalValidity signs thousands of digests per key through the
// module in-process and verifies each signature independently: zero
// invalid signatures allowed (an unpadded r||s conversion fails ~1 in 128
// P-256 signatures and most P-521 ones).
func TestStatisticalValidity(t *testing.T) {
	var p *pkcs11.Ctx
	var sessions []pkcs11.SessionHandle
	loaded := check(t, clientStats, "load the module, open sessions, log in", func(t *testing.T) {
		p = pkcs11.New(env.Module)
		require.NotNil(t, p, "dlopen %s", env.Module)
		require.NoError(t, p.Initialize(initOptions(t)...))
		slot := findSlot(t, p)
		for range statsWorkers {
			sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
			require.NoError(t, err)
			sessions = append(sessions, sh)
		}
		require.NoError(t, p.Login(sessions[0], pkcs11.CKU_USER, env.PIN))
	})
	defer func() {
		if p != nil {
			_ = p.Finalize()
			p.Destroy()
		}
	}()
	scale := statsScale(t)
	for _, job := range statsJobs {
		k := env.key(job.key)
		n := max(1, int(float64(job.n)*scale))
		check(t, clientStats, fmt.Sprintf("%s signatures verified by Go crypto: %s", job.scheme, k.Name), func(t *testing.T) {
			if !loaded {
				skipCheck(t, "the module did not load (see that check)")
			}
			key := findPrivateKey(t, p, sessions[0], k)
			verify := statsVerifier(t, k, job.scheme)
			mech, input := statsMechanism(k, job.scheme)
			var next, invalid, failed atomic.Int64
			var firstErr sync.Once
			var firstMsg string
			start := time.Now()
			var wg sync.WaitGroup
			for _, sh := range sessions {
				wg.Go(func() {
					for next.Add(1) <= int64(n) {
						msg := make([]byte, 64)
						_, _ = rand.Read(msg)
						digest, in := input(msg)
						sig, err := signOnce(p, sh, mech, key, in)
						switch {
						case err != nil:
							failed.Add(1)
							firstErr.Do(func() { firstMsg = "sign: " + err.Error() })
						case !verify(digest, sig):
							invalid.Add(1)
							firstErr.Do(func() {
								firstMsg = fmt.Sprintf("invalid: digest %x signature %s", digest, hex.EncodeToString(sig))
							})
						}
					}
				})
			}
			wg.Wait()
			el := time.Since(start)
			noteCheck(t, "%d signatures, %d invalid, %d errors, %.1f s, %.0f/s, %d sessions",
				n, invalid.Load(), failed.Load(), el.Seconds(), float64(n)/el.Seconds(), len(sessions))
			require.Zero(t, failed.Load(), "signing errors; first: %s", firstMsg)
			require.Zero(t, invalid.Load(), "invalid signatures; first: %s", firstMsg)
		})
	}
}

// initOptions returns the C_Initialize options for an in-process load: the
// p11kms configuration as pReserved (a NUL-terminated YAML string the module
// copies), because the library cannot see P11KMS_CONFIG set after the
// process started. SoftHSM2 requires pReserved NULL and reads SOFTHSM2_CONF
// through getenv, which does see it.
func initOptions(t *testing.T) []pkcs11.InitializeOption {
	t.Helper()
	if env.Config == "" {
		return nil
	}
	cfg, err := os.ReadFile(env.Config)
	require.NoError(t, err)
	cfg = append(cfg, 0)
	t.Cleanup(func() { runtime.KeepAlive(cfg) })
	return []pkcs11.InitializeOption{pkcs11.InitializeWithReserved(unsafe.Pointer(&cfg[0]))}
}

// signOnce runs C_SignInit + C_Sign (single-part) on one session.
func signOnce(p *pkcs11.Ctx, sh pkcs11.SessionHandle, mech []*pkcs11.Mechanism, key pkcs11.ObjectHandle, in []byte) ([]byte, error) {
	if err := p.SignInit(sh, mech, key); err != nil {
		return nil, fmt.Errorf("C_SignInit: %w", err)
	}
	sig, err := p.Sign(sh, in)
	if err != nil {
		return nil, fmt.Errorf("C_Sign: %w", err)
	}
	return sig, nil
}

// findSlot returns the slot whose token is labelled env.Token.
func findSlot(t *testing.T, p *pkcs11.Ctx) uint {
	t.Helper()
	slots, err := p.GetSlotList(true)
	require.NoError(t, err)
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		require.NoError(t, err)
		if ti.Label == env.Token {
			return s
		}
	}
	t.Fatalf("no token labelled %q among slots %v", env.Token, slots)
	return 0
}

// findPrivateKey returns the handle of k's private key (by CKA_ID).
func findPrivateKey(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, k *confKey) pkcs11.ObjectHandle {
	t.Helper()
	require.NoError(t, p.FindObjectsInit(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, k.ID),
	}))
	objs, _, err := p.FindObjects(sh, 10)
	require.NoError(t, err)
	require.NoError(t, p.FindObjectsFinal(sh))
	require.Len(t, objs, 1, "private key objects with the CKA_ID of %s", k.Name)
	return objs[0]
}
