package cabitest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// signMechanisms are the mechanisms a token with RSA and EC signing keys
// offers (DESIGN.md, CLIENTS.md; PKCS#11 2.40 Mechanisms §2.1, §2.3), with the
// key-size range in bits of their family (AWS KMS key specs).
var signMechanisms = map[uint][2]uint{
	ck.CKM_RSA_PKCS:            {2048, 4096},
	ck.CKM_SHA256_RSA_PKCS:     {2048, 4096},
	ck.CKM_SHA384_RSA_PKCS:     {2048, 4096},
	ck.CKM_SHA512_RSA_PKCS:     {2048, 4096},
	ck.CKM_RSA_PKCS_PSS:        {2048, 4096},
	ck.CKM_SHA256_RSA_PKCS_PSS: {2048, 4096},
	ck.CKM_SHA384_RSA_PKCS_PSS: {2048, 4096},
	ck.CKM_SHA512_RSA_PKCS_PSS: {2048, 4096},
	ck.CKM_ECDSA:               {256, 521},
	ck.CKM_ECDSA_SHA256:        {256, 521},
	ck.CKM_ECDSA_SHA384:        {256, 521},
	ck.CKM_ECDSA_SHA512:        {256, 521},
}

func TestSlotList(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	for _, present := range []bool{true, false} {
		slots, err := p.GetSlotList(present)
		requireRV(t, ck.CKR_OK, err, "C_GetSlotList(tokenPresent=%v)", present)
		assert.Len(t, slots, 1, "one token configured (tokenPresent=%v)", present)
	}
	// PKCS#11 2.40 §5.2: NULL list returns the count; a short list CKR_BUFFER_TOO_SMALL with the count.
	_, n, rv := r.SlotList(true, -1)
	requireRawRV(t, ck.CKR_OK, rv, "size query")
	assert.Equal(t, uint(1), n, "count from the size query")
	_, n, rv = r.SlotList(true, 0)
	requireRawRV(t, ck.CKR_BUFFER_TOO_SMALL, rv, "zero-length list")
	assert.Equal(t, uint(1), n, "count with CKR_BUFFER_TOO_SMALL")
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.SlotListNullCount(true), "C_GetSlotList(pulCount=NULL)")
}

func TestSlotAndTokenInfo(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	slot := mainSlot(t, p)

	si, rv := r.SlotInfo(slot)
	requireRawRV(t, ck.CKR_OK, rv)
	assert.Equal(t, uint(ck.CKF_TOKEN_PRESENT), si.Flags&ck.CKF_TOKEN_PRESENT, "CKF_TOKEN_PRESENT")
	assertBlankPadded(t, "slotDescription", si.Description[:])
	assertBlankPadded(t, "slot manufacturerID", si.Manufacturer[:])

	ti, rv := r.TokenInfo(slot)
	requireRawRV(t, ck.CKR_OK, rv)
	want := append([]byte(tokenLabel), bytes.Repeat([]byte(" "), 32-len(tokenLabel))...)
	assert.Equal(t, string(want), string(ti.Label[:]), "label blank-padded to 32")
	assertBlankPadded(t, "token manufacturerID", ti.Manufacturer[:])
	assertBlankPadded(t, "model", ti.Model[:])
	assertBlankPadded(t, "serialNumber", ti.SerialNumber[:])
	assert.Equal(t, uint(ck.CKF_TOKEN_INITIALIZED), ti.Flags&ck.CKF_TOKEN_INITIALIZED, "CKF_TOKEN_INITIALIZED")
	assert.Zero(t, ti.Flags&ck.CKF_LOGIN_REQUIRED, "no PIN configured: CKF_LOGIN_REQUIRED clear")

	// The serial number is stable across initializations.
	requireRV(t, ck.CKR_OK, p.Finalize())
	requireRV(t, ck.CKR_OK, p.Initialize())
	ti2, rv := r.TokenInfo(mainSlot(t, p))
	requireRawRV(t, ck.CKR_OK, rv)
	assert.Equal(t, string(ti.SerialNumber[:]), string(ti2.SerialNumber[:]), "serial number after re-initialization")

	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.SlotInfoNull(slot), "C_GetSlotInfo(NULL)")
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.TokenInfoNull(slot), "C_GetTokenInfo(NULL)")
}

func TestSlotIDInvalid(t *testing.T) {
	p := initialized(t)
	for _, slot := range []uint{1, 99, ^uint(0)} {
		calls := map[string]func() error{
			"C_GetSlotInfo":      func() error { _, err := p.GetSlotInfo(slot); return err },
			"C_GetTokenInfo":     func() error { _, err := p.GetTokenInfo(slot); return err },
			"C_GetMechanismList": func() error { _, err := p.GetMechanismList(slot); return err },
			"C_GetMechanismInfo": func() error {
				_, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)})
				return err
			},
			"C_OpenSession":      func() error { _, err := p.OpenSession(slot, ck.CKF_SERIAL_SESSION); return err },
			"C_CloseAllSessions": func() error { return p.CloseAllSessions(slot) },
		}
		for name, call := range calls {
			requireRV(t, ck.CKR_SLOT_ID_INVALID, call(), "%s(slot %d)", name, slot)
		}
	}
}

func TestMechanisms(t *testing.T) {
	p := initialized(t)
	_, r := lib(t)
	slot := mainSlot(t, p)
	ms, err := p.GetMechanismList(slot)
	requireRV(t, ck.CKR_OK, err)
	var got []string
	for _, m := range ms {
		got = append(got, ck.MechName(m.Mechanism))
	}
	// Digests are listed on every token (computed locally, no key needed).
	digests := []uint{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512}
	var want []string
	for m := range signMechanisms {
		want = append(want, ck.MechName(m))
	}
	for _, m := range digests {
		want = append(want, ck.MechName(m))
	}
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(t, want, got, "C_GetMechanismList for RSA and EC signing keys, and the digests")

	for m, sizes := range signMechanisms {
		t.Run(ck.MechName(m), func(t *testing.T) {
			mi, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(m, nil)})
			requireRV(t, ck.CKR_OK, err)
			assert.Equal(t, uint(ck.CKF_SIGN|ck.CKF_VERIFY), mi.Flags&(ck.CKF_SIGN|ck.CKF_VERIFY), "CKF_SIGN|CKF_VERIFY")
			assert.Zero(t, mi.Flags&(ck.CKF_ENCRYPT|ck.CKF_DECRYPT|ck.CKF_GENERATE_KEY_PAIR), "no encrypt/decrypt/keygen flags")
			assert.Equal(t, sizes, [2]uint{mi.MinKeySize, mi.MaxKeySize}, "key sizes in bits")
		})
	}
	for _, m := range []uint{ck.CKM_SHA1_RSA_PKCS, ck.CKM_ECDSA_SHA1, ck.CKM_AES_CBC, ck.CKM_RSA_PKCS_OAEP, ck.CKM_VENDOR_DEFINED | 0x1234} {
		_, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(m, nil)})
		requireRV(t, ck.CKR_MECHANISM_INVALID, err, "unlisted %s", ck.MechName(m))
	}

	_, n, rv := r.MechanismList(slot, -1)
	requireRawRV(t, ck.CKR_OK, rv, "size query")
	assert.Equal(t, uint(len(signMechanisms)+len(digests)), n)
	_, n, rv = r.MechanismList(slot, 3)
	requireRawRV(t, ck.CKR_BUFFER_TOO_SMALL, rv, "short list")
	assert.Equal(t, uint(len(signMechanisms)+len(digests)), n, "count with CKR_BUFFER_TOO_SMALL")
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.MechanismListNullCount(slot), "C_GetMechanismList(pulCount=NULL)")
	requireRawRV(t, ck.CKR_ARGUMENTS_BAD, r.MechanismInfoNull(slot, ck.CKM_ECDSA), "C_GetMechanismInfo(NULL)")
}
