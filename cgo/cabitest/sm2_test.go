package cabitest

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// The vendor mechanisms of SM2 keys, by number as a client passes them
// (README, "SM2 keys"): the tests do not take the values from mechanisms/.
const (
	cabiSM2DSA    = 0xCB4D5302 // CKM_P11KMS_SM2DSA
	cabiSM3SM2DSA = 0xCB4D5303 // CKM_P11KMS_SM3_SM2DSA
	cabiSM2PKE    = 0xCB4D5304 // CKM_P11KMS_SM2PKE
)

// sm2Env is an own environment (ownenv_test.go) with an SM2 SIGN_VERIFY
// and an SM2 ENCRYPT_DECRYPT key made by the aws backend's CreateKey, and
// a directory for openssl's files.
type sm2Env struct {
	*ownEnv
	sign, crypt *kmsbackend.KeyInfo
	dir         string
}

func startSM2Env(t *testing.T) *sm2Env {
	t.Helper()
	own := startOwnEnv(t, "sm2", nil,
		ownKey{kmsbackend.SpecSM2, kmsbackend.UsageSignVerify, "alias/cabitest-sm2-sign"},
		ownKey{kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt, "alias/cabitest-sm2-crypt"})
	return &sm2Env{ownEnv: own, sign: own.keys["alias/cabitest-sm2-sign"], crypt: own.keys["alias/cabitest-sm2-crypt"], dir: t.TempDir()}
}

// init loads the module with a token over the two SM2 keys and returns the
// private and public objects of the key labelled alias.
func (e *sm2Env) init(t *testing.T) (p *pkcs11.Ctx, sh pkcs11.SessionHandle, objs func(alias string) (priv, pub pkcs11.ObjectHandle)) {
	t.Helper()
	p, sh = e.ownEnv.init(t)
	objs = func(alias string) (priv, pub pkcs11.ObjectHandle) {
		one := func(cls uint) pkcs11.ObjectHandle {
			return oneObject(t, p, sh, pkcs11.NewAttribute(ck.CKA_CLASS, cls), pkcs11.NewAttribute(ck.CKA_LABEL, alias))
		}
		return one(ck.CKO_PRIVATE_KEY), one(ck.CKO_PUBLIC_KEY)
	}
	return p, sh, objs
}

// openssl runs the openssl CLI in the environment's directory.
func (e *sm2Env) openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent SM2 implementation these tests need")
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// file writes b under the environment's directory and returns its name.
func (e *sm2Env) file(t *testing.T, name string, b []byte) string {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, name), b, 0o600))
	return name
}

// verify has openssl verify r||s over msg under the ID id with the SM2 signing key.
func (e *sm2Env) verify(t *testing.T, id, msg, rs []byte) (string, error) {
	t.Helper()
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
	require.NoError(t, err)
	return e.openssl(t, "dgst", "-sm3", "-keyform", "DER", "-verify", e.file(t, "sign.der", e.sign.PublicKeyDER),
		"-sigopt", "hexdistid:"+hex.EncodeToString(id), "-signature", e.file(t, "sig", der), e.file(t, "msg", msg))
}

func TestSM2SignThroughTheCABI(t *testing.T) {
	e := startSM2Env(t)
	p, sh, objs := e.init(t)
	priv, pub := objs("cabitest-sm2-sign")
	t.Run("the key is CKK_EC on sm2p256v1 with the SM2 mechanisms only", func(t *testing.T) {
		assert.Equal(t, uint(ck.CKK_EC), ulong(t, attr(t, p, sh, pub, ck.CKA_KEY_TYPE)))
		assert.Equal(t, []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d}, attr(t, p, sh, pub, ck.CKA_EC_PARAMS))
		assert.Equal(t, e.sign.PublicKeyDER, attr(t, p, sh, priv, ck.CKA_PUBLIC_KEY_INFO))
		want := append(ulongBytes(cabiSM2DSA), ulongBytes(cabiSM3SM2DSA)...)
		assert.Equal(t, want, attr(t, p, sh, priv, ck.CKA_ALLOWED_MECHANISMS))
	})
	kpub, err := mechanisms.ParsePublicKey(e.sign.PublicKeyDER)
	require.NoError(t, err)
	msg := bytes.Repeat([]byte("SM2 through the C ABI. "), 300) // 6900 bytes: longer than KMS's RAW limit
	own := []byte("bob@example.cn")
	eOwn, err := mechanisms.SM2Digest(kpub, own, msg)
	require.NoError(t, err)
	rows := []struct {
		name  string
		mech  uint
		param []byte
		input []byte
		id    []byte
		multi bool
	}{
		{"SM3-SM2DSA, default ID", cabiSM3SM2DSA, nil, msg, []byte("1234567812345678"), false},
		{"SM3-SM2DSA, own ID, multi-part", cabiSM3SM2DSA, own, msg, own, true},
		{"SM2DSA over e", cabiSM2DSA, nil, eOwn, own, false},
	}
	for _, r := range rows {
		t.Run(r.name+": openssl verifies 5 signatures", func(t *testing.T) {
			mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(r.mech, r.param)}
			for range 5 {
				requireRV(t, ck.CKR_OK, p.SignInit(sh, mech, priv))
				var sig []byte
				if r.multi {
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, r.input[:1000]))
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, r.input[1000:]))
					sig, err = p.SignFinal(sh)
				} else {
					sig, err = p.Sign(sh, r.input)
				}
				requireRV(t, ck.CKR_OK, err)
				require.Len(t, sig, 64)
				out, err := e.verify(t, r.id, msg, sig)
				require.NoError(t, err, out)
				assert.Equal(t, "Verified OK", out)
				requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, pub))
				requireRV(t, ck.CKR_OK, p.Verify(sh, r.input, sig))
				sig[63] ^= 0x01
				requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, pub))
				requireRV(t, ck.CKR_SIGNATURE_INVALID, p.Verify(sh, r.input, sig))
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		requireRV(t, ck.CKR_KEY_TYPE_INCONSISTENT, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)}, priv))
		requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(cabiSM3SM2DSA, make([]byte, 8192))}, priv))
		requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(cabiSM2DSA, own)}, priv))
		requireRV(t, ck.CKR_OK, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(cabiSM2DSA, nil)}, priv))
		_, err := p.Sign(sh, eOwn[:31])
		requireRV(t, ck.CKR_DATA_LEN_RANGE, err)
		cryptPriv, _ := objs("cabitest-sm2-crypt")
		requireRV(t, ck.CKR_KEY_FUNCTION_NOT_PERMITTED, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(cabiSM3SM2DSA, nil)}, cryptPriv))
	})
}

func TestSM2PKEThroughTheCABI(t *testing.T) {
	e := startSM2Env(t)
	p, sh, objs := e.init(t)
	priv, pub := objs("cabitest-sm2-crypt")
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(cabiSM2PKE, nil)}
	pubDER := e.file(t, "crypt.der", e.crypt.PublicKeyDER)
	for _, n := range []int{1, 333, 1024} {
		t.Run(fmt.Sprintf("%d bytes: openssl encrypts, C_Decrypt decrypts", n), func(t *testing.T) {
			pt := bytes.Repeat([]byte{byte(n)}, n)
			out, err := e.openssl(t, "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", pubDER, "-in", e.file(t, "pt", pt), "-out", "ct")
			require.NoError(t, err, out)
			ct, err := os.ReadFile(filepath.Join(e.dir, "ct"))
			require.NoError(t, err)
			requireRV(t, ck.CKR_OK, p.DecryptInit(sh, mech, priv))
			got, err := p.Decrypt(sh, ct)
			requireRV(t, ck.CKR_OK, err)
			assert.Equal(t, pt, got)
		})
		t.Run(fmt.Sprintf("%d bytes: C_Encrypt encrypts, KMS Decrypt decrypts", n), func(t *testing.T) {
			pt := bytes.Repeat([]byte{'e'}, n)
			requireRV(t, ck.CKR_OK, p.EncryptInit(sh, mech, pub))
			ct, err := p.Encrypt(sh, pt)
			requireRV(t, ck.CKR_OK, err)
			got, err := e.oracle.Decrypt(context.Background(), e.crypt.ARN, kmsbackend.SM2PKE, ct)
			require.NoError(t, err)
			assert.Equal(t, pt, got)
		})
	}
	t.Run("refusals", func(t *testing.T) {
		signPriv, signPub := objs("cabitest-sm2-sign")
		requireRV(t, ck.CKR_KEY_FUNCTION_NOT_PERMITTED, p.DecryptInit(sh, mech, signPriv))
		requireRV(t, ck.CKR_KEY_FUNCTION_NOT_PERMITTED, p.EncryptInit(sh, mech, signPub))
		requireRV(t, ck.CKR_OK, p.EncryptInit(sh, mech, pub))
		_, err := p.Encrypt(sh, make([]byte, 1025))
		requireRV(t, ck.CKR_DATA_LEN_RANGE, err)
		requireRV(t, ck.CKR_OK, p.DecryptInit(sh, mech, priv))
		_, err = p.Decrypt(sh, []byte("not a ciphertext"))
		requireRV(t, ck.CKR_ENCRYPTED_DATA_INVALID, err)
	})
}
