package sm2pke

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Exact errors of Parse and Decrypt.
const (
	errForm  = "sm2pke: invalid ciphertext: not one DER SEQUENCE {x, y INTEGER, C3, C2 OCTET STRING} (GM/T 0009-2012)"
	errC1    = "sm2pke: invalid ciphertext: C1 is not a point of sm2p256v1 (GB/T 32918.4-2016 section 7.1 B1)"
	errC2    = "sm2pke: invalid ciphertext: C2 is empty"
	errC3    = "sm2pke: invalid ciphertext: C3 does not match (another key's ciphertext, or altered)"
	errTZero = "sm2pke: invalid ciphertext: KDF output t is all zeros"
)

// der encodes the fields as a SEQUENCE the way a test row wants: each
// element is added by its own function, so rows can bend one of them.
func der(t testing.TB, elems ...func(b *cryptobyte.Builder)) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			e(b)
		}
	})
	out, err := b.Bytes()
	require.NoError(t, err)
	return out
}

func bigInt(v *big.Int) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddASN1BigInt(v) }
}

func octets(v []byte) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) }
}

// raw adds a TLV of the tag with contents v as given (no minimality).
func raw(tag cbasn1.Tag, v []byte) func(*cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) { b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(v) }) }
}

func TestParseAndDecryptRefusals(t *testing.T) {
	k := newTestKey(t)
	params := sm2.P256().Params()
	good := k.opensslEncrypt(t, []byte("Z")) // short: its SEQUENCE length fits one byte
	c, err := Parse(good)
	require.NoError(t, err)
	x, y, c3, c2 := c.X, c.Y, c.C3, c.C2
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-1] ^= 1; return b }
	coords := append(x.FillBytes(make([]byte, 32)), y.FillBytes(make([]byte, 32))...)
	k1 := findK(t, k.pub(), 0) // its [k1]G decrypts to an all-zero t for 1 byte
	tx, ty := sm2.P256().ScalarBaseMult(scalar(k1))
	other, err := Encrypt(nil, newTestKey(t).pub(), []byte("Z"))
	require.NoError(t, err)
	rows := []struct {
		name     string
		ct       []byte
		parseErr string // "" when Parse accepts it
		decErr   string // "" when Decrypt accepts it (and returns "Z")
	}{
		{"openssl's ciphertext", good, "", ""},
		{"re-encoded from its fields", der(t, bigInt(x), bigInt(y), octets(c3), octets(c2)), "", ""},
		{"not DER", []byte("not a ciphertext"), errForm, errForm},
		{"empty", nil, errForm, errForm},
		{"a trailing byte", append(bytes.Clone(good), 0), errForm, errForm},
		{"bare C1||C3||C2", bytes.Join([][]byte{{4}, coords, c3, c2}, nil), errForm, errForm},
		{"bare C1||C2||C3", bytes.Join([][]byte{{4}, coords, c2, c3}, nil), errForm, errForm},
		{"SEQUENCE length in long form", append([]byte{0x30, 0x81, good[1]}, good[2:]...), errForm, errForm},
		{"SEQUENCE of indefinite length", append(append([]byte{0x30, 0x80}, good[2:]...), 0, 0), errForm, errForm},
		{"x with a needless 0x00", der(t, raw(cbasn1.INTEGER, append([]byte{0, 0}, x.Bytes()...)), bigInt(y), octets(c3), octets(c2)), errForm, errForm},
		{"C3 as a BIT STRING", der(t, bigInt(x), bigInt(y), raw(cbasn1.BIT_STRING, append([]byte{0}, c3...)), octets(c2)), errForm, errForm},
		{"C2 as a constructed OCTET STRING", der(t, bigInt(x), bigInt(y), octets(c3), raw(cbasn1.OCTET_STRING.Constructed(), append([]byte{4, 1}, c2...))), errForm, errForm},
		{"a fifth element", der(t, bigInt(x), bigInt(y), octets(c3), octets(c2), raw(cbasn1.NULL, nil)), errForm, errForm},
		{"C3 of 31 bytes", der(t, bigInt(x), bigInt(y), octets(c3[:31]), octets(c2)), "sm2pke: invalid ciphertext: hash C3 is 31 bytes, SM3 is 32", "sm2pke: invalid ciphertext: hash C3 is 31 bytes, SM3 is 32"},
		{"C3 of 33 bytes", der(t, bigInt(x), bigInt(y), octets(append(bytes.Clone(c3), 0)), octets(c2)), "sm2pke: invalid ciphertext: hash C3 is 33 bytes, SM3 is 32", "sm2pke: invalid ciphertext: hash C3 is 33 bytes, SM3 is 32"},
		{"C1 off the curve", der(t, bigInt(x), bigInt(new(big.Int).Add(y, big.NewInt(1))), octets(c3), octets(c2)), errC1, errC1},
		{"C1 negative x", der(t, bigInt(new(big.Int).Neg(x)), bigInt(y), octets(c3), octets(c2)), errC1, errC1},
		{"C1 x + p", der(t, bigInt(new(big.Int).Add(x, params.P)), bigInt(y), octets(c3), octets(c2)), errC1, errC1},
		{"C1 (0, 0), the infinity", der(t, bigInt(new(big.Int)), bigInt(new(big.Int)), octets(c3), octets(c2)), errC1, errC1},
		{"empty C2", der(t, bigInt(x), bigInt(y), octets(c3), octets(nil)), "", errC2},
		{"C2 altered", der(t, bigInt(x), bigInt(y), octets(c3), octets(flip(c2))), "", errC3},
		{"C3 altered", der(t, bigInt(x), bigInt(y), octets(flip(c3)), octets(c2)), "", errC3},
		{"C1 negated", der(t, bigInt(x), bigInt(new(big.Int).Sub(params.P, y)), octets(c3), octets(c2)), "", errC3},
		{"another key's ciphertext", other, "", errC3},
		{"C1 whose t is all zeros (B4)", der(t, bigInt(tx), bigInt(ty), octets(c3), octets(c2)), "", errTZero},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := Parse(r.ct)
			checkErr(t, r.parseErr, err)
			pt, err := Decrypt(k.priv, r.ct)
			checkErr(t, r.decErr, err)
			if r.decErr == "" {
				assert.Equal(t, []byte("Z"), pt)
			} else {
				assert.Nil(t, pt)
			}
		})
	}
}

// checkErr wants err to be nil (want "") or exactly want, wrapping
// ErrInvalidCiphertext.
func checkErr(t *testing.T, want string, err error) {
	t.Helper()
	if want == "" {
		require.NoError(t, err)
		return
	}
	require.EqualError(t, err, want)
	assert.True(t, errors.Is(err, ErrInvalidCiphertext))
}
