package cabitest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// The SM2 and key-agreement keys and exercisers of TestEveryListedMechanism.
func init() {
	for _, k := range []struct {
		spec  kmsbackend.KeySpec
		usage kmsbackend.KeyUsage
	}{
		{kmsbackend.SpecSM2, kmsbackend.UsageSignVerify},           // AWS KMS Developer Guide, SM2 key spec: SM2DSA
		{kmsbackend.SpecSM2, kmsbackend.UsageEncryptDecrypt},       // SM2PKE
		{kmsbackend.SpecECCNISTP256, kmsbackend.UsageKeyAgreement}, // ECDH (DeriveSharedSecret)
		{kmsbackend.SpecECCNISTP384, kmsbackend.UsageKeyAgreement},
		{kmsbackend.SpecECCNISTP521, kmsbackend.UsageKeyAgreement},
	} {
		everyKeys = append(everyKeys, k)
	}
	exercisers[mechanisms.CKM_P11KMS_SM2DSA] = signSM2
	exercisers[mechanisms.CKM_P11KMS_SM3_SM2DSA] = signSM2
	exercisers[mechanisms.CKM_P11KMS_SM2PKE] = cryptSM2PKE
	exercisers[ck.CKM_ECDH1_DERIVE] = deriveECDH
}

// everyOpenSSL runs the openssl CLI in dir, failing the test on an error.
func everyOpenSSL(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "openssl %v: %s", args, out)
}

// signSM2: openssl (independent of the module's gmsm) verifies over
// everyMsg with the default ID; CKM_P11KMS_SM2DSA gets e = SM3(ZA || M)
// built by the test (zaDigest).
func signSM2(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	dir := t.TempDir()
	pub, msg, sig := filepath.Join(dir, "pub.der"), filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
	require.NoError(t, os.WriteFile(pub, k.info.PublicKeyDER, 0o600))
	require.NoError(t, os.WriteFile(msg, everyMsg, 0o600))
	data := everyMsg
	if mech == mechanisms.CKM_P11KMS_SM2DSA {
		data = zaDigest(t, k.info.PublicKeyDER, everyMsg)
	}
	rs := e.sign(t, k, pkcs11.NewMechanism(mech, nil), data)
	require.Len(t, rs, 64)
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(sig, der, 0o600))
	everyOpenSSL(t, dir, "dgst", "-sm3", "-keyform", "DER", "-verify", pub, "-sigopt", "hexdistid:"+hex.EncodeToString([]byte("1234567812345678")), "-signature", sig, msg)
}

// zaDigest returns e = SM3(ZA || M) (GM/T 0003.2 §6.1) for the default ID,
// built here from the curve parameters and the public key as GM/T 0003.2
// §5.5 defines ZA, with SM3 from the openssl CLI (not the module's gmsm).
func zaDigest(t *testing.T, spki, msg []byte) []byte {
	t.Helper()
	var s struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	_, err := asn1.Unmarshal(spki, &s)
	require.NoError(t, err)
	pt := s.Key.Bytes
	require.Len(t, pt, 65)
	hexes := []string{ // GM/T 0003.5 recommended curve parameters a, b, Gx, Gy
		"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
		"28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
		"32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
		"BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
	}
	id := []byte("1234567812345678")
	za := []byte{byte(len(id) * 8 >> 8), byte(len(id) * 8)}
	za = append(za, id...)
	for _, h := range hexes {
		b, err := hex.DecodeString(h)
		require.NoError(t, err)
		za = append(za, b...)
	}
	za = append(za, pt[1:]...)
	sm3 := func(b []byte) []byte {
		f := filepath.Join(t.TempDir(), "in")
		require.NoError(t, os.WriteFile(f, b, 0o600))
		out, err := exec.Command("openssl", "dgst", "-sm3", "-binary", f).Output()
		require.NoError(t, err)
		return out
	}
	return sm3(append(sm3(za), msg...))
}

// cryptSM2PKE: openssl encrypts, the module decrypts; the module encrypts, KMS decrypts.
func cryptSM2PKE(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	dir := t.TempDir()
	pub, pt, ct := filepath.Join(dir, "pub.der"), filepath.Join(dir, "pt"), filepath.Join(dir, "ct")
	require.NoError(t, os.WriteFile(pub, k.info.PublicKeyDER, 0o600))
	require.NoError(t, os.WriteFile(pt, everyMsg, 0o600))
	everyOpenSSL(t, dir, "pkeyutl", "-encrypt", "-pubin", "-keyform", "DER", "-inkey", pub, "-in", pt, "-out", ct)
	blob, err := os.ReadFile(ct)
	require.NoError(t, err)
	m := []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}
	requireRV(t, ck.CKR_OK, e.p.DecryptInit(e.sh, m, k.priv))
	got, err := e.p.Decrypt(e.sh, blob)
	requireRV(t, ck.CKR_OK, err)
	require.Equal(t, everyMsg, got)
	requireRV(t, ck.CKR_OK, e.p.EncryptInit(e.sh, m, k.pub))
	blob, err = e.p.Encrypt(e.sh, everyMsg)
	requireRV(t, ck.CKR_OK, err)
	got, err = e.oracle.Decrypt(context.Background(), k.info.ARN, kmsbackend.SM2PKE, blob)
	require.NoError(t, err)
	require.Equal(t, everyMsg, got)
}

// deriveECDH: the derived CKA_VALUE equals Go's crypto/ecdh with the peer's
// private key and the KMS key's public key as the KMS published it.
func deriveECDH(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	curves := map[kmsbackend.KeySpec]ecdh.Curve{
		kmsbackend.SpecECCNISTP256: ecdh.P256(), kmsbackend.SpecECCNISTP384: ecdh.P384(), kmsbackend.SpecECCNISTP521: ecdh.P521(),
	}
	c, ok := curves[k.info.Spec]
	require.True(t, ok, "no Go curve for %s", k.info.Spec)
	peer, err := c.GenerateKey(rand.Reader)
	require.NoError(t, err)
	m := pkcs11.NewMechanism(mech, pkcs11.NewECDH1DeriveParams(ck.CKD_NULL, nil, peer.PublicKey().Bytes()))
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(ck.CKA_CLASS, ck.CKO_SECRET_KEY), pkcs11.NewAttribute(ck.CKA_TOKEN, false),
		pkcs11.NewAttribute(ck.CKA_SENSITIVE, false), pkcs11.NewAttribute(ck.CKA_EXTRACTABLE, true)}
	h, err := e.p.DeriveKey(e.sh, []*pkcs11.Mechanism{m}, k.priv, tmpl)
	requireRV(t, ck.CKR_OK, err)
	defer func() { requireRV(t, ck.CKR_OK, e.p.DestroyObject(e.sh, h)) }()
	kmsPub, err := parseECDHPublic(c, k.info.PublicKeyDER)
	require.NoError(t, err)
	want, err := peer.ECDH(kmsPub)
	require.NoError(t, err)
	require.Equal(t, want, attr(t, e.p, e.sh, h, ck.CKA_VALUE))
}

// parseECDHPublic reads the point out of an EC SubjectPublicKeyInfo.
func parseECDHPublic(c ecdh.Curve, spki []byte) (*ecdh.PublicKey, error) {
	var s struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &s); err != nil {
		return nil, err
	}
	return c.NewPublicKey(s.Key.Bytes)
}
