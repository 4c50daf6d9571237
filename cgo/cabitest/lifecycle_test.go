package cabitest

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// callsNeedingInit are entry points that must return
// CKR_CRYPTOKI_NOT_INITIALIZED outside C_Initialize..C_Finalize (PKCS#11 2.40
// §5.4, §5.1.2). Handles are arbitrary: the state check comes first.
var callsNeedingInit = []struct {
	name string
	call func(p *pkcs11.Ctx) error
}{
	{"C_Finalize", func(p *pkcs11.Ctx) error { return p.Finalize() }},
	{"C_GetInfo", func(p *pkcs11.Ctx) error { _, err := p.GetInfo(); return err }},
	{"C_GetSlotList", func(p *pkcs11.Ctx) error { _, err := p.GetSlotList(true); return err }},
	{"C_GetSlotInfo", func(p *pkcs11.Ctx) error { _, err := p.GetSlotInfo(0); return err }},
	{"C_GetTokenInfo", func(p *pkcs11.Ctx) error { _, err := p.GetTokenInfo(0); return err }},
	{"C_GetMechanismList", func(p *pkcs11.Ctx) error { _, err := p.GetMechanismList(0); return err }},
	{"C_GetMechanismInfo", func(p *pkcs11.Ctx) error {
		_, err := p.GetMechanismInfo(0, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)})
		return err
	}},
	{"C_OpenSession", func(p *pkcs11.Ctx) error { _, err := p.OpenSession(0, ck.CKF_SERIAL_SESSION); return err }},
	{"C_CloseSession", func(p *pkcs11.Ctx) error { return p.CloseSession(1) }},
	{"C_CloseAllSessions", func(p *pkcs11.Ctx) error { return p.CloseAllSessions(0) }},
	{"C_GetSessionInfo", func(p *pkcs11.Ctx) error { _, err := p.GetSessionInfo(1); return err }},
	{"C_Login", func(p *pkcs11.Ctx) error { return p.Login(1, ck.CKU_USER, "1234") }},
	{"C_Logout", func(p *pkcs11.Ctx) error { return p.Logout(1) }},
	{"C_FindObjectsInit", func(p *pkcs11.Ctx) error { return p.FindObjectsInit(1, nil) }},
	{"C_GetAttributeValue", func(p *pkcs11.Ctx) error {
		_, err := p.GetAttributeValue(1, 1, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_LABEL, nil)})
		return err
	}},
	{"C_SignInit", func(p *pkcs11.Ctx) error {
		return p.SignInit(1, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}, 1)
	}},
	{"C_Sign", func(p *pkcs11.Ctx) error { _, err := p.Sign(1, []byte("x")); return err }},
	{"C_VerifyInit", func(p *pkcs11.Ctx) error {
		return p.VerifyInit(1, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}, 1)
	}},
	{"C_GenerateRandom", func(p *pkcs11.Ctx) error { _, err := p.GenerateRandom(1, 16); return err }},
}

func TestLifecycleNotInitialized(t *testing.T) {
	p, _ := lib(t)
	for _, when := range []string{"before C_Initialize", "after C_Finalize"} {
		if when == "after C_Finalize" {
			requireRV(t, ck.CKR_OK, p.Initialize(), "C_Initialize")
			requireRV(t, ck.CKR_OK, p.Finalize(), "C_Finalize")
		}
		for _, c := range callsNeedingInit {
			t.Run("CKR_CRYPTOKI_NOT_INITIALIZED/"+c.name+"/"+when, func(t *testing.T) {
				requireRV(t, ck.CKR_CRYPTOKI_NOT_INITIALIZED, c.call(p))
			})
		}
	}
}

func TestLifecycleInitializeTwice(t *testing.T) {
	p := initialized(t)
	requireRV(t, ck.CKR_CRYPTOKI_ALREADY_INITIALIZED, p.Initialize(), "second C_Initialize")
	_, err := p.GetInfo()
	requireRV(t, ck.CKR_OK, err, "the module stays initialized")
}

func TestLifecycleFinalizeReservedNotNull(t *testing.T) {
	_ = initialized(t)
	_, r := lib(t)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.FinalizeReserved(), "C_Finalize(non-NULL) (PKCS#11 2.40 §5.4)")
	_, rv := r.GetInfo()
	requireRawRV(t, ck.CKR_OK, rv, "the module stays initialized")
}

func TestLifecycleHandlesDieWithFinalize(t *testing.T) {
	p := initialized(t)
	sh, err := p.OpenSession(mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, err)
	requireRV(t, ck.CKR_OK, p.Finalize())
	requireRV(t, ck.CKR_OK, p.Initialize())
	_, err = p.GetSessionInfo(sh)
	requireRV(t, ck.CKR_SESSION_HANDLE_INVALID, err, "a session of the previous initialization")
}

// TestLifecycleGetInfo checks C_GetInfo through C_GetFunctionList (PKCS#11
// 2.40 §5.4, CK_INFO §3.1): version 2.40, blank-padded text, no NUL, flags 0.
func TestLifecycleGetInfo(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	in, rv := r.GetInfo()
	requireRawRV(t, ck.CKR_OK, rv)
	assert.Equal(t, [2]byte{2, 40}, [2]byte{in.CryptokiVersion.Major, in.CryptokiVersion.Minor}, "cryptokiVersion")
	assert.Equal(t, [2]byte{2, 40}, [2]byte{r.FunctionListVersion().Major, r.FunctionListVersion().Minor}, "CK_FUNCTION_LIST.version")
	assertBlankPadded(t, "manufacturerID", in.Manufacturer[:])
	assertBlankPadded(t, "libraryDescription", in.Description[:])
	assert.Zero(t, in.Flags, "CK_INFO.flags")
	mi, err := p.GetInfo()
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, string(bytes.TrimRight(in.Manufacturer[:], " ")), mi.ManufacturerID)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.GetInfoNull(), "C_GetInfo(NULL)")
}

// assertBlankPadded checks a fixed-length CK_UTF8CHAR field (PKCS#11 2.40
// §3.1): text padded with blanks, no NUL terminator, not all blank.
func assertBlankPadded(t *testing.T, field string, b []byte) {
	t.Helper()
	assert.NotContains(t, string(b), "\x00", "%s has a NUL byte: %q", field, b)
	text := bytes.TrimRight(b, " ")
	assert.NotEmpty(t, text, "%s is blank", field)
	assert.Equal(t, bytes.Repeat([]byte(" "), len(b)-len(text)), b[len(text):], "%s padding", field)
}

// TestLifecycleCyclesLeakNothing runs C_Initialize → use → C_Finalize 100
// times: C_Finalize must stop everything it started (DESIGN.md, Go c-shared
// facts), so file descriptors return to their level and threads do not grow.
func TestLifecycleCyclesLeakNothing(t *testing.T) {
	p, _ := lib(t)
	cycle := func() {
		requireRV(t, ck.CKR_OK, p.Initialize(), "C_Initialize")
		sh, err := p.OpenSession(mainSlot(t, p), ck.CKF_SERIAL_SESSION)
		requireRV(t, ck.CKR_OK, err, "C_OpenSession")
		require.Len(t, findAll(t, p, sh, nil), 2*len(fixtures), "objects (key discovery makes KMS calls)")
		_, err = p.GenerateRandom(sh, 32)
		requireRV(t, ck.CKR_OK, err, "C_GenerateRandom")
		// The session stays open: C_Finalize must close it.
		requireRV(t, ck.CKR_OK, p.Finalize(), "C_Finalize")
	}
	for range 3 { // warm up: runtime threads, the proxy's connection pool
		cycle()
	}
	waitIdle(t)
	fds0, threads0 := countDir(t, "/proc/self/fd"), countDir(t, "/proc/self/task")
	before := fdSummary()
	start := time.Now()
	for range 100 {
		cycle()
	}
	elapsed := time.Since(start)
	var fds, threads int
	deadline := time.Now().Add(10 * time.Second)
	for {
		proxyTransport.CloseIdleConnections()
		fds, threads = countDir(t, "/proc/self/fd"), countDir(t, "/proc/self/task")
		if fds <= fds0 && threads <= threads0+4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("100 cycles in %v; fds %d -> %d, threads %d -> %d", elapsed, fds0, fds, threads0, threads)
	assert.LessOrEqual(t, fds, fds0, "file descriptors after 100 cycles\nbefore: %s\nafter:  %s", before, fdSummary())
	assert.LessOrEqual(t, threads, threads0+4, "threads after 100 cycles")
}

// waitIdle lets connections closed by a C_Finalize finish closing on the
// server side (the dev KMS and the proxy run in this process).
func waitIdle(t *testing.T) {
	t.Helper()
	proxyTransport.CloseIdleConnections() // the harness's own proxy→devkms pool
	prev := -1
	for range 50 {
		n := countDir(t, "/proc/self/fd")
		if n == prev {
			return
		}
		prev = n
		time.Sleep(100 * time.Millisecond)
	}
}

func countDir(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	return len(es)
}
