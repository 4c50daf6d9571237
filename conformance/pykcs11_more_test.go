package conformance

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"

	"github.com/stretchr/testify/require"
)

// pyJobsScript drives PyKCS11 by numeric mechanism and reports raw results.
var pyJobsScript = filepath.Join("testdata", "pykcs11", "jobs.py")

// Mechanism and attribute values the jobs use, written out rather than
// taken from the module's ck package so that a wrong constant there shows.
const (
	pyCKMMLDSA           = 0x1D       // CKM_ML_DSA: PKCS#11 3.2 pkcs11t.h
	pyCKMMLDSAExternalMu = 0x403C     // CKM_ML_DSA_EXTERNAL_MU: PKCS#11 3.3 draft (README "ML-DSA")
	pyCKMEdDSA           = 0x1057     // CKM_EDDSA: PKCS#11 3.0 pkcs11t.h
	pyCKMSM3SM2DSA       = 0xCB4D5303 // CKM_P11KMS_SM3_SM2DSA: cgo/include/p11kms_vendor.h (README "Mechanisms")
	pyCKMSM2PKE          = 0xCB4D5304 // CKM_P11KMS_SM2PKE: cgo/include/p11kms_vendor.h
	pyCKAValue           = 0x11       // CKA_VALUE: PKCS#11 2.40 pkcs11t.h
	pyCKAParameterSet    = 0x61D      // CKA_PARAMETER_SET: PKCS#11 3.2 pkcs11t.h
)

// pyJob is one jobs.py job (see the script's doc string).
type pyJob struct {
	ID    string   `json:"id"`
	Op    string   `json:"op"`
	Label string   `json:"label"`
	Mech  uint64   `json:"mech,omitempty"`
	Param string   `json:"param,omitempty"` // hex
	Data  string   `json:"data,omitempty"`  // hex
	Peer  string   `json:"peer,omitempty"`  // hex uncompressed point
	Len   int      `json:"len,omitempty"`
	Class string   `json:"class,omitempty"`
	Attrs []uint64 `json:"attrs,omitempty"`
}

// pyJobResult is one line of jobs.py's output.
type pyJobResult struct {
	ID     string `json:"id"`
	Result string `json:"result"` // "ok" or "error"
	Out    string `json:"out"`    // hex; attrs: comma-separated hex values
	Detail string `json:"detail"`
}

// pyCase is one check: the job it needs (made when the keys exist) and
// how its result is judged.
type pyCase struct {
	op     string
	key    *extraKey
	job    func(t *testing.T) pyJob
	verify func(t *testing.T, r pyJobResult)
}

// TestPyKCS11MoreKeys drives PyKCS11 (python3-pykcs11) with the key types
// beyond RSA and ECDSA, by numeric mechanism, on keys made by the aws
// backend's CreateKey on a dev KMS of the test's own, and checks every
// result with a verifier other than the module's: circl for ML-DSA, the
// openssl CLI for SM2 and Ed25519 signatures and for ECDH, the plaintext
// for SM2PKE, Go's generic curve arithmetic for ECDH on the SM2 curve.
func TestPyKCS11MoreKeys(t *testing.T) {
	x := startExtraKMS(t, nil)
	mk := func(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage, name string) *extraKey {
		return x.createKey(t, spec, usage, "conf-"+name)
	}
	var cases []pyCase
	for _, s := range pyMLDSASets {
		cases = append(cases, pyMLDSACases(s.name, mk(s.spec, kmsbackend.UsageSignVerify, s.name), s.ckp, s.oid, s.pkLen, s.scheme)...)
	}
	cases = append(cases, pySM2Cases(mk(kmsbackend.SpecSM2, kmsbackend.UsageSignVerify, "sm2"),
		mk(kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt, "sm2-pke"))...)
	cases = append(cases, pyECDHCase(mk(kmsbackend.SpecECCNISTP256, kmsbackend.UsageKeyAgreement, "ecdh-p256")),
		pySM2ECDHCase(mk(kmsbackend.SpecSM2, kmsbackend.UsageKeyAgreement, "sm2-ecdh")),
		pyEdDSACase(mk(kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, "ed25519")))

	var results map[string]pyJobResult // nil until jobs.py ran
	if !check(t, clientPyKCS11, "run jobs.py (ML-DSA, SM2, ECDH, EdDSA keys)", func(t *testing.T) {
		if _, err := os.Stat(pyPython); err != nil {
			failOrSkip(t, "%s is missing", pyPython)
		}
		requireTool(t, "openssl")
		x.require(t)
		var jobs []pyJob
		for _, c := range cases {
			if c.key.err != nil {
				continue // the case's check reports it
			}
			j := c.job(t)
			j.ID = c.op
			jobs = append(jobs, j)
		}
		in, err := json.Marshal(jobs)
		require.NoError(t, err)
		r := Cmd{Args: []string{pyPython, pyJobsScript, "--module", env.Module, "--token", env.Token},
			Env: append([]string{"P11_PIN=" + env.PIN}, x.Env...), Stdin: string(in), Timeout: 2 * time.Minute}.Run(t)
		results = map[string]pyJobResult{}
		sc := bufio.NewScanner(strings.NewReader(r.Stdout))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var res pyJobResult
			require.NoError(t, json.Unmarshal(sc.Bytes(), &res), "output line %q", sc.Text())
			results[res.ID] = res
		}
		require.NoError(t, sc.Err())
		require.Len(t, results, len(jobs), "one result per job:\n%s", r.Combined)
	}) {
		return
	}
	for _, c := range cases {
		check(t, clientPyKCS11, c.op, func(t *testing.T) {
			c.key.require(t)
			if results == nil {
				skipCheck(t, "jobs.py did not run (see the run check)")
			}
			r, ok := results[c.op]
			require.True(t, ok, "jobs.py reported nothing for this job")
			c.verify(t, r)
		})
	}
}

// pyOut decodes a successful job's output, failing the check on an error.
func pyOut(t *testing.T, r pyJobResult) []byte {
	t.Helper()
	require.Equal(t, "ok", r.Result, "PyKCS11: %s", r.Detail)
	b, err := hex.DecodeString(r.Out)
	require.NoError(t, err)
	return b
}

// pyRefused checks that the job failed with exactly the CK_RV rv (PyKCS11
// prints "CKR_NAME (0x0000000N)").
func pyRefused(t *testing.T, r pyJobResult, rv string) {
	t.Helper()
	require.Equal(t, "error", r.Result, "the module did not refuse (output %.40s...)", r.Out)
	require.Equal(t, rv, strings.SplitN(r.Detail, " ", 2)[0], "PyKCS11 error %q", r.Detail)
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}
