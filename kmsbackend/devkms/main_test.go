package devkms

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// stdSeedPath and stdSeed are a standard seed generated once by TestMain
// (RSA-4096 generation is slow).
var (
	stdSeedPath string
	stdSeed     []SeedKey
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "p11kms-devkms-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if stdSeed, err = StandardSeed(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stdSeedPath = filepath.Join(dir, "seed.yaml")
	if err := WriteSeedFile(stdSeedPath, stdSeed); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
