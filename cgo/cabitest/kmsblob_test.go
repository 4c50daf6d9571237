package cabitest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/p11kms/p11kms/mechanisms"
)

// kmsBlobEnv is an own environment (ownenv_test.go) with two
// SYMMETRIC_DEFAULT keys: a seeded one (a) and one made by CreateKey (b).
type kmsBlobEnv struct {
	*ownEnv
	a, b *kmsbackend.KeyInfo
}

func startKMSBlobEnv(t *testing.T) *kmsBlobEnv {
	t.Helper()
	own := startOwnEnv(t, "kmsblob", []devkms.StandardKey{{Spec: kmsbackend.SpecSymmetricDefault, Usage: kmsbackend.UsageEncryptDecrypt, Alias: "alias/cabitest-kms-seeded"}},
		ownKey{kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, "alias/cabitest-kms-created"})
	a, err := own.oracle.DescribeKey(context.Background(), "alias/cabitest-kms-seeded")
	require.NoError(t, err)
	return &kmsBlobEnv{ownEnv: own, a: a, b: own.keys["alias/cabitest-kms-created"]}
}

func kmsBlobMech(ec map[string]string) []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(mechanisms.CKM_P11KMS_KMS_BLOB, mechanisms.EncodeEncryptionContext(ec))}
}

func TestKMSBlobObjectsAndMechanism(t *testing.T) {
	e := startKMSBlobEnv(t)
	p, sh := e.init(t)
	assert.Len(t, findAll(t, p, sh, nil), 2, "one object per SYMMETRIC_DEFAULT key")
	slot := slotByLabel(t, p, "kmsblob")
	mechs, err := p.GetMechanismList(slot)
	requireRV(t, ck.CKR_OK, err, "C_GetMechanismList")
	var got []uint
	for _, m := range mechs {
		got = append(got, m.Mechanism)
	}
	assert.Contains(t, got, uint(0xCB4D5301))
	info, err := p.GetMechanismInfo(slot, kmsBlobMech(nil))
	requireRV(t, ck.CKR_OK, err, "C_GetMechanismInfo")
	assert.Equal(t, []uint{32, 32, ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, []uint{info.MinKeySize, info.MaxKeySize, info.Flags})
	h := secretKeyByLabel(t, p, sh, "cabitest-kms-seeded")
	assert.Equal(t, uint(0x804B4D53), ulong(t, attr(t, p, sh, h, ck.CKA_KEY_TYPE)))
	assert.Equal(t, uint(32), ulong(t, attr(t, p, sh, h, ck.CKA_VALUE_LEN)))
	assert.Equal(t, uint(0xCB4D5301), ulong(t, attr(t, p, sh, h, ck.CKA_ALLOWED_MECHANISMS)))
	for a, want := range map[uint]byte{ck.CKA_ENCRYPT: 1, ck.CKA_DECRYPT: 1, ck.CKA_SENSITIVE: 1, ck.CKA_SIGN: 0, ck.CKA_VERIFY: 0, ck.CKA_EXTRACTABLE: 0} {
		assert.Equal(t, []byte{want}, attr(t, p, sh, h, a), "attribute 0x%X", a)
	}
	_, err = p.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_VALUE, nil)})
	requireRV(t, ck.CKR_ATTRIBUTE_SENSITIVE, err, "CKA_VALUE of a KMS symmetric key")
}

// TestKMSBlobRoundTripsThroughTheCABI: what the library encrypts, the aws
// backend decrypts, and the other way round; each C_Encrypt/C_Decrypt
// (miekg: a size query, then the call) makes exactly one KMS request.
func TestKMSBlobRoundTripsThroughTheCABI(t *testing.T) {
	e := startKMSBlobEnv(t)
	p, sh := e.init(t)
	for _, k := range []*kmsbackend.KeyInfo{e.a, e.b} {
		h := secretKeyByLabel(t, p, sh, k.Aliases[0][len("alias/"):])
		for _, ec := range []map[string]string{nil, {"tabelionato": "1º", "ato": "escritura 42"}} {
			for _, n := range []int{1, 777, kmsbackend.MaxEncryptPlaintext} {
				t.Run(fmt.Sprintf("%s %d bytes %d context pairs", k.Aliases[0], n, len(ec)), func(t *testing.T) {
					pt := bytes.Repeat([]byte{byte(n), 0xA5}, n)[:n]
					before := kmsRequests.count("Encrypt")
					requireRV(t, ck.CKR_OK, p.EncryptInit(sh, kmsBlobMech(ec), h), "C_EncryptInit")
					ct, err := p.Encrypt(sh, pt)
					requireRV(t, ck.CKR_OK, err, "C_Encrypt")
					assert.Equal(t, before+1, kmsRequests.count("Encrypt"), "one KMS Encrypt: the size query made none")
					got, err := e.oracle.DecryptWithContext(context.Background(), k.ARN, ct, ec)
					require.NoError(t, err)
					assert.Equal(t, pt, got, "the aws backend decrypts the library's blob")
					ct2, err := e.oracle.Encrypt(context.Background(), k.ARN, pt, ec)
					require.NoError(t, err)
					before = kmsRequests.count("Decrypt")
					requireRV(t, ck.CKR_OK, p.DecryptInit(sh, kmsBlobMech(ec), h), "C_DecryptInit")
					got, err = p.Decrypt(sh, ct2)
					requireRV(t, ck.CKR_OK, err, "C_Decrypt")
					assert.Equal(t, pt, got, "the library decrypts the aws backend's blob")
					assert.Equal(t, before+1, kmsRequests.count("Decrypt"), "one KMS Decrypt: the size query made none")
				})
			}
		}
	}
}

func TestKMSBlobErrorsThroughTheCABI(t *testing.T) {
	e := startKMSBlobEnv(t)
	p, sh := e.init(t)
	a := secretKeyByLabel(t, p, sh, "cabitest-kms-seeded")
	b := secretKeyByLabel(t, p, sh, "cabitest-kms-created")
	ec := map[string]string{"k": "v"}
	ct, err := e.oracle.Encrypt(context.Background(), e.a.ARN, []byte("segredo"), ec)
	require.NoError(t, err)
	decrypt := func(key pkcs11.ObjectHandle, mech []*pkcs11.Mechanism, blob []byte) error {
		if err := p.DecryptInit(sh, mech, key); err != nil {
			return err
		}
		_, err := p.Decrypt(sh, blob)
		return err
	}
	encrypt := func(mech []*pkcs11.Mechanism, pt []byte) error {
		if err := p.EncryptInit(sh, mech, a); err != nil {
			return err
		}
		_, err := p.Encrypt(sh, pt)
		return err
	}
	rows := []struct {
		name string
		rv   uint
		run  func() error
	}{
		{"CKR_OK with the right key and context", ck.CKR_OK, func() error { return decrypt(a, kmsBlobMech(ec), ct) }},
		{"CKR_ENCRYPTED_DATA_INVALID for another context", ck.CKR_ENCRYPTED_DATA_INVALID, func() error { return decrypt(a, kmsBlobMech(map[string]string{"k": "w"}), ct) }},
		{"CKR_ENCRYPTED_DATA_INVALID without the context", ck.CKR_ENCRYPTED_DATA_INVALID, func() error { return decrypt(a, kmsBlobMech(nil), ct) }},
		{"CKR_ENCRYPTED_DATA_INVALID for another key", ck.CKR_ENCRYPTED_DATA_INVALID, func() error { return decrypt(b, kmsBlobMech(ec), ct) }},
		{"CKR_ENCRYPTED_DATA_LEN_RANGE for a 6145-byte blob", ck.CKR_ENCRYPTED_DATA_LEN_RANGE, func() error { return decrypt(a, kmsBlobMech(ec), make([]byte, 6145)) }},
		{"CKR_MECHANISM_PARAM_INVALID for a non-JSON parameter", ck.CKR_MECHANISM_PARAM_INVALID, func() error {
			return decrypt(a, []*pkcs11.Mechanism{pkcs11.NewMechanism(mechanisms.CKM_P11KMS_KMS_BLOB, []byte("k=v\x00"))}, ct)
		}},
		{"CKR_DATA_LEN_RANGE for a 4097-byte plaintext", ck.CKR_DATA_LEN_RANGE, func() error { return encrypt(kmsBlobMech(nil), make([]byte, 4097)) }},
		{"CKR_KEY_FUNCTION_NOT_PERMITTED for RSA-OAEP with the KMS key", ck.CKR_KEY_FUNCTION_NOT_PERMITTED, func() error {
			return encrypt([]*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_RSA_PKCS_OAEP, pkcs11.NewOAEPParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil))}, []byte("x"))
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { requireRV(t, row.rv, row.run()) })
	}
}
