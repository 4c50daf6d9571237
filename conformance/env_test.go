package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// The modules the suite can drive (P11KMS_CONFORMANCE_MODULE).
const (
	moduleP11KMS  = "p11kms"   // build/libp11kms.so against the embedded dev KMS (default)
	moduleSoftHSM = "softhsm2" // SoftHSM2 with the same keys imported: for debugging the suite itself
)

// Token and PIN every client uses. The p11kms configuration sets no PIN
// hash, so any PIN logs in; SoftHSM gets this one.
const (
	tokenLabel = "conformance"
	userPIN    = "123456"
)

// softHSMLib is Debian's SoftHSM2 module.
const softHSMLib = "/usr/lib/softhsm/libsofthsm2.so"

// suiteEnv is everything TestMain sets up for the checks.
type suiteEnv struct {
	Name   string // moduleP11KMS or moduleSoftHSM
	Module string // absolute path of the PKCS#11 library under test
	Token  string // token label of the main token (tokenLabel)
	PIN    string // user PIN (userPIN)
	Dir    string // scratch directory of the run; tests use t.TempDir for their own files
	Keys   []*confKey
	// SignOnlyEnv holds KEY=VALUE settings that make the module show a token
	// (same label) with only the SIGN_VERIFY keys: no key has CKA_DECRYPT.
	// The main token's settings are already in the process environment.
	SignOnlyEnv []string
	KMSURL      string // dev KMS endpoint ("" for SoftHSM)
	// Config is the main token's p11kms configuration file ("" for SoftHSM).
	// A module loaded in-process sees only the environment the process
	// started with (a Go c-shared library reads the initial environ), so
	// in-process loaders pass its content as pReserved (see stats_test.go).
	Config    string
	ModuleLog string // file the module logs to ("" when it logs nowhere)

	stop   func() // releases the dev KMS
	region string // dev KMS region (p11kms)

	subsetMu sync.Mutex
	subsets  map[string][]string // tokenEnv cache by name
}

// env is the environment of the run, set by TestMain before any test runs.
var env *suiteEnv

// key returns the seeded key with the short name (e.g. "p256"); it panics on
// a name not in confKeySpecs, which is a bug in the test.
func (e *suiteEnv) key(name string) *confKey {
	for _, k := range e.Keys {
		if k.Name == name {
			return k
		}
	}
	panic("conformance: no seeded key named " + name)
}

// signKeys returns the SIGN_VERIFY keys, RSA ones first, in confKeySpecs order.
func (e *suiteEnv) signKeys() []*confKey {
	var out []*confKey
	for _, k := range e.Keys {
		if k.CanSign() {
			out = append(out, k)
		}
	}
	return out
}

// libraryPath returns the absolute path of build/libp11kms.so (P11KMS_TEST_LIB overrides).
func libraryPath() (string, error) {
	if p := os.Getenv("P11KMS_TEST_LIB"); p != "" {
		return filepath.Abs(p)
	}
	return filepath.Abs(filepath.Join("..", "build", "libp11kms.so"))
}

// setupEnv generates and seeds the keys and points the module at them.
func setupEnv(ctx context.Context) (_ *suiteEnv, err error) {
	name := os.Getenv("P11KMS_CONFORMANCE_MODULE")
	if name == "" {
		name = moduleP11KMS
	}
	e := &suiteEnv{Name: name, Token: tokenLabel, PIN: userPIN, stop: func() {}}
	switch name {
	case moduleP11KMS:
		lib, err := libraryPath()
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(lib); err != nil {
			return nil, fmt.Errorf("%w: %s (run `make build`)", errNoLibrary, lib)
		}
		e.Module = lib
	case moduleSoftHSM:
		e.Module = softHSMLib
	default:
		return nil, fmt.Errorf("P11KMS_CONFORMANCE_MODULE=%q: want %s or %s", name, moduleP11KMS, moduleSoftHSM)
	}
	dir, err := os.MkdirTemp("", "confsuite-")
	if err != nil {
		return nil, err
	}
	e.Dir = dir
	defer func() {
		if err != nil {
			e.teardown(false)
		}
	}()
	keys, seed, err := newConfKeys()
	if err != nil {
		return nil, err
	}
	e.Keys = keys
	if err := writePublicPEM(dir, keys); err != nil {
		return nil, err
	}
	if name == moduleSoftHSM {
		return e, setupSoftHSM(e)
	}
	seedFile := filepath.Join(dir, "seed.yaml")
	if err := devkms.WriteSeedFile(seedFile, seed); err != nil {
		return nil, err
	}
	srv, err := devkms.Start(ctx, devkms.Options{SeedFile: seedFile, DataDir: filepath.Join(dir, "kmsdata")})
	if err != nil {
		return nil, err
	}
	e.stop = func() { _ = srv.Close() }
	e.KMSURL, e.region = srv.URL(), srv.Region()
	e.ModuleLog = filepath.Join(dir, "module.log")
	mainCfg := filepath.Join(dir, "p11kms.yaml")
	if err := writeConfig(mainCfg, e, srv.Region(), e.ModuleLog, nil); err != nil {
		return nil, err
	}
	if e.SignOnlyEnv, err = e.tokenEnv("signonly", e.signKeys()); err != nil {
		return nil, err
	}
	e.Config = mainCfg
	return e, os.Setenv("P11KMS_CONFIG", mainCfg)
}

// tokenEnv returns KEY=VALUE settings that make the module show a token
// (label env.Token) holding only keys, for clients that cannot cope with
// some key on the token; name identifies the subset (results are cached by
// it). Add the settings to a Cmd's Env.
func (e *suiteEnv) tokenEnv(name string, keys []*confKey) ([]string, error) {
	e.subsetMu.Lock()
	defer e.subsetMu.Unlock()
	if v, ok := e.subsets[name]; ok {
		return v, nil
	}
	var v []string
	if e.Name == moduleSoftHSM {
		conf, err := softHSMToken(e, filepath.Join(e.Dir, "softhsm-"+name), keys)
		if err != nil {
			return nil, err
		}
		v = []string{"SOFTHSM2_CONF=" + conf}
	} else {
		ids := make([]string, len(keys))
		for i, k := range keys {
			ids[i] = k.KeyID
		}
		cfg := filepath.Join(e.Dir, "p11kms-"+name+".yaml")
		if err := writeConfig(cfg, e, e.region, e.ModuleLog, ids); err != nil {
			return nil, err
		}
		v = []string{"P11KMS_CONFIG=" + cfg}
	}
	if e.subsets == nil {
		e.subsets = map[string][]string{}
	}
	e.subsets[name] = v
	return v, nil
}

// errNoLibrary reports that build/libp11kms.so has not been built.
var errNoLibrary = errors.New("the library under test is missing")

// writeConfig writes a p11kms module configuration (README "Configuration")
// with one token: every key of the dev KMS, or only the given key ids.
// The module logs to logFile so that client output stays clean.
func writeConfig(path string, e *suiteEnv, region, logFile string, ids []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "log:\n  level: info\n  file: %q\n", logFile)
	fmt.Fprintf(&b, "tokens:\n  - label: %q\n    region: %q\n    endpoint: %q\n    anonymous: true\n", e.Token, region, e.KMSURL)
	if len(ids) > 0 {
		b.WriteString("    keys:\n      ids:\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "        - %q\n", id)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// teardown stops the dev KMS and removes the scratch directory unless keep.
func (e *suiteEnv) teardown(keep bool) {
	e.stop()
	if keep {
		fmt.Fprintf(os.Stderr, "conformance: scratch files kept in %s\n", e.Dir)
		return
	}
	_ = os.RemoveAll(e.Dir)
}
