package cabitest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forkGuardMessage is the one line the fork guard writes in each forked child
// (cgo/forkguard.c).
const forkGuardMessage = "p11kms: this process was forked without exec; the in-process module cannot run here (use p11-kit server, see README)\n"

// childRVsWant is what a forked child's five calls (C_Initialize,
// C_GetSlotList, C_OpenSession, C_Sign, C_Finalize) must each return:
// CKR_GENERAL_ERROR, at once, without entering Go (DESIGN.md "fork()").
const childRVsWant = "rvs=0x5,0x5,0x5,0x5,0x5"

// buildForkProbe compiles testdata/forkprobe.c with gcc against the vendored headers.
func buildForkProbe(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "forkprobe")
	cmd := exec.Command("gcc", "-Wall", "-Wextra", "-Werror", "-O2", "-I", "../include/oasis",
		"-o", out, "testdata/forkprobe.c", "-ldl")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "gcc forkprobe.c:\n%s", b)
	return out
}

func TestForkedChildFailsFastWhileParentKeepsSigning(t *testing.T) {
	probe := buildForkProbe(t)
	tests := []struct {
		name     string
		key      string // fixture name
		children int
	}{
		{"children get CKR_GENERAL_ERROR in under 1 s and the parent's 23 ECDSA P-256 signatures verify, 1 child", "P256", 1},
		{"children get CKR_GENERAL_ERROR in under 1 s and the parent's 23 RSA-2048 signatures verify, 1 child", "RSA2048", 1},
		{"children get CKR_GENERAL_ERROR in under 1 s and the parent's 103 ECDSA P-256 signatures verify, 100 children", "P256", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := fixture(tt.key)
			digest := sha256.Sum256([]byte("p11kms fork probe: " + tt.name))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, probe, libPath, k.label(), hex.EncodeToString(digest[:]), "1234", strconv.Itoa(tt.children))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			t.Logf("probe ran %v", time.Since(start).Round(time.Millisecond))
			require.NoError(t, err, "forkprobe (exit 2: a parent call failed, 3: a child got a wrong CK_RV, 4: a child hung, 5: a child died)\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

			var sigs [][]byte
			var childLines []string
			done := false
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				switch {
				case strings.HasPrefix(line, "sig "):
					sig, err := hex.DecodeString(strings.TrimPrefix(line, "sig "))
					require.NoError(t, err, line)
					sigs = append(sigs, sig)
				case strings.HasPrefix(line, "child "):
					childLines = append(childLines, line)
				case line == "done":
					done = true
				default:
					t.Errorf("unexpected probe output %q", line)
				}
			}
			require.True(t, done, "probe did not finish:\n%s", stdout.String())

			signsAfterFork := 20
			if tt.children > 1 {
				signsAfterFork = tt.children
			}
			require.Len(t, sigs, 3+signsAfterFork, "parent signatures before and after the forks")
			for i, sig := range sigs {
				assert.NoError(t, verifyDigestSignature(k, digest[:], sig), "parent signature %d", i)
			}

			require.Len(t, childLines, tt.children, "one report line per child")
			var slowest time.Duration
			for _, line := range childLines {
				f := strings.Fields(line)
				require.Len(t, f, 4, line)
				assert.Equal(t, childRVsWant, f[3], line)
				us, err := strconv.Atoi(strings.TrimPrefix(f[2], "us="))
				require.NoError(t, err, line)
				d := time.Duration(us) * time.Microsecond
				assert.Less(t, d, time.Second, line)
				slowest = max(slowest, d)
			}
			t.Logf("slowest child's five calls: %v", slowest)
			assert.Equal(t, tt.children, strings.Count(stderr.String(), forkGuardMessage),
				"the fork guard's line, once per child; stderr:\n%s", stderr.String())
		})
	}
}

// verifyDigestSignature checks a PKCS#11 signature of a SHA-256 digest with
// the fixture's public key as the dev KMS published it (not as the module
// reports it): raw r||s for CKM_ECDSA, PKCS#1 v1.5 for CKM_RSA_PKCS.
func verifyDigestSignature(k *keyFixture, digest, sig []byte) error {
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
	case *ecdsa.PublicKey:
		if len(sig) != k.sigLen() {
			return errSigLen(len(sig), k.sigLen())
		}
		half := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:])
		if !ecdsa.Verify(pub, digest, r, s) {
			return errBadSig
		}
		return nil
	}
	return errKeyType
}

type forkTestError string

func (e forkTestError) Error() string { return string(e) }

const (
	errBadSig  = forkTestError("ECDSA signature does not verify")
	errKeyType = forkTestError("fixture key is neither RSA nor NIST ECDSA")
)

func errSigLen(got, want int) error {
	return forkTestError("signature is " + strconv.Itoa(got) + " bytes, want " + strconv.Itoa(want))
}
