package devkms

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sm2Params is the SM2 curve from its standard (GB/T 32918.5-2017, section
// 2), for checks that do not go through gmsm. Its a is p-3, so the generic
// (a = -3) arithmetic of crypto/elliptic.CurveParams applies.
var sm2Params = func() *elliptic.CurveParams {
	h := func(s string) *big.Int { n, _ := new(big.Int).SetString(s, 16); return n }
	return &elliptic.CurveParams{
		Name:    "SM2",
		BitSize: 256,
		P:       h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"),
		N:       h("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"),
		B:       h("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"),
		Gx:      h("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"),
		Gy:      h("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"),
	}
}()

// sm2Point returns the uncompressed point of an SM2 SPKI.
func sm2Point(t *testing.T, spki []byte) (x, y *big.Int) {
	t.Helper()
	var f spkiFields
	_, err := asn1.Unmarshal(spki, &f)
	require.NoError(t, err)
	p := f.PublicKey.Bytes
	require.Len(t, p, 65)
	x, y = new(big.Int).SetBytes(p[1:33]), new(big.Int).SetBytes(p[33:])
	require.True(t, sm2Params.IsOnCurve(x, y))
	return x, y
}

// opensslSM3 hashes data with openssl dgst -sm3.
func opensslSM3(t *testing.T, dir string, data []byte) []byte {
	t.Helper()
	return openssl(t, "dgst", "-sm3", "-binary", writeFile(t, dir, "sm3-in", data))
}

// sm2E computes e = SM3(ZA || M) with ZA = SM3(ENTL || ID || a || b || xG ||
// yG || xA || yA) (GB/T 32918.2-2016, sections 5.5 and 6.1) for the ID
// 1234567812345678, with openssl for SM3.
func sm2E(t *testing.T, dir string, spki, msg []byte) []byte {
	t.Helper()
	x, y := sm2Point(t, spki)
	var z bytes.Buffer
	z.Write([]byte{0x00, 0x80}) // ENTL: 16 bytes = 128 bits
	z.WriteString("1234567812345678")
	a := new(big.Int).Sub(sm2Params.P, big.NewInt(3))
	for _, v := range []*big.Int{a, sm2Params.B, sm2Params.Gx, sm2Params.Gy, x, y} {
		z.Write(v.FillBytes(make([]byte, 32)))
	}
	za := opensslSM3(t, dir, z.Bytes())
	return opensslSM3(t, dir, append(za, msg...))
}

// opensslSM2Verify runs openssl pkeyutl -verify on msg (SM3 with the
// distinguishing ID distid, computed by openssl) and reports success.
// OpenSSL 3.0's own default ID is empty, so the ID is always explicit.
func opensslSM2Verify(t *testing.T, dir, pubPEM, distid string, msg, sig []byte) bool {
	t.Helper()
	cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+distid, "-in", writeFile(t, dir, "msg", msg), "-sigfile", writeFile(t, dir, "sig", sig))
	out, err := cmd.CombinedOutput()
	if err != nil {
		_, failed := err.(*exec.ExitError)
		require.True(t, failed, "openssl: %v", err)
		require.Contains(t, string(out), "Signature Verification Failure")
		return false
	}
	require.Contains(t, string(out), "Signature Verified Successfully")
	return true
}

func TestSM2SignVerify(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	md := createOwn(t, c, types.KeySpecSm2, types.KeyUsageTypeSignVerify)
	spki := publicKey(t, c, *md.KeyId)
	pubPEM := writePublicPEM(t, dir, "sm2.pem", spki)
	msg := []byte("报关单 SM2 签名")
	e := sm2E(t, dir, spki, msg)
	signKMS := func(t *testing.T, mt types.MessageType, m []byte) []byte {
		out, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: m, MessageType: mt, SigningAlgorithm: types.SigningAlgorithmSpecSm2dsa})
		require.NoError(t, err)
		assert.Equal(t, types.SigningAlgorithmSpecSm2dsa, out.SigningAlgorithm)
		return out.Signature
	}
	verifyKMS := func(mt types.MessageType, m, sig []byte) error {
		_, err := c.Verify(ctx, &kms.VerifyInput{KeyId: md.KeyId, Message: m, MessageType: mt, Signature: sig, SigningAlgorithm: types.SigningAlgorithmSpecSm2dsa})
		return err
	}
	t.Run("RAW signature verifies with openssl and the ID 1234567812345678 only", func(t *testing.T) {
		sig := signKMS(t, types.MessageTypeRaw, msg)
		assert.True(t, opensslSM2Verify(t, dir, pubPEM, "1234567812345678", msg, sig))
		assert.False(t, opensslSM2Verify(t, dir, pubPEM, "8765432187654321", msg, sig))
		require.NoError(t, verifyKMS(types.MessageTypeRaw, msg, sig))
		require.NoError(t, verifyKMS(types.MessageTypeDigest, e, sig))
		requireAPIError(t, verifyKMS(types.MessageTypeRaw, []byte("outro"), sig), "KMSInvalidSignatureException")
	})
	t.Run("DIGEST signature of e = SM3(ZA || M) verifies with openssl over M", func(t *testing.T) {
		sig := signKMS(t, types.MessageTypeDigest, e)
		assert.True(t, opensslSM2Verify(t, dir, pubPEM, "1234567812345678", msg, sig))
		require.NoError(t, verifyKMS(types.MessageTypeDigest, e, sig))
		require.NoError(t, verifyKMS(types.MessageTypeRaw, msg, sig))
	})
	refused := []struct {
		name string
		alg  types.SigningAlgorithmSpec
		mt   types.MessageType
		msg  []byte
		want string
	}{
		{"DIGEST of 31 bytes", types.SigningAlgorithmSpecSm2dsa, types.MessageTypeDigest, e[:31], "ValidationException"},
		{"EXTERNAL_MU", types.SigningAlgorithmSpecSm2dsa, types.MessageTypeExternalMu, make([]byte, 64), "ValidationException"},
		{"ECDSA algorithm", types.SigningAlgorithmSpecEcdsaSha256, types.MessageTypeDigest, e, "InvalidKeyUsageException"},
	}
	for _, tt := range refused {
		t.Run(tt.want+" for Sign: "+tt.name, func(t *testing.T) {
			_, err := c.Sign(ctx, &kms.SignInput{KeyId: md.KeyId, Message: tt.msg, MessageType: tt.mt, SigningAlgorithm: tt.alg})
			requireAPIError(t, err, tt.want)
		})
	}
	t.Run("InvalidKeyUsageException for Encrypt and DeriveSharedSecret with a SIGN_VERIFY key", func(t *testing.T) {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: msg, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSm2pke})
		requireAPIError(t, err, "InvalidKeyUsageException")
		_, err = c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: spki})
		requireAPIError(t, err, "InvalidKeyUsageException")
	})
}

// sm2SPKI encodes the SM2 point (x, y) as an SPKI with encoding/asn1 alone.
func sm2SPKI(t *testing.T, x, y *big.Int) []byte {
	t.Helper()
	curve, err := asn1.Marshal(oidSM2)
	require.NoError(t, err)
	point := append([]byte{4}, append(x.FillBytes(make([]byte, 32)), y.FillBytes(make([]byte, 32))...)...)
	der, err := asn1.Marshal(spkiFields{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidECPublicKey, Parameters: asn1.RawValue{FullBytes: curve}},
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
	require.NoError(t, err)
	return der
}

// TestSM2DeriveSharedSecret checks the SM2 shared secret against the generic
// big-integer arithmetic of crypto/elliptic on the standard's parameters
// (OpenSSL 3.0 cannot derive with SM2 keys).
func TestSM2DeriveSharedSecret(t *testing.T) {
	c := ownServer(t)
	ctx := context.Background()
	dir := t.TempDir()
	md := createOwn(t, c, types.KeySpecSm2, types.KeyUsageTypeKeyAgreement)
	kx, ky := sm2Point(t, publicKey(t, c, *md.KeyId))
	derive := func(peer []byte) ([]byte, error) {
		out, err := c.DeriveSharedSecret(ctx, &kms.DeriveSharedSecretInput{KeyId: md.KeyId, KeyAgreementAlgorithm: types.KeyAgreementAlgorithmSpecEcdh, PublicKey: peer})
		if err != nil {
			return nil, err
		}
		assert.Equal(t, types.KeyAgreementAlgorithmSpecEcdh, out.KeyAgreementAlgorithm)
		return out.SharedSecret, nil
	}
	for i := range 3 {
		t.Run("secret is the x-coordinate of d_peer * Q_kms #"+big.NewInt(int64(i)).String(), func(t *testing.T) {
			d, err := rand.Int(rand.Reader, new(big.Int).Sub(sm2Params.N, big.NewInt(1)))
			require.NoError(t, err)
			d.Add(d, big.NewInt(1))
			px, py := sm2Params.ScalarBaseMult(d.Bytes())
			sx, _ := sm2Params.ScalarMult(kx, ky, d.Bytes())
			got, err := derive(sm2SPKI(t, px, py))
			require.NoError(t, err)
			assert.Equal(t, sx.FillBytes(make([]byte, 32)), got)
		})
	}
	t.Run("an openssl SM2 public key is accepted", func(t *testing.T) {
		_, spki := opensslPeer(t, dir, "sm2-peer", "SM2")
		got, err := derive(spki)
		require.NoError(t, err)
		assert.Len(t, got, 32)
	})
	_, p256 := opensslPeer(t, dir, "p256-peer", "P-256")
	px, py := sm2Params.ScalarBaseMult([]byte{7})
	refused := []struct {
		name string
		peer []byte
	}{
		{"peer key on P-256", p256},
		{"peer point not on the SM2 curve", sm2SPKI(t, px, new(big.Int).Add(py, big.NewInt(1)))},
		{"peer key not DER", []byte("junk")},
	}
	for _, tt := range refused {
		t.Run("ValidationException for "+tt.name, func(t *testing.T) {
			_, err := derive(tt.peer)
			requireAPIError(t, err, "ValidationException")
		})
	}
}
