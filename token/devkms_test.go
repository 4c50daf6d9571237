package token

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// The token's tests run against a real dev KMS on loopback (local-kms inside
// kmsbackend/devkms) through the real AWS backend.

// testKeys are created once per test binary: alias -> spec.
var testKeys = []struct {
	alias string
	spec  kmsbackend.KeySpec
}{
	{"t-rsa2048", kmsbackend.SpecRSA2048},
	{"t-p256", kmsbackend.SpecECCNISTP256},
	{"t-p384", kmsbackend.SpecECCNISTP384},
	{"t-p521", kmsbackend.SpecECCNISTP521},
	{"t-k256", kmsbackend.SpecECCSECGP256K1},
}

var (
	devOnce sync.Once
	devURL  string
	devErr  error
)

// devKMS starts the shared dev KMS and creates testKeys in it.
func devKMS(t testing.TB) string {
	t.Helper()
	devOnce.Do(func() {
		ctx := context.Background()
		srv, err := devkms.Start(ctx, devkms.Options{})
		if err != nil {
			devErr = err
			return
		}
		devURL = srv.URL()
		b, err := aws.New(ctx, aws.Options{Region: devkms.DefaultRegion, Endpoint: devURL, Anonymous: true})
		if err != nil {
			devErr = err
			return
		}
		defer b.Close()
		for _, k := range testKeys {
			if _, err := b.CreateKey(ctx, k.spec, kmsbackend.UsageSignVerify, "alias/"+k.alias, "p11kms token test", map[string]string{"suite": "token"}); err != nil {
				devErr = fmt.Errorf("create %s: %w", k.alias, err)
				return
			}
		}
	})
	require.NoError(t, devErr)
	return devURL
}

// countingBackend counts the remote calls a real backend makes, so tests can
// prove that a call made none.
type countingBackend struct {
	kmsbackend.Backend
	signs, lists atomic.Int64
}

func (c *countingBackend) Sign(ctx context.Context, arn string, alg kmsbackend.SigningAlgorithm, mt kmsbackend.MessageType, msg []byte) ([]byte, error) {
	c.signs.Add(1)
	return c.Backend.Sign(ctx, arn, alg, mt, msg)
}

func (c *countingBackend) ListKeys(ctx context.Context) ([]kmsbackend.KeyRef, error) {
	c.lists.Add(1)
	return c.Backend.ListKeys(ctx)
}

// testModule returns an initialized module whose one token sees the dev KMS
// keys, with extra YAML lines appended to the token, and its counting backend.
func testModule(t testing.TB, extra string) (*Module, *countingBackend) {
	t.Helper()
	url := devKMS(t)
	m := New()
	var cb *countingBackend
	m.NewBackend = func(ctx context.Context, tc TokenConfig, log *slog.Logger) (kmsbackend.Backend, error) {
		b, err := newAWSBackend(ctx, tc, log)
		if err != nil {
			return nil, err
		}
		cb = &countingBackend{Backend: b}
		return cb, nil
	}
	cfg := fmt.Sprintf("log: {level: error}\ntokens:\n  - label: test\n    region: %s\n    endpoint: %s\n    anonymous: true\n    keys: {tags: {suite: token}}\n%s",
		devkms.DefaultRegion, url, extra)
	require.NoError(t, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
	t.Cleanup(func() { _ = m.Finalize() })
	return m, cb
}

// openSession opens an RO session on slot 0.
func openSession(t testing.TB, m *Module) uint {
	t.Helper()
	sh, err := m.OpenSession(0, ck.CKF_SERIAL_SESSION)
	require.NoError(t, err)
	return sh
}

// findAll returns every handle matching tmpl.
func findAll(t testing.TB, m *Module, sh uint, tmpl ...Attribute) []uint {
	t.Helper()
	require.NoError(t, m.FindObjectsInit(sh, tmpl))
	var all []uint
	for {
		hs, err := m.FindObjects(sh, 3)
		require.NoError(t, err)
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	require.NoError(t, m.FindObjectsFinal(sh))
	return all
}

// attrValue reads one attribute value.
func attrValue(t testing.TB, m *Module, sh, oh, typ uint) []byte {
	t.Helper()
	reqs := []AttrRequest{{Type: typ, HasBuf: true, BufLen: 1 << 16}}
	require.NoError(t, m.GetAttributeValue(sh, oh, reqs))
	return reqs[0].Value
}

// rvOf names the CK_RV of err, for assertions with readable failures.
func rvOf(err error) string { return ck.RVName(ck.RV(err)) }
