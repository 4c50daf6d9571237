package mechanisms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestDERToRaw(t *testing.T) {
	h := func(s string) []byte { return mustHex(t, s) }
	rows := []struct {
		name     string
		der      []byte
		orderLen int
		want     []byte
		wantErr  string
	}{
		{"pads short r and s on the left", h("3006020101020102"), 4, h("0000000100000002"), ""},
		{"strips the sign octet of a high-bit r", h("30090202008002030100ff"), 3, h("0000800100ff"), ""},
		{"keeps full-width halves", h("300a020311223302033344ff"), 3, h("1122333344ff"), ""},
		{"refuses an empty input", nil, 32, nil, "ecdsa signature: DER element truncated"},
		{"refuses zero order length", h("3006020101020102"), 0, nil, "ecdsa signature: order length 0 outside 1..66"},
		{"refuses trailing bytes", h("300602010102010200"), 4, nil, "ecdsa signature: 1 trailing bytes"},
		{"refuses a third INTEGER", h("3009020101020102020103"), 4, nil, "ecdsa signature: 3 bytes after s"},
		{"refuses a missing s", h("3003020101"), 4, nil, "ecdsa signature s: DER element truncated"},
		{"refuses a zero r", h("3006020100020102"), 4, nil, "ecdsa signature r: zero INTEGER"},
		{"refuses a negative s", h("3006020101020180"), 4, nil, "ecdsa signature s: negative INTEGER"},
		{"refuses a non-minimal r", h("300702020001020102"), 4, nil, "ecdsa signature r: INTEGER not minimally encoded"},
		{"refuses an empty INTEGER", h("30050201010200"), 4, nil, "ecdsa signature s: empty INTEGER"},
		{"refuses r longer than the order", h("3008020301020302010" + "2"), 2, nil, "ecdsa signature r: 3 bytes, longer than the order (2)"},
		{"refuses an order length above P-521's", h("3006020101020102"), 67, nil, "ecdsa signature: order length 67 outside 1..66"},
		{"refuses a non-minimal sequence length", h("308106020101020102"), 4, nil, "ecdsa signature: DER length not minimal or truncated"},
		{"refuses an indefinite length", h("30800201010201020000"), 4, nil, "ecdsa signature: DER indefinite length not allowed"},
		{"refuses a SET", h("3106020101020102"), 4, nil, "ecdsa signature: tag 0x31, want 0x30"},
		{"refuses an OCTET STRING r", h("3006040101020102"), 4, nil, "ecdsa signature r: tag 0x04, want 0x02"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			raw, err := DERToRaw(r.der, r.orderLen)
			if r.wantErr != "" {
				require.EqualError(t, err, r.wantErr)
				assert.Nil(t, raw)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, r.want, raw)
			back, err := RawToDER(raw)
			require.NoError(t, err)
			assert.Equal(t, r.der, back)
		})
	}
}

func TestRawToDER(t *testing.T) {
	h := func(s string) []byte { return mustHex(t, s) }
	rows := []struct {
		name    string
		raw     []byte
		want    []byte
		wantErr string
	}{
		{"strips leading zeros", h("0000000100000002"), h("3006020101020102"), ""},
		{"adds a sign octet to a high-bit half", h("0080010000ff"), h("3009020300800102020" + "0ff"), ""},
		{"refuses empty input", nil, nil, "ecdsa signature: r||s length 0 is not even and non-zero"},
		{"refuses odd length", h("010203"), nil, "ecdsa signature: r||s length 3 is not even and non-zero"},
		{"refuses zero r", h("00000001"), nil, "ecdsa signature: r is zero"},
		{"refuses zero s", h("00010000"), nil, "ecdsa signature: s is zero"},
		{"refuses halves longer than P-521's order", bytes.Repeat([]byte{1}, 2*67), nil, "ecdsa signature: r||s halves of 67 bytes exceed 66"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			der, err := RawToDER(r.raw)
			if r.wantErr != "" {
				require.EqualError(t, err, r.wantErr)
				assert.Nil(t, der)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, r.want, der)
		})
	}
}

func TestAdjustDigest(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		return b
	}
	padded := func(n int, d []byte) []byte { return append(make([]byte, n-len(d)), d...) }
	rows := []struct {
		name    string
		digest  []byte
		curve   Curve
		want    []byte
		wantRV  uint
		wantMsg string
	}{
		{"keeps a 32-byte digest on P-256", seq(32), CurveP256, seq(32), ck.CKR_OK, ""},
		{"left-pads a 20-byte digest on P-256", seq(20), CurveP256, padded(32, seq(20)), ck.CKR_OK, ""},
		{"cuts a 64-byte digest to its leftmost 32 on P-256", seq(64), CurveP256, seq(32), ck.CKR_OK, ""},
		{"cuts a 48-byte digest to its leftmost 32 on secp256k1", seq(48), CurveSecp256k1, seq(32), ck.CKR_OK, ""},
		{"left-pads a 32-byte digest to 48 on P-384", seq(32), CurveP384, padded(48, seq(32)), ck.CKR_OK, ""},
		{"cuts a 64-byte digest to 48 on P-384", seq(64), CurveP384, seq(48), ck.CKR_OK, ""},
		{"left-pads a 32-byte digest to 64 on P-521", seq(32), CurveP521, padded(64, seq(32)), ck.CKR_OK, ""},
		{"keeps a 64-byte digest on P-521", seq(64), CurveP521, seq(64), ck.CKR_OK, ""},
		{"refuses a 66-byte digest on P-521", seq(66), CurveP521, nil, ck.CKR_DATA_LEN_RANGE,
			"ecdsa: a 66-byte digest on P-521 needs its leftmost 521 bits; AWS KMS signs only 64-byte digests on this curve"},
		{"refuses an empty digest", nil, CurveP256, nil, ck.CKR_DATA_LEN_RANGE, "ecdsa: empty digest"},
		{"refuses no curve", seq(32), CurveNone, nil, ck.CKR_FUNCTION_FAILED, "ecdsa: no KMS digest length for curve Curve(0)"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := AdjustDigest(r.digest, r.curve)
			requireRV(t, r.wantRV, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Equal(t, r.want, got)
		})
	}
}

// TestDERToRawKeepsEveryECDSASignatureValid signs random digests with Go's
// crypto, converts with DERToRaw and verifies r and s as integers with
// ecdsa.Verify. Short r or s (left padding needed) occur ~1/128 of the time
// per half on P-256 and about half the time on P-521; the test also checks
// that such signatures were actually seen.
func TestDERToRawKeepsEveryECDSASignatureValid(t *testing.T) {
	rows := []struct {
		name  string
		spec  kmsbackend.KeySpec
		count int
		// wantShort: short halves are certain enough to assert (P-256: ~16
		// expected in 2000, P(none) ~ 1e-7; P-384: ~4 in 500, too few to assert).
		wantShort bool
	}{
		{"2000 P-256 signatures verify", kmsbackend.SpecECCNISTP256, 2000, true},
		{"500 P-384 signatures verify", kmsbackend.SpecECCNISTP384, 500, false},
		{"500 P-521 signatures verify", kmsbackend.SpecECCNISTP521, 500, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			priv := keyFor(t, r.spec).ec
			n := CurveFromSpec(r.spec).OrderLen()
			short := 0
			digest := make([]byte, CurveFromSpec(r.spec).DigestLen())
			for i := 0; i < r.count; i++ {
				_, err := rand.Read(digest)
				require.NoError(t, err)
				der, err := ecdsa.SignASN1(rand.Reader, priv, digest)
				require.NoError(t, err)
				raw, err := DERToRaw(der, n)
				require.NoError(t, err)
				require.Len(t, raw, 2*n)
				var parsed struct{ R, S *big.Int }
				_, err = asn1.Unmarshal(der, &parsed)
				require.NoError(t, err)
				if len(parsed.R.Bytes()) < n || len(parsed.S.Bytes()) < n {
					short++
				}
				rr, ss := new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])
				require.True(t, ecdsa.Verify(&priv.PublicKey, digest, rr, ss), "signature %d does not verify", i)
				back, err := RawToDER(raw)
				require.NoError(t, err)
				require.Equal(t, der, back)
			}
			t.Logf("%d of %d signatures had a short r or s", short, r.count)
			if r.wantShort {
				assert.Positive(t, short, "no signature exercised the left padding")
			}
		})
	}
}

// FuzzDERToRaw: never panics; accepted input has the fixed width and
// converts back to the same bytes.
func FuzzDERToRaw(f *testing.F) {
	f.Add(mustHex(f, "3006020101020102"), 32)
	f.Add(mustHex(f, "30090202008002030100ff"), 3)
	f.Add(mustHex(f, "308106020101020102"), 66)
	f.Fuzz(func(t *testing.T, der []byte, orderLen int) {
		raw, err := DERToRaw(der, orderLen)
		if err != nil {
			return
		}
		require.Len(t, raw, 2*orderLen)
		back, err := RawToDER(raw)
		require.NoError(t, err)
		require.Equal(t, der, back)
	})
}

// FuzzRawToDER: never panics; accepted input converts back to the same bytes.
func FuzzRawToDER(f *testing.F) {
	f.Add(mustHex(f, "0000000100000002"))
	f.Add(mustHex(f, "0080010000ff"))
	f.Add(bytes.Repeat([]byte{0xff}, 132))
	f.Fuzz(func(t *testing.T, raw []byte) {
		der, err := RawToDER(raw)
		if err != nil {
			return
		}
		back, err := DERToRaw(der, len(raw)/2)
		require.NoError(t, err)
		require.Equal(t, raw, back)
	})
}
