// Package conformance drives real PKCS#11 clients against the built library
// build/libp11kms.so (run `make build` first) and checks every signature
// with an independent verifier (openssl without the engine, Go crypto).
//
// # Framework (stable API for every *_test.go file of this package)
//
// TestMain builds nothing. It installs missing Debian client packages
// (scripts/deps.sh, then apt-get; root only), generates fresh keys, starts
// the embedded dev KMS (kmsbackend/devkms) in-process seeded with them,
// writes the module configuration (one token labelled "conformance"; the
// module logs to a file, never to the clients' output) and exports
// P11KMS_CONFIG, runs the tests, prints the failed and skipped checks and
// then exactly one line "N passed, N failed, N skipped", and writes COMPAT.md
// (a full run against build/libp11kms.so only; P11KMS_COMPAT_OUT=file forces
// it). `go run ./conformance/compatreadme` copies its table into README.md.
//
// Environment (set by TestMain, read-only for tests): the package variable
// env (*suiteEnv):
//
//	env.Module       absolute path of the library under test
//	env.Token        "conformance"; env.PIN "123456" (any PIN logs in to p11kms)
//	env.Keys         []*confKey, one per confKeySpecs row; env.key("p256")
//	env.signKeys()   the SIGN_VERIFY keys
//	env.SignOnlyEnv  KEY=VALUE settings for a token (same label) with only sign keys
//	env.tokenEnv(name, keys)  KEY=VALUE settings for a token holding only keys
//	env.Config       main p11kms configuration file ("" for SoftHSM2)
//	env.KMSURL, env.ModuleLog, env.Dir
//
// The process environment already selects the main token (P11KMS_CONFIG, or
// SOFTHSM2_CONF for SoftHSM2) for every child command. A module loaded
// IN-PROCESS (miekg/pkcs11) cannot see it: a Go c-shared library reads the
// environment the process started with. Pass initOptions(t) to Initialize
// (the configuration as pReserved), as stats_test.go does.
//
// Seeded keys (short name -> CKA_LABEL "conf-<name>", CKA_ID = the 16 bytes
// of the KMS key id): rsa2048, rsa3072, rsa4096, p256, p384, p521,
// secp256k1 (SIGN_VERIFY) and rsa2048-decrypt (ENCRYPT_DECRYPT). A confKey
// has Name, Label, KeyID, ID, IDHex(), Spec, Usage, Public, PubDER, PubPEM
// (file), IsRSA(), Bits(), Curve() (oid, openssl name, size, hash, ssh
// type), CanSign(), URI("private"|"public"|"cert").
//
// Check registry (report_test.go): every client check goes through
//
//	check(t, client, "operation: subject", func(t *testing.T) { ... })
//
// which runs a subtest and records pass / FAIL / skip. "operation: subject"
// groups rows in COMPAT.md (e.g. "sign SHA256-RSA-PKCS: rsa2048");
// noteCheck(t, ...) attaches a measurement to the check. A check
// that cannot run calls skipCheck(t, reason) (a skip with its reason, never a
// pass) or failOrSkip(t, reason) / requireTool(t, names...) for
// prerequisites, which fail instead when CI or P11KMS_TEST_STRICT is set. A
// test file declares its client's version probe in init():
//
//	registerClient("pkcs11-tool", func() (string, error) { ... })
//
// Commands (exec_test.go): run(t, args...) runs with the suite's
// environment, fails on a non-zero exit printing the exact command line, its
// combined output and the module log's tail, and returns combined output;
// runStdout(t, args...) returns stdout only; Cmd{Args, Env, Stdin, Dir,
// Timeout}.Run(t) / .Try(t) (Try never fails the test) return a Result
// (Stdout, Stderr, Combined, Code, TimedOut, Err, Elapsed).
//
// Verification (verify_test.go): verifyWithOpenSSL(t, key, "sha256", data,
// sig, sigopts...) (sig DER for ECDSA: ecRawToDER converts r||s),
// verifyFilesWithOpenSSL, verifyRawECDSAFile, verifyCertWithOpenSSL(t, ca,
// cert, key), verifyCSRWithOpenSSL(t, csr, key), requireSamePublicKey,
// requireSameDER. noEngine() keeps openssl away from engine configurations.
//
// P11KMS_CONFORMANCE_MODULE=softhsm2 runs the same suite against SoftHSM2
// holding the same keys (to debug client command lines; never writes
// COMPAT.md). P11KMS_KEEP_TMP=1 keeps the scratch directory (also kept when
// a check fails). P11KMS_STATS_SCALE=0.1 shrinks the statistical batches
// for debugging (ignored in strict mode).
package conformance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain sets the environment up, runs the checks and reports them.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

// runSuite is TestMain's body; it returns the exit code.
func runSuite(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := ensurePackages(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		if strict() {
			return 1
		}
	}
	start := time.Now()
	e, err := setupEnv(ctx)
	if err != nil {
		if errors.Is(err, errNoLibrary) && !strict() {
			fmt.Fprintf(os.Stderr, "conformance: SKIP every check: %v\n", err)
			fmt.Println("0 passed, 0 failed, 1 skipped")
			return 0
		}
		fmt.Fprintf(os.Stderr, "conformance: set-up failed: %v\n", err)
		return 1
	}
	env = e
	fmt.Fprintf(os.Stderr, "conformance: module %s (%s), %d keys, set up in %v\n", e.Module, e.Name, len(e.Keys), time.Since(start).Round(time.Millisecond))
	code := m.Run()
	cs := snapshot()
	_, failed, _ := counts(cs)
	path, why, err := writeCompat(cs, e.Module, fullRun())
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		code = 1
	case path != "":
		fmt.Fprintf(os.Stderr, "conformance: wrote %s\n", path)
	default:
		fmt.Fprintf(os.Stderr, "conformance: COMPAT.md not written: %s\n", why)
	}
	e.teardown(failed > 0 || code != 0 || os.Getenv("P11KMS_KEEP_TMP") != "")
	printSummary(os.Stdout, cs)
	if failed > 0 && code == 0 {
		code = 1
	}
	return code
}

// fullRun reports whether no -run/-skip filter narrowed the run.
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}
