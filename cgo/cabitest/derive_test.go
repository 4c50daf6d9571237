package cabitest

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// ecdhEnv is an own environment (ownenv_test.go) holding one
// KEY_AGREEMENT key per NIST curve made by the aws backend's CreateKey.
type ecdhEnv struct {
	*ownEnv
	spki map[string][]byte // alias label -> the KMS key's SPKI
}

var ecdhCurves = []struct {
	label string
	spec  kmsbackend.KeySpec
	curve ecdh.Curve
}{
	{"cabitest-ecdh-p256", kmsbackend.SpecECCNISTP256, ecdh.P256()},
	{"cabitest-ecdh-p384", kmsbackend.SpecECCNISTP384, ecdh.P384()},
	{"cabitest-ecdh-p521", kmsbackend.SpecECCNISTP521, ecdh.P521()},
}

func startECDHEnv(t *testing.T) *ecdhEnv {
	t.Helper()
	var keys []ownKey
	for _, c := range ecdhCurves {
		keys = append(keys, ownKey{c.spec, kmsbackend.UsageKeyAgreement, "alias/" + c.label})
	}
	e := &ecdhEnv{ownEnv: startOwnEnv(t, "ecdh", nil, keys...), spki: map[string][]byte{}}
	for _, c := range ecdhCurves {
		e.spki[c.label] = e.keys["alias/"+c.label].PublicKeyDER
	}
	return e
}

// privKey finds the private key object labelled label.
func privKey(t *testing.T, p *pkcs11.Ctx, sh pkcs11.SessionHandle, label string) pkcs11.ObjectHandle {
	t.Helper()
	hs := findAll(t, p, sh, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_PRIVATE_KEY), pkcs11.NewAttribute(ck.CKA_LABEL, label)})
	require.Len(t, hs, 1, label)
	return hs[0]
}

// opensslDerive has openssl compute the peer's side of the agreement (an
// independent ECDH, and X9.63 KDF when kdfLen > 0).
func opensslDerive(t *testing.T, dir string, peer *ecdh.PrivateKey, kmsSPKI, ukm []byte, kdfLen int) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(peer)
	require.NoError(t, err)
	key, pub, out := filepath.Join(dir, "peer.pem"), filepath.Join(dir, "kms.pem"), filepath.Join(dir, "z")
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: kmsSPKI}), 0o600))
	args := []string{"pkeyutl", "-derive", "-inkey", key, "-peerkey", pub, "-out", out}
	if kdfLen > 0 {
		args = append(args, "-pkeyopt", "kdf-type:X963KDF", "-pkeyopt", "kdf-digest:SHA256",
			"-pkeyopt", "kdf-outlen:"+strconv.Itoa(kdfLen), "-pkeyopt", "hexkdf-ukm:"+hex.EncodeToString(ukm))
	}
	msg, err := exec.Command("openssl", args...).CombinedOutput()
	require.NoError(t, err, string(msg))
	z, err := os.ReadFile(out)
	require.NoError(t, err)
	return z
}

// TestECDHDeriveThroughTheCABI derives through the built library on every
// curve, with raw and DER peer points, CKD_NULL and CKD_SHA256_KDF, and
// checks each value against `openssl pkeyutl -derive` (independent).
func TestECDHDeriveThroughTheCABI(t *testing.T) {
	_, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed as the independent implementation")
	e := startECDHEnv(t)
	p, sh := e.init(t)
	dir := t.TempDir()
	ukm := []byte("p11kms cabitest")
	for _, c := range ecdhCurves {
		base := privKey(t, p, sh, c.label)
		for _, der := range []bool{false, true} {
			for _, kdf := range []uint{ck.CKD_NULL, ck.CKD_SHA256_KDF} {
				t.Run(fmt.Sprintf("%s/der=%v/kdf=0x%x", c.label, der, kdf), func(t *testing.T) {
					peer, err := c.curve.GenerateKey(rand.Reader)
					require.NoError(t, err)
					point := peer.PublicKey().Bytes()
					if der {
						point, err = asn1.Marshal(point)
						require.NoError(t, err)
					}
					tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_SECRET_KEY), pkcs11.NewAttribute(ck.CKA_TOKEN, false)}
					var shared []byte
					kdfLen := 0
					if kdf != ck.CKD_NULL {
						shared, kdfLen = ukm, 40
						tmpl = append(tmpl, pkcs11.NewAttribute(ck.CKA_VALUE_LEN, kdfLen))
					}
					before := kmsRequests.count("DeriveSharedSecret")
					mech := pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, pkcs11.NewECDH1DeriveParams(kdf, shared, point))
					h, err := p.DeriveKey(sh, []*pkcs11.Mechanism{mech}, base, tmpl)
					requireRV(t, ck.CKR_OK, err)
					assert.Equal(t, before+1, kmsRequests.count("DeriveSharedSecret"))
					got := attr(t, p, sh, h, ck.CKA_VALUE)
					assert.Equal(t, opensslDerive(t, dir, peer, e.spki[c.label], shared, kdfLen), got)
					requireRV(t, ck.CKR_OK, p.DestroyObject(sh, h))
					_, err = p.GetAttributeValue(sh, h, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, nil)})
					requireRV(t, ck.CKR_OBJECT_HANDLE_INVALID, err)
				})
			}
		}
	}
}

// rawECDHParams returns the bytes of a CK_ECDH1_DERIVE_PARAMS on this
// platform (LP64: kdf, ulSharedDataLen, pSharedData, ulPublicDataLen,
// pPublicData, 8 bytes each) with both pointers NULL.
func rawECDHParams(kdf, sharedLen, publicLen uint64) []byte {
	b := make([]byte, 40)
	binary.NativeEndian.PutUint64(b[0:], kdf)
	binary.NativeEndian.PutUint64(b[8:], sharedLen)
	binary.NativeEndian.PutUint64(b[24:], publicLen)
	return b
}

// TestECDHDeriveRefusalsThroughTheCABI: bad parameters and templates get
// their exact CK_RV, no crash and no remote call; session objects die with
// their session.
func TestECDHDeriveRefusalsThroughTheCABI(t *testing.T) {
	e := startECDHEnv(t)
	p, sh := e.init(t)
	base := privKey(t, p, sh, "cabitest-ecdh-p256")
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	point := peer.PublicKey().Bytes()
	p384, err := ecdh.P384().GenerateKey(rand.Reader)
	require.NoError(t, err)
	offCurve := append([]byte(nil), point...)
	offCurve[10] ^= 0x40
	ecdhMech := func(kdf uint, shared, public []byte) *pkcs11.Mechanism {
		return pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, pkcs11.NewECDH1DeriveParams(kdf, shared, public))
	}
	rows := []struct {
		name string
		mech *pkcs11.Mechanism
		tmpl []*pkcs11.Attribute
		rv   uint
	}{
		{"NULL public data with a length", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, rawECDHParams(ck.CKD_NULL, 0, 65)), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"NULL shared data with a length", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, rawECDHParams(ck.CKD_SHA256_KDF, 4, 0)), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"NULL public data, length 0", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, rawECDHParams(ck.CKD_NULL, 0, 0)), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a huge public length", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, rawECDHParams(ck.CKD_NULL, 0, 1<<62)), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a parameter of the wrong size", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, make([]byte, 16)), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"no parameter", pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, nil), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a point off the curve", ecdhMech(ck.CKD_NULL, nil, offCurve), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a P-384 point", ecdhMech(ck.CKD_NULL, nil, p384.PublicKey().Bytes()), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"a short point", ecdhMech(ck.CKD_NULL, nil, point[:33]), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"CKD_NULL with shared data", ecdhMech(ck.CKD_NULL, []byte("x"), point), nil, ck.CKR_MECHANISM_PARAM_INVALID},
		{"another mechanism", pkcs11.NewMechanism(ck.CKM_ECDSA, nil), nil, ck.CKR_MECHANISM_INVALID},
		{"CKA_TOKEN true", ecdhMech(ck.CKD_NULL, nil, point), []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_TOKEN, true)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"a too long CKA_VALUE_LEN", ecdhMech(ck.CKD_NULL, nil, point), []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_VALUE_LEN, 33)}, ck.CKR_TEMPLATE_INCONSISTENT},
		{"AES without CKA_VALUE_LEN", ecdhMech(ck.CKD_NULL, nil, point), []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_KEY_TYPE, ck.CKK_AES)}, ck.CKR_TEMPLATE_INCOMPLETE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := kmsRequests.count("DeriveSharedSecret")
			_, err := p.DeriveKey(sh, []*pkcs11.Mechanism{r.mech}, base, r.tmpl)
			requireRV(t, r.rv, err)
			assert.Equal(t, before, kmsRequests.count("DeriveSharedSecret"), "no remote call")
		})
	}
	t.Run("a KMS key object is not destroyed", func(t *testing.T) {
		requireRV(t, ck.CKR_ACTION_PROHIBITED, p.DestroyObject(sh, base))
	})
	t.Run("a derived key dies with its session", func(t *testing.T) {
		slot := slotByLabel(t, p, "ecdh")
		other := openSession(t, p, slot, ck.CKF_SERIAL_SESSION)
		h, err := p.DeriveKey(sh, []*pkcs11.Mechanism{ecdhMech(ck.CKD_NULL, nil, point)}, base,
			[]*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_LABEL, "short-lived")})
		requireRV(t, ck.CKR_OK, err)
		found := findAll(t, p, other, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_SECRET_KEY), pkcs11.NewAttribute(ck.CKA_LABEL, "short-lived")})
		assert.Equal(t, []pkcs11.ObjectHandle{h}, found)
		requireRV(t, ck.CKR_OK, p.CloseSession(sh))
		_, err = p.GetAttributeValue(other, h, []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, nil)})
		requireRV(t, ck.CKR_OBJECT_HANDLE_INVALID, err)
	})
}

// TestECDHMechanismThroughTheCABI: the mechanism and the key pair as a
// client sees them.
func TestECDHMechanismThroughTheCABI(t *testing.T) {
	e := startECDHEnv(t)
	p, sh := e.init(t)
	slot := slotByLabel(t, p, "ecdh")
	info, err := p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDH1_DERIVE, nil)})
	requireRV(t, ck.CKR_OK, err)
	assert.Equal(t, []uint{256, 521, ck.CKF_DERIVE | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS},
		[]uint{info.MinKeySize, info.MaxKeySize, info.Flags})
	_, err = p.GetMechanismInfo(slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(ck.CKM_ECDSA, nil)})
	requireRV(t, ck.CKR_MECHANISM_INVALID, err, "agreement keys do not sign")
	base := privKey(t, p, sh, "cabitest-ecdh-p384")
	assert.Equal(t, []byte{1}, attr(t, p, sh, base, ck.CKA_DERIVE))
	assert.Equal(t, []byte{0}, attr(t, p, sh, base, ck.CKA_SIGN))
	assert.Equal(t, []byte{0}, attr(t, p, sh, base, ck.CKA_DECRYPT))
	assert.Equal(t, uint(ck.CKM_ECDH1_DERIVE), ulong(t, attr(t, p, sh, base, ck.CKA_ALLOWED_MECHANISMS)))
}

// TestECDHDeriveNullPointersThroughTheCABI: NULL phKey or a NULL template
// with a count is CKR_ARGUMENTS_BAD; NULL public data in the parameters
// CKR_MECHANISM_PARAM_INVALID; never a crash, never a remote call.
func TestECDHDeriveNullPointersThroughTheCABI(t *testing.T) {
	e := startECDHEnv(t)
	p, sh := e.init(t)
	base := privKey(t, p, sh, "cabitest-ecdh-p256")
	_, r := lib(t)
	rows := []struct {
		name      string
		nullOut   bool
		tmplCount uint
		rv        uint
	}{
		{"NULL phKey is ARGUMENTS_BAD", true, 0, ck.CKR_ARGUMENTS_BAD},
		{"NULL pTemplate with 2 attributes is ARGUMENTS_BAD", false, 2, ck.CKR_ARGUMENTS_BAD},
		{"NULL pPublicData is MECHANISM_PARAM_INVALID", false, 0, ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := kmsRequests.count("DeriveSharedSecret")
			requireRawRV(t, row.rv, r.DeriveKeyNull(uint(sh), uint(base), row.nullOut, row.tmplCount))
			assert.Equal(t, before, kmsRequests.count("DeriveSharedSecret"))
		})
	}
}
