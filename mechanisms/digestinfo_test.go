package mechanisms

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// RFC 8017 §9.2 note 1 DigestInfo prefixes, typed from the RFC (independent of the table).
const (
	rfcSHA1Prefix   = "3021300906052b0e03021a05000414"
	rfcSHA224Prefix = "302d300d06096086480165030402040500041c"
	rfcSHA256Prefix = "3031300d060960864801650304020105000420"
	rfcSHA384Prefix = "3041300d060960864801650304020205000430"
	rfcSHA512Prefix = "3051300d060960864801650304020305000440"
)

func TestDigestInfoPrefixMatchesRFC8017(t *testing.T) {
	rows := []struct {
		name string
		hash crypto.Hash
		want string
	}{
		{"SHA-1 prefix", crypto.SHA1, rfcSHA1Prefix},
		{"SHA-224 prefix", crypto.SHA224, rfcSHA224Prefix},
		{"SHA-256 prefix", crypto.SHA256, rfcSHA256Prefix},
		{"SHA-384 prefix", crypto.SHA384, rfcSHA384Prefix},
		{"SHA-512 prefix", crypto.SHA512, rfcSHA512Prefix},
		{"no prefix for MD5", crypto.MD5, ""},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.want, hex.EncodeToString(DigestInfoPrefix(r.hash)))
		})
	}
}

func TestParseDigestInfo(t *testing.T) {
	d32 := bytes.Repeat([]byte{0xab}, 32)
	d48 := bytes.Repeat([]byte{0xcd}, 48)
	d64 := bytes.Repeat([]byte{0xef}, 64)
	h := func(s string) []byte { return mustHex(t, s) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	rows := []struct {
		name       string
		input      []byte
		wantHash   crypto.Hash
		wantDigest []byte
		wantRV     uint
		wantMsg    string
	}{
		{"accepts SHA-256 with NULL parameters", cat(h(rfcSHA256Prefix), d32), crypto.SHA256, d32, ck.CKR_OK, ""},
		{"accepts SHA-384 with NULL parameters", cat(h(rfcSHA384Prefix), d48), crypto.SHA384, d48, ck.CKR_OK, ""},
		{"accepts SHA-512 with NULL parameters", cat(h(rfcSHA512Prefix), d64), crypto.SHA512, d64, ck.CKR_OK, ""},
		{"refuses SHA-256 with absent parameters", cat(h("302f300b0609608648016503040201"+"0420"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"SHA-256 DigestInfo without NULL parameters: AWS KMS signs only the encoding with NULL parameters"},
		{"refuses SHA-512 with absent parameters", cat(h("304f300b0609608648016503040203"+"0440"), d64), 0, nil, ck.CKR_DATA_INVALID,
			"SHA-512 DigestInfo without NULL parameters: AWS KMS signs only the encoding with NULL parameters"},
		{"refuses well-formed SHA-1 naming the hash", cat(h(rfcSHA1Prefix), make([]byte, 20)), 0, nil, ck.CKR_DATA_INVALID,
			"DigestInfo names SHA-1: AWS KMS signs RSA PKCS#1 v1.5 only over SHA-256, SHA-384 or SHA-512 digests"},
		{"refuses well-formed SHA-224 naming the hash", cat(h(rfcSHA224Prefix), make([]byte, 28)), 0, nil, ck.CKR_DATA_INVALID,
			"DigestInfo names SHA-224: AWS KMS signs RSA PKCS#1 v1.5 only over SHA-256, SHA-384 or SHA-512 digests"},
		{"refuses empty input", nil, 0, nil, ck.CKR_DATA_INVALID, "malformed DigestInfo: DigestInfo: DER element truncated"},
		{"refuses a bare 32-byte digest", d32, 0, nil, ck.CKR_DATA_INVALID, "malformed DigestInfo: DigestInfo: tag 0xab, want 0x30"},
		{"refuses a trailing byte", cat(h(rfcSHA256Prefix), d32, []byte{0}), 0, nil, ck.CKR_DATA_INVALID, "malformed DigestInfo: 1 trailing bytes"},
		{"refuses a short digest for SHA-256", cat(h("3030300d06096086480165030402010500041f"), d32[:31]), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: SHA-256 digest is 31 bytes, want 32"},
		{"refuses a SHA-384 digest under the SHA-256 OID", cat(h("3041300d060960864801650304020105000430"), d48), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: SHA-256 digest is 48 bytes, want 32"},
		{"refuses the MD5 OID", cat(h("3020300c06082a864886f70d020505000410"), make([]byte, 16)), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: unsupported digest algorithm 1.2.840.113549.2.5"},
		{"refuses the SHA3-256 OID", cat(h("3031300d060960864801650304020805000420"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: unsupported digest algorithm 2.16.840.1.101.3.4.2.8"},
		{"refuses non-NULL parameters", cat(h("3033300f060960864801650304020104020000"+"0420"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: digestAlgorithm parameters must be NULL or absent"},
		{"refuses NULL with content", cat(h("3032300e060960864801650304020105010004"+"20"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: digestAlgorithm parameters must be NULL or absent"},
		{"refuses a non-minimal outer length", cat(h("308131300d060960864801650304020105000420"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: DigestInfo: DER length not minimal or truncated"},
		{"refuses an indefinite outer length", cat(h("3080300d060960864801650304020105000420"), d32, []byte{0, 0}), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: DigestInfo: DER indefinite length not allowed"},
		{"refuses a truncated digest", cat(h(rfcSHA256Prefix), d32[:10]), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: DigestInfo: DER element truncated"},
		{"refuses an extra element after the digest", cat(h("3033300d060960864801650304020105000420"), d32, []byte{5, 0}), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: 2 bytes after the digest"},
		{"refuses a BIT STRING digest", cat(h("3031300d060960864801650304020105000320"), d32), 0, nil, ck.CKR_DATA_INVALID,
			"malformed DigestInfo: digest: tag 0x03, want 0x04"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			hash, digest, err := ParseDigestInfo(r.input)
			requireRV(t, r.wantRV, err)
			if r.wantRV != ck.CKR_OK {
				assert.Equal(t, r.wantMsg, ckMsg(err))
				assert.Zero(t, hash)
				assert.Nil(t, digest)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, r.wantHash, hash)
			assert.Equal(t, r.wantDigest, digest)
		})
	}
}

// FuzzParseDigestInfo: the parser never panics; whatever the inner parser
// accepts is exactly the canonical encoding (NULL or absent parameters, as it
// reports) of the digest it returns; ParseDigestInfo accepts only KMS hashes
// in the NULL form, and their DigestInfoPrefix||digest is the input.
func FuzzParseDigestInfo(f *testing.F) {
	f.Add(append(mustHex(f, rfcSHA256Prefix), make([]byte, 32)...))
	f.Add(append(mustHex(f, rfcSHA1Prefix), make([]byte, 20)...))
	f.Add(append(mustHex(f, "304f300b0609608648016503040203"+"0440"), make([]byte, 64)...))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		row, digest, withNull, err := parseDigestInfo(b)
		hash, pubDigest, pubErr := ParseDigestInfo(b)
		if err != nil {
			requireRV(t, ck.CKR_DATA_INVALID, err)
			requireRV(t, ck.CKR_DATA_INVALID, pubErr)
			return
		}
		require.Equal(t, b, append(digestInfoPrefix(row.hash, withNull), digest...), "accepted non-canonical input")
		if row.kms && withNull {
			require.NoError(t, pubErr)
			require.Equal(t, row.hash, hash)
			require.Equal(t, digest, pubDigest)
			require.Equal(t, b, append(DigestInfoPrefix(hash), pubDigest...))
		} else {
			requireRV(t, ck.CKR_DATA_INVALID, pubErr)
		}
	})
}
