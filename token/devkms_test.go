package token

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// The token's tests run against a real dev KMS on loopback (local-kms inside
// kmsbackend/devkms) through the real AWS backend.

// testKeys are created once per test binary, tagged suite=token.
var testKeys = []suiteKey{
	{"t-rsa2048", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify},
	{"t-p256", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify},
	{"t-p384", kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify},
	{"t-p521", kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify},
	{"t-k256", kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify},
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
		_, devErr = createKeys(ctx, devURL, "p11kms token test", map[string]string{"suite": "token"}, testKeys)
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
	return suiteModule(t, "test", "{tags: {suite: token}}", extra, func(b kmsbackend.Backend) *countingBackend {
		return &countingBackend{Backend: b}
	})
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
