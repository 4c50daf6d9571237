package cabitest

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/cgo/cabitest/rawc"
	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// edEnv is an own environment (ownenv_test.go) holding one Ed25519 key
// made by the aws backend's CreateKey.
type edEnv struct {
	*ownEnv
	pub  ed25519.PublicKey
	spki []byte
}

func startEdEnv(t *testing.T) *edEnv {
	t.Helper()
	own := startOwnEnv(t, "eddsa", nil, ownKey{kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, "alias/cabitest-ed25519"})
	info := own.keys["alias/cabitest-ed25519"]
	pk, err := x509.ParsePKIXPublicKey(info.PublicKeyDER)
	require.NoError(t, err)
	return &edEnv{ownEnv: own, pub: pk.(ed25519.PublicKey), spki: info.PublicKeyDER}
}

// init loads the module with a token holding the Ed25519 key, and returns
// the key's two objects.
func (e *edEnv) init(t *testing.T) (p *pkcs11.Ctx, sh pkcs11.SessionHandle, priv, pub pkcs11.ObjectHandle) {
	t.Helper()
	p, sh = e.ownEnv.init(t)
	one := func(cls uint) pkcs11.ObjectHandle {
		return oneObject(t, p, sh, pkcs11.NewAttribute(ck.CKA_CLASS, cls), pkcs11.NewAttribute(ck.CKA_KEY_TYPE, ck.CKK_EC_EDWARDS))
	}
	return p, sh, one(ck.CKO_PRIVATE_KEY), one(ck.CKO_PUBLIC_KEY)
}

// eddsaParams returns the bytes of a CK_EDDSA_PARAMS on this platform (LP64:
// CK_BBOOL, 7 padding bytes, CK_ULONG, pointer) with pContextData NULL.
func eddsaParams(ph bool, ctxLen uint64) []byte {
	b := make([]byte, 24)
	if ph {
		b[0] = 1
	}
	binary.NativeEndian.PutUint64(b[8:], ctxLen)
	return b
}

func TestEdDSAObjectsThroughTheCABI(t *testing.T) {
	e := startEdEnv(t)
	p, sh, priv, pub := e.init(t)
	for name, oh := range map[string]pkcs11.ObjectHandle{"private": priv, "public": pub} {
		t.Run(name+" key: CKA_EC_PARAMS is the Ed25519 OID, CKA_EC_POINT the 32-byte key", func(t *testing.T) {
			assert.Equal(t, []byte{0x06, 0x03, 0x2b, 0x65, 0x70}, attr(t, p, sh, oh, ck.CKA_EC_PARAMS))
			assert.Equal(t, append([]byte{0x04, 0x20}, e.pub...), attr(t, p, sh, oh, ck.CKA_EC_POINT))
			assert.Equal(t, e.spki, attr(t, p, sh, oh, ck.CKA_PUBLIC_KEY_INFO))
			assert.Equal(t, uint(ck.CKM_EDDSA), ulong(t, attr(t, p, sh, oh, ck.CKA_ALLOWED_MECHANISMS)))
		})
	}
	t.Run("CKR_ATTRIBUTE_SENSITIVE for CKA_VALUE of the private key", func(t *testing.T) {
		_, err := p.GetAttributeValue(sh, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_VALUE, nil)})
		requireRV(t, ck.CKR_ATTRIBUTE_SENSITIVE, err)
	})
	t.Run("CKM_EDDSA is listed with 256-bit keys", func(t *testing.T) {
		slot := slotByLabel(t, p, "eddsa")
		info, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_EDDSA, nil)})
		requireRV(t, ck.CKR_OK, err)
		assert.Equal(t, []uint{256, 256, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, []uint{info.MinKeySize, info.MaxKeySize, info.Flags})
	})
}

// TestEdDSASignThroughTheCABI signs through the built library, pure and
// prehash, single- and multi-part; openssl verifies every pure signature
// and Go's crypto/ed25519 every Ed25519ph one (openssl 3.0 has no Ed25519ph).
func TestEdDSASignThroughTheCABI(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed as the independent verifier")
	e := startEdEnv(t)
	p, sh, priv, pub := e.init(t)
	dir := t.TempDir()
	pubPEM := filepath.Join(dir, "pub.pem")
	require.NoError(t, os.WriteFile(pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: e.spki}), 0o600))
	opensslVerify := func(t *testing.T, msg, sig []byte) error {
		m, s := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
		require.NoError(t, os.WriteFile(m, msg, 0o600))
		require.NoError(t, os.WriteFile(s, sig, 0o600))
		return exec.Command(openssl, "pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin", "-in", m, "-sigfile", s).Run()
	}
	rows := []struct {
		name  string
		param []byte
		multi bool
	}{
		{"pure without parameter, single-part", nil, false},
		{"pure with phFlag false, multi-part", eddsaParams(false, 0), true},
		{"Ed25519ph, single-part", eddsaParams(true, 0), false},
		{"Ed25519ph, multi-part", eddsaParams(true, 0), true},
	}
	for _, r := range rows {
		t.Run(r.name+": 20 signatures verify independently", func(t *testing.T) {
			ph := r.param != nil && r.param[0] == 1
			mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_EDDSA, r.param)}
			for n := range 20 {
				msg := bytes.Repeat([]byte{byte(n + 1)}, 1+n*200) // 1 .. 3801 bytes
				requireRV(t, ck.CKR_OK, p.SignInit(sh, mech, priv))
				var sig []byte
				if r.multi {
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, msg[:len(msg)/2]))
					requireRV(t, ck.CKR_OK, p.SignUpdate(sh, msg[len(msg)/2:]))
					sig, err = p.SignFinal(sh)
				} else {
					sig, err = p.Sign(sh, msg)
				}
				requireRV(t, ck.CKR_OK, err)
				require.Len(t, sig, 64)
				if ph {
					d := sha512.Sum512(msg)
					require.NoError(t, ed25519.VerifyWithOptions(e.pub, d[:], sig, &ed25519.Options{Hash: crypto.SHA512}))
				} else {
					require.NoError(t, opensslVerify(t, msg, sig), "openssl verifies signature %d", n)
				}
				requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, pub))
				requireRV(t, ck.CKR_OK, p.Verify(sh, msg, sig))
				if n%5 == 0 {
					sig[n%64] ^= 0x10
					requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech, pub))
					requireRV(t, ck.CKR_SIGNATURE_INVALID, p.Verify(sh, msg, sig))
					if !ph {
						require.Error(t, opensslVerify(t, msg, sig), "openssl refuses a flipped bit")
					}
				}
			}
		})
	}
	refusals := []struct {
		name  string
		param []byte
		rv    uint
	}{
		{"CKR_MECHANISM_PARAM_INVALID for a NULL context with a length", eddsaParams(false, 3), ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for phFlag 2", append([]byte{2}, eddsaParams(false, 0)[1:]...), ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKR_MECHANISM_PARAM_INVALID for a parameter of the wrong size", make([]byte, 8), ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			requireRV(t, r.rv, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_EDDSA, r.param)}, priv))
		})
	}
	t.Run("CKR_DATA_LEN_RANGE for 4097 bytes, without a KMS call", func(t *testing.T) {
		before := kmsRequests.count("Sign")
		requireRV(t, ck.CKR_OK, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_EDDSA, nil)}, priv))
		_, err := p.Sign(sh, make([]byte, 4097))
		requireRV(t, ck.CKR_DATA_LEN_RANGE, err)
		assert.Equal(t, before, kmsRequests.count("Sign"))
	})
	t.Run("size query answers 64 without a KMS call", func(t *testing.T) {
		requireRV(t, ck.CKR_OK, p.SignInit(sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_EDDSA, nil)}, priv))
		before := kmsRequests.count("Sign")
		_, raw := lib(t)
		_, n, rv := raw.Sign(uint(sh), []byte("x"), rawc.Out{NullBuf: true})
		requireRawRV(t, ck.CKR_OK, rv)
		assert.Equal(t, uint(64), n)
		assert.Equal(t, before, kmsRequests.count("Sign"))
		sig, err := p.Sign(sh, []byte("x"))
		requireRV(t, ck.CKR_OK, err)
		require.NoError(t, opensslVerify(t, []byte("x"), sig))
	})
}
