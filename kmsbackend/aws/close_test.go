package aws

import (
	"context"
	"crypto/sha256"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/require"
)

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: seedPath})
	require.NoError(t, err)
	b, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL(), Anonymous: true})
	require.NoError(t, err)
	// Concurrent calls open several pooled connections.
	var wg sync.WaitGroup
	for _, k := range seedKeys {
		wg.Go(func() {
			_, err := b.DescribeKey(context.Background(), k.ID)
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Greater(t, runtime.NumGoroutine(), before, "connections are open")
	require.NoError(t, b.Close())
	require.NoError(t, srv.Close())
	requireGoroutinesBack(t, before, 3*time.Second)
}

// BenchmarkSign measures Sign through the backend against the dev KMS on
// loopback and reports the median latency (p50-ms).
func BenchmarkSign(b *testing.B) {
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: seedPath})
	require.NoError(b, err)
	defer srv.Close()
	be, err := New(context.Background(), Options{Region: "us-east-1", Endpoint: srv.URL(), Anonymous: true})
	require.NoError(b, err)
	defer be.Close()
	d := sha256.Sum256([]byte("bench"))
	for _, bc := range []struct {
		name, alias string
		alg         kmsbackend.SigningAlgorithm
	}{
		{"P-256", "alias/dev-ec-p256", kmsbackend.ECDSA_SHA_256},
		{"RSA-2048", "alias/dev-rsa-2048", kmsbackend.RSASSA_PKCS1_V1_5_SHA_256},
	} {
		b.Run(bc.name, func(b *testing.B) {
			info, err := be.DescribeKey(context.Background(), bc.alias)
			require.NoError(b, err)
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := be.Sign(context.Background(), info.ARN, bc.alg, kmsbackend.MessageDigest, d[:]); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

// requireGoroutinesBack waits until no more goroutines run than before
// (polling here: testify's Eventually runs its condition in a goroutine of
// its own, which would be counted).
func requireGoroutinesBack(t *testing.T, before int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
