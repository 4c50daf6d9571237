// Package cabitest drives the BUILT library build/libp11kms.so through its C
// ABI (github.com/miekg/pkcs11, and rawc for what miekg cannot express)
// against the embedded dev KMS. Run `make build` first.
package cabitest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"gopkg.in/yaml.v3"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// tokenLabel is the label of the token in the main module configuration.
const tokenLabel = "devkms"

// Set by TestMain for every test file.
var (
	// libPath is the absolute path of the built library.
	libPath string
	// configPath is the module configuration P11KMS_CONFIG names.
	configPath string
	// devURL is the KMS endpoint the module uses: a request-counting proxy in front of the dev KMS.
	devURL string
	// devKMSURL is the dev KMS itself.
	devKMSURL string
	// moduleLog is the file the main configuration makes the module log to.
	moduleLog string
	// tmpDir holds every file the tests write.
	tmpDir string
	// kmsRequests counts the KMS requests the module makes, by operation.
	kmsRequests = &requestCounter{ops: map[string]int{}}
)

// mainEnv holds the temporary directory of the re-executed test binary.
const mainEnv = "P11KMS_CABITEST_DIR"

func TestMain(m *testing.M) {
	if scenario := os.Getenv(childEnv); scenario != "" {
		os.Exit(runChild(scenario))
	}
	if os.Getenv(mainEnv) == "" {
		os.Exit(reexec())
	}
	os.Exit(run(m))
}

// reexec runs the test binary again with P11KMS_CONFIG in its environment
// from the start: a Go c-shared library's os.Getenv sees only the environment
// the process started with (its runtime reads the initial envp), not a
// later setenv (TestConfigEnvSetBeforeLoad covers that case on its own).
func reexec() int {
	if _, err := libraryPath(); err != nil {
		return missingLibrary(err)
	}
	dir, err := os.MkdirTemp("", "p11kms-cabitest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cabitest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), mainEnv+"="+dir, "P11KMS_CONFIG="+filepath.Join(dir, "p11kms.yaml"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "FAIL: cabitest: re-executing the test binary:", err)
	return 1
}

// libraryPath returns the built library's absolute path, or an error if it is missing.
func libraryPath() (string, error) {
	path, err := filepath.Abs(filepath.Join("..", "..", "build", "libp11kms.so"))
	if err != nil {
		return "", err
	}
	_, err = os.Stat(path)
	return path, err
}

// missingLibrary fails when CI is set and otherwise says why no test ran.
func missingLibrary(err error) int {
	if os.Getenv("CI") != "" {
		fmt.Fprintf(os.Stderr, "FAIL: cabitest: %v (CI is set: run `make build` first)\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "cabitest: %v: run `make build`; no C-ABI test ran\n", err)
	return 0
}

func run(m *testing.M) int {
	var err error
	if libPath, err = libraryPath(); err != nil {
		return missingLibrary(err)
	}
	tmpDir = os.Getenv(mainEnv)
	stop, err := startDevKMS()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: cabitest:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startDevKMS seeds and starts the dev KMS with the fixture keys, puts the
// counting proxy in front of it and writes the module configuration where
// P11KMS_CONFIG (set by reexec; child processes inherit it) points.
func startDevKMS() (stop func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	specs := make([]devkms.StandardKey, len(fixtures))
	for i, k := range fixtures {
		specs[i] = devkms.StandardKey{Spec: kmsbackend.ParseKeySpec(k.spec), Usage: kmsbackend.UsageSignVerify, Alias: k.alias}
	}
	seed, err := devkms.GenerateSeed(specs)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	seedPath := filepath.Join(tmpDir, "seed.yaml")
	if err := devkms.WriteSeedFile(seedPath, seed); err != nil {
		return nil, err
	}
	srv, err := devkms.Start(ctx, devkms.Options{SeedFile: seedPath, DataDir: filepath.Join(tmpDir, "kmsdata")})
	if err != nil {
		return nil, err
	}
	proxy := startCountingProxy(srv.URL())
	stop = func() { proxy.Close(); _ = srv.Close() }
	devURL, devKMSURL = proxy.URL, srv.URL()
	if err := loadFixtures(ctx, srv.URL(), seed); err != nil {
		stop()
		return nil, err
	}
	configPath = os.Getenv("P11KMS_CONFIG")
	moduleLog = filepath.Join(tmpDir, "module.log")
	if err := devkms.WriteModuleConfig(configPath, devURL, tokenLabel); err != nil {
		stop()
		return nil, err
	}
	if err := addLogFile(configPath, moduleLog); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// addLogFile makes the configuration log at info level to a file rather than
// the test's stderr, keeping everything else WriteModuleConfig wrote.
func addLogFile(path, logPath string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	doc["log"] = map[string]any{"level": "info", "file": logPath}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

// loadFixtures asks the dev KMS (directly, with the AWS SDK: an oracle
// independent of the module) for each fixture key's id and public key, and
// checks that it is the public half of the seeded private key.
func loadFixtures(ctx context.Context, kmsURL string, seed []devkms.SeedKey) error {
	client := kms.New(kms.Options{
		Region:       devkms.DefaultRegion,
		BaseEndpoint: aws.String(kmsURL),
		Credentials:  aws.AnonymousCredentials{},
	})
	for i, k := range fixtures {
		out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(k.alias)})
		if err != nil {
			return fmt.Errorf("GetPublicKey %s: %w", k.alias, err)
		}
		k.keyID, k.spki, k.priv = seed[i].ID, out.PublicKey, seed[i].Private
		if !strings.HasSuffix(aws.ToString(out.KeyId), "/"+k.keyID) {
			return fmt.Errorf("GetPublicKey %s: key %s, seeded %s", k.alias, aws.ToString(out.KeyId), k.keyID)
		}
		if k.pub, err = parseSPKI(out.PublicKey); err != nil {
			return fmt.Errorf("GetPublicKey %s: %w", k.alias, err)
		}
		if !samePublicKey(k.pub, seed[i].Private.Public()) {
			return fmt.Errorf("GetPublicKey %s does not match the seeded key", k.alias)
		}
	}
	return nil
}

// samePublicKey reports whether a parsed public key equals the seed's.
func samePublicKey(got any, want crypto.PublicKey) bool {
	switch g := got.(type) {
	case *rsa.PublicKey:
		return g.Equal(want)
	case *ecdsa.PublicKey:
		return g.Equal(want)
	case *secp256k1.PublicKey:
		w, ok := want.(*ecdsa.PublicKey)
		return ok && g.X().Cmp(w.X) == 0 && g.Y().Cmp(w.Y) == 0
	}
	return false
}
