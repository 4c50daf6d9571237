package cabitest

import (
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

func TestSessionOpenStates(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	cases := []struct {
		name  string
		flags uint
		rv    uint
		state uint
	}{
		{"CKS_RO_PUBLIC_SESSION for a serial session", ck.CKF_SERIAL_SESSION, ck.CKR_OK, ck.CKS_RO_PUBLIC_SESSION},
		{"CKS_RW_PUBLIC_SESSION for a read-write session", ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION, ck.CKR_OK, ck.CKS_RW_PUBLIC_SESSION},
		{"CKR_SESSION_PARALLEL_NOT_SUPPORTED without CKF_SERIAL_SESSION", 0, ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED, 0},
		{"CKR_SESSION_PARALLEL_NOT_SUPPORTED for RW without CKF_SERIAL_SESSION", ck.CKF_RW_SESSION, ck.CKR_SESSION_PARALLEL_NOT_SUPPORTED, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh, err := p.OpenSession(slot, c.flags)
			requireRV(t, c.rv, err)
			if c.rv != ck.CKR_OK {
				return
			}
			defer func() { requireRV(t, ck.CKR_OK, p.CloseSession(sh)) }()
			si, err := p.GetSessionInfo(sh)
			requireRV(t, ck.CKR_OK, err)
			assert.Equal(t, pkcs11.SessionInfo{SlotID: slot, State: c.state, Flags: c.flags}, si)
		})
	}
	_, r := lib(t)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.OpenSessionNull(slot, ck.CKF_SERIAL_SESSION), "C_OpenSession(phSession=NULL)")
	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.SessionInfoNull(uint(sh)), "C_GetSessionInfo(NULL)")
}

func TestSessionCountsAndCloseAll(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	ro1, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, err)
	ro2, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, err)
	rw, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	requireRV(t, ck.CKR_OK, err)
	assert.Len(t, map[pkcs11.SessionHandle]bool{ro1: true, ro2: true, rw: true}, 3, "distinct handles")
	ti, err := p.GetTokenInfo(slot)
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, [2]uint{3, 1}, [2]uint{ti.SessionCount, ti.RwSessionCount}, "session and RW session counts")

	requireRV(t, ck.CKR_OK, p.Login(ro1, ck.CKU_USER, "any"))
	requireRV(t, ck.CKR_OK, p.CloseAllSessions(slot))
	for _, sh := range []pkcs11.SessionHandle{ro1, ro2, rw} {
		_, err := p.GetSessionInfo(sh)
		requireRV(t, ck.CKR_SESSION_HANDLE_INVALID, err, "session %d after C_CloseAllSessions", sh)
	}
	ti, err = p.GetTokenInfo(slot)
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, [2]uint{0, 0}, [2]uint{ti.SessionCount, ti.RwSessionCount})
	// PKCS#11 2.40 §5.6: closing the last session logs the user out.
	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	si, err := p.GetSessionInfo(sh)
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, uint(ck.CKS_RO_PUBLIC_SESSION), si.State, "state after the last session closed")
}

func TestSessionHandleInvalid(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	closed, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION)
	requireRV(t, ck.CKR_OK, err)
	requireRV(t, ck.CKR_OK, p.CloseSession(closed))
	_ = openSession(t, p, slot, ck.CKF_SERIAL_SESSION) // a live session does not make others valid
	ecdsa := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}
	for _, h := range []struct {
		name string
		sh   pkcs11.SessionHandle
	}{{"zero", 0}, {"never issued", 0x7ead_beef}, {"closed", closed}} {
		calls := map[string]func() error{
			"C_CloseSession":    func() error { return p.CloseSession(h.sh) },
			"C_GetSessionInfo":  func() error { _, err := p.GetSessionInfo(h.sh); return err },
			"C_Login":           func() error { return p.Login(h.sh, ck.CKU_USER, "1") },
			"C_Logout":          func() error { return p.Logout(h.sh) },
			"C_FindObjectsInit": func() error { return p.FindObjectsInit(h.sh, nil) },
			"C_FindObjects":     func() error { _, _, err := p.FindObjects(h.sh, 1); return err },
			"C_SignInit":        func() error { return p.SignInit(h.sh, ecdsa, 1) },
			"C_Sign":            func() error { _, err := p.Sign(h.sh, []byte("x")); return err },
			"C_VerifyInit":      func() error { return p.VerifyInit(h.sh, ecdsa, 1) },
			"C_GenerateRandom":  func() error { _, err := p.GenerateRandom(h.sh, 8); return err },
		}
		for name, call := range calls {
			requireRV(t, ck.CKR_SESSION_HANDLE_INVALID, call(), "%s with a %s handle", name, h.name)
		}
	}
}

// TestLoginWithoutPIN: with no PIN configured any PIN logs in (token/login.go;
// access control is IAM's), and the PKCS#11 2.40 §5.6 state rules hold.
func TestLoginWithoutPIN(t *testing.T) {
	p := initialized(t)
	slot := mainSlot(t, p)
	ro := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	rw := openSession(t, p, slot, ck.CKF_SERIAL_SESSION|ck.CKF_RW_SESSION)
	state := func(sh pkcs11.SessionHandle) uint {
		si, err := p.GetSessionInfo(sh)
		requireRV(t, ck.CKR_OK, err)
		return si.State
	}
	requireRV(t, ck.CKR_USER_NOT_LOGGED_IN, p.Logout(ro), "C_Logout before any login")
	requireRV(t, ck.CKR_OK, p.Login(ro, ck.CKU_USER, "whatever"), "any PIN")
	assert.Equal(t, []uint{ck.CKS_RO_USER_FUNCTIONS, ck.CKS_RW_USER_FUNCTIONS}, []uint{state(ro), state(rw)}, "login is per application")
	requireRV(t, ck.CKR_USER_ALREADY_LOGGED_IN, p.Login(rw, ck.CKU_USER, "whatever"))
	requireRV(t, ck.CKR_OK, p.Logout(rw))
	assert.Equal(t, []uint{ck.CKS_RO_PUBLIC_SESSION, ck.CKS_RW_PUBLIC_SESSION}, []uint{state(ro), state(rw)})
	requireRV(t, ck.CKR_USER_NOT_LOGGED_IN, p.Logout(rw), "second C_Logout")
	requireRV(t, ck.CKR_OK, p.Login(ro, ck.CKU_USER, ""), "empty PIN")
	requireRV(t, ck.CKR_OK, p.Logout(ro))
	requireRV(t, ck.CKR_USER_TYPE_INVALID, p.Login(ro, ck.CKU_SO, "x"), "no security officer (token/login.go)")
	requireRV(t, ck.CKR_USER_TYPE_INVALID, p.Login(ro, 7, "x"), "unknown user type")

	_, r := lib(t)
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.LoginNullPin(uint(ro), 4), "C_Login(pPin=NULL, ulPinLen=4)")
}

// TestLoginWithPIN configures a PIN hash (token.HashPIN): a wrong PIN is
// refused, and private objects are hidden until login (PKCS#11 2.40 §4.4.1 CKA_PRIVATE).
func TestLoginWithPIN(t *testing.T) {
	const pin = "correct horse 42"
	p := initializedWith(t, configYAML(tokenYAML("pinned", "    pin: \""+pinHash(t, pin)+"\"\n")))
	slot := slotByLabel(t, p, "pinned")
	ti, err := p.GetTokenInfo(slot)
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, uint(ck.CKF_LOGIN_REQUIRED), ti.Flags&ck.CKF_LOGIN_REQUIRED, "CKF_LOGIN_REQUIRED")

	sh := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
	count := func(class uint) int {
		return len(findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, class)}))
	}
	assert.Equal(t, 0, count(ck.CKO_PRIVATE_KEY), "private keys before login")
	assert.Equal(t, len(fixtures), count(ck.CKO_PUBLIC_KEY), "public keys before login")
	requireRV(t, ck.CKR_USER_NOT_LOGGED_IN, p.Logout(sh))
	requireRV(t, ck.CKR_PIN_INCORRECT, p.Login(sh, ck.CKU_USER, pin+"x"), "wrong PIN")
	requireRV(t, ck.CKR_PIN_INCORRECT, p.Login(sh, ck.CKU_USER, ""), "empty PIN")
	assert.Equal(t, 0, count(ck.CKO_PRIVATE_KEY), "private keys after a wrong PIN")
	requireRV(t, ck.CKR_OK, p.Login(sh, ck.CKU_USER, pin), "right PIN")
	assert.Equal(t, len(fixtures), count(ck.CKO_PRIVATE_KEY), "private keys after login")
	priv := findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY)})
	require.NotEmpty(t, priv)
	assert.Equal(t, []byte{1}, attr(t, p, sh, priv[0], ck.CKA_PRIVATE), "CKA_PRIVATE of a private key with a PIN")
	requireRV(t, ck.CKR_USER_ALREADY_LOGGED_IN, p.Login(sh, ck.CKU_USER, pin))
	requireRV(t, ck.CKR_OK, p.Logout(sh))
	assert.Equal(t, 0, count(ck.CKO_PRIVATE_KEY), "private keys after logout")
}
