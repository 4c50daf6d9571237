package cabitest

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// The robustness suite ("never hang, never crash"): every row is a call a
// careless or hostile caller could make, with the exact CK_RV the module must
// return; the process surviving the whole table is the other half of the
// assertion. Lengths larger than the memory behind a pointer are the
// caller's undefined behaviour and are never sent: huge counts go only with
// NULL pointers, which the module must refuse before reading anything.
// Each test initializes the module with a PIN and a debug-level log file,
// and afterwards searches that log for the PINs and data the test used.

const (
	robustPIN   = "robust-PIN-5d1c"
	robustWrong = "robust-WRONG-77ae"
	huge        = uint(1) << 40
)

// robustSecret is data a test signs: it must never reach the log.
var robustSecret = []byte("robust-SECRET-plaintext-0b6f3e")

// robustEnv is one initialized module with a logged-in session and keys.
type robustEnv struct {
	p                              *pkcs11.Ctx
	r                              *rawc.Lib
	slot                           uint
	sh                             pkcs11.SessionHandle
	rsaPriv, rsaPub, ecPriv, ecPub pkcs11.ObjectHandle
}

// robustSetup initializes the module (pReserved configuration: PIN, debug
// log to a file of the test's own), logs in and finds the RSA-2048 and P-256
// keys. At cleanup, after C_Finalize, the log must show the calls and none
// of the secrets.
func robustSetup(t *testing.T) *robustEnv {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "robust.log")
	t.Cleanup(func() { assertLogClean(t, logPath) }) // runs after the C_Finalize registered below
	cfg := fmt.Sprintf("log: {level: debug, file: %q}\ntokens:\n%s", logPath,
		tokenYAML("robust", "    pin: \""+pinHash(t, robustPIN)+"\"\n"))
	e := &robustEnv{p: initializedWith(t, cfg)}
	_, e.r = lib(t)
	e.slot = slotByLabel(t, e.p, "robust")
	e.sh = openSession(t, e.p, e.slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_PIN_INCORRECT, e.p.Login(e.sh, ck.CKU_USER, robustWrong), "wrong PIN")
	requireRV(t, ck.CKR_OK, e.p.Login(e.sh, ck.CKU_USER, robustPIN))
	e.rsaPriv, e.rsaPub = keyObjects(t, e.p, e.sh, fixture("RSA2048"))
	e.ecPriv, e.ecPub = keyObjects(t, e.p, e.sh, fixture("P256"))
	return e
}

// assertLogClean checks the debug log of a robustness test.
func assertLogClean(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	log := string(b)
	assert.Contains(t, log, "fn=C_Login rv=CKR_PIN_INCORRECT", "the debug log recorded the calls")
	for _, s := range []string{robustPIN, robustWrong, string(robustSecret), hex.EncodeToString(robustSecret)} {
		assert.NotContains(t, log, s, "secret in the module's debug log")
	}
	assert.NotContains(t, log, "panic", "no panic was recovered during the test")
}

// rvRow is one call and the CK_RV it must return.
type rvRow struct {
	name string
	want uint
	call func() uint
}

func runRows(t *testing.T, rows []rvRow) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { requireRawRV(t, row.want, row.call()) })
	}
}

// miekgRV adapts a miekg/pkcs11 call to an rvRow.
func miekgRV(err error) uint { return rvOf(err) }

func mech(m uint, param []byte) []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(m, param)}
}

// TestRobustNullPointers: a NULL pointer, alone or with a length (up to
// 2^40), is CKR_ARGUMENTS_BAD (PKCS#11 2.40 §5.1.1); a NULL with length 0
// where the function allows it is not an error.
func TestRobustNullPointers(t *testing.T) {
	e := robustSetup(t)
	r, sh := e.r, uint(e.sh)
	runRows(t, []rvRow{
		{"CKR_ARGUMENTS_BAD for C_GetInfo(NULL)", ck.CKR_ARGUMENTS_BAD, r.GetInfoNull},
		{"CKR_ARGUMENTS_BAD for C_GetSlotList(pulCount=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.SlotListNullCount(true) }},
		{"CKR_ARGUMENTS_BAD for C_GetSlotInfo(NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.SlotInfoNull(e.slot) }},
		{"CKR_ARGUMENTS_BAD for C_GetTokenInfo(NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.TokenInfoNull(e.slot) }},
		{"CKR_ARGUMENTS_BAD for C_GetMechanismList(NULL, NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.MechanismListNullCount(e.slot) }},
		{"CKR_ARGUMENTS_BAD for C_GetMechanismInfo(NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.MechanismInfoNull(e.slot, ck.CKM_ECDSA) }},
		{"CKR_ARGUMENTS_BAD for C_OpenSession(phSession=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.OpenSessionNull(e.slot, ck.CKF_SERIAL_SESSION) }},
		{"CKR_ARGUMENTS_BAD for C_GetSessionInfo(NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.SessionInfoNull(sh) }},
		{"CKR_ARGUMENTS_BAD for C_Login(pPin=NULL, 4)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.LoginNullPin(sh, 4) }},
		{"CKR_ARGUMENTS_BAD for C_Login(pPin=NULL, 2^40)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.LoginNullPin(sh, huge) }},
		{"CKR_ARGUMENTS_BAD for C_GenerateRandom(NULL, 16)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.GenerateRandomNull(sh, 16) }},
		{"CKR_ARGUMENTS_BAD for C_GenerateRandom(NULL, 2^40)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.GenerateRandomNull(sh, huge) }},
		{"CKR_OK for C_GenerateRandom(NULL, 0)", ck.CKR_OK, func() uint { return r.GenerateRandomNull(sh, 0) }},
		{"CKR_ARGUMENTS_BAD for C_FindObjectsInit(NULL, 1)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.FindObjectsInitNullTemplate(sh, 1) }},
		{"CKR_ARGUMENTS_BAD for C_FindObjectsInit(NULL, 2^40)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.FindObjectsInitNullTemplate(sh, huge) }},
		{"CKR_ARGUMENTS_BAD for C_FindObjects(phObject=NULL, 5)", ck.CKR_ARGUMENTS_BAD, func() uint { _, rv := r.FindObjects(sh, 5, true, false); return rv }},
		{"CKR_ARGUMENTS_BAD for C_FindObjects(pulObjectCount=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { _, rv := r.FindObjects(sh, 5, false, true); return rv }},
		{"CKR_OK for C_FindObjectsInit(NULL, 0), the empty template", ck.CKR_OK, func() uint { return r.FindObjectsInitNullTemplate(sh, 0) }},
		{"CKR_OK for C_FindObjects(phObject=NULL, 0)", ck.CKR_OK, func() uint { _, rv := r.FindObjects(sh, 0, true, false); return rv }},
		{"CKR_OK for C_FindObjectsFinal", ck.CKR_OK, func() uint { return miekgRV(e.p.FindObjectsFinal(e.sh)) }},
		{"CKR_ARGUMENTS_BAD for C_GetAttributeValue(NULL, 1)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.GetAttributeValueNullTemplate(sh, uint(e.rsaPub), 1) }},
		{"CKR_ARGUMENTS_BAD for C_GetAttributeValue(NULL, 2^40)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.GetAttributeValueNullTemplate(sh, uint(e.rsaPub), huge) }},
		{"CKR_OK for C_GetAttributeValue(NULL, 0)", ck.CKR_OK, func() uint { return r.GetAttributeValueNullTemplate(sh, uint(e.rsaPub), 0) }},
		{"CKR_ARGUMENTS_BAD for C_SignInit(pMechanism=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.SignInitNull(sh, uint(e.ecPriv)) }},
		{"CKR_OK for C_SignInit before the NULL output rows", ck.CKR_OK, func() uint { return r.SignInit(sh, ck.CKM_ECDSA_SHA256, nil, uint(e.ecPriv)) }},
		{"CKR_ARGUMENTS_BAD for C_SignUpdate(NULL, 2^40)", ck.CKR_ARGUMENTS_BAD, func() uint { return r.SignUpdate(sh, nil, huge) }},
		{"CKR_OPERATION_NOT_INITIALIZED after that refusal ended the operation", ck.CKR_OPERATION_NOT_INITIALIZED, func() uint { return r.SignUpdate(sh, robustSecret, uint(len(robustSecret))) }},
		{"CKR_OK for C_SignInit again", ck.CKR_OK, func() uint { return r.SignInit(sh, ck.CKM_ECDSA_SHA256, nil, uint(e.ecPriv)) }},
		{"CKR_ARGUMENTS_BAD for C_Sign(pulSignatureLen=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { _, _, rv := r.Sign(sh, robustSecret, rawc.Out{NullLen: true}); return rv }},
		{"CKR_OK for C_SignInit once more", ck.CKR_OK, func() uint { return r.SignInit(sh, ck.CKM_ECDSA_SHA256, nil, uint(e.ecPriv)) }},
		{"CKR_ARGUMENTS_BAD for C_SignFinal(pulSignatureLen=NULL)", ck.CKR_ARGUMENTS_BAD, func() uint { _, _, rv := r.SignFinal(sh, rawc.Out{NullLen: true, NullBuf: true}); return rv }},
	})
}

// TestRobustLengths: zero, short and huge lengths with real buffers
// (PKCS#11 2.40 §5.2 output conventions; token limits).
func TestRobustLengths(t *testing.T) {
	e := robustSetup(t)
	p, r, sh := e.p, e.r, uint(e.sh)
	ecdsaLen := uint(fixture("P256").sigLen())
	sum := sha256.Sum256(robustSecret)
	runRows(t, []rvRow{
		{"CKR_BUFFER_TOO_SMALL for C_GetSlotList with room for 0", ck.CKR_BUFFER_TOO_SMALL, func() uint { _, _, rv := r.SlotList(true, 0); return rv }},
		{"CKR_BUFFER_TOO_SMALL for C_GetMechanismList with room for 1", ck.CKR_BUFFER_TOO_SMALL, func() uint { _, _, rv := r.MechanismList(e.slot, 1); return rv }},
		{"CKR_PIN_LEN_RANGE for a 256-byte PIN", ck.CKR_PIN_LEN_RANGE, func() uint { return miekgRV(p.Login(e.sh, ck.CKU_USER, strings.Repeat("p", 256))) }},
		{"CKR_ARGUMENTS_BAD for C_GenerateRandom of 1 MiB + 1", ck.CKR_ARGUMENTS_BAD, func() uint { _, err := p.GenerateRandom(e.sh, 1<<20+1); return miekgRV(err) }},
		{"CKR_OK for C_SignInit ECDSA", ck.CKR_OK, func() uint { return r.SignInit(sh, ck.CKM_ECDSA, nil, uint(e.ecPriv)) }},
		{"CKR_BUFFER_TOO_SMALL for a zero-length signature buffer", ck.CKR_BUFFER_TOO_SMALL, func() uint { _, _, rv := r.Sign(sh, sum[:], rawc.Out{Len: 0}); return rv }},
		{"CKR_BUFFER_TOO_SMALL one byte short, operation kept", ck.CKR_BUFFER_TOO_SMALL, func() uint { _, _, rv := r.Sign(sh, sum[:], rawc.Out{Len: ecdsaLen - 1}); return rv }},
		{"CKR_OK size query with *pulSignatureLen 2^40 on entry", ck.CKR_OK, func() uint {
			_, n, rv := r.Sign(sh, sum[:], rawc.Out{NullBuf: true, Len: huge})
			return rv | boolRV(n != ecdsaLen)
		}},
		{"CKR_OK signing into an exact buffer", ck.CKR_OK, func() uint { _, _, rv := r.Sign(sh, sum[:], rawc.Out{Len: ecdsaLen}); return rv }},
		{"CKR_OK for C_SignInit SHA256-RSA-PKCS", ck.CKR_OK, func() uint { return r.SignInit(sh, ck.CKM_SHA256_RSA_PKCS, nil, uint(e.rsaPriv)) }},
		{"CKR_OK for a zero-length part (non-NULL pointer)", ck.CKR_OK, func() uint { return r.SignUpdate(sh, []byte{}, 0) }},
		{"CKR_OK for a NULL zero-length part", ck.CKR_OK, func() uint { return r.SignUpdate(sh, nil, 0) }},
		{"CKR_OK for C_SignFinal of the empty message", ck.CKR_OK, func() uint { _, _, rv := r.SignFinal(sh, rawc.Out{Len: 256}); return rv }},
	})
}

// boolRV turns a failed side condition into a CK_RV no row expects.
func boolRV(bad bool) uint {
	if bad {
		return ck.CKR_VENDOR_DEFINED | 0xBAD
	}
	return 0
}

// TestRobustHandles: unknown, stale and wrong-kind handles get the
// CKR_*_HANDLE_INVALID of their role (PKCS#11 2.40 §5.1.2).
func TestRobustHandles(t *testing.T) {
	e := robustSetup(t)
	p := e.p
	closed, err := p.OpenSession(e.slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, err)
	requireRV(t, ck.CKR_OK, p.CloseSession(closed))
	asSession := pkcs11.SessionHandle(e.ecPriv) // an object handle where a session handle belongs
	asObject := pkcs11.ObjectHandle(e.sh)       // and the reverse
	label := []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_LABEL, nil)}
	runRows(t, []rvRow{
		{"CKR_SESSION_HANDLE_INVALID for a closed session in C_Sign", ck.CKR_SESSION_HANDLE_INVALID, func() uint { _, err := p.Sign(closed, robustSecret); return miekgRV(err) }},
		{"CKR_SESSION_HANDLE_INVALID for a closed session in C_CloseSession", ck.CKR_SESSION_HANDLE_INVALID, func() uint { return miekgRV(p.CloseSession(closed)) }},
		{"CKR_SESSION_HANDLE_INVALID for an object handle as session in C_GetSessionInfo", ck.CKR_SESSION_HANDLE_INVALID, func() uint { _, err := p.GetSessionInfo(asSession); return miekgRV(err) }},
		{"CKR_SESSION_HANDLE_INVALID for an object handle as session in C_GetAttributeValue", ck.CKR_SESSION_HANDLE_INVALID, func() uint { _, err := p.GetAttributeValue(asSession, e.ecPub, label); return miekgRV(err) }},
		{"CKR_SESSION_HANDLE_INVALID for an object handle as session in C_SignInit", ck.CKR_SESSION_HANDLE_INVALID, func() uint { return miekgRV(p.SignInit(asSession, mech(ck.CKM_ECDSA, nil), e.ecPriv)) }},
		{"CKR_SESSION_HANDLE_INVALID for all-ones session handle", ck.CKR_SESSION_HANDLE_INVALID, func() uint { return miekgRV(p.Logout(pkcs11.SessionHandle(^uint(0)))) }},
		{"CKR_OBJECT_HANDLE_INVALID for a session handle as object in C_GetAttributeValue", ck.CKR_OBJECT_HANDLE_INVALID, func() uint { _, err := p.GetAttributeValue(e.sh, asObject, label); return miekgRV(err) }},
		{"CKR_OBJECT_HANDLE_INVALID for a session handle as object in C_GetObjectSize", ck.CKR_OBJECT_HANDLE_INVALID, func() uint { _, err := p.GetObjectSize(e.sh, asObject); return miekgRV(err) }},
		{"CKR_KEY_HANDLE_INVALID for a session handle as key in C_SignInit", ck.CKR_KEY_HANDLE_INVALID, func() uint { return miekgRV(p.SignInit(e.sh, mech(ck.CKM_ECDSA, nil), asObject)) }},
		{"CKR_KEY_HANDLE_INVALID for a session handle as key in C_VerifyInit", ck.CKR_KEY_HANDLE_INVALID, func() uint { return miekgRV(p.VerifyInit(e.sh, mech(ck.CKM_ECDSA, nil), asObject)) }},
		{"CKR_KEY_HANDLE_INVALID for all-ones key handle", ck.CKR_KEY_HANDLE_INVALID, func() uint {
			return miekgRV(p.VerifyInit(e.sh, mech(ck.CKM_ECDSA, nil), pkcs11.ObjectHandle(^uint(0))))
		}},
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for a private key in C_VerifyInit", ck.CKR_KEY_FUNCTION_NOT_PERMITTED, func() uint { return miekgRV(p.VerifyInit(e.sh, mech(ck.CKM_ECDSA, nil), e.ecPriv)) }},
		{"CKR_SLOT_ID_INVALID for slot 2^40 in C_OpenSession", ck.CKR_SLOT_ID_INVALID, func() uint { _, err := p.OpenSession(huge, ck.CKF_SERIAL_SESSION); return miekgRV(err) }},
		{"CKR_SLOT_ID_INVALID for slot 2^40 in C_CloseAllSessions", ck.CKR_SLOT_ID_INVALID, func() uint { return miekgRV(p.CloseAllSessions(huge)) }},
		{"CKR_SLOT_ID_INVALID for slot 2^40 in C_GetMechanismInfo", ck.CKR_SLOT_ID_INVALID, func() uint { _, err := p.GetMechanismInfo(huge, mech(ck.CKM_ECDSA, nil)); return miekgRV(err) }},
	})
}

// TestRobustSessionStates: calls out of order (PKCS#11 2.40 §5.11-§5.12:
// CKR_OPERATION_NOT_INITIALIZED, CKR_OPERATION_ACTIVE), in a fresh session per row.
func TestRobustSessionStates(t *testing.T) {
	e := robustSetup(t)
	p, sum := e.p, sha256.Sum256(robustSecret)
	ecdsa := mech(ck.CKM_ECDSA, nil)
	steps := func(calls ...func(pkcs11.SessionHandle) uint) []func(pkcs11.SessionHandle) uint { return calls }
	verifyInit := func(sh pkcs11.SessionHandle) uint { return miekgRV(p.VerifyInit(sh, ecdsa, e.ecPub)) }
	findInit := func(sh pkcs11.SessionHandle) uint { return miekgRV(p.FindObjectsInit(sh, nil)) }
	for _, row := range []struct {
		name  string
		want  []uint
		steps []func(pkcs11.SessionHandle) uint
	}{
		{"CKR_OPERATION_NOT_INITIALIZED for C_Verify before C_VerifyInit", []uint{ck.CKR_OPERATION_NOT_INITIALIZED},
			steps(func(sh pkcs11.SessionHandle) uint { return miekgRV(p.Verify(sh, sum[:], make([]byte, 64))) })},
		{"CKR_OPERATION_NOT_INITIALIZED for C_VerifyFinal before C_VerifyInit", []uint{ck.CKR_OPERATION_NOT_INITIALIZED},
			steps(func(sh pkcs11.SessionHandle) uint { return miekgRV(p.VerifyFinal(sh, make([]byte, 64))) })},
		{"CKR_OPERATION_ACTIVE for C_VerifyInit twice", []uint{ck.CKR_OK, ck.CKR_OPERATION_ACTIVE}, steps(verifyInit, verifyInit)},
		{"CKR_FUNCTION_NOT_SUPPORTED for C_VerifyUpdate with CKM_ECDSA, then no operation", []uint{ck.CKR_OK, ck.CKR_FUNCTION_NOT_SUPPORTED, ck.CKR_OPERATION_NOT_INITIALIZED},
			steps(verifyInit, func(sh pkcs11.SessionHandle) uint { return miekgRV(p.VerifyUpdate(sh, sum[:])) },
				func(sh pkcs11.SessionHandle) uint { return miekgRV(p.VerifyFinal(sh, make([]byte, 64))) })},
		{"CKR_OPERATION_NOT_INITIALIZED for C_FindObjects before C_FindObjectsInit", []uint{ck.CKR_OPERATION_NOT_INITIALIZED},
			steps(func(sh pkcs11.SessionHandle) uint { _, _, err := p.FindObjects(sh, 1); return miekgRV(err) })},
		{"CKR_OPERATION_ACTIVE for C_FindObjectsInit twice", []uint{ck.CKR_OK, ck.CKR_OPERATION_ACTIVE}, steps(findInit, findInit)},
		{"CKR_OK for a search and a signature side by side in one session", []uint{ck.CKR_OK, ck.CKR_OK, ck.CKR_OK},
			steps(findInit, func(sh pkcs11.SessionHandle) uint { return miekgRV(p.SignInit(sh, ecdsa, e.ecPriv)) },
				func(sh pkcs11.SessionHandle) uint { _, err := p.Sign(sh, sum[:]); return miekgRV(err) })},
		{"CKR_USER_ALREADY_LOGGED_IN for C_Login in a new session of the logged-in token", []uint{ck.CKR_USER_ALREADY_LOGGED_IN},
			steps(func(sh pkcs11.SessionHandle) uint { return miekgRV(p.Login(sh, ck.CKU_USER, robustPIN)) })},
	} {
		t.Run(row.name, func(t *testing.T) {
			sh := openSession(t, p, e.slot, ck.CKF_SERIAL_SESSION)
			var got []string
			for _, s := range row.steps {
				got = append(got, ck.RVName(s(sh)))
			}
			require.Equal(t, rvNames(row.want), got)
		})
	}
}

// TestRobustMechanismParameters: parameters of the wrong size, shape or
// presence are CKR_MECHANISM_PARAM_INVALID, an unknown mechanism
// CKR_MECHANISM_INVALID (PKCS#11 2.40 §5.1.6, Current Mechanisms §2.1.13).
func TestRobustMechanismParameters(t *testing.T) {
	e := robustSetup(t)
	r, sh := e.r, uint(e.sh)
	pss := pssParams(crypto.SHA256, crypto.SHA256, 32)
	garbageHash := append([]byte{}, pss...)
	copy(garbageHash, []byte{0xEF, 0xBE, 0xAD, 0xDE, 0, 0, 0, 0}) // hashAlg 0xDEADBEEF
	row := func(name string, want, m uint, param []byte, key pkcs11.ObjectHandle) rvRow {
		return rvRow{name, want, func() uint {
			rv := r.SignInit(sh, m, param, uint(key))
			if rv == ck.CKR_OK {
				rv = ck.CKR_VENDOR_DEFINED | 0xACCE97 // an accepted row must not leave an operation behind
				e.p.SignFinal(e.sh)
			}
			return rv
		}}
	}
	runRows(t, []rvRow{
		row("CKR_MECHANISM_PARAM_INVALID for PSS parameters of 23 bytes", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_RSA_PKCS_PSS, pss[:23], e.rsaPriv),
		row("CKR_MECHANISM_PARAM_INVALID for PSS parameters one byte too long", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_RSA_PKCS_PSS, append(append([]byte{}, pss...), 0), e.rsaPriv),
		row("CKR_MECHANISM_PARAM_INVALID for NULL PSS parameters", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_SHA256_RSA_PKCS_PSS, nil, e.rsaPriv),
		row("CKR_MECHANISM_PARAM_INVALID for an unknown PSS hash", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_RSA_PKCS_PSS, garbageHash, e.rsaPriv),
		row("CKR_MECHANISM_PARAM_INVALID for parameters given to CKM_ECDSA", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_ECDSA, []byte{1, 2, 3, 4, 5, 6, 7, 8}, e.ecPriv),
		row("CKR_MECHANISM_PARAM_INVALID for parameters given to CKM_SHA256_RSA_PKCS", ck.CKR_MECHANISM_PARAM_INVALID, ck.CKM_SHA256_RSA_PKCS, pss, e.rsaPriv),
		row("CKR_MECHANISM_INVALID for a vendor mechanism", ck.CKR_MECHANISM_INVALID, ck.CKM_VENDOR_DEFINED|0x1234, nil, e.ecPriv),
		row("CKR_MECHANISM_INVALID for mechanism 2^40", ck.CKR_MECHANISM_INVALID, huge, nil, e.ecPriv),
		{"CKR_MECHANISM_PARAM_INVALID for C_VerifyInit with PSS parameters of 23 bytes", ck.CKR_MECHANISM_PARAM_INVALID,
			func() uint { return miekgRV(e.p.VerifyInit(e.sh, mech(ck.CKM_RSA_PKCS_PSS, pss[:23]), e.rsaPub)) }},
	})
}

// TestRobustDigestAndCrypt: the digest, encryption and decryption entry
// points out of order, with wrong keys and with malformed parameters
// (PKCS#11 2.40 §5.8-§5.10; Current Mechanisms 2.40 §2.1.7 for OAEP).
func TestRobustDigestAndCrypt(t *testing.T) {
	e := robustSetup(t)
	p := e.p
	oaep23 := mech(ck.CKM_RSA_PKCS_OAEP, make([]byte, 23))
	oaep := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil))}
	runRows(t, []rvRow{
		{"CKR_OPERATION_NOT_INITIALIZED for C_Digest before C_DigestInit", ck.CKR_OPERATION_NOT_INITIALIZED, func() uint { _, err := p.Digest(e.sh, robustSecret); return miekgRV(err) }},
		{"CKR_OPERATION_NOT_INITIALIZED for C_DigestUpdate before C_DigestInit", ck.CKR_OPERATION_NOT_INITIALIZED, func() uint { return miekgRV(p.DigestUpdate(e.sh, robustSecret)) }},
		{"CKR_MECHANISM_INVALID for C_DigestInit with a signing mechanism", ck.CKR_MECHANISM_INVALID, func() uint { return miekgRV(p.DigestInit(e.sh, mech(ck.CKM_ECDSA, nil))) }},
		{"CKR_MECHANISM_INVALID for C_DigestInit with mechanism 2^40", ck.CKR_MECHANISM_INVALID, func() uint { return miekgRV(p.DigestInit(e.sh, mech(huge, nil))) }},
		{"CKR_OK for C_DigestInit SHA-256", ck.CKR_OK, func() uint { return miekgRV(p.DigestInit(e.sh, mech(ck.CKM_SHA256, nil))) }},
		{"CKR_OPERATION_ACTIVE for C_DigestInit twice", ck.CKR_OPERATION_ACTIVE, func() uint { return miekgRV(p.DigestInit(e.sh, mech(ck.CKM_SHA256, nil))) }},
		{"CKR_OK for C_Digest of the secret", ck.CKR_OK, func() uint { _, err := p.Digest(e.sh, robustSecret); return miekgRV(err) }},
		{"CKR_SESSION_HANDLE_INVALID for C_DigestInit with an object handle as session", ck.CKR_SESSION_HANDLE_INVALID, func() uint { return miekgRV(p.DigestInit(pkcs11.SessionHandle(e.ecPub), mech(ck.CKM_SHA256, nil))) }},
		{"CKR_MECHANISM_PARAM_INVALID for OAEP parameters of 23 bytes in C_EncryptInit", ck.CKR_MECHANISM_PARAM_INVALID, func() uint { return miekgRV(p.EncryptInit(e.sh, oaep23, e.rsaPub)) }},
		{"CKR_MECHANISM_PARAM_INVALID for OAEP parameters of 23 bytes in C_DecryptInit", ck.CKR_MECHANISM_PARAM_INVALID, func() uint { return miekgRV(p.DecryptInit(e.sh, oaep23, e.rsaPriv)) }},
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for C_EncryptInit with a signing key", ck.CKR_KEY_FUNCTION_NOT_PERMITTED, func() uint { return miekgRV(p.EncryptInit(e.sh, oaep, e.rsaPub)) }},
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for C_DecryptInit with a signing key", ck.CKR_KEY_FUNCTION_NOT_PERMITTED, func() uint { return miekgRV(p.DecryptInit(e.sh, oaep, e.rsaPriv)) }},
		{"CKR_KEY_HANDLE_INVALID for C_DecryptInit with a session handle as key", ck.CKR_KEY_HANDLE_INVALID, func() uint { return miekgRV(p.DecryptInit(e.sh, oaep, pkcs11.ObjectHandle(e.sh))) }},
		{"CKR_OPERATION_NOT_INITIALIZED for C_Encrypt before C_EncryptInit", ck.CKR_OPERATION_NOT_INITIALIZED, func() uint { _, err := p.Encrypt(e.sh, robustSecret); return miekgRV(err) }},
		{"CKR_OPERATION_NOT_INITIALIZED for C_Decrypt before C_DecryptInit", ck.CKR_OPERATION_NOT_INITIALIZED, func() uint { _, err := p.Decrypt(e.sh, make([]byte, 256)); return miekgRV(err) }},
	})
}

// TestRobustTemplates: search templates with unknown types and values of
// the wrong length match nothing and are not errors (PKCS#11 2.40 §5.8).
func TestRobustTemplates(t *testing.T) {
	e := robustSetup(t)
	all := len(findAll(t, e.p, e.sh, nil))
	require.Equal(t, 2*len(fixtures), all, "a private and a public object per key")
	a := pkcs11.NewAttribute
	many := make([]*pkcs11.Attribute, 100)
	for i := range many {
		many[i] = a(ck.CKA_TOKEN, true)
	}
	for _, c := range []struct {
		name string
		tmpl []*pkcs11.Attribute
		want int
	}{
		{"no match for an unknown vendor type", []*pkcs11.Attribute{a(ck.CKA_VENDOR_DEFINED|0x1234, []byte{1})}, 0},
		{"no match for type 2^64-1", []*pkcs11.Attribute{a(^uint(0), []byte{1})}, 0},
		{"no match for CKA_CLASS of 3 bytes", []*pkcs11.Attribute{a(ck.CKA_CLASS, []byte{3, 0, 0})}, 0},
		{"no match for CKA_CLASS of 9 bytes", []*pkcs11.Attribute{a(ck.CKA_CLASS, append(ulongBytes(ck.CKO_PRIVATE_KEY), 0))}, 0},
		{"no match for CKA_TOKEN of no bytes", []*pkcs11.Attribute{a(ck.CKA_TOKEN, nil)}, 0},
		{"no match for a sensitive attribute", []*pkcs11.Attribute{a(ck.CKA_PRIVATE_EXPONENT, []byte{1})}, 0},
		{"every object for 100 copies of CKA_TOKEN true", many, all},
		{"private keys for CKA_CLASS of 8 bytes", []*pkcs11.Attribute{a(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)}, len(fixtures)},
	} {
		t.Run(c.name, func(t *testing.T) { assert.Len(t, findAll(t, e.p, e.sh, c.tmpl), c.want) })
	}
}

// TestRobustAttributeLengths: C_GetAttributeValue with ulValueLen wrong in
// every direction (PKCS#11 2.40 §5.7 cases 3-5).
func TestRobustAttributeLengths(t *testing.T) {
	e := robustSetup(t)
	class := ulongBytes(ck.CKO_PUBLIC_KEY)
	const na = ck.UnavailableInformation
	for _, c := range []struct {
		name string
		req  rawc.AttrReq
		rv   uint
		want rawc.AttrResult
	}{
		{"CKR_BUFFER_TOO_SMALL for CKA_CLASS into 1 byte", rawc.AttrReq{Type: ck.CKA_CLASS, Buf: true, BufLen: 1}, ck.CKR_BUFFER_TOO_SMALL, rawc.AttrResult{Len: na, Value: []byte{0}}},
		{"CKR_BUFFER_TOO_SMALL for CKA_CLASS into 7 bytes", rawc.AttrReq{Type: ck.CKA_CLASS, Buf: true, BufLen: 7}, ck.CKR_BUFFER_TOO_SMALL, rawc.AttrResult{Len: na, Value: make([]byte, 7)}},
		{"CKR_OK for CKA_CLASS into exactly 8 bytes", rawc.AttrReq{Type: ck.CKA_CLASS, Buf: true, BufLen: 8}, ck.CKR_OK, rawc.AttrResult{Len: 8, Value: class}},
		{"CKR_OK with the length for NULL pValue and ulValueLen 2^40", rawc.AttrReq{Type: ck.CKA_CLASS, BufLen: huge}, ck.CKR_OK, rawc.AttrResult{Len: 8}},
		{"CKR_OK with the length for NULL pValue and ulValueLen CK_UNAVAILABLE_INFORMATION", rawc.AttrReq{Type: ck.CKA_CLASS, BufLen: na}, ck.CKR_OK, rawc.AttrResult{Len: 8}},
		{"CKR_BUFFER_TOO_SMALL for a label into 0 bytes", rawc.AttrReq{Type: ck.CKA_LABEL, Buf: true, BufLen: 0}, ck.CKR_BUFFER_TOO_SMALL, rawc.AttrResult{Len: na, Value: []byte{}}},
		{"CKR_ATTRIBUTE_TYPE_INVALID for type 2^64-1", rawc.AttrReq{Type: ^uint(0), Buf: true, BufLen: 8}, ck.CKR_ATTRIBUTE_TYPE_INVALID, rawc.AttrResult{Len: na, Value: make([]byte, 8)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rv := e.r.GetAttributeValue(uint(e.sh), uint(e.ecPub), []rawc.AttrReq{c.req})
			requireRawRV(t, c.rv, rv)
			assert.Equal(t, []rawc.AttrResult{c.want}, got, "ulValueLen and buffer after the call (untouched bytes read as zero)")
		})
	}
}

// TestRobustWorldWritableConfig: C_Initialize refuses a configuration file
// anyone may write (token/config.go) with CKR_FUNCTION_FAILED, and says why
// on stderr, naming the file (the module has no log file yet).
func TestRobustWorldWritableConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "world-writable.yaml")
	require.NoError(t, os.WriteFile(path, []byte(configYAML(tokenYAML("ww", ""))), 0o600))
	require.NoError(t, os.Chmod(path, 0o666))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=init", "P11KMS_CONFIG="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "child stderr:\n%s", stderr.String())
	assert.Equal(t, fmt.Sprintf("rv=%#x\n", ck.CKR_FUNCTION_FAILED), string(out), "C_Initialize's CK_RV, and nothing else on stdout")
	assert.Contains(t, stderr.String(), path+": configuration file is world-writable")
	assert.Contains(t, stderr.String(), "rv=CKR_FUNCTION_FAILED")
}
