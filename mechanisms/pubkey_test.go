package mechanisms

import (
	"bytes"
	"encoding/hex"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestParsePublicKeySucceeds(t *testing.T) {
	rows := []struct {
		name        string
		spec        kmsbackend.KeySpec
		kind        KeyKind
		curve       Curve
		modBits     int
		ecParamsHex string
		ecPointHead string // hex of the DER OCTET STRING header plus the 04 point tag
		ecPointLen  int
	}{
		{"parses RSA-2048", kmsbackend.SpecRSA2048, KindRSA, CurveNone, 2048, "", "", 0},
		{"parses RSA-3072", kmsbackend.SpecRSA3072, KindRSA, CurveNone, 3072, "", "", 0},
		{"parses RSA-4096", kmsbackend.SpecRSA4096, KindRSA, CurveNone, 4096, "", "", 0},
		{"parses P-256 with short-form EC_POINT", kmsbackend.SpecECCNISTP256, KindEC, CurveP256, 0, "06082a8648ce3d030107", "044104", 67},
		{"parses P-384 with short-form EC_POINT", kmsbackend.SpecECCNISTP384, KindEC, CurveP384, 0, "06052b81040022", "046104", 99},
		{"parses P-521 with long-form EC_POINT", kmsbackend.SpecECCNISTP521, KindEC, CurveP521, 0, "06052b81040023", "04818504", 136},
		{"parses secp256k1 by hand", kmsbackend.SpecECCSECGP256K1, KindEC, CurveSecp256k1, 0, "06052b8104000a", "044104", 67},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			tk := keyFor(t, r.spec)
			pub, err := ParsePublicKey(tk.spki)
			require.NoError(t, err)
			assert.Equal(t, r.kind, pub.Kind)
			assert.Equal(t, r.curve, pub.Curve)
			assert.Equal(t, r.modBits, pub.ModulusBits())
			assert.Equal(t, tk.spki, pub.SPKI)
			assert.Equal(t, r.ecParamsHex, hex.EncodeToString(pub.Curve.ECParams()))
			assert.Equal(t, r.curve, CurveFromSpec(r.spec))
			ecPoint := pub.ECPoint()
			assert.Len(t, ecPoint, r.ecPointLen)
			if r.kind == KindRSA {
				assert.Equal(t, 0, tk.rsa.PublicKey.N.Cmp(pub.RSA.N))
				assert.Equal(t, tk.rsa.PublicKey.E, pub.RSA.E)
				assert.Nil(t, pub.Point())
				return
			}
			assert.Equal(t, r.ecPointHead, hex.EncodeToString(ecPoint[:len(r.ecPointHead)/2]))
			var want []byte
			if tk.k1 != nil {
				want = tk.k1.PubKey().SerializeUncompressed()
			} else {
				want, err = tk.ec.PublicKey.Bytes()
				require.NoError(t, err)
			}
			assert.Equal(t, want, pub.Point())
			assert.Equal(t, want, ecPoint[len(ecPoint)-len(want):])
		})
	}
}

func TestParsePublicKeyReadsOpenSSLSecp256k1Key(t *testing.T) {
	der, err := os.ReadFile("testdata/secp256k1_pub.der") // openssl ecparam -name secp256k1 | openssl pkey -pubout
	require.NoError(t, err)
	pub, err := ParsePublicKey(der)
	require.NoError(t, err)
	assert.Equal(t, CurveSecp256k1, pub.Curve)
	assert.Equal(t, "04d0c054f0d49306bd68e02feff4f8f107dffffb62e494f70076bc3ffb6781e1fd6dae2bfb76c3023b706f235b1b9bce1f967685797503d8e948bdad9182519365", hex.EncodeToString(pub.Point()))
	assert.Equal(t, "d0c054f0d49306bd68e02feff4f8f107dffffb62e494f70076bc3ffb6781e1fd", pub.X.Text(16))
}

func TestParsePublicKeyFails(t *testing.T) {
	k1 := func(t *testing.T, mutate func(p []byte) []byte) []byte {
		p := keyFor(t, kmsbackend.SpecECCSECGP256K1).k1.PubKey().SerializeUncompressed()
		der, err := secp256k1SPKI(mutate(p))
		require.NoError(t, err)
		return der
	}
	file := func(t *testing.T, name string) []byte {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		return b
	}
	rows := []struct {
		name    string
		input   func(t *testing.T) []byte
		wantMsg string
	}{
		{"fails on empty input", func(t *testing.T) []byte { return nil }, "parse public key: asn1: syntax error: sequence truncated"},
		{"fails on trailing bytes", func(t *testing.T) []byte {
			return append(bytes.Clone(keyFor(t, kmsbackend.SpecECCNISTP256).spki), 0)
		}, "parse public key: 1 trailing bytes after SubjectPublicKeyInfo"},
		{"fails on P-224 curve", func(t *testing.T) []byte { return file(t, "testdata/p224_pub.der") }, "parse public key: unsupported curve P-224"},
		{"fails on secp256k1 point off the curve", func(t *testing.T) []byte {
			return k1(t, func(p []byte) []byte { p[64] ^= 1; return p })
		}, "not on secp256k1 curve"},
		{"fails on secp256k1 compressed point", func(t *testing.T) []byte {
			return k1(t, func(p []byte) []byte { return append([]byte{0x02 | p[64]&1}, p[1:33]...) })
		}, "parse public key: secp256k1 key is not a 65-byte uncompressed point"},
		{"fails on secp256k1 hybrid point", func(t *testing.T) []byte {
			return k1(t, func(p []byte) []byte { p[0] = 0x06 | p[64]&1; return p })
		}, "parse public key: secp256k1 key is not a 65-byte uncompressed point"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			pub, err := ParsePublicKey(r.input(t))
			require.Error(t, err)
			assert.Nil(t, pub)
			assert.Contains(t, err.Error(), r.wantMsg)
			var ce *ck.Error
			assert.NotErrorAs(t, err, &ce, "public-key errors are plain; the caller picks the CK_RV")
		})
	}
}

func TestPublicKeyAccessorsOnOtherKinds(t *testing.T) {
	var nilKey *PublicKey
	assert.Nil(t, nilKey.ECPoint())
	assert.Equal(t, 0, nilKey.ModulusBits())
	ec, err := ParsePublicKey(keyFor(t, kmsbackend.SpecECCNISTP384).spki)
	require.NoError(t, err)
	assert.Equal(t, 0, ec.ModulusBits())
	assert.Nil(t, CurveNone.ECParams())
	assert.Equal(t, 0, CurveNone.OrderLen())
	assert.Equal(t, CurveNone, CurveFromSpec(kmsbackend.SpecRSA2048))
}

func TestCurveProperties(t *testing.T) {
	rows := []struct {
		name      string
		curve     Curve
		str       string
		orderLen  int
		bits      int
		digestLen int
		alg       kmsbackend.SigningAlgorithm
	}{
		{"P-256 signs SHA-256 digests", CurveP256, "P-256", 32, 256, 32, kmsbackend.ECDSA_SHA_256},
		{"P-384 signs SHA-384 digests", CurveP384, "P-384", 48, 384, 48, kmsbackend.ECDSA_SHA_384},
		{"P-521 signs SHA-512 digests", CurveP521, "P-521", 66, 521, 64, kmsbackend.ECDSA_SHA_512},
		{"secp256k1 signs SHA-256 digests", CurveSecp256k1, "secp256k1", 32, 256, 32, kmsbackend.ECDSA_SHA_256},
		{"unknown curve has no properties", Curve(99), "Curve(99)", 0, 0, 0, kmsbackend.SignUnknown},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.str, r.curve.String())
			assert.Equal(t, r.orderLen, r.curve.OrderLen())
			assert.Equal(t, r.bits, r.curve.Bits())
			assert.Equal(t, r.digestLen, r.curve.DigestLen())
			assert.Equal(t, r.alg, r.curve.Algorithm())
		})
	}
}
