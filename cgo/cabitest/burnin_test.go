package cabitest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// Burn-in shape: 16 goroutines, each locked to its own OS thread, so that 16
// real threads call into the library at once; 16 x 260 = 4,160 signatures.
const (
	burninThreads        = 16
	burninSignsPerThread = 260
	burninShared         = 4 // sessions shared by every thread, each under its own mutex
	burninLimit          = 3 * time.Minute
)

// burninKeys are the fixtures the burn-in signs with: both key families and
// a curve Go's x509 cannot parse, the cheapest of each for a 2-core machine.
var burninKeys = []string{"P256", "P384", "Secp256k1", "RSA2048"}

// burninKey is a fixture key as the token showed it in the set-up session.
type burninKey struct {
	k              *keyFixture
	priv, pub      pkcs11.ObjectHandle
	id, label      []byte
	variants       []signVariant
	verifyInput    [][]byte // inputs for C_Verify, each with a Go-made signature
	verifyVariant  []signVariant
	verifyGoodSigs [][]byte
}

// sharedSession is one session every thread uses; PKCS#11 2.40 §5.6 allows
// one active operation per session, so the test serializes its use (as
// crypto11 and libp11 do) instead of racing for CKR_OPERATION_ACTIVE.
type sharedSession struct {
	mu sync.Mutex
	sh pkcs11.SessionHandle
}

// burninTally counts what one kind of call did across every thread.
type burninTally struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	first      string
}

func (b *burninTally) fail(format string, args ...any) {
	if b.failed.Add(1) == 1 {
		b.mu.Lock()
		b.first = fmt.Sprintf(format, args...)
		b.mu.Unlock()
	}
}

// burninOps names the operations, in the order of their weights' ranges below.
var burninOps = []string{"sign (own session)", "sign (shared session)", "sign (session opened and closed)", "verify", "find", "attributes"}

// TestBurnIn16Threads has 16 OS threads sign (every mechanism, single- and
// multi-part), verify, find objects and read attributes at once through the
// built library, on their own sessions, on 4 shared sessions (one mutex
// each) and on sessions opened and closed on the fly. Every signature is
// verified with Go's crypto (decred's for secp256k1) and the fixture's public
// key from the dev KMS; no call may fail; every signature is one KMS Sign
// request and no verification reaches KMS.
func TestBurnIn16Threads(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	setup := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, p.Login(setup, ck.CKU_USER, "burn-in"), "C_Login (per application: every session)")
	keys := burninSetup(t, p, setup)
	shared := make([]*sharedSession, burninShared)
	for i := range shared {
		shared[i] = &sharedSession{sh: openSession(t, p, slot, ck.CKF_SERIAL_SESSION)}
	}
	tallies := make([]burninTally, len(burninOps))
	signsBefore, verifiesBefore := kmsRequests.count("Sign"), kmsRequests.count("Verify")
	var tids sync.Map
	var wg sync.WaitGroup
	start, deadline := time.Now(), time.Now().Add(burninLimit)
	for w := range burninThreads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			tids.Store(syscall.Gettid(), true)
			burninWorker(p, slot, w, keys, shared, tallies, deadline)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	threads := 0
	tids.Range(func(any, any) bool { threads++; return true })
	assert.Equal(t, burninThreads, threads, "distinct OS threads calling in")
	signs := int64(0)
	for i, name := range burninOps {
		tl := &tallies[i]
		assert.Zero(t, tl.failed.Load(), "%s: failures (first: %s)", name, tl.first)
		assert.NotZero(t, tl.ok.Load(), "%s: never ran", name)
		if i < 3 {
			signs += tl.ok.Load()
		}
		t.Logf("%-34s %6d ok, %d failed", name, tl.ok.Load(), tl.failed.Load())
	}
	assert.Equal(t, int64(burninThreads*burninSignsPerThread), signs, "verified signatures")
	assert.Equal(t, int(signs), kmsRequests.count("Sign")-signsBefore, "one KMS Sign request per signature")
	assert.Equal(t, 0, kmsRequests.count("Verify")-verifiesBefore, "verification is local")
	ti, err := p.GetTokenInfo(slot)
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, uint(1+burninShared), ti.SessionCount, "sessions left open: set-up and shared ones")
	t.Logf("%d threads: %d verified signatures in %v (%.0f/s)", threads, signs, elapsed.Round(time.Millisecond), float64(signs)/elapsed.Seconds())
}

// burninSetup reads each burn-in key's objects and attributes and prepares
// Go-made signatures for the verify operations.
func burninSetup(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle) []*burninKey {
	t.Helper()
	var keys []*burninKey
	for _, name := range burninKeys {
		bk := &burninKey{k: fixture(name)}
		bk.priv, bk.pub = keyObjects(t, p, sh, bk.k)
		bk.id, bk.label = attr(t, p, sh, bk.priv, ck.CKA_ID), attr(t, p, sh, bk.priv, ck.CKA_LABEL)
		require.NotEmpty(t, bk.id, "CKA_ID")
		for _, v := range signVariants {
			if v.family == bk.k.keyType {
				bk.variants = append(bk.variants, v)
			}
		}
		for i, v := range bk.variants {
			input, digest := v.signInput(bk.k, []byte(fmt.Sprintf("verify %s %d", name, i)))
			bk.verifyVariant = append(bk.verifyVariant, v)
			bk.verifyInput = append(bk.verifyInput, input)
			bk.verifyGoodSigs = append(bk.verifyGoodSigs, goSign(t, bk.k, v.scheme, v.hashFor(bk.k), digest))
		}
		keys = append(keys, bk)
	}
	return keys
}

// burninWorker is one thread's loop: random operations until it has made its
// share of signatures (or the deadline passes, which fails the test).
func burninWorker(p *pkcs11.Ctx, slot uint, w int, keys []*burninKey, shared []*sharedSession, tallies []burninTally, deadline time.Time) {
	rng := rand.New(rand.NewPCG(uint64(w), 0xb0a7))
	own, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	if err != nil {
		tallies[0].fail("thread %d: C_OpenSession: %v", w, err)
		return
	}
	defer func() {
		if err := p.CloseSession(own); err != nil {
			tallies[2].fail("thread %d: C_CloseSession of its own session: %v", w, err)
		}
	}()
	for signs := 0; signs < burninSignsPerThread; {
		if time.Now().After(deadline) {
			tallies[0].fail("thread %d: %d of %d signatures when the %v limit passed", w, signs, burninSignsPerThread, burninLimit)
			return
		}
		bk := keys[rng.IntN(len(keys))]
		op := [...]int{0, 0, 0, 1, 1, 2, 3, 3, 4, 5}[rng.IntN(10)]
		var err error
		switch op {
		case 0:
			err = burninSign(p, own, bk, rng)
		case 1:
			s := shared[rng.IntN(len(shared))]
			s.mu.Lock()
			err = burninSign(p, s.sh, bk, rng)
			s.mu.Unlock()
		case 2:
			err = burninChurn(p, slot, bk, rng)
		case 3:
			err = burninVerify(p, own, bk, rng)
		case 4:
			err = burninFind(p, own, bk)
		case 5:
			err = burninAttributes(p, own, bk)
		}
		if err != nil {
			tallies[op].fail("thread %d: %s with %s: %v", w, burninOps[op], bk.k.name, err)
			continue
		}
		tallies[op].ok.Add(1)
		if op <= 2 {
			signs++
		}
	}
}

// burninSign makes one signature with a random mechanism of the key (half
// the hashing ones multi-part) and verifies it with the dev KMS's public key.
func burninSign(p *pkcs11.Ctx, sh pkcs11.SessionHandle, bk *burninKey, rng *rand.Rand) error {
	v := bk.variants[rng.IntN(len(bk.variants))]
	j := signJob{key: bk.k, v: v, multi: v.multi && rng.IntN(2) == 0, seed: rng.Uint64()}
	sig, digest, err := signOnce(p, sh, bk.priv, j)
	if err != nil {
		return fmt.Errorf("%s (multi-part %v): %w", v.name(), j.multi, err)
	}
	if err := verifySignature(bk.k.pub, v.scheme, v.hashFor(bk.k), digest, sig); err != nil {
		return fmt.Errorf("%s (multi-part %v): %w", v.name(), j.multi, err)
	}
	return nil
}

// burninChurn opens a session, signs once in it and closes it.
func burninChurn(p *pkcs11.Ctx, slot uint, bk *burninKey, rng *rand.Rand) error {
	sh, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("C_OpenSession: %w", err)
	}
	if err := burninSign(p, sh, bk, rng); err != nil {
		_ = p.CloseSession(sh)
		return err
	}
	return p.CloseSession(sh)
}

// burninVerify checks a Go-made signature (CKR_OK) and the same signature
// with one bit flipped (CKR_SIGNATURE_INVALID) with C_Verify.
func burninVerify(p *pkcs11.Ctx, sh pkcs11.SessionHandle, bk *burninKey, rng *rand.Rand) error {
	i := rng.IntN(len(bk.verifyInput))
	v, in, good := bk.verifyVariant[i], bk.verifyInput[i], bk.verifyGoodSigs[i]
	bad := bytes.Clone(good)
	bad[rng.IntN(len(bad))] ^= 0x01
	for _, c := range []struct {
		sig  []byte
		want uint
	}{{good, ck.CKR_OK}, {bad, ck.CKR_SIGNATURE_INVALID}} {
		if err := p.VerifyInit(sh, v.mechanism(), bk.pub); err != nil {
			return fmt.Errorf("C_VerifyInit %s: %w", v.name(), err)
		}
		if got := rvOf(p.Verify(sh, in, c.sig)); got != c.want {
			return fmt.Errorf("C_Verify %s: %s, want %s", v.name(), ck.RVName(got), ck.RVName(c.want))
		}
	}
	return nil
}

// burninFind finds the key's private and public objects by CKA_ID and
// requires the handles the set-up session found.
func burninFind(p *pkcs11.Ctx, sh pkcs11.SessionHandle, bk *burninKey) error {
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_ID, bk.id)}); err != nil {
		return fmt.Errorf("C_FindObjectsInit: %w", err)
	}
	hs, _, err := p.FindObjects(sh, 10)
	if ferr := p.FindObjectsFinal(sh); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("C_FindObjects: %w", err)
	}
	got := map[pkcs11.ObjectHandle]bool{}
	for _, h := range hs {
		got[h] = true
	}
	if len(hs) != 2 || !got[bk.priv] || !got[bk.pub] {
		return fmt.Errorf("objects with CKA_ID %x: %v, want private %d and public %d", bk.id, hs, bk.priv, bk.pub)
	}
	return nil
}

// burninAttributes reads the key's label, ID and public key attributes and
// compares them with the set-up session's and the dev KMS's values.
func burninAttributes(p *pkcs11.Ctx, sh pkcs11.SessionHandle, bk *burninKey) error {
	as, err := p.GetAttributeValue(sh, bk.priv, []*pkcs11.Attribute{
		pkcs11.NewAttribute(ck.CKA_LABEL, nil), pkcs11.NewAttribute(ck.CKA_ID, nil),
	})
	if err != nil {
		return fmt.Errorf("C_GetAttributeValue(private key): %w", err)
	}
	if !bytes.Equal(as[0].Value, bk.label) || !bytes.Equal(as[1].Value, bk.id) {
		return fmt.Errorf("label %q id %x, want %q %x", as[0].Value, as[1].Value, bk.label, bk.id)
	}
	as, err = p.GetAttributeValue(sh, bk.pub, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_PUBLIC_KEY_INFO, nil)})
	if err != nil {
		return fmt.Errorf("C_GetAttributeValue(CKA_PUBLIC_KEY_INFO): %w", err)
	}
	if !bytes.Equal(as[0].Value, bk.k.spki) {
		return fmt.Errorf("CKA_PUBLIC_KEY_INFO differs from the dev KMS's public key")
	}
	return nil
}
