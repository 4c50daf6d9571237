package cabitest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// TestLockingInitializeArgs checks C_Initialize's locking arguments (PKCS#11
// 2.40 §5.4) with application mutex callbacks that really lock and count
// their calls, and that the module then works from several threads.
// Documented decisions (docs/forking.md "Threads"): p11kms always uses OS
// locking (Go's sync), so callbacks are accepted only with
// CKF_OS_LOCKING_OK and are never called; CKF_LIBRARY_CANT_CREATE_OS_THREADS
// (NSS always sets it) is accepted: the Go runtime's threads exist from the
// moment the library is loaded, and no call of the application's is ever
// made from them.
func TestLockingInitializeArgs(t *testing.T) {
	p, r := lib(t)
	const (
		osLocking  = ck.CKF_OS_LOCKING_OK
		cantCreate = ck.CKF_LIBRARY_CANT_CREATE_OS_THREADS
	)
	cases := []struct {
		name      string
		callbacks int  // how many of the four callbacks (in CK_C_INITIALIZE_ARGS order)
		flags     uint // CK_C_INITIALIZE_ARGS.flags
		rv        uint
		threads   int // threads that sign afterwards (1: the caller promised no concurrency)
	}{
		{"CKR_OK with CKF_OS_LOCKING_OK and no callbacks", 0, osLocking, ck.CKR_OK, 8},
		{"CKR_OK with all four callbacks and CKF_OS_LOCKING_OK, callbacks never called", 4, osLocking, ck.CKR_OK, 8},
		{"CKR_CANT_LOCK with all four callbacks and no CKF_OS_LOCKING_OK", 4, 0, ck.CKR_CANT_LOCK, 0},
		{"CKR_ARGUMENTS_BAD with 1 of 4 callbacks and CKF_OS_LOCKING_OK", 1, osLocking, ck.CKR_ARGUMENTS_BAD, 0},
		{"CKR_ARGUMENTS_BAD with 2 of 4 callbacks and no flags", 2, 0, ck.CKR_ARGUMENTS_BAD, 0},
		{"CKR_ARGUMENTS_BAD with 3 of 4 callbacks and CKF_OS_LOCKING_OK", 3, osLocking, ck.CKR_ARGUMENTS_BAD, 0},
		{"CKR_OK with CKF_LIBRARY_CANT_CREATE_OS_THREADS alone, single-threaded caller", 0, cantCreate, ck.CKR_OK, 1},
		{"CKR_OK with CKF_LIBRARY_CANT_CREATE_OS_THREADS and CKF_OS_LOCKING_OK as NSS sets them", 0, cantCreate | osLocking, ck.CKR_OK, 8},
		{"CKR_OK with CKF_LIBRARY_CANT_CREATE_OS_THREADS, CKF_OS_LOCKING_OK and all four callbacks", 4, cantCreate | osLocking, ck.CKR_OK, 8},
		{"CKR_CANT_LOCK with CKF_LIBRARY_CANT_CREATE_OS_THREADS and all four callbacks", 4, cantCreate, ck.CKR_CANT_LOCK, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rv := r.InitializeCounting(c.callbacks, c.flags)
			if rv == ck.CKR_OK {
				defer func() { requireRV(t, ck.CKR_OK, p.Finalize(), "C_Finalize") }()
			}
			requireRawRV(t, c.rv, rv, "C_Initialize")
			_, err := p.GetInfo()
			if c.rv != ck.CKR_OK {
				requireRV(t, ck.CKR_CRYPTOKI_NOT_INITIALIZED, err, "a refused C_Initialize leaves the module uninitialized")
			} else {
				requireRV(t, ck.CKR_OK, err, "C_GetInfo")
				assert.Equal(t, c.threads*lockingSignsPerThread, signFromThreads(t, p, c.threads), "verified signatures")
			}
			assert.Equal(t, rawc.MutexCalls{}, r.CountedMutexCalls(), "calls to the application's mutex callbacks")
		})
	}
}

// lockingSignsPerThread is how many signatures each thread makes after C_Initialize.
const lockingSignsPerThread = 5

// signFromThreads has n goroutines, each locked to its own OS thread and
// with its own session, sign random digests with the P-256 fixture
// (CKM_ECDSA); it verifies each signature with Go's crypto and returns how
// many verified.
func signFromThreads(t *testing.T, p *pkcs11.Ctx, n int) int {
	t.Helper()
	k := fixture("P256")
	slot := mainSlot(t, p)
	setup := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	priv, _ := keyObjects(t, p, setup, k)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var verified int
	var problems []string
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			good, err := signDigests(p, slot, priv, k, w)
			mu.Lock()
			defer mu.Unlock()
			verified += good
			if err != nil {
				problems = append(problems, err.Error())
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, problems, "signing threads")
	return verified
}

// signDigests opens a session, signs lockingSignsPerThread random SHA-256
// digests and verifies them; it returns how many verified and the first problem.
func signDigests(p *pkcs11.Ctx, slot uint, priv pkcs11.ObjectHandle, k *keyFixture, w int) (int, error) {
	sh, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	if err != nil {
		return 0, fmt.Errorf("thread %d: C_OpenSession: %w", w, err)
	}
	defer func() { _ = p.CloseSession(sh) }()
	good := 0
	for i := range lockingSignsPerThread {
		msg := make([]byte, 64)
		_, _ = rand.Read(msg)
		digest := sha256.Sum256(msg)
		if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}, priv); err != nil {
			return good, fmt.Errorf("thread %d, signature %d: C_SignInit: %w", w, i, err)
		}
		sig, err := p.Sign(sh, digest[:])
		if err != nil {
			return good, fmt.Errorf("thread %d, signature %d: C_Sign: %w", w, i, err)
		}
		if err := verifySignature(k.pub, schemeECDSA, crypto.SHA256, digest[:], sig); err != nil {
			return good, fmt.Errorf("thread %d, signature %d: %w", w, i, err)
		}
		good++
	}
	return good, nil
}

// TestLockingConcurrentInitializeFinalize has 16 POSIX threads call
// C_Initialize at the same instant, then C_Finalize at the same instant, 20
// times (pkcs11-tool --test-threads IL does this; CLIENTS.md: SoftHSM
// crashes): exactly one of each wins (PKCS#11 2.40 §5.4), the others get
// CKR_CRYPTOKI_ALREADY_INITIALIZED or CKR_CRYPTOKI_NOT_INITIALIZED, and the
// module works in between.
func TestLockingConcurrentInitializeFinalize(t *testing.T) {
	p, r := lib(t)
	const threads, rounds = 16, 20
	t.Cleanup(func() { finalizeQuietly(t) })
	tally := func(rvs []uint) map[string]int {
		m := map[string]int{}
		for _, rv := range rvs {
			m[ck.RVName(rv)]++
		}
		return m
	}
	for round := range rounds {
		rvs, err := r.RaceInitialize(threads)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"CKR_OK": 1, "CKR_CRYPTOKI_ALREADY_INITIALIZED": threads - 1}, tally(rvs),
			"round %d: concurrent C_Initialize", round)
		slots, err := p.GetSlotList(true)
		requireRV(t, ck.CKR_OK, err, "round %d: C_GetSlotList after the race", round)
		require.NotEmpty(t, slots, "round %d: slots", round)
		rvs, err = r.RaceFinalize(threads)
		require.NoError(t, err)
		require.Equal(t, map[string]int{"CKR_OK": 1, "CKR_CRYPTOKI_NOT_INITIALIZED": threads - 1}, tally(rvs),
			"round %d: concurrent C_Finalize", round)
		_, err = p.GetInfo()
		requireRV(t, ck.CKR_CRYPTOKI_NOT_INITIALIZED, err, "round %d: after the C_Finalize race", round)
	}
}
