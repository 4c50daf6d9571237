package mechanisms

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestNewMacPlan(t *testing.T) {
	h224, h256, h384, h512 := kmsbackend.SpecHMAC224, kmsbackend.SpecHMAC256, kmsbackend.SpecHMAC384, kmsbackend.SpecHMAC512
	rows := []struct {
		name   string
		mech   uint
		param  []byte
		key    MacKey
		rv     uint
		alg    kmsbackend.MacAlgorithm
		macLen int
	}{
		{"HMAC_SHA_224, 28-byte MACs for SHA224-HMAC on an HMAC_224 key", ck.CKM_SHA224_HMAC, nil, MacKey{Spec: h224}, ck.CKR_OK, kmsbackend.HMAC_SHA_224, 28},
		{"HMAC_SHA_256, 32-byte MACs for SHA256-HMAC on an HMAC_256 key", ck.CKM_SHA256_HMAC, nil, MacKey{Spec: h256, Algorithms: []kmsbackend.MacAlgorithm{kmsbackend.HMAC_SHA_256}}, ck.CKR_OK, kmsbackend.HMAC_SHA_256, 32},
		{"HMAC_SHA_384, 48-byte MACs for SHA384-HMAC on an HMAC_384 key", ck.CKM_SHA384_HMAC, nil, MacKey{Spec: h384}, ck.CKR_OK, kmsbackend.HMAC_SHA_384, 48},
		{"HMAC_SHA_512, 64-byte MACs for SHA512-HMAC on an HMAC_512 key", ck.CKM_SHA512_HMAC, []byte{}, MacKey{Spec: h512}, ck.CKR_OK, kmsbackend.HMAC_SHA_512, 64},
		{"CKR_KEY_TYPE_INCONSISTENT for SHA384-HMAC on an HMAC_256 key", ck.CKM_SHA384_HMAC, nil, MacKey{Spec: h256}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for SHA224-HMAC on an HMAC_512 key", ck.CKM_SHA224_HMAC, nil, MacKey{Spec: h512}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for SHA256-HMAC on an RSA key", ck.CKM_SHA256_HMAC, nil, MacKey{Spec: kmsbackend.SpecRSA2048}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0},
		{"CKR_MECHANISM_INVALID when the key does not allow the algorithm", ck.CKM_SHA256_HMAC, nil, MacKey{Spec: h256, Algorithms: []kmsbackend.MacAlgorithm{kmsbackend.HMAC_SHA_512}}, ck.CKR_MECHANISM_INVALID, 0, 0},
		{"CKR_MECHANISM_INVALID for SHA256-HMAC-GENERAL (not offered)", ck.CKM_SHA256_HMAC_GENERAL, []byte{16, 0, 0, 0, 0, 0, 0, 0}, MacKey{Spec: h256}, ck.CKR_MECHANISM_INVALID, 0, 0},
		{"CKR_MECHANISM_INVALID for SHA-1-HMAC (no KMS spec)", ck.CKM_SHA_1_HMAC, nil, MacKey{Spec: h256}, ck.CKR_MECHANISM_INVALID, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for ECDSA", ck.CKM_ECDSA, nil, MacKey{Spec: h256}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0},
		{"CKR_KEY_TYPE_INCONSISTENT for SHA256-RSA-PKCS", ck.CKM_SHA256_RSA_PKCS, nil, MacKey{Spec: h256}, ck.CKR_KEY_TYPE_INCONSISTENT, 0, 0},
		{"CKR_MECHANISM_INVALID for AES-CBC", ck.CKM_AES_CBC, nil, MacKey{Spec: h256}, ck.CKR_MECHANISM_INVALID, 0, 0},
		{"CKR_MECHANISM_PARAM_INVALID for a parameter", ck.CKM_SHA256_HMAC, []byte{32, 0, 0, 0, 0, 0, 0, 0}, MacKey{Spec: h256}, ck.CKR_MECHANISM_PARAM_INVALID, 0, 0},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := NewMacPlan(r.mech, r.param, r.key)
			requireRV(t, r.rv, err)
			if r.rv != ck.CKR_OK {
				assert.Nil(t, p)
				return
			}
			assert.Equal(t, &MacPlan{Mechanism: r.mech, Algorithm: r.alg, MacLen: r.macLen}, p)
		})
	}
}

func TestMacPlanLengths(t *testing.T) {
	p, err := NewMacPlan(ck.CKM_SHA384_HMAC, nil, MacKey{Spec: kmsbackend.SpecHMAC384})
	require.NoError(t, err)
	rows := []struct {
		name string
		run  func() error
		rv   uint
	}{
		{"CKR_OK for a 1-byte message", func() error { return p.CheckMessage([]byte{1}) }, ck.CKR_OK},
		{"CKR_OK for a 4096-byte message", func() error { return p.CheckMessage(make([]byte, 4096)) }, ck.CKR_OK},
		{"CKR_DATA_LEN_RANGE for an empty message (KMS takes 1..4096 bytes)", func() error { return p.CheckMessage(nil) }, ck.CKR_DATA_LEN_RANGE},
		{"CKR_DATA_LEN_RANGE for a 4097-byte message", func() error { return p.CheckMessage(make([]byte, 4097)) }, ck.CKR_DATA_LEN_RANGE},
		{"CKR_OK for a 48-byte MAC", func() error { return p.CheckMac(make([]byte, 48)) }, ck.CKR_OK},
		{"CKR_SIGNATURE_LEN_RANGE for a 47-byte MAC", func() error { return p.CheckMac(make([]byte, 47)) }, ck.CKR_SIGNATURE_LEN_RANGE},
		{"CKR_SIGNATURE_LEN_RANGE for a 49-byte MAC", func() error { return p.CheckMac(make([]byte, 49)) }, ck.CKR_SIGNATURE_LEN_RANGE},
		{"CKR_SIGNATURE_LEN_RANGE for an empty MAC", func() error { return p.CheckMac(nil) }, ck.CKR_SIGNATURE_LEN_RANGE},
		{"CKR_DEVICE_ERROR for a 32-byte MAC from KMS", func() error { _, err := p.Output(make([]byte, 32)); return err }, ck.CKR_DEVICE_ERROR},
		{"CKR_OK for a 48-byte MAC from KMS", func() error { _, err := p.Output(make([]byte, 48)); return err }, ck.CKR_OK},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) { requireRV(t, r.rv, r.run()) })
	}
}

func TestMacMechanismTable(t *testing.T) {
	const flags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW
	rows := []struct {
		name      string
		spec      kmsbackend.KeySpec
		mech      uint
		keyLen    uint
		otherMech uint // an HMAC mechanism the spec does not get
	}{
		{"HMAC_224 gets SHA224-HMAC with 28-byte keys", kmsbackend.SpecHMAC224, ck.CKM_SHA224_HMAC, 28, ck.CKM_SHA256_HMAC},
		{"HMAC_256 gets SHA256-HMAC with 32-byte keys", kmsbackend.SpecHMAC256, ck.CKM_SHA256_HMAC, 32, ck.CKM_SHA224_HMAC},
		{"HMAC_384 gets SHA384-HMAC with 48-byte keys", kmsbackend.SpecHMAC384, ck.CKM_SHA384_HMAC, 48, ck.CKM_SHA512_HMAC},
		{"HMAC_512 gets SHA512-HMAC with 64-byte keys", kmsbackend.SpecHMAC512, ck.CKM_SHA512_HMAC, 64, ck.CKM_SHA384_HMAC},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, []uint{r.mech}, MechanismsFor(r.spec, kmsbackend.UsageGenerateVerifyMac))
			assert.Nil(t, MechanismsFor(r.spec, kmsbackend.UsageSignVerify), "only with usage GENERATE_VERIFY_MAC")
			n, ok := HMACKeyLen(r.spec)
			assert.True(t, ok)
			assert.Equal(t, r.keyLen, n)
			assert.True(t, IsMacMechanism(r.mech))
			minLen, maxLen, f, ok := Info(r.mech, []kmsbackend.KeySpec{kmsbackend.SpecRSA2048, r.spec})
			assert.True(t, ok)
			assert.Equal(t, []uint{r.keyLen, r.keyLen, flags}, []uint{minLen, maxLen, f})
			_, _, _, ok = Info(r.otherMech, []kmsbackend.KeySpec{r.spec})
			assert.False(t, ok, "%s is not offered on a token with only %s keys", ck.MechName(r.otherMech), r.spec)
		})
	}
	t.Run("no HMAC mechanism on a token without HMAC keys", func(t *testing.T) {
		_, _, _, ok := Info(ck.CKM_SHA256_HMAC, []kmsbackend.KeySpec{kmsbackend.SpecRSA2048, kmsbackend.SpecECCNISTP256})
		assert.False(t, ok)
	})
	t.Run("no key length for a non-HMAC spec", func(t *testing.T) {
		_, ok := HMACKeyLen(kmsbackend.SpecSymmetricDefault)
		assert.False(t, ok)
	})
	t.Run("the general-length HMACs are not HMAC mechanisms here", func(t *testing.T) {
		assert.False(t, IsMacMechanism(ck.CKM_SHA256_HMAC_GENERAL))
	})
}
