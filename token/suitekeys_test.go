package token

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// suiteKey is one key a group of tests creates in the shared dev KMS (AWS
// KMS API reference, CreateKey: KeySpec, KeyUsage; the alias through
// CreateAlias, without its "alias/" prefix here).
type suiteKey struct {
	alias string
	spec  kmsbackend.KeySpec
	usage kmsbackend.KeyUsage
}

// keySuite is the keys of one group of tests, created once per test binary
// in the shared dev KMS, tagged suite=tag so that only a token selecting
// that tag sees them (testModule's token selects suite=token). A suite
// with tag "" creates its keys untagged and without a description.
type keySuite struct {
	tag, desc string
	keys      []suiteKey

	once  sync.Once
	infos map[string]*kmsbackend.KeyInfo
	err   error
}

// create creates the suite's keys on first use, and returns what CreateKey
// returned for them, by alias.
func (s *keySuite) create(t testing.TB) map[string]*kmsbackend.KeyInfo {
	t.Helper()
	url := devKMS(t)
	s.once.Do(func() {
		var tags map[string]string
		if s.tag != "" {
			tags = map[string]string{"suite": s.tag}
		}
		s.infos, s.err = createKeys(context.Background(), url, s.desc, tags, s.keys)
	})
	require.NoError(t, s.err)
	return s.infos
}

// createKeys creates keys in the dev KMS at url through an aws backend of
// its own (independent of any module), in order.
func createKeys(ctx context.Context, url, desc string, tags map[string]string, keys []suiteKey) (map[string]*kmsbackend.KeyInfo, error) {
	b, err := aws.New(ctx, aws.Options{Region: devkms.DefaultRegion, Endpoint: url, Anonymous: true})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	infos := map[string]*kmsbackend.KeyInfo{}
	for _, k := range keys {
		if infos[k.alias], err = b.CreateKey(ctx, k.spec, k.usage, "alias/"+k.alias, desc, tags); err != nil {
			return nil, fmt.Errorf("create %s: %w", k.alias, err)
		}
	}
	return infos, nil
}

// kmsOracle is an aws backend straight at the shared dev KMS, independent
// of the module, for the calls a test makes outside it; closed when the
// test ends.
func kmsOracle(t testing.TB) *aws.Backend {
	t.Helper()
	b, err := aws.New(context.Background(), aws.Options{Region: devkms.DefaultRegion, Endpoint: devKMS(t), Anonymous: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// suiteModule returns an initialized module, finalized when the test ends,
// whose one token, labelled label, reaches the shared dev KMS and selects
// the keys the YAML flow mapping keys names (e.g. "{tags: {suite: crypt}}",
// token/config.go), with extra YAML lines appended to the token. When wrap
// is not nil it wraps the real backend of the token, and suiteModule
// returns the wrapper too (a counter or recorder of remote calls).
func suiteModule[B kmsbackend.Backend](t testing.TB, label, keys, extra string, wrap func(kmsbackend.Backend) B) (*Module, B) {
	t.Helper()
	url := devKMS(t)
	m := New()
	var wrapped B
	if wrap != nil {
		m.NewBackend = func(ctx context.Context, tc TokenConfig, log *slog.Logger) (kmsbackend.Backend, error) {
			b, err := newAWSBackend(ctx, tc, log)
			if err != nil {
				return nil, err
			}
			wrapped = wrap(b)
			return wrapped, nil
		}
	}
	cfg := fmt.Sprintf("log: {level: error}\ntokens:\n  - label: %s\n    region: %s\n    endpoint: %s\n    anonymous: true\n    keys: %s\n%s",
		label, devkms.DefaultRegion, url, keys, extra)
	require.NoError(t, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
	t.Cleanup(func() { _ = m.Finalize() })
	return m, wrapped
}
