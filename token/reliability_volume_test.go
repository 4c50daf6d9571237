package token

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// relSessions is how many sessions sign in parallel in the volume run; the
// number of signatures, relSigns, is 10,000 without -race
// (reliability_norace_test.go) and 1,000 under it (reliability_race_test.go:
// the full run takes ~55 s there; scripts/test.sh runs it without -race).
const relSessions = 16

func TestSignaturesSurviveTenPercentTransientFaults(t *testing.T) {
	srv := faultKMS(t)
	m := relModule(t, srv.URL(), "", "")
	sh := openSession(t, m)
	priv, pub := keyPair(t, m, sh, relAlias) // key discovery before the faults
	spki := attrValue(t, m, sh, pub, ck.CKA_PUBLIC_KEY_INFO)
	// 10% of requests fail transiently: throttled, 5xx or dropped, mixed.
	require.NoError(t, srv.SetFaults(devkms.FaultConfig{Throttle: 0.034, ServerError: 0.033, Drop: 0.033, Seed: 2026}))

	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	failures := map[string]int{}
	badSigs := 0
	start := time.Now()
	var wg sync.WaitGroup
	for range relSessions {
		wg.Go(func() {
			sh, err := m.OpenSession(0, ck.CKF_SERIAL_SESSION)
			if !assert.NoError(t, err) {
				return
			}
			var myLat []time.Duration
			myFail := map[string]int{}
			myBad := 0
			for i := next.Add(1); i <= relSigns; i = next.Add(1) {
				d := sha256.Sum256(fmt.Appendf(nil, "reliability %d", i))
				t0 := time.Now()
				sig, err := signOnce(m, sh, priv, d[:])
				myLat = append(myLat, time.Since(t0))
				switch {
				case err != nil:
					myFail[rvOf(err)]++
				case independentVerify(spki, ck.CKM_ECDSA, d[:], sig) != nil:
					myBad++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, myLat...)
			for k, v := range myFail {
				failures[k] += v
			}
			badSigs += myBad
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	failed := 0
	for _, v := range failures {
		failed += v
	}
	fc := srv.FaultCounts()
	injected := fc.Throttle + fc.ServerError + fc.Drop
	slices.Sort(lat)
	require.Len(t, lat, relSigns)
	t.Logf("%d signatures from %d sessions in %v (%.0f/s): %d succeeded (%.3f%%), failures %v, wrong signatures returned %d",
		relSigns, relSessions, elapsed.Round(time.Millisecond), relSigns/elapsed.Seconds(), relSigns-failed,
		100*float64(relSigns-failed)/relSigns, failures, badSigs)
	t.Logf("KMS requests %d (%.3f per signature); faults injected %d (%.1f%%): throttle %d, 5xx %d, drop %d",
		fc.Requests, float64(fc.Requests)/relSigns, injected, 100*float64(injected)/float64(fc.Requests), fc.Throttle, fc.ServerError, fc.Drop)
	t.Logf("C_Sign latency p50 %v, p99 %v, p99.9 %v, max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)*999/1000], lat[len(lat)-1])

	assert.Zero(t, badSigs, "every returned signature verifies")
	assert.GreaterOrEqual(t, relSigns-failed, relSigns*999/1000, "at least 99.9%% succeed")
	for rv := range failures {
		assert.Equal(t, "CKR_DEVICE_ERROR", rv, "a failure is a device error")
	}
	// The fault rate was 10%: binomial, within 3 standard deviations.
	assert.InDelta(t, 0.10, float64(injected)/float64(fc.Requests), 3*math.Sqrt(0.1*0.9/float64(fc.Requests)))
	assert.Equal(t, int64(relSigns-failed)+injected, fc.Requests, "one more attempt per injected fault, except the last of a failed call")
}
