package cabitest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// ownKey is a key an own environment creates with the aws backend's
// CreateKey (AWS KMS API reference, CreateKey: KeySpec, KeyUsage; the alias
// through CreateAlias, "alias/" included).
type ownKey struct {
	spec  kmsbackend.KeySpec
	usage kmsbackend.KeyUsage
	alias string
}

// ownEnv is a dev KMS of a feature test's own, so that the main fixture's
// object and mechanism counts stay as other tests expect. The module reaches
// it through the counting proxy (kmsRequests) at proxyURL; oracle is an aws
// backend straight at it, the independent party; keys are the keys it
// created, as CreateKey returned them, by alias ("alias/" included).
type ownEnv struct {
	label    string // the label of the one token init configures
	proxyURL string
	oracle   *aws.Backend
	keys     map[string]*kmsbackend.KeyInfo
	seed     []devkms.SeedKey // the seeded keys with their material, when seeded
}

// ownCallTimeout bounds each call of the oracle (CreateKey of an RSA key
// included).
const ownCallTimeout = 30 * time.Second

// startOwnEnv starts a dev KMS (seeded with seed, if any, before it starts),
// the counting proxy in front of it and the oracle, and creates keys in
// order; everything is closed when the test ends.
func startOwnEnv(t *testing.T, label string, seed []devkms.StandardKey, keys ...ownKey) *ownEnv {
	t.Helper()
	ctx := context.Background()
	e := &ownEnv{label: label, keys: map[string]*kmsbackend.KeyInfo{}}
	var opts devkms.Options
	if len(seed) > 0 {
		var err error
		e.seed, err = devkms.GenerateSeed(seed)
		require.NoError(t, err)
		opts.SeedFile = filepath.Join(t.TempDir(), label+"-seed.yaml")
		require.NoError(t, devkms.WriteSeedFile(opts.SeedFile, e.seed))
	}
	srv, err := devkms.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	proxy := startCountingProxy(srv.URL())
	t.Cleanup(proxy.Close)
	e.proxyURL = proxy.URL
	e.oracle, err = aws.New(ctx, aws.Options{Region: devkms.DefaultRegion, Endpoint: srv.URL(), Anonymous: true, CallTimeout: ownCallTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.oracle.Close() })
	for _, k := range keys {
		e.keys[k.alias], err = e.oracle.CreateKey(ctx, k.spec, k.usage, k.alias, "", nil)
		require.NoError(t, err, "CreateKey %s", k.alias)
	}
	return e
}

// load loads the module with a pReserved configuration (token/config.go)
// whose one token, labelled e.label, selects every key of the environment's
// dev KMS, and returns the token's slot.
func (e *ownEnv) load(t *testing.T) (*pkcs11.Ctx, uint) {
	t.Helper()
	p := initializedWith(t, configYAML(fmt.Sprintf("  - label: %s\n    region: %s\n    endpoint: %q\n    anonymous: true\n", e.label, devkms.DefaultRegion, e.proxyURL)))
	return p, slotByLabel(t, p, e.label)
}

// init is load with a serial (read-only) session on the token.
func (e *ownEnv) init(t *testing.T) (*pkcs11.Ctx, pkcs11.SessionHandle) {
	t.Helper()
	p, slot := e.load(t)
	return p, openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
}

// oneObject returns the one object matching tmpl, requiring exactly one.
func oneObject(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl ...*pkcs11.Attribute) pkcs11.ObjectHandle {
	t.Helper()
	hs := findAll(t, p, sh, tmpl)
	require.Len(t, hs, 1, "objects matching the template")
	return hs[0]
}
