package sm2pke

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"testing"
	"testing/iotest"

	"github.com/emmansun/gmsm/sm2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncryptDecryptedByOpenSSL(t *testing.T) {
	k := newTestKey(t)
	for _, n := range []int{1, 2, 31, 32, 33, 100, 1024, 4096} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			msg := make([]byte, n)
			_, err := rand.Read(msg)
			require.NoError(t, err)
			ct, err := Encrypt(rand.Reader, k.pub(), msg)
			require.NoError(t, err)
			c, err := Parse(ct)
			require.NoError(t, err)
			assert.Len(t, c.C2, n, "C2 is as long as the message")
			pt, out, err := k.opensslDecrypt(t, ct)
			require.NoError(t, err, "openssl refused our ciphertext: %s", out)
			assert.Equal(t, msg, pt)
			pt, err = Decrypt(k.priv, ct)
			require.NoError(t, err)
			assert.Equal(t, msg, pt)
		})
	}
}

func TestDecryptOpenSSLCiphertext(t *testing.T) {
	k := newTestKey(t)
	for _, n := range []int{1, 32, 1024} {
		msg := bytes.Repeat([]byte{byte(n) | 1}, n)
		ct := k.opensslEncrypt(t, msg)
		pt, err := Decrypt(k.priv, ct)
		require.NoError(t, err, "%d bytes", n)
		assert.Equal(t, msg, pt)
	}
}

// TestEncryptRetriesWhenTIsZero forces step A5's retry: the random source
// first gives a k whose t is all zeros for a 1-byte message, then another.
// The ciphertext must be made with the second k against the untouched
// public key (gmsm v0.15.5 used [k1]P_B there and lost the message).
func TestEncryptRetriesWhenTIsZero(t *testing.T) {
	k := newTestKey(t)
	k1 := findK(t, k.pub(), 0)
	k2 := new(big.Int).Add(k1, big.NewInt(1))
	random := &countingReader{r: bytes.NewReader(append(scalar(k1), scalar(k2)...))}
	msg := []byte{0x5A}
	ct, err := Encrypt(random, k.pub(), msg)
	require.NoError(t, err)
	assert.Equal(t, 2*coordLen, random.n, "two k drawn: the first had t = 0")
	c, err := Parse(ct)
	require.NoError(t, err)
	x, y := sm2.P256().ScalarBaseMult(scalar(k2))
	assert.Zero(t, x.Cmp(c.X), "C1 = [k2]G")
	assert.Zero(t, y.Cmp(c.Y), "C1 = [k2]G")
	pt, out, err := k.opensslDecrypt(t, ct)
	require.NoError(t, err, "openssl refused the ciphertext made after the retry: %s", out)
	assert.Equal(t, msg, pt)
	pt, err = Decrypt(k.priv, ct)
	require.NoError(t, err)
	assert.Equal(t, msg, pt)
}

// TestAllZeroC2 decrypts a valid ciphertext whose C2 is all zeros (t = M):
// section 7.1 B4 refuses an all-zero t, not C2 (gmsm v0.15.5 refused it).
func TestAllZeroC2(t *testing.T) {
	k := newTestKey(t)
	msg := []byte{0xC3}
	kc := findK(t, k.pub(), msg[0])
	ct, err := Encrypt(bytes.NewReader(scalar(kc)), k.pub(), msg)
	require.NoError(t, err)
	c, err := Parse(ct)
	require.NoError(t, err)
	require.Equal(t, []byte{0}, c.C2)
	pt, out, err := k.opensslDecrypt(t, ct)
	require.NoError(t, err, "openssl refused it: %s", out)
	assert.Equal(t, msg, pt)
	pt, err = Decrypt(k.priv, ct)
	require.NoError(t, err)
	assert.Equal(t, msg, pt)
}

// TestDrawScalar feeds k candidates outside [1, n-1] before n-1: Encrypt
// must skip them, and C1 = [n-1]G = -G = (Gx, p - Gy) (GB/T 32918.5-2017
// parameters), computed here without the curve arithmetic.
func TestDrawScalar(t *testing.T) {
	k := newTestKey(t)
	params := sm2.P256().Params()
	nMinus1 := new(big.Int).Sub(params.N, big.NewInt(1))
	var stream []byte
	for _, v := range []*big.Int{new(big.Int), params.N, new(big.Int).Add(params.N, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 256).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), nMinus1} {
		stream = append(stream, scalar(v)...)
	}
	random := &countingReader{r: bytes.NewReader(stream)}
	ct, err := Encrypt(random, k.pub(), []byte("k = n-1"))
	require.NoError(t, err)
	assert.Equal(t, len(stream), random.n, "four candidates refused, the fifth taken")
	c, err := Parse(ct)
	require.NoError(t, err)
	assert.Zero(t, params.Gx.Cmp(c.X), "C1.x = Gx")
	assert.Zero(t, new(big.Int).Sub(params.P, params.Gy).Cmp(c.Y), "C1.y = p - Gy")
	pt, out, err := k.opensslDecrypt(t, ct)
	require.NoError(t, err, out)
	assert.Equal(t, []byte("k = n-1"), pt)
}

func TestEncryptRefusals(t *testing.T) {
	k := newTestKey(t)
	offCurve := &ecdsa.PublicKey{Curve: sm2.P256(), X: k.pub().X, Y: new(big.Int).Add(k.pub().Y, big.NewInt(1))}
	rows := []struct {
		name   string
		random io.Reader
		pub    *ecdsa.PublicKey
		msg    []byte
		want   string
	}{
		{"empty message", rand.Reader, k.pub(), nil, "sm2pke: plaintext of 0 bytes; SM2 encrypts 1 to 137438953408"},
		{"nil key", rand.Reader, nil, []byte("m"), "sm2pke: public key is not a point of sm2p256v1"},
		{"point off the curve", rand.Reader, offCurve, []byte("m"), "sm2pke: public key is not a point of sm2p256v1"},
		{"infinity (0, 0)", rand.Reader, &ecdsa.PublicKey{Curve: sm2.P256(), X: new(big.Int), Y: new(big.Int)}, []byte("m"), "sm2pke: public key is not a point of sm2p256v1"},
		{"random source fails", iotest.ErrReader(errors.New("no entropy")), k.pub(), []byte("m"), "sm2pke: reading k from the random source: no entropy"},
		{"random source ends mid-k", bytes.NewReader(make([]byte, 40)), k.pub(), []byte("m"), "sm2pke: reading k from the random source: unexpected EOF"},
		{"random source of zeros only", zeroReader{}, k.pub(), []byte("m"), "sm2pke: the random source gave no usable k in 64 draws"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ct, err := Encrypt(r.random, r.pub, r.msg)
			require.EqualError(t, err, r.want)
			assert.Nil(t, ct)
		})
	}
}

func TestDecryptKeyRefusals(t *testing.T) {
	k := newTestKey(t)
	ct, err := Encrypt(nil, k.pub(), []byte("m"))
	require.NoError(t, err)
	n := sm2.P256().Params().N
	for _, d := range []*big.Int{nil, new(big.Int), big.NewInt(-1), new(big.Int).Sub(n, big.NewInt(1)), n} {
		priv := &ecdsa.PrivateKey{PublicKey: *k.pub(), D: d}
		_, err := Decrypt(priv, ct)
		require.EqualError(t, err, "sm2pke: private key is not in [1, n-2] (GB/T 32918.1-2016 section 6.1)", "d = %v", d)
	}
	_, err = Decrypt(nil, ct)
	require.Error(t, err)
}

// zeroReader is a random source that gives only zero bytes.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
