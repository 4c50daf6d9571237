package mechanisms

import (
	"crypto"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// cStructLE64 lays out CK_RSA_PKCS_PSS_PARAMS as linux/amd64 and linux/arm64
// do: three little-endian 8-byte unsigned longs, no padding.
func cStructLE64(hash, mgf, sLen uint64) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b[0:], hash)
	binary.LittleEndian.PutUint64(b[8:], mgf)
	binary.LittleEndian.PutUint64(b[16:], sLen)
	return b
}

func TestPSSParamsLayoutOnLinux64(t *testing.T) {
	require.Contains(t, []string{"amd64", "arm64"}, runtime.GOARCH, "this layout test is written for LP64 little-endian")
	want := cStructLE64(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32)
	assert.Equal(t, 24, PSSParamsLen)
	assert.Equal(t, want, EncodePSSParams(PSSParams{Hash: ck.CKM_SHA256, MGF: ck.CKG_MGF1_SHA256, SaltLen: 32}))
	p, err := ParsePSSParams(cStructLE64(ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 0xdeadbeef01))
	require.NoError(t, err)
	assert.Equal(t, PSSParams{Hash: ck.CKM_SHA512, MGF: ck.CKG_MGF1_SHA512, SaltLen: 0xdeadbeef01}, p)
}

func TestParsePSSParamsRefusesWrongLength(t *testing.T) {
	rows := []struct {
		name    string
		input   []byte
		wantMsg string
	}{
		{"refuses nil", nil, "CK_RSA_PKCS_PSS_PARAMS is 0 bytes, want 24"},
		{"refuses 23 bytes", make([]byte, 23), "CK_RSA_PKCS_PSS_PARAMS is 23 bytes, want 24"},
		{"refuses 25 bytes", make([]byte, 25), "CK_RSA_PKCS_PSS_PARAMS is 25 bytes, want 24"},
		{"refuses a 32-bit layout", make([]byte, 12), "CK_RSA_PKCS_PSS_PARAMS is 12 bytes, want 24"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := ParsePSSParams(r.input)
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Zero(t, p)
		})
	}
}

func TestPSSParamsKMSHash(t *testing.T) {
	rows := []struct {
		name     string
		params   PSSParams
		wantHash crypto.Hash
		wantRV   uint
		wantMsg  string
	}{
		{"accepts SHA-256, MGF1-SHA-256, salt 32", PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32}, crypto.SHA256, ck.CKR_OK, ""},
		{"accepts SHA-384, MGF1-SHA-384, salt 48", PSSParams{ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 48}, crypto.SHA384, ck.CKR_OK, ""},
		{"accepts SHA-512, MGF1-SHA-512, salt 64", PSSParams{ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 64}, crypto.SHA512, ck.CKR_OK, ""},
		{"refuses the libp11 maximum salt", PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 222}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS sLen 222 with SHA-256: AWS KMS uses a salt as long as the hash, sLen 32"},
		{"refuses salt 0", PSSParams{ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 0}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS sLen 0 with SHA-512: AWS KMS uses a salt as long as the hash, sLen 64"},
		{"refuses MGF1-SHA-1 with SHA-256", PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA1, 32}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS mgf 0x1 with hashAlg CKM_SHA256: AWS KMS needs MGF1 with the same hash (CKG_MGF1_SHA256)"},
		{"refuses MGF1-SHA-256 with SHA-384", PSSParams{ck.CKM_SHA384, ck.CKG_MGF1_SHA256, 48}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS mgf 0x2 with hashAlg CKM_SHA384: AWS KMS needs MGF1 with the same hash (CKG_MGF1_SHA384)"},
		{"refuses SHA-1", PSSParams{ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, 20}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS hashAlg CKM_SHA_1: AWS KMS signs PSS only with CKM_SHA256, CKM_SHA384 or CKM_SHA512"},
		{"refuses SHA-224", PSSParams{ck.CKM_SHA224, ck.CKG_MGF1_SHA224, 28}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS hashAlg CKM_SHA224: AWS KMS signs PSS only with CKM_SHA256, CKM_SHA384 or CKM_SHA512"},
		{"refuses a signature mechanism as hashAlg", PSSParams{ck.CKM_SHA256_RSA_PKCS, ck.CKG_MGF1_SHA256, 32}, 0, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS hashAlg CKM_SHA256_RSA_PKCS: AWS KMS signs PSS only with CKM_SHA256, CKM_SHA384 or CKM_SHA512"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h, err := r.params.KMSHash()
			requireRV(t, r.wantRV, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Equal(t, r.wantHash, h)
		})
	}
}

// FuzzParsePSSParams: never panics; accepted input re-encodes to the same
// bytes; KMSHash accepts only the three KMS parameter sets.
func FuzzParsePSSParams(f *testing.F) {
	f.Add(EncodePSSParams(PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32}))
	f.Add(EncodePSSParams(PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 222}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePSSParams(b)
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		require.Equal(t, b, EncodePSSParams(p))
		h, err := p.KMSHash()
		if err != nil {
			requireRV(t, ck.CKR_MECHANISM_PARAM_INVALID, err)
			return
		}
		require.Contains(t, []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}, h)
		require.Equal(t, uint(h.Size()), p.SaltLen)
	})
}
