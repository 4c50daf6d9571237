package cabitest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// hmacKeys are the HMAC key specs, with what the token must show for them.
// Sources: AWS KMS Developer Guide "Key spec reference" (HMAC specs, one
// algorithm each, key length = hash length); pkcs11t.h 2.40 (CKK_SHA*_HMAC).
var hmacKeys = []struct {
	spec    kmsbackend.KeySpec
	mech    uint
	keyType uint
	hash    func() hash.Hash
	size    int // MAC and key length in bytes
}{
	{kmsbackend.SpecHMAC224, ck.CKM_SHA224_HMAC, ck.CKK_SHA224_HMAC, sha256.New224, 28},
	{kmsbackend.SpecHMAC256, ck.CKM_SHA256_HMAC, ck.CKK_SHA256_HMAC, sha256.New, 32},
	{kmsbackend.SpecHMAC384, ck.CKM_SHA384_HMAC, ck.CKK_SHA384_HMAC, sha512.New384, 48},
	{kmsbackend.SpecHMAC512, ck.CKM_SHA512_HMAC, ck.CKK_SHA512_HMAC, sha512.New, 64},
}

// hmacEnv is an own environment (ownenv_test.go) with one seeded key per
// HMAC spec (in hmacKeys order, ownEnv.seed), whose material the test
// knows, so Go's crypto/hmac verifies every MAC independently; and one
// HMAC_256 key made by the aws backend's CreateKey, checked by the dev
// KMS's VerifyMac.
type hmacEnv struct {
	*ownEnv
	created *kmsbackend.KeyInfo
}

func startHMACEnv(t *testing.T) *hmacEnv {
	t.Helper()
	specs := make([]devkms.StandardKey, len(hmacKeys))
	for i, k := range hmacKeys {
		specs[i] = devkms.StandardKey{Spec: k.spec, Usage: kmsbackend.UsageGenerateVerifyMac, Alias: "alias/cabitest-" + k.spec.String()}
	}
	own := startOwnEnv(t, "hmac", specs, ownKey{kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac, "alias/cabitest-created-hmac"})
	return &hmacEnv{ownEnv: own, created: own.keys["alias/cabitest-created-hmac"]}
}

// secretKeyByLabel returns the one secret-key object labelled label.
func secretKeyByLabel(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, label string) pkcs11.ObjectHandle {
	t.Helper()
	hs := findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_SECRET_KEY), pkcs11.NewAttribute(ck.CKA_LABEL, label)})
	require.Len(t, hs, 1, "secret keys labelled %s", label)
	return hs[0]
}

func TestHMACObjectsAndMechanisms(t *testing.T) {
	e := startHMACEnv(t)
	p, sh := e.init(t)
	assert.Len(t, findAll(t, p, sh, nil), len(hmacKeys)+1, "one object per HMAC key")
	slot := slotByLabel(t, p, "hmac")
	mechs, err := p.GetMechanismList(slot)
	requireRV(t, ck.CKR_OK, err, "C_GetMechanismList")
	var got []uint
	for _, m := range mechs {
		got = append(got, m.Mechanism)
	}
	for i, k := range hmacKeys {
		t.Run(k.spec.String()+" is a CKO_SECRET_KEY with its HMAC mechanism", func(t *testing.T) {
			h := secretKeyByLabel(t, p, sh, "cabitest-"+k.spec.String())
			assert.Equal(t, k.keyType, ulong(t, attr(t, p, sh, h, ck.CKA_KEY_TYPE)))
			assert.Equal(t, uint(k.size), ulong(t, attr(t, p, sh, h, ck.CKA_VALUE_LEN)))
			assert.Equal(t, k.mech, ulong(t, attr(t, p, sh, h, ck.CKA_ALLOWED_MECHANISMS)))
			assert.Equal(t, []byte{1}, attr(t, p, sh, h, ck.CKA_SIGN))
			assert.Equal(t, []byte{1}, attr(t, p, sh, h, ck.CKA_VERIFY))
			assert.Equal(t, []byte{0}, attr(t, p, sh, h, ck.CKA_EXTRACTABLE))
			assert.Len(t, attr(t, p, sh, h, ck.CKA_ID), 16)
			_, err := p.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_VALUE, nil)})
			requireRV(t, ck.CKR_ATTRIBUTE_SENSITIVE, err, "CKA_VALUE of a KMS HMAC key (seed %s)", e.seed[i].ID)
			assert.Contains(t, got, k.mech)
			info, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(k.mech, nil)})
			requireRV(t, ck.CKR_OK, err, "C_GetMechanismInfo")
			assert.Equal(t, []uint{uint(k.size), uint(k.size), ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, []uint{info.MinKeySize, info.MaxKeySize, info.Flags})
		})
	}
}

// TestHMACSignVerifiedIndependently makes 250 MACs per HMAC spec through the
// C ABI, single-part and multi-part alternately, each equal to Go's
// crypto/hmac over the seeded key, accepted by C_Verify, and every tenth
// refused by C_Verify with one bit flipped; the CreateKey key's MACs are
// accepted by the dev KMS's VerifyMac and deterministic.
func TestHMACSignVerifiedIndependently(t *testing.T) {
	const perKey = 250
	e := startHMACEnv(t)
	p, sh := e.init(t)
	for i, k := range hmacKeys {
		t.Run(fmt.Sprintf("%s %d MACs equal crypto/hmac's", k.spec, perKey), func(t *testing.T) {
			h := secretKeyByLabel(t, p, sh, "cabitest-"+k.spec.String())
			mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(k.mech, nil)}
			for n := range perKey {
				msg := bytes.Repeat([]byte{byte(n)}, 1+n*16) // 1 .. 3985 bytes
				requireRV(t, ck.CKR_OK, p.SignInit(sh, mech, h))
				var mac []byte
				var err error
				if n%2 == 1 {
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, msg[:len(msg)/2]))
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, msg[len(msg)/2:]))
					mac, err = p.SignFinal(sh)
				} else {
					mac, err = p.Sign(sh, msg)
				}
				requireRV(t, ck.CKR_OK, err, "MAC %d", n)
				want := hmac.New(k.hash, e.seed[i].Secret)
				want.Write(msg)
				require.Equal(t, want.Sum(nil), mac, "MAC %d (multi-part %v)", n, n%2 == 1)
				requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, h))
				requireRV(t, ck.CKR_OK, p.Verify(sh, msg, mac), "C_Verify of MAC %d", n)
				if n%10 == 0 {
					mac[n%len(mac)] ^= 0x80
					requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, h))
					requireRV(t, ck.CKR_SIGNATURE_INVALID, p.Verify(sh, msg, mac), "C_Verify of flipped MAC %d", n)
				}
			}
		})
	}
	t.Run("CreateKey key: MACs accepted by KMS VerifyMac and deterministic", func(t *testing.T) {
		h := secretKeyByLabel(t, p, sh, "cabitest-created-hmac")
		mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_SHA256_HMAC, nil)}
		for n := range 20 {
			msg := []byte(fmt.Sprintf("escritura %d", n))
			requireRV(t, ck.CKR_OK, p.SignInit(sh, mech, h))
			mac, err := p.Sign(sh, msg)
			requireRV(t, ck.CKR_OK, err)
			require.Len(t, mac, 32)
			ok, err := e.oracle.VerifyMac(context.Background(), e.created.ARN, kmsbackend.HMAC_SHA_256, msg, mac)
			require.NoError(t, err)
			require.True(t, ok, "KMS VerifyMac accepts MAC %d", n)
			requireRV(t, ck.CKR_OK, p.SignInit(sh, mech, h))
			again, err := p.Sign(sh, msg)
			requireRV(t, ck.CKR_OK, err)
			require.Equal(t, mac, again, "same key and message, same MAC")
		}
	})
}

// TestHMACOutputConventionsAndErrors: size queries and short buffers are
// answered without KMS and keep the operation (PKCS#11 2.40 §5.2); the
// failures carry their exact CK_RV.
func TestHMACOutputConventionsAndErrors(t *testing.T) {
	e := startHMACEnv(t)
	p, sh := e.init(t)
	_, r := lib(t)
	h := secretKeyByLabel(t, p, sh, "cabitest-HMAC_384")
	h256 := secretKeyByLabel(t, p, sh, "cabitest-HMAC_256")
	msg := []byte("tabelionato de notas")
	t.Run("size query and short buffer: 48 bytes, no GenerateMac, operation kept", func(t *testing.T) {
		requireRawRV(t, ck.CKR_OK, r.SignInit(uint(sh), ck.CKM_SHA384_HMAC, nil, uint(h)))
		before := kmsRequests.count("GenerateMac")
		_, n, rv := r.Sign(uint(sh), msg, rawc.Out{NullBuf: true})
		requireRawRV(t, ck.CKR_OK, rv, "size query")
		assert.Equal(t, uint(48), n)
		_, n, rv = r.Sign(uint(sh), msg, rawc.Out{Len: 47})
		requireRawRV(t, ck.CKR_BUFFER_TOO_SMALL, rv)
		assert.Equal(t, uint(48), n)
		assert.Equal(t, before, kmsRequests.count("GenerateMac"))
		mac, n, rv := r.Sign(uint(sh), msg, rawc.Out{Len: 48})
		requireRawRV(t, ck.CKR_OK, rv)
		assert.Equal(t, uint(48), n)
		want := hmac.New(sha512.New384, e.seed[2].Secret)
		want.Write(msg)
		assert.Equal(t, want.Sum(nil), mac)
		assert.Equal(t, before+1, kmsRequests.count("GenerateMac"))
	})
	sign := func(mech uint, key pkcs11.ObjectHandle, data []byte) error {
		if err := p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, key); err != nil {
			return err
		}
		_, err := p.Sign(sh, data)
		return err
	}
	verify := func(data, mac []byte) error {
		requireRV(t, ck.CKR_OK, p.VerifyInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_SHA256_HMAC, nil)}, h256))
		return p.Verify(sh, data, mac)
	}
	rows := []struct {
		name string
		rv   uint
		run  func() error
	}{
		{"CKR_KEY_TYPE_INCONSISTENT for SHA384-HMAC on an HMAC_256 key", ck.CKR_KEY_TYPE_INCONSISTENT, func() error { return sign(ck.CKM_SHA384_HMAC, h256, msg) }},
		{"CKR_KEY_TYPE_INCONSISTENT for ECDSA on an HMAC key", ck.CKR_KEY_TYPE_INCONSISTENT, func() error { return sign(ck.CKM_ECDSA, h256, msg) }},
		{"CKR_MECHANISM_INVALID for SHA256-HMAC-GENERAL", ck.CKR_MECHANISM_INVALID, func() error { return sign(ck.CKM_SHA256_HMAC_GENERAL, h256, msg) }},
		{"CKR_DATA_LEN_RANGE for a 4097-byte message", ck.CKR_DATA_LEN_RANGE, func() error { return sign(ck.CKM_SHA256_HMAC, h256, make([]byte, 4097)) }},
		{"CKR_SIGNATURE_LEN_RANGE for a 31-byte MAC", ck.CKR_SIGNATURE_LEN_RANGE, func() error { return verify(msg, make([]byte, 31)) }},
		{"CKR_SIGNATURE_INVALID for a wrong 32-byte MAC", ck.CKR_SIGNATURE_INVALID, func() error { return verify(msg, make([]byte, 32)) }},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { requireRV(t, row.rv, row.run()) })
	}
}
