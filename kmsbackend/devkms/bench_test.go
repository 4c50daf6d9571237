package devkms

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkSeededStart measures Start with the standard seed (10 keys,
// RSA-4096 included) into a fresh temporary data directory, plus Close.
func BenchmarkSeededStart(b *testing.B) {
	for b.Loop() {
		s, err := Start(context.Background(), Options{SeedFile: stdSeedPath})
		require.NoError(b, err)
		require.NoError(b, s.Close())
	}
}

// BenchmarkStandardSeed measures generating the standard seed's key
// material (dominated by RSA-4096 generation).
func BenchmarkStandardSeed(b *testing.B) {
	for b.Loop() {
		_, err := StandardSeed()
		require.NoError(b, err)
	}
}
