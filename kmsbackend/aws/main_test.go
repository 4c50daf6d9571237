package aws

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/stretchr/testify/require"
)

// extraAliases is how many more aliases the AES key gets in the seed, so
// that alias listings span several pages even at the dev KMS's default
// ListAliases page size (50).
const extraAliases = 60

// seedPath and seedKeys are the package's seed: devkms.StandardKeys plus
// extra aliases, generated once by TestMain (RSA-4096 generation is slow).
var (
	seedPath string
	seedKeys []devkms.SeedKey
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "p11kms-aws-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	seedKeys, err = devkms.StandardSeed()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	aes := seedIndex(kmsbackend.SpecSymmetricDefault)
	for i := range extraAliases {
		seedKeys[aes].Aliases = append(seedKeys[aes].Aliases, fmt.Sprintf("alias/extra-%03d", i))
	}
	seedPath = filepath.Join(dir, "seed.yaml")
	if err := devkms.WriteSeedFile(seedPath, seedKeys); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// seedIndex returns the index in seedKeys of the first key of the spec.
func seedIndex(spec kmsbackend.KeySpec) int {
	for i, k := range seedKeys {
		if k.Spec == spec {
			return i
		}
	}
	panic("no seed key of spec " + spec.String())
}

// seedByAlias returns the seed key with the alias.
func seedByAlias(t *testing.T, alias string) devkms.SeedKey {
	t.Helper()
	for _, k := range seedKeys {
		for _, a := range k.Aliases {
			if a == alias {
				return k
			}
		}
	}
	t.Fatalf("no seed key with alias %s", alias)
	return devkms.SeedKey{}
}

// fixture is a seeded dev KMS and a backend connected to it.
type fixture struct {
	srv *devkms.Server
	b   *Backend
}

// newFixture starts a seeded dev KMS on loopback and a backend on it; both
// are closed when the test ends.
func newFixture(t *testing.T) fixture {
	t.Helper()
	srv, err := devkms.Start(context.Background(), devkms.Options{SeedFile: seedPath})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	b, err := New(context.Background(), Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, CallTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return fixture{srv: srv, b: b}
}

// arn returns the ARN the dev KMS gives the key id.
func arn(id string) string {
	return "arn:aws:kms:" + devkms.DefaultRegion + ":" + devkms.AccountID + ":key/" + id
}
