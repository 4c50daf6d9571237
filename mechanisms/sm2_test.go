package mechanisms

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// The SM2 tests use OpenSSL 3 (the CLI) as the independent party: it makes
// the key pair, computes ZA and e itself (dgst -sm3 with distid), signs the
// e the plans send to "KMS" (pkeyutl -sign on SM2 signs its input as e) and
// verifies the signatures the plans return.

// sm2TestKey is an SM2 key pair made by openssl, in files under dir.
type sm2TestKey struct {
	dir, priv, pub string // directory, private key PEM, public key PEM
	key            Key
}

// openSSL runs openssl and returns its combined output.
func openSSL(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is the independent SM2 implementation these tests need")
	out, err := exec.Command(bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// newSM2TestKey has openssl generate an SM2 key and parses its SPKI.
func newSM2TestKey(t testing.TB, algs ...kmsbackend.SigningAlgorithm) *sm2TestKey {
	t.Helper()
	dir := t.TempDir()
	k := &sm2TestKey{dir: dir, priv: filepath.Join(dir, "k.pem"), pub: filepath.Join(dir, "pub.pem")}
	out, err := openSSL(t, "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:sm2", "-out", k.priv)
	require.NoError(t, err, out)
	out, err = openSSL(t, "pkey", "-in", k.priv, "-pubout", "-out", k.pub)
	require.NoError(t, err, out)
	der := filepath.Join(dir, "pub.der")
	out, err = openSSL(t, "pkey", "-in", k.priv, "-pubout", "-outform", "DER", "-out", der)
	require.NoError(t, err, out)
	spki, err := os.ReadFile(der)
	require.NoError(t, err)
	pk, err := ParsePublicKey(spki)
	require.NoError(t, err)
	k.key = Key{Spec: kmsbackend.SpecSM2, Pub: pk, Algorithms: algs}
	return k
}

// write puts b in a fresh file of the key's directory and returns its path.
func (k *sm2TestKey) write(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(k.dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// signE is the stand-in for KMS Sign (SM2DSA, DIGEST): openssl signs e.
func (k *sm2TestKey) signE(t testing.TB, e []byte) []byte {
	t.Helper()
	sigPath := filepath.Join(k.dir, "kms.sig")
	out, err := openSSL(t, "pkeyutl", "-sign", "-inkey", k.priv, "-in", k.write(t, "e.bin", e), "-out", sigPath)
	require.NoError(t, err, out)
	sig, err := os.ReadFile(sigPath)
	require.NoError(t, err)
	return sig
}

// verifyMsg has openssl verify the DER signature over msg with the hex ID.
func (k *sm2TestKey) verifyMsg(t testing.TB, msg, id, derSig []byte) (string, error) {
	t.Helper()
	return openSSL(t, "dgst", "-sm3", "-verify", k.pub, "-sigopt", "hexdistid:"+hex.EncodeToString(id),
		"-signature", k.write(t, "v.sig", derSig), k.write(t, "v.msg", msg))
}

func TestParsePublicKeySM2(t *testing.T) {
	k := newSM2TestKey(t)
	pub := k.key.Pub
	assert.Equal(t, KindSM2, pub.Kind)
	assert.Equal(t, "SM2", pub.Kind.String())
	assert.Equal(t, CurveSM2, pub.Curve)
	assert.Equal(t, mustHex(t, "06082a811ccf5501822d"), pub.Curve.ECParams(), "DER of OID 1.2.156.10197.1.301")
	point := pub.ECPoint()
	require.Len(t, point, 67)
	assert.Equal(t, mustHex(t, "044104"), point[:3])
	assert.Equal(t, pub.SPKI[len(pub.SPKI)-65:], point[2:], "CKA_EC_POINT wraps the SPKI's point")
	assert.Equal(t, KindSM2, specKind(kmsbackend.SpecSM2))
	assert.Equal(t, CurveSM2, CurveFromSpec(kmsbackend.SpecSM2))

	bad := bytes.Clone(pub.SPKI)
	bad[len(bad)-1] ^= 0x01 // y changed: the point leaves the curve
	_, err := ParsePublicKey(bad)
	assert.ErrorContains(t, err, "SM2")
}

func TestSM2DigestMatchesOpenSSL(t *testing.T) {
	k := newSM2TestKey(t)
	rows := []struct {
		name    string
		id, msg []byte
	}{
		{"default ID, short message", SM2DefaultID, []byte("abc")},
		{"default ID, empty message", SM2DefaultID, []byte{}},
		{"own ID, 5000-byte message", []byte("alice@example.com"), bytes.Repeat([]byte("m"), 5000)},
		{"one-byte ID", []byte{0}, testMessage},
		// OpenSSL 3.0 refuses IDs of 8191 bytes (ossl_sm2_compute_z_digest: id_len >= UINT16_MAX/8), one less than ENTL_A allows.
		{"longest ID OpenSSL takes (8190 bytes)", bytes.Repeat([]byte{0xA5}, MaxSM2ID-1), testMessage},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e, err := SM2Digest(k.key.Pub, r.id, r.msg)
			require.NoError(t, err)
			require.Len(t, e, 32)
			sig := k.signE(t, e)
			out, err := k.verifyMsg(t, r.msg, r.id, sig)
			require.NoError(t, err, "openssl's SM3(ZA||M) differs from ours: %s", out)
			assert.Equal(t, "Verified OK", out)
			wrong := bytes.Clone(r.id)
			wrong[len(wrong)-1] ^= 0x01
			out, err = k.verifyMsg(t, r.msg, wrong, sig)
			require.Error(t, err, "openssl accepted the signature under another ID")
			assert.Contains(t, out, "Verification failure")
		})
	}
	_, err := SM2Digest(k.key.Pub, make([]byte, MaxSM2ID+1), nil)
	assert.Error(t, err, "an ID of 8192 bytes overflows ENTL_A")
}

func TestSM2PlansSignVerifiedByOpenSSL(t *testing.T) {
	k := newSM2TestKey(t, kmsbackend.SM2DSA)
	own := []byte("signer-7")
	eDefault, err := SM2Digest(k.key.Pub, SM2DefaultID, testMessage)
	require.NoError(t, err)
	rows := []struct {
		name  string
		mech  uint
		param []byte
		input []byte // C_Sign input
		id    []byte // openssl verifies testMessage under this ID
	}{
		{"SM2DSA over e of the default ID", CKM_P11KMS_SM2DSA, nil, eDefault, SM2DefaultID},
		{"SM3-SM2DSA with the default ID (no parameter)", CKM_P11KMS_SM3_SM2DSA, nil, testMessage, SM2DefaultID},
		{"SM3-SM2DSA with an empty parameter is the default ID", CKM_P11KMS_SM3_SM2DSA, []byte{}, testMessage, SM2DefaultID},
		{"SM3-SM2DSA with the signer's own ID", CKM_P11KMS_SM3_SM2DSA, own, testMessage, own},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewSignPlan(r.mech, r.param, k.key)
			require.NoError(t, err)
			assert.Equal(t, kmsbackend.SM2DSA, plan.Algorithm)
			assert.Equal(t, kmsbackend.MessageDigest, plan.MessageType)
			assert.Equal(t, 64, plan.SigLen)
			assert.Equal(t, r.mech == CKM_P11KMS_SM3_SM2DSA, plan.MultiPart())
			req, err := plan.Request(r.input)
			require.NoError(t, err)
			require.Len(t, req.Message, 32)
			sig, err := plan.OutputVerified(req, k.signE(t, req.Message))
			require.NoError(t, err)
			require.Len(t, sig, 64)
			out, err := k.verifyMsg(t, testMessage, r.id, rawToDERForOpenSSL(t, sig))
			require.NoError(t, err, out)
			assert.Equal(t, "Verified OK", out)

			vplan, err := NewVerifyPlan(r.mech, r.param, k.key)
			require.NoError(t, err)
			requireRV(t, ck.CKR_OK, vplan.Verify(r.input, sig))
			bad := bytes.Clone(sig)
			bad[40] ^= 0x01
			requireRV(t, ck.CKR_SIGNATURE_INVALID, vplan.Verify(r.input, bad))
			requireRV(t, ck.CKR_SIGNATURE_LEN_RANGE, vplan.Verify(r.input, sig[:63]))
			if h := vplan.NewHash(); h != nil { // multi-part: the message in three parts
				h.Write(testMessage[:5])
				h.Write(testMessage[5:20])
				h.Write(testMessage[20:])
				sum := h.Sum(nil)
				assert.Equal(t, req.Message, sum, "multi-part e equals single-part e")
				requireRV(t, ck.CKR_OK, vplan.VerifyDigest(sum, sig))
				requireRV(t, ck.CKR_SIGNATURE_INVALID, vplan.VerifyDigest(sum, bad))
				fromSum, err := plan.RequestFromHash(sum)
				require.NoError(t, err)
				assert.Equal(t, req, fromSum)
				h.Reset()
				h.Write(testMessage)
				assert.Equal(t, sum, h.Sum(nil), "Reset starts again from ZA")
			}
		})
	}
}

func TestSM2PlanRefusals(t *testing.T) {
	k := newSM2TestKey(t, kmsbackend.SM2DSA)
	p256 := testKMSKey(t, kmsbackend.SpecECCNISTP256)
	onlyECDSA := k.key
	onlyECDSA.Algorithms = []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}
	rows := []struct {
		name  string
		mech  uint
		param []byte
		key   Key
		input []byte // nil: the refusal is at init
		rv    uint
	}{
		{"ECDSA on an SM2 key", ck.CKM_ECDSA, nil, k.key, nil, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"ECDSA-SHA256 on an SM2 key", ck.CKM_ECDSA_SHA256, nil, k.key, nil, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"SM2DSA on a P-256 key", CKM_P11KMS_SM2DSA, nil, p256, nil, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"SM3-SM2DSA on a P-256 key", CKM_P11KMS_SM3_SM2DSA, nil, p256, nil, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"SM2DSA with a parameter", CKM_P11KMS_SM2DSA, []byte("1234567812345678"), k.key, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"SM3-SM2DSA with an 8192-byte ID", CKM_P11KMS_SM3_SM2DSA, make([]byte, MaxSM2ID+1), k.key, nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"SM2DSA on a key that does not allow SM2DSA", CKM_P11KMS_SM2DSA, nil, onlyECDSA, nil, ck.CKR_MECHANISM_INVALID},
		{"SM2DSA with a 31-byte e", CKM_P11KMS_SM2DSA, nil, k.key, make([]byte, 31), ck.CKR_DATA_LEN_RANGE},
		{"SM2DSA with a 33-byte e", CKM_P11KMS_SM2DSA, nil, k.key, make([]byte, 33), ck.CKR_DATA_LEN_RANGE},
		{"SM2DSA with no input", CKM_P11KMS_SM2DSA, nil, k.key, []byte{}, ck.CKR_DATA_LEN_RANGE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewSignPlan(r.mech, r.param, r.key)
			if r.input == nil {
				requireRV(t, r.rv, err)
				return
			}
			require.NoError(t, err)
			_, err = plan.Request(r.input)
			requireRV(t, r.rv, err)
			requireRV(t, r.rv, plan.Verify(r.input, make([]byte, 64)))
		})
	}
	t.Run("a KMS signature over another e is withheld", func(t *testing.T) {
		plan, err := NewSignPlan(CKM_P11KMS_SM3_SM2DSA, nil, k.key)
		require.NoError(t, err)
		req, err := plan.Request(testMessage)
		require.NoError(t, err)
		other := bytes.Clone(req.Message)
		other[0] ^= 0x01
		_, err = plan.OutputVerified(req, k.signE(t, other))
		requireRV(t, ck.CKR_FUNCTION_FAILED, err)
		_, err = plan.OutputVerified(req, []byte{0x30, 0x00})
		requireRV(t, ck.CKR_FUNCTION_FAILED, err)
	})
	t.Run("verifying under another ID fails", func(t *testing.T) {
		plan, err := NewSignPlan(CKM_P11KMS_SM3_SM2DSA, []byte("one"), k.key)
		require.NoError(t, err)
		req, err := plan.Request(testMessage)
		require.NoError(t, err)
		sig, err := plan.OutputVerified(req, k.signE(t, req.Message))
		require.NoError(t, err)
		other, err := NewVerifyPlan(CKM_P11KMS_SM3_SM2DSA, []byte("two"), k.key)
		require.NoError(t, err)
		requireRV(t, ck.CKR_SIGNATURE_INVALID, other.Verify(testMessage, sig))
	})
}

func TestSM2MechanismTables(t *testing.T) {
	assert.Equal(t, []uint{CKM_P11KMS_SM2DSA, CKM_P11KMS_SM3_SM2DSA}, MechanismsFor(kmsbackend.SpecSM2, kmsbackend.UsageSignVerify))
	assert.Equal(t, []uint{CKM_P11KMS_SM2PKE}, MechanismsFor(kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt))
	assert.Equal(t, uint(0xCB4D5302), uint(CKM_P11KMS_SM2DSA))
	assert.Equal(t, uint(0xCB4D5303), uint(CKM_P11KMS_SM3_SM2DSA))
	assert.Equal(t, uint(0xCB4D5304), uint(CKM_P11KMS_SM2PKE))
	sign := KeyUse{kmsbackend.SpecSM2, kmsbackend.UsageSignVerify}
	crypt := KeyUse{kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt}
	p256 := KeyUse{kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify}
	const signFlags, cryptFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW
	rows := []struct {
		name            string
		mech            uint
		keys            []KeyUse
		min, max, flags uint
		ok              bool
	}{
		{"SM2DSA with an SM2 signing key", CKM_P11KMS_SM2DSA, []KeyUse{p256, sign}, 256, 256, signFlags, true},
		{"SM3-SM2DSA with an SM2 signing key", CKM_P11KMS_SM3_SM2DSA, []KeyUse{sign}, 256, 256, signFlags, true},
		{"no SM2DSA with only an SM2 encryption key", CKM_P11KMS_SM2DSA, []KeyUse{crypt}, 0, 0, 0, false},
		{"no SM2DSA with only a P-256 key", CKM_P11KMS_SM2DSA, []KeyUse{p256}, 0, 0, 0, false},
		{"SM2PKE with an SM2 encryption key", CKM_P11KMS_SM2PKE, []KeyUse{sign, crypt}, 256, 256, cryptFlags, true},
		{"no SM2PKE with only an SM2 signing key", CKM_P11KMS_SM2PKE, []KeyUse{sign}, 0, 0, 0, false},
		{"no ECDSA with only an SM2 signing key", ck.CKM_ECDSA, []KeyUse{sign}, 0, 0, 0, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			minBits, maxBits, flags, ok := InfoFor(r.mech, r.keys)
			assert.Equal(t, r.ok, ok)
			assert.Equal(t, r.min, minBits)
			assert.Equal(t, r.max, maxBits)
			assert.Equal(t, r.flags, flags)
		})
	}
}
