package token

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// The reliability tests: a dev KMS of their own with injected faults
// (kmsbackend/devkms/faults.go) behind the real AWS backend and its retries.
// The high-volume run is in reliability_volume_test.go.

// relAlias is the one key of the reliability dev KMS.
const relAlias = "rel-p256"

// faultKMS starts a dev KMS with one P-256 key and no faults yet; it is
// closed when the test ends.
func faultKMS(t *testing.T) *devkms.Server {
	t.Helper()
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: relSeed(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// relModule initializes a module with one token on the endpoint; extraLog
// and extraToken are YAML appended to the log and token mappings.
func relModule(t *testing.T, endpoint, extraLog, extraToken string) *Module {
	t.Helper()
	m := New()
	cfg := fmt.Sprintf("log: {level: warn%s}\ntokens:\n  - label: rel\n    region: %s\n    endpoint: %s\n    anonymous: true\n%s",
		extraLog, devkms.DefaultRegion, endpoint, extraToken)
	require.NoError(t, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
	t.Cleanup(func() { _ = m.Finalize() })
	return m
}

// signOnce runs C_SignInit + C_Sign with CKM_ECDSA over a SHA-256 digest.
func signOnce(m *Module, sh, priv uint, digest []byte) ([]byte, error) {
	if err := m.SignInit(sh, Mechanism{Type: ck.CKM_ECDSA}, priv); err != nil {
		return nil, err
	}
	sig, _, err := m.Sign(sh, digest, false, 64)
	return sig, err
}

// deviceError reads CK_SESSION_INFO.ulDeviceError.
func deviceError(t *testing.T, m *Module, sh uint) uint {
	t.Helper()
	si, err := m.SessionInfo(sh)
	require.NoError(t, err)
	return si.DeviceError
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

// waitBack polls until the goroutine and descriptor counts are back to at
// most their baselines (a dev KMS's leveldb goroutine exits up to 1 s after Close).
func waitBack(t *testing.T, goroutines, fds int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > goroutines || openFDs(t) > fds {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("left behind: goroutines %d (before %d), fds %d (before %d)\n%s",
				runtime.NumGoroutine(), goroutines, openFDs(t), fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kmsCall is one module call that needs KMS, on an open session.
type kmsCall struct {
	name string
	run  func(m *Module, sh, priv uint) error
}

var kmsCalls = []kmsCall{
	{"C_Sign", func(m *Module, sh, priv uint) error {
		d := sha256.Sum256([]byte("x"))
		_, err := signOnce(m, sh, priv, d[:])
		return err
	}},
	{"C_GenerateRandom", func(m *Module, sh, _ uint) error {
		_, err := m.GenerateRandom(sh, 32)
		return err
	}},
	{"C_FindObjectsInit on a fresh token", func(m *Module, sh, _ uint) error {
		return m.FindObjectsInit(sh, nil)
	}},
}

// assertDeviceErrorWithin runs call and checks CKR_DEVICE_ERROR, the
// unavailable reason code and the time taken; it returns the time.
func assertDeviceErrorWithin(t *testing.T, m *Module, sh, priv uint, c kmsCall, atLeast, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	err := c.run(m, sh, priv)
	elapsed := time.Since(start)
	assert.Equal(t, "CKR_DEVICE_ERROR", rvOf(err), "%s: %v", c.name, err)
	assert.Equal(t, uint(kmsbackend.KindUnavailable), deviceError(t, m, sh), "%s: ulDeviceError is the unavailable kind", c.name)
	assert.GreaterOrEqual(t, elapsed, atLeast, c.name)
	assert.Less(t, elapsed, within, c.name)
	return elapsed
}

func TestUnreachableKMSFailsFastAndFinalizeLeavesNothing(t *testing.T) {
	const callTimeout = 2 * time.Second
	within := callTimeout + callTimeout/10
	// Start the runtime's network poller before the baseline (its descriptors stay).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	func() {
		// A token whose endpoint was never reachable: discovery fails.
		url, err := devkms.UnreachableURL()
		require.NoError(t, err)
		m := New()
		cfg := fmt.Sprintf("log: {level: error}\ntokens:\n  - {label: rel, region: %s, endpoint: %s, anonymous: true, call_timeout: 2s}\n", devkms.DefaultRegion, url)
		require.NoError(t, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
		sh := openSession(t, m)
		for _, c := range []kmsCall{kmsCalls[2], kmsCalls[1]} {
			d := assertDeviceErrorWithin(t, m, sh, 0, c, 0, within)
			t.Logf("unreachable from the start: %s -> CKR_DEVICE_ERROR in %v", c.name, d.Round(time.Millisecond))
		}

		// A token whose KMS goes away after key discovery: signing fails.
		srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: relSeed(t)})
		require.NoError(t, err)
		m2 := New()
		cfg = fmt.Sprintf("log: {level: error}\ntokens:\n  - {label: rel2, region: %s, endpoint: %s, anonymous: true, call_timeout: 2s}\n", devkms.DefaultRegion, srv.URL())
		require.NoError(t, m2.Initialize(InitArgs{Present: true, Reserved: cfg}))
		sh2 := openSession(t, m2)
		priv, _ := keyPair(t, m2, sh2, relAlias)
		require.NoError(t, srv.Close())
		for _, c := range kmsCalls[:2] {
			d := assertDeviceErrorWithin(t, m2, sh2, priv, c, 0, within)
			t.Logf("unreachable after discovery: %s -> CKR_DEVICE_ERROR in %v", c.name, d.Round(time.Millisecond))
		}
		require.NoError(t, m.Finalize())
		require.NoError(t, m2.Finalize())
	}()
	waitBack(t, goroutines, fds, 5*time.Second)
	t.Logf("after Finalize: goroutines %d (before %d), fds %d (before %d)", runtime.NumGoroutine(), goroutines, openFDs(t), fds)
}

// relSeed writes a seed file with one P-256 key (alias relAlias).
func relSeed(t *testing.T) string {
	t.Helper()
	keys, err := devkms.GenerateSeed([]devkms.StandardKey{
		{Spec: kmsbackend.SpecECCNISTP256, Usage: kmsbackend.UsageSignVerify, Alias: "alias/" + relAlias},
	})
	require.NoError(t, err)
	seed := filepath.Join(t.TempDir(), "seed.yaml")
	require.NoError(t, devkms.WriteSeedFile(seed, keys))
	return seed
}

func TestSlowKMSFailsAtTheCallTimeout(t *testing.T) {
	const callTimeout = 2 * time.Second
	srv := faultKMS(t)
	m := relModule(t, srv.URL(), "", "    call_timeout: 2s\n")
	sh := openSession(t, m)
	priv, _ := keyPair(t, m, sh, relAlias)
	// Every answer takes 10 s; each attempt gets max(2 s / 5 attempts, 1 s) = 1 s
	// (retry.go), so two attempts fit the 2 s deadline.
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{Slow: 1, SlowDelay: 10 * time.Second}))
	fresh := relModule(t, srv.URL(), "", "    call_timeout: 2s\n")
	freshSh := openSession(t, fresh)
	for _, c := range kmsCalls {
		t.Run("CKR_DEVICE_ERROR at the deadline for "+c.name, func(t *testing.T) {
			mod, s := m, sh
			if strings.Contains(c.name, "fresh") {
				mod, s = fresh, freshSh
			}
			before := srv.FaultCounts()
			d := assertDeviceErrorWithin(t, mod, s, priv, c, callTimeout, callTimeout+callTimeout/10)
			after := srv.FaultCounts()
			assert.Equal(t, int64(2), after.Slow-before.Slow, "two 1 s attempts fit the 2 s deadline")
			t.Logf("%s: CKR_DEVICE_ERROR in %v after %d attempts", c.name, d.Round(time.Millisecond), after.Requests-before.Requests)
		})
	}
}

func TestWrongSignaturesAreWithheldAndLogged(t *testing.T) {
	srv := faultKMS(t)
	logFile := filepath.Join(t.TempDir(), "p11kms.log")
	m := relModule(t, srv.URL(), ", file: "+logFile, "")
	sh := openSession(t, m)
	priv, pub := keyPair(t, m, sh, relAlias)
	spki := attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO)
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{WrongSignature: 1, Ops: []string{"Sign"}}))

	const n = 10 // the dev KMS alternates a flipped byte and a signature over other data
	for i := range n {
		d := sha256.Sum256(fmt.Appendf(nil, "wrong %d", i))
		sig, err := signOnce(m, sh, priv, d[:])
		m.LogResult("C_Sign", err) // what cgo's boundary does with every result
		assert.Equal(t, "CKR_DEVICE_ERROR", rvOf(err), "signature %d", i)
		assert.Nil(t, sig, "no bytes of a wrong signature reach the caller")
		_, _, err = m.Sign(sh, d[:], false, 64)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "the failure ended the operation")
	}
	assert.Equal(t, devkms.FaultCounts{Requests: n, WrongSignature: n}, srv.FaultCounts(), "a wrong signature is not retried")

	raw, err := os.ReadFile(logFile)
	require.NoError(t, err)
	withheld := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "fn=C_Sign") && strings.Contains(line, "rv=CKR_DEVICE_ERROR") && strings.Contains(line, "withheld") {
			withheld++
		}
	}
	assert.Equal(t, n, withheld, "one log line per withheld signature:\n%s", raw)
	t.Logf("log line: %s", strings.SplitN(string(raw), "\n", 2)[0])

	require.NoError(t, srv.SetFaults(devkms.FaultConfig{}))
	d := sha256.Sum256([]byte("right"))
	sig, err := signOnce(m, sh, priv, d[:])
	require.NoError(t, err, "the same key signs correctly without the fault")
	require.NoError(t, independentVerify(spki, ck.CKM_ECDSA, d[:], sig))
}
