package mechanisms

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestKMSBlobConstantsAreTheDocumentedValues(t *testing.T) {
	assert.Equal(t, uint(0xCB4D5301), uint(CKM_P11KMS_KMS_BLOB))
	assert.Equal(t, uint(0x804B4D53), uint(CKK_P11KMS_KMS))
	assert.Equal(t, 2048, KMSBlobOverhead)
}

func TestParseEncryptionContext(t *testing.T) {
	rows := []struct {
		name  string
		param string
		want  map[string]string
		rv    string // "" when accepted
	}{
		{"no context for an empty parameter", "", nil, ""},
		{"no context for an empty object", "{}", nil, ""},
		{"one pair", `{"purpose":"backup"}`, map[string]string{"purpose": "backup"}, ""},
		{"two pairs, whitespace and escapes", " {\"a\" : \"1\",\n \"b=c\":\"\\u0000x\"} ", map[string]string{"a": "1", "b=c": "\x00x"}, ""},
		{"empty value kept", `{"a":""}`, map[string]string{"a": ""}, ""},
		{"UTF-8 kept", `{"cartório":"São Paulo"}`, map[string]string{"cartório": "São Paulo"}, ""},
		{"param invalid for invalid UTF-8", "{\"a\":\"\xff\"}", nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a JSON array", `["a","1"]`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a JSON string", `"a=1"`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for key=value text", "a=1\x00b=2\x00", nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a number value", `{"a":1}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a null value", `{"a":null}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for an object value", `{"a":{"b":"c"}}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for an empty key", `{"":"x"}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a duplicated key", `{"a":"1","a":"2"}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for trailing data", `{"a":"1"}{}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a trailing NUL", "{\"a\":\"1\"}\x00", nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for an unterminated object", `{"a":"1"`, nil, "CKR_MECHANISM_PARAM_INVALID"},
		{"param invalid for a trailing comma", `{"a":"1",}`, nil, "CKR_MECHANISM_PARAM_INVALID"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := ParseEncryptionContext([]byte(r.param))
			if r.rv != "" {
				assert.Equal(t, r.rv, ck.RVName(ck.RV(err)), "%v", err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, r.want, got)
		})
	}
}

func TestEncodeEncryptionContextRoundTrips(t *testing.T) {
	for _, c := range []map[string]string{{"a": "1"}, {"k\"\\": "v\x00\n", "z": "é"}} {
		got, err := ParseEncryptionContext(EncodeEncryptionContext(c))
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
	assert.Nil(t, EncodeEncryptionContext(nil))
}

func TestKMSBlobLengthChecks(t *testing.T) {
	rows := []struct {
		name   string
		check  func([]byte) error
		n      int
		wantRV uint
	}{
		{"data len range for an empty plaintext", CheckKMSBlobPlaintext, 0, ck.CKR_DATA_LEN_RANGE},
		{"ok for a 1-byte plaintext", CheckKMSBlobPlaintext, 1, ck.CKR_OK},
		{"ok for a 4096-byte plaintext", CheckKMSBlobPlaintext, 4096, ck.CKR_OK},
		{"data len range for a 4097-byte plaintext", CheckKMSBlobPlaintext, 4097, ck.CKR_DATA_LEN_RANGE},
		{"encrypted data len range for an empty blob", CheckKMSBlobCiphertext, 0, ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
		{"ok for a 6144-byte blob", CheckKMSBlobCiphertext, 6144, ck.CKR_OK},
		{"encrypted data len range for a 6145-byte blob", CheckKMSBlobCiphertext, 6145, ck.CKR_ENCRYPTED_DATA_LEN_RANGE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.wantRV, ck.RV(r.check(make([]byte, r.n))))
		})
	}
	assert.Equal(t, 2049, KMSBlobEncryptLen(1))
	assert.Equal(t, 6144, KMSBlobEncryptLen(4096))
}

func TestKMSBlobMechanismTable(t *testing.T) {
	sym := KeyUse{Spec: kmsbackend.SpecSymmetricDefault, Usage: kmsbackend.UsageEncryptDecrypt}
	rsa := KeyUse{Spec: kmsbackend.SpecRSA2048, Usage: kmsbackend.UsageEncryptDecrypt}
	assert.Equal(t, []uint{CKM_P11KMS_KMS_BLOB}, MechanismsFor(sym.Spec, sym.Usage))
	assert.Equal(t, []uint{ck.CKM_RSA_PKCS_OAEP}, MechanismsFor(rsa.Spec, rsa.Usage))
	minB, maxB, flags, ok := InfoFor(CKM_P11KMS_KMS_BLOB, []KeyUse{rsa, sym})
	assert.True(t, ok)
	assert.Equal(t, []uint{32, 32, ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW}, []uint{minB, maxB, flags})
	_, _, _, ok = InfoFor(CKM_P11KMS_KMS_BLOB, []KeyUse{rsa})
	assert.False(t, ok, "not offered without a SYMMETRIC_DEFAULT key")
}

// FuzzParseEncryptionContext: any input is refused with exactly
// CKR_MECHANISM_PARAM_INVALID or parsed into a context that encodes and
// parses back to itself; never a panic.
func FuzzParseEncryptionContext(f *testing.F) {
	for _, s := range []string{"", "{}", `{"a":"1"}`, `{"a":"1","a":"2"}`, "a=1\x00", `{"a":1}`, "{\"\xff\":\"x\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, param []byte) {
		c, err := ParseEncryptionContext(param)
		if err != nil {
			require.Equal(t, uint(ck.CKR_MECHANISM_PARAM_INVALID), ck.RV(err))
			require.Nil(t, c)
			return
		}
		again, err := ParseEncryptionContext(EncodeEncryptionContext(c))
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}

// TestVendorConstants: every vendor-defined constant is CKM_VENDOR_DEFINED
// (or CKK_VENDOR_DEFINED) plus the project's number 0x4B4D53 ("KMS") and a
// serial (PKCS#11 2.40 §2.1), as cgo/include/p11kms_vendor.h publishes them.
func TestVendorConstants(t *testing.T) {
	for _, r := range []struct {
		name      string
		got, want uint
	}{
		{"CKK_P11KMS_KMS", CKK_P11KMS_KMS, 0x80000000 | 0x4B4D53},
		{"CKM_P11KMS_KMS_BLOB", CKM_P11KMS_KMS_BLOB, 0x80000000 | 0x4B4D5301},
		{"CKM_P11KMS_SM2DSA", CKM_P11KMS_SM2DSA, 0x80000000 | 0x4B4D5302},
		{"CKM_P11KMS_SM3_SM2DSA", CKM_P11KMS_SM3_SM2DSA, 0x80000000 | 0x4B4D5303},
		{"CKM_P11KMS_SM2PKE", CKM_P11KMS_SM2PKE, 0x80000000 | 0x4B4D5304},
	} {
		assert.Equal(t, r.want, r.got, r.name)
		if r.name[2] == 'M' {
			assert.Equal(t, r.name, ck.MechName(r.got), "ck.MechName names the vendor mechanism")
		}
	}
}
