package token

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// disableKey disables a key in the dev KMS with the SDK (a set-up step the
// backend does not offer).
func disableKey(url, keyID string) error {
	c := kms.New(kms.Options{Region: devkms.DefaultRegion, BaseEndpoint: awssdk.String(url), Credentials: awssdk.AnonymousCredentials{}})
	_, err := c.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: awssdk.String(keyID)})
	return err
}

// TestHMACSignVerify checks every MAC the module makes without the key
// material: (a) the dev KMS's VerifyMac, asked directly through the aws
// backend, accepts it; (b) it is deterministic: single-part and multi-part
// in any chunking give the same bytes; (c) the module's C_Verify accepts it
// and refuses it with one bit flipped; (d) it has the hash's length.
func TestHMACSignVerify(t *testing.T) {
	oracle := macOracle(t)
	m, _ := macModule(t, "")
	sh := openSession(t, m)
	for _, k := range macKeys {
		for _, n := range []int{1, 55, 64, 65, 1000, kmsbackend.MaxMacMessage} {
			t.Run(fmt.Sprintf("%s %d-byte message MAC verified by KMS and deterministic", k.alias, n), func(t *testing.T) {
				h := secretKey(t, m, sh, k.alias)
				msg := bytes.Repeat([]byte(fmt.Sprintf("%s/%d;", k.alias, n)), n)[:n]
				mac := macSign(t, m, sh, h, k.mech, msg, 0)
				require.Len(t, mac, k.macLen)
				ok, err := oracle.VerifyMac(context.Background(), macInfos[k.alias].ARN, macAlg(k.spec), msg, mac)
				require.NoError(t, err)
				require.True(t, ok, "KMS VerifyMac accepts the module's MAC")
				for _, chunk := range []int{1, 7, 64, n} {
					if chunk == 1 && n > 100 {
						continue // byte-by-byte only for short messages
					}
					assert.Equal(t, mac, macSign(t, m, sh, h, k.mech, msg, chunk), "multi-part in %d-byte parts", chunk)
				}
				require.NoError(t, m.VerifyInit(sh, Mechanism{Type: k.mech}, h))
				require.NoError(t, m.Verify(sh, msg, mac))
				require.NoError(t, m.VerifyInit(sh, Mechanism{Type: k.mech}, h))
				for part := range chunks(msg, 100) {
					require.NoError(t, m.VerifyUpdate(sh, part))
				}
				require.NoError(t, m.VerifyFinal(sh, mac))
				bad := bytes.Clone(mac)
				bad[n%len(bad)] ^= 0x01
				require.NoError(t, m.VerifyInit(sh, Mechanism{Type: k.mech}, h))
				assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, msg, bad)))
				ok, err = oracle.VerifyMac(context.Background(), macInfos[k.alias].ARN, macAlg(k.spec), msg, bad)
				require.NoError(t, err)
				assert.False(t, ok, "KMS refuses the flipped MAC too")
			})
		}
	}
	t.Run("different keys give different MACs of one message", func(t *testing.T) {
		a := macSign(t, m, sh, secretKey(t, m, sh, "t-hmac512"), ck.CKM_SHA512_HMAC, []byte("m"), 0)
		b := macSign(t, m, sh, secretKey(t, m, sh, "t-hmac256"), ck.CKM_SHA256_HMAC, []byte("m"), 0)
		assert.NotEqual(t, a[:32], b)
	})
}

// macAlg is the KMS algorithm of an HMAC spec (AWS KMS "Key spec reference").
func macAlg(spec kmsbackend.KeySpec) kmsbackend.MacAlgorithm {
	return map[kmsbackend.KeySpec]kmsbackend.MacAlgorithm{
		kmsbackend.SpecHMAC224: kmsbackend.HMAC_SHA_224, kmsbackend.SpecHMAC256: kmsbackend.HMAC_SHA_256,
		kmsbackend.SpecHMAC384: kmsbackend.HMAC_SHA_384, kmsbackend.SpecHMAC512: kmsbackend.HMAC_SHA_512,
	}[spec]
}

func TestHMACSizeQueryAndShortBufferAreLocalAndKeepTheOperation(t *testing.T) {
	m, mc := macModule(t, "")
	sh := openSession(t, m)
	h := secretKey(t, m, sh, "t-hmac384")
	msg := []byte("livro 3-B, folha 112")
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprintf("multi-part %v: 48 bytes announced, no remote call, operation kept", multi), func(t *testing.T) {
			require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_SHA384_HMAC}, h))
			sign := func(query bool, bufLen uint) ([]byte, uint, error) { return m.Sign(sh, msg, query, bufLen) }
			if multi {
				require.NoError(t, m.SignUpdate(sh, msg))
				sign = func(query bool, bufLen uint) ([]byte, uint, error) { return m.SignFinal(sh, query, bufLen) }
			}
			before := mc.generates.Load()
			mac, n, err := sign(true, 0)
			require.NoError(t, err)
			assert.Nil(t, mac)
			assert.Equal(t, uint(48), n)
			mac, n, err = sign(false, 47)
			assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
			assert.Nil(t, mac)
			assert.Equal(t, uint(48), n)
			assert.Equal(t, before, mc.generates.Load(), "size query and short buffer make no remote call")
			mac, n, err = sign(false, 48)
			require.NoError(t, err)
			assert.Len(t, mac, 48)
			assert.Equal(t, uint(48), n)
			assert.Equal(t, before+1, mc.generates.Load())
			_, _, err = sign(false, 48)
			assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "a completed C_Sign ends the operation")
		})
	}
}

func TestHMACRefusals(t *testing.T) {
	m, mc := macModule(t, "")
	sh := openSession(t, m)
	h256 := secretKey(t, m, sh, "t-hmac256")
	rsaPriv, rsaPub := keyPair(t, m, sh, "t-rsa2048")
	mech := Mechanism{Type: ck.CKM_SHA256_HMAC}
	good := macSign(t, m, sh, h256, ck.CKM_SHA256_HMAC, []byte("m"), 0)
	rows := []struct {
		name   string
		verify bool // C_VerifyInit/C_Verify instead of C_SignInit/C_Sign
		key    uint
		mech   Mechanism
		parts  [][]byte // C_*Update parts before C_*Final; nil: single-part with data
		data   []byte
		mac    []byte
		initRV string
		rv     string // of the update that fails, or of C_Sign/C_Verify/C_*Final
	}{
		{"KEY_TYPE_INCONSISTENT for SHA384-HMAC on an HMAC_256 key", false, h256, Mechanism{Type: ck.CKM_SHA384_HMAC}, nil, nil, nil, "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"KEY_TYPE_INCONSISTENT for ECDSA on an HMAC key", false, h256, Mechanism{Type: ck.CKM_ECDSA}, nil, nil, nil, "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"KEY_TYPE_INCONSISTENT for SHA256-HMAC on an RSA private key", false, rsaPriv, mech, nil, nil, nil, "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"KEY_TYPE_INCONSISTENT verifying SHA256-HMAC with an RSA public key", true, rsaPub, mech, nil, nil, nil, "CKR_KEY_TYPE_INCONSISTENT", ""},
		{"MECHANISM_INVALID for SHA256-HMAC-GENERAL (not offered)", false, h256, Mechanism{ck.CKM_SHA256_HMAC_GENERAL, encodeULong(16)}, nil, nil, nil, "CKR_MECHANISM_INVALID", ""},
		{"MECHANISM_PARAM_INVALID for a parameter", true, h256, Mechanism{ck.CKM_SHA256_HMAC, encodeULong(32)}, nil, nil, nil, "CKR_MECHANISM_PARAM_INVALID", ""},
		{"DATA_LEN_RANGE signing 4097 bytes (KMS takes 4096)", false, h256, mech, nil, make([]byte, 4097), nil, "CKR_OK", "CKR_DATA_LEN_RANGE"},
		{"DATA_LEN_RANGE signing an empty message (KMS takes 1 byte or more)", false, h256, mech, nil, []byte{}, nil, "CKR_OK", "CKR_DATA_LEN_RANGE"},
		{"DATA_LEN_RANGE at the update passing 4096 bytes", false, h256, mech, [][]byte{make([]byte, 4000), make([]byte, 97)}, nil, nil, "CKR_OK", "CKR_DATA_LEN_RANGE"},
		{"DATA_LEN_RANGE at C_SignFinal without data", false, h256, mech, [][]byte{}, nil, nil, "CKR_OK", "CKR_DATA_LEN_RANGE"},
		{"DATA_LEN_RANGE verifying 4097 bytes", true, h256, mech, nil, make([]byte, 4097), good, "CKR_OK", "CKR_DATA_LEN_RANGE"},
		{"SIGNATURE_LEN_RANGE for a 31-byte MAC", true, h256, mech, nil, []byte("m"), good[:31], "CKR_OK", "CKR_SIGNATURE_LEN_RANGE"},
		{"SIGNATURE_LEN_RANGE for a 33-byte MAC", true, h256, mech, nil, []byte("m"), append(bytes.Clone(good), 0), "CKR_OK", "CKR_SIGNATURE_LEN_RANGE"},
		{"SIGNATURE_LEN_RANGE at C_VerifyFinal for a 16-byte MAC", true, h256, mech, [][]byte{[]byte("m")}, nil, good[:16], "CKR_OK", "CKR_SIGNATURE_LEN_RANGE"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			gen, ver := mc.generates.Load(), mc.verifies.Load()
			init, update := m.SignInit, m.SignUpdate
			if r.verify {
				init, update = m.VerifyInit, m.VerifyUpdate
			}
			err := init(sh, r.mech, r.key)
			require.Equal(t, r.initRV, rvOf(err))
			if err != nil {
				return
			}
			switch {
			case r.parts == nil && r.verify:
				err = m.Verify(sh, r.data, r.mac)
			case r.parts == nil:
				_, _, err = m.Sign(sh, r.data, false, 64)
			default:
				for _, p := range r.parts {
					if err = update(sh, p); err != nil {
						break
					}
				}
				if err == nil && r.verify {
					err = m.VerifyFinal(sh, r.mac)
				} else if err == nil {
					_, _, err = m.SignFinal(sh, false, 64)
				}
			}
			assert.Equal(t, r.rv, rvOf(err))
			assert.Equal(t, []int64{gen, ver}, []int64{mc.generates.Load(), mc.verifies.Load()}, "refused before any remote call")
			if r.verify {
				assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(m.VerifyFinal(sh, good)), "an error ends the operation")
			} else {
				_, _, err = m.SignFinal(sh, false, 64)
				assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err), "an error ends the operation")
			}
		})
	}
	t.Run("OPERATION_ACTIVE for C_Sign after C_SignUpdate, which ends it", func(t *testing.T) {
		require.NoError(t, m.SignInit(sh, mech, h256))
		require.NoError(t, m.SignUpdate(sh, []byte("m")))
		_, _, err := m.Sign(sh, []byte("m"), false, 64)
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(err))
		_, _, err = m.SignFinal(sh, false, 64)
		assert.Equal(t, "CKR_OPERATION_NOT_INITIALIZED", rvOf(err))
	})
	t.Run("OPERATION_ACTIVE for C_Verify after C_VerifyUpdate", func(t *testing.T) {
		require.NoError(t, m.VerifyInit(sh, mech, h256))
		require.NoError(t, m.VerifyUpdate(sh, []byte("m")))
		assert.Equal(t, "CKR_OPERATION_ACTIVE", rvOf(m.Verify(sh, []byte("m"), good)))
	})
}
