package cabitest

import (
	"errors"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
)

// The library is loaded once per process (a Go c-shared library is never
// really unloaded); p11 and raw share its one instance and its handles.
var (
	loadOnce sync.Once
	p11      *pkcs11.Ctx
	raw      *rawc.Lib
	loadErr  error
)

// lib returns the loaded library through both wrappers, uninitialized.
func lib(t testing.TB) (*pkcs11.Ctx, *rawc.Lib) {
	t.Helper()
	loadOnce.Do(func() {
		p11 = pkcs11.New(libPath)
		if p11 == nil {
			loadErr = errors.New("miekg/pkcs11 could not load " + libPath)
			return
		}
		raw, loadErr = rawc.Open(libPath)
	})
	require.NoError(t, loadErr)
	return p11, raw
}

// initialized loads the library, calls C_Initialize (with the process's
// P11KMS_CONFIG) and finalizes it when the test ends.
func initialized(t testing.TB) *pkcs11.Ctx {
	t.Helper()
	p, _ := lib(t)
	requireRV(t, ck.CKR_OK, p.Initialize(), "C_Initialize")
	t.Cleanup(func() { finalizeQuietly(t) })
	return p
}

// initializedWith is initialized, with a configuration given in pReserved
// (token/config.go: a YAML mapping with a "tokens" key) instead of the file.
func initializedWith(t testing.TB, yaml string) *pkcs11.Ctx {
	t.Helper()
	p, r := lib(t)
	requireRawRV(t, ck.CKR_OK, r.Initialize(rawc.InitArgs{Reserved: yaml}), "C_Initialize with a pReserved configuration")
	t.Cleanup(func() { finalizeQuietly(t) })
	return p
}

// finalizeQuietly calls C_Finalize at the end of a test, which may have
// finalized already itself.
func finalizeQuietly(t testing.TB) {
	rv := rvOf(p11.Finalize())
	if rv != ck.CKR_OK && rv != ck.CKR_CRYPTOKI_NOT_INITIALIZED {
		t.Errorf("C_Finalize at cleanup: %s", ck.RVName(rv))
	}
}

// rvOf returns the CK_RV miekg/pkcs11 reported (CKR_OK for nil).
func rvOf(err error) uint {
	if err == nil {
		return ck.CKR_OK
	}
	var e pkcs11.Error
	if errors.As(err, &e) {
		return uint(e)
	}
	return ck.CKR_VENDOR_DEFINED | 0xDEAD // not a CK_RV at all: fails any comparison
}

// requireRV asserts the exact CK_RV, comparing names so failures read well.
func requireRV(t testing.TB, want uint, err error, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, ck.RVName(want), ck.RVName(rvOf(err)), msgAndArgs...)
}

// requireRawRV is requireRV for rawc's bare CK_RV values.
func requireRawRV(t testing.TB, want, got uint, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, ck.RVName(want), ck.RVName(got), msgAndArgs...)
}

// mainSlot returns the slot of the "devkms" token.
func mainSlot(t testing.TB, p *pkcs11.Ctx) uint {
	t.Helper()
	return slotByLabel(t, p, tokenLabel)
}

// slotByLabel returns the slot whose token has the label.
func slotByLabel(t testing.TB, p *pkcs11.Ctx, label string) uint {
	t.Helper()
	slots, err := p.GetSlotList(true)
	requireRV(t, ck.CKR_OK, err, "C_GetSlotList")
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		requireRV(t, ck.CKR_OK, err, "C_GetTokenInfo(%d)", s)
		if ti.Label == label {
			return s
		}
	}
	require.FailNow(t, "no token labelled "+label, "slots %v", slots)
	return 0
}

// openSession opens a session (closed when the test ends, if still open).
func openSession(t testing.TB, p *pkcs11.Ctx, slot, flags uint) pkcs11.SessionHandle {
	t.Helper()
	sh, err := p.OpenSession(slot, flags)
	requireRV(t, ck.CKR_OK, err, "C_OpenSession")
	require.NotZero(t, sh, "session handle")
	t.Cleanup(func() { _ = p.CloseSession(sh) })
	return sh
}

// findAll runs a whole C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal cycle.
func findAll(t testing.TB, p *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) []pkcs11.ObjectHandle {
	t.Helper()
	requireRV(t, ck.CKR_OK, p.FindObjectsInit(sh, tmpl), "C_FindObjectsInit")
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := p.FindObjects(sh, 5)
		requireRV(t, ck.CKR_OK, err, "C_FindObjects")
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	requireRV(t, ck.CKR_OK, p.FindObjectsFinal(sh), "C_FindObjectsFinal")
	return all
}

// attr reads one attribute value.
func attr(t testing.TB, p *pkcs11.Ctx, sh pkcs11.SessionHandle, oh pkcs11.ObjectHandle, typ uint) []byte {
	t.Helper()
	as, err := p.GetAttributeValue(sh, oh, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	requireRV(t, ck.CKR_OK, err, "C_GetAttributeValue(%#x)", typ)
	require.Len(t, as, 1)
	return as[0].Value
}

// ulong decodes a CK_ULONG attribute value (host byte order, 8 bytes here).
func ulong(t testing.TB, b []byte) uint {
	t.Helper()
	require.Len(t, b, 8, "CK_ULONG attribute length")
	var v uint
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint(b[i])
	}
	return v
}

// keyObjects returns the private and public key handles of a fixture key,
// found by its label, requiring exactly one of each.
func keyObjects(t testing.TB, p *pkcs11.Ctx, sh pkcs11.SessionHandle, k *keyFixture) (priv, pub pkcs11.ObjectHandle) {
	t.Helper()
	find := func(class uint) pkcs11.ObjectHandle {
		hs := findAll(t, p, sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(ck.CKA_CLASS, class),
			pkcs11.NewAttribute(ck.CKA_LABEL, k.label()),
		})
		require.Len(t, hs, 1, "objects of class %d labelled %q", class, k.label())
		return hs[0]
	}
	return find(ck.CKO_PRIVATE_KEY), find(ck.CKO_PUBLIC_KEY)
}
