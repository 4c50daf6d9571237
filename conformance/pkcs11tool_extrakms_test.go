package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// extraKMS is a dev KMS of one test's own, for keys the seeded conformance
// key set does not hold: Ed25519 and KEY_AGREEMENT keys (which only the dev
// KMS's in-memory layer serves, so they cannot be seeded: they are made by
// the aws backend's CreateKey, as cgo/cabitest/eddsa_test.go does) and HMAC
// keys (seedable, but kept off the main token, whose object and mechanism
// lists other checks count). The module reaches it through a token labelled
// env.Token that Env selects; the aws backend on the same dev KMS is the
// independent oracle (VerifyMac) of the checks.
type extraKMS struct {
	Backend *aws.Backend // the aws backend on this dev KMS
	Env     []string     // P11KMS_CONFIG=<a token env.Token with every key of this dev KMS>
	err     error        // why the dev KMS is not there
}

// extraKey is a key of an extraKMS as a check needs it.
type extraKey struct {
	Info   *kmsbackend.KeyInfo
	ID     []byte // CKA_ID
	PubPEM string // the KMS's public key (GetPublicKey) as a PEM file; "" for a secret key
	err    error  // why the key is not there
}

// IDHex returns CKA_ID in hex, as pkcs11-tool --id takes it.
func (k *extraKey) IDHex() string { return hex.EncodeToString(k.ID) }

// startExtraKMS starts a dev KMS seeded with seed (nil: no key) for the
// checks of the test t, with the main dev KMS's region (local-kms keeps
// the region process-wide). A failure is kept and reported by every check
// that calls require, so that it shows in the summary.
func startExtraKMS(t *testing.T, seed []devkms.SeedKey) *extraKMS {
	t.Helper()
	x := &extraKMS{}
	if env.Name != moduleP11KMS {
		x.err = errNotP11KMS
		return x
	}
	x.err = x.start(t, seed)
	return x
}

// errNotP11KMS says a check needs keys only AWS KMS makes (P11KMS_CONFORMANCE_MODULE=softhsm2).
var errNotP11KMS = errors.New("the check's keys live in a KMS of its own; the reference module (SoftHSM2) has none")

// start does startExtraKMS's work.
func (x *extraKMS) start(t *testing.T, seed []devkms.SeedKey) error {
	dir := t.TempDir()
	opts := devkms.Options{Region: env.region, DataDir: filepath.Join(dir, "kmsdata")}
	if len(seed) > 0 {
		opts.SeedFile = filepath.Join(dir, "seed.yaml")
		if err := devkms.WriteSeedFile(opts.SeedFile, seed); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := devkms.Start(ctx, opts)
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = srv.Close() })
	b, err := aws.New(ctx, aws.Options{Region: srv.Region(), Endpoint: srv.URL(), Anonymous: true, CallTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = b.Close() })
	x.Backend = b
	// The token's settings as writeConfig writes them (README "Configuration"), on this dev KMS.
	cfg := filepath.Join(dir, "p11kms.yaml")
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "log:\n  level: info\n  file: %q\n", env.ModuleLog)
	fmt.Fprintf(&yaml, "tokens:\n  - label: %q\n    region: %q\n    endpoint: %q\n    anonymous: true\n", env.Token, srv.Region(), srv.URL())
	if err := os.WriteFile(cfg, []byte(yaml.String()), 0o644); err != nil {
		return err
	}
	x.Env = []string{"P11KMS_CONFIG=" + cfg}
	return nil
}

// require skips the check on the reference module and fails it when the
// dev KMS did not start.
func (x *extraKMS) require(t *testing.T) {
	t.Helper()
	if errors.Is(x.err, errNotP11KMS) {
		skipCheck(t, "%v", x.err)
	}
	if x.err != nil {
		t.Fatalf("the check's own dev KMS did not start: %v", x.err)
	}
}

// createKey makes a key with the aws backend's CreateKey (alias "alias/" +
// name) and writes its public key as PEM. A failure is kept in the key for
// the checks that use it (extraKey.require).
func (x *extraKMS) createKey(t *testing.T, spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage, name string) *extraKey {
	t.Helper()
	if x.err != nil {
		return &extraKey{err: x.err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := x.Backend.CreateKey(ctx, spec, usage, "alias/"+name, "", nil)
	if err != nil {
		return &extraKey{err: fmt.Errorf("CreateKey %s %s through the aws backend: %w", spec, usage, err)}
	}
	return x.keyFrom(t, info, name)
}

// seededKey returns the extraKey of a key seeded at start (DescribeKey).
func (x *extraKMS) seededKey(t *testing.T, id, name string) *extraKey {
	t.Helper()
	if x.err != nil {
		return &extraKey{err: x.err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := x.Backend.DescribeKey(ctx, id)
	if err != nil {
		return &extraKey{err: fmt.Errorf("DescribeKey %s: %w", id, err)}
	}
	return x.keyFrom(t, info, name)
}

// keyFrom builds the extraKey of info. CKA_ID follows token/objectid.go:
// the 16 bytes of a UUID key id, else the first 16 bytes of SHA-256(ARN).
func (x *extraKMS) keyFrom(t *testing.T, info *kmsbackend.KeyInfo, name string) *extraKey {
	k := &extraKey{Info: info}
	if id, err := hex.DecodeString(stripDashes(info.ID)); err == nil && len(id) == 16 && len(info.ID) == 36 {
		k.ID = id
	} else {
		sum := sha256.Sum256([]byte(info.ARN))
		k.ID = sum[:16]
	}
	if len(info.PublicKeyDER) > 0 {
		k.PubPEM = filepath.Join(t.TempDir(), name+".pub.pem")
		k.err = os.WriteFile(k.PubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: info.PublicKeyDER}), 0o644)
	}
	return k
}

// require fails the check when the key could not be made (skips it on the
// reference module).
func (k *extraKey) require(t *testing.T) {
	t.Helper()
	if errors.Is(k.err, errNotP11KMS) {
		skipCheck(t, "%v", k.err)
	}
	if k.err != nil {
		t.Fatalf("the check's key is missing: %v", k.err)
	}
}
