package cabitest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// signsPerMechanism is how many signatures each key makes with each mechanism
// (spread over the mechanism's input variants; half multi-part where the
// mechanism hashes). P11KMS_CABITEST_SIGNS overrides it (never below 1).
func signsPerMechanism(t *testing.T) int {
	n := 1000
	if s := os.Getenv("P11KMS_CABITEST_SIGNS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "P11KMS_CABITEST_SIGNS")
		n = max(v, 1)
	}
	return n
}

// signWorkers is how many goroutines (each with its own session) sign at once.
const signWorkers = 4

// signJob is one signature to make and check.
type signJob struct {
	key   *keyFixture
	v     signVariant
	multi bool
	seed  uint64
}

// signTally counts the outcomes of one key and mechanism.
type signTally struct {
	single, multi, invalid, failed int
	firstProblem                   string
	elapsed                        time.Duration
}

// TestSignEveryKeyAndMechanism signs with every key and every mechanism the
// token lists for it (CKA_ALLOWED_MECHANISMS), single- and multi-part, and
// checks every signature with Go's crypto (decred's for secp256k1) using the
// public key read off the token.
func TestSignEveryKeyAndMechanism(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	type keyObjs struct {
		priv pkcs11.ObjectHandle
		pub  any
	}
	objs := map[*keyFixture]keyObjs{}
	var jobs []signJob
	n := signsPerMechanism(t)
	for _, k := range fixtures {
		priv, pubH := keyObjects(t, p, sh, k)
		objs[k] = keyObjs{priv, tokenPublicKey(t, p, sh, pubH)}
		allowed := allowedMechanisms(t, p, sh, priv)
		byMech := map[uint][]signVariant{}
		for _, v := range signVariants {
			if v.family == k.keyType {
				byMech[v.mech] = append(byMech[v.mech], v)
			}
		}
		var want []string
		for m := range byMech {
			want = append(want, ck.MechName(m))
		}
		sort.Strings(want)
		require.Equal(t, want, allowed, "CKA_ALLOWED_MECHANISMS of %s", k.name)
		for _, vs := range byMech {
			for i := range n {
				v := vs[i%len(vs)]
				jobs = append(jobs, signJob{key: k, v: v, multi: v.multi && i%2 == 1, seed: uint64(len(jobs))})
			}
		}
	}
	rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })

	var mu sync.Mutex
	tallies := map[string]*signTally{}
	ch := make(chan signJob)
	var wg sync.WaitGroup
	start := time.Now()
	for range signWorkers {
		ws := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
		wg.Go(func() {
			for j := range ch {
				t0 := time.Now()
				sig, digest, err := signOnce(p, ws, objs[j.key].priv, j)
				var verr error
				if err == nil {
					verr = verifySignature(objs[j.key].pub, j.v.scheme, j.v.hashFor(j.key), digest, sig)
				}
				mu.Lock()
				key := j.key.name + "/" + ck.MechName(j.v.mech)
				tl := tallies[key]
				if tl == nil {
					tl = &signTally{}
					tallies[key] = tl
				}
				tl.elapsed += time.Since(t0)
				switch {
				case err != nil:
					tl.failed++
					if tl.firstProblem == "" {
						tl.firstProblem = fmt.Sprintf("%s: %s", j.v.name(), ck.RVName(rvOf(err)))
					}
				case verr != nil:
					tl.invalid++
					if tl.firstProblem == "" {
						tl.firstProblem = fmt.Sprintf("%s: %v", j.v.name(), verr)
					}
				case j.multi:
					tl.multi++
				default:
					tl.single++
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	elapsed := time.Since(start)

	names := make([]string, 0, len(tallies))
	for k := range tallies {
		names = append(names, k)
	}
	sort.Strings(names)
	var report strings.Builder
	total := 0
	for _, name := range names {
		tl := tallies[name]
		good := tl.single + tl.multi
		total += good
		fmt.Fprintf(&report, "\n  %-36s valid %4d (single %4d, multi %4d) invalid %d failed %d  mean %v/sig/worker %s",
			name, good, tl.single, tl.multi, tl.invalid, tl.failed, (tl.elapsed / time.Duration(max(1, good+tl.invalid+tl.failed))).Round(10*time.Microsecond), tl.firstProblem)
	}
	t.Logf("%d signatures verified in %v with %d workers (%.0f/s):%s", total, elapsed.Round(time.Millisecond), signWorkers, float64(total)/elapsed.Seconds(), report.String())
	for _, name := range names {
		tl := tallies[name]
		assert.Zero(t, tl.invalid, "%s: invalid signatures (%s)", name, tl.firstProblem)
		assert.Zero(t, tl.failed, "%s: failed signing calls (%s)", name, tl.firstProblem)
		assert.Equal(t, n, tl.single+tl.multi, "%s: valid signatures", name)
	}
}

// signOnce makes one signature as the job says, with a random message, and
// returns it with the digest the verifier checks.
func signOnce(p *pkcs11.Ctx, sh pkcs11.SessionHandle, priv pkcs11.ObjectHandle, j signJob) (sig, digest []byte, err error) {
	rng := rand.New(rand.NewPCG(j.seed, 0x5eed))
	msg := make([]byte, rng.IntN(300))
	for i := range msg {
		msg[i] = byte(rng.Uint32())
	}
	input, digest := j.v.signInput(j.key, msg)
	if err := p.SignInit(sh, j.v.mechanism(), priv); err != nil {
		return nil, nil, err
	}
	if !j.multi {
		sig, err = p.Sign(sh, input)
		return sig, digest, err
	}
	// Multi-part: 1-4 parts of random lengths (possibly empty).
	rest := input
	for parts := 1 + rng.IntN(4); parts > 1 && len(rest) > 0; parts-- {
		cut := rng.IntN(len(rest) + 1)
		if err := p.SignUpdate(sh, rest[:cut]); err != nil {
			return nil, nil, err
		}
		rest = rest[cut:]
	}
	if err := p.SignUpdate(sh, rest); err != nil {
		return nil, nil, err
	}
	sig, err = p.SignFinal(sh)
	return sig, digest, err
}

// allowedMechanisms reads CKA_ALLOWED_MECHANISMS (PKCS#11 2.40 §4.7), names sorted.
func allowedMechanisms(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle) []string {
	t.Helper()
	b := attr(t, p, sh, oh, ck.CKA_ALLOWED_MECHANISMS)
	require.Zero(t, len(b)%8, "CKA_ALLOWED_MECHANISMS is an array of CK_MECHANISM_TYPE")
	var out []string
	for i := 0; i < len(b); i += 8 {
		out = append(out, ck.MechName(ulong(t, b[i:i+8])))
	}
	sort.Strings(out)
	return out
}
