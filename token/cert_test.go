package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// caSignedCert returns a DER certificate for the public key spki, issued by a fresh test CA.
func caSignedCert(t *testing.T, spki []byte, cn string) []byte {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	require.NoError(t, err)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234567890), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC)}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	require.NoError(t, err)
	return der
}

func TestCertificateObjectFromConfiguration(t *testing.T) {
	m, _ := testModule(t, "")
	sh := openSession(t, m)
	_, p256 := keyPair(t, m, sh, "t-p256")
	_, rsa := keyPair(t, m, sh, "t-rsa2048")
	spki := attrValue(t, m, sh, p256, ck.CKA_PUBLIC_KEY_INFO)
	id := attrValue(t, m, sh, p256, ck.CKA_ID)
	der := caSignedCert(t, spki, "p11kms test signer")
	wrong := caSignedCert(t, attrValue(t, m, sh, rsa, ck.CKA_PUBLIC_KEY_INFO), "not the p384 key")
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "p256.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	wrongFile := filepath.Join(dir, "wrong.der")
	require.NoError(t, os.WriteFile(wrongFile, wrong, 0o600))
	require.NoError(t, m.Finalize())

	m2, _ := testModule(t, "    certificates:\n      - {key: t-p256, file: "+pemFile+"}\n      - {key: alias/t-p384, file: "+wrongFile+"}\n")
	sh = openSession(t, m2)
	certs := findAll(t, m2, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_CERTIFICATE)})
	require.Len(t, certs, 1, "the mismatched certificate is not attached")
	c := certs[0]
	parsed, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	for typ, want := range map[uint][]byte{
		ck.CKA_VALUE:            der,
		ck.CKA_ID:               id,
		ck.CKA_LABEL:            []byte("t-p256"),
		ck.CKA_SUBJECT:          parsed.RawSubject,
		ck.CKA_ISSUER:           parsed.RawIssuer,
		ck.CKA_SERIAL_NUMBER:    {0x02, 0x05, 0x12, 0x34, 0x56, 0x78, 0x90},
		ck.CKA_CERTIFICATE_TYPE: encodeULong(ck.CKC_X_509),
		ck.CKA_START_DATE:       []byte("20260102"),
		ck.CKA_END_DATE:         []byte("20270304"),
		ck.CKA_PUBLIC_KEY_INFO:  spki,
		ck.CKA_PRIVATE:          {0},
	} {
		assert.Equal(t, want, attrValue(t, m2, sh, c, typ), ck.RVName(typ))
	}
}

func TestParseCertViewSecp256k1(t *testing.T) {
	dir := t.TempDir()
	key, crt := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.der")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp256k1",
		"-nodes", "-keyout", key, "-subj", "/CN=k1 signer", "-days", "2", "-outform", "DER", "-out", crt).CombinedOutput()
	require.NoError(t, err, string(out))
	der, err := os.ReadFile(crt)
	require.NoError(t, err)
	_, err = x509.ParseCertificate(der)
	require.Error(t, err, "crypto/x509 cannot parse secp256k1 certificates: the reason certparse.go exists")
	spki, err := exec.Command("openssl", "pkey", "-in", key, "-pubout", "-outform", "DER").Output()
	require.NoError(t, err)
	v, err := parseCertView(der)
	require.NoError(t, err)
	assert.Equal(t, spki, v.spki)
	assert.Equal(t, "CN=k1 signer", v.name)
	assert.Equal(t, byte(0x02), v.serial[0])
	_, err = parseCertView(append(der, 0))
	assert.ErrorContains(t, err, "trailing")
	_, err = parseCertView([]byte("not a certificate"))
	assert.Error(t, err)
}
