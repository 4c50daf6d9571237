package mechanisms

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

func TestDigestHash(t *testing.T) {
	msg := []byte("p11kms digests locally")
	s1, s224, s256, s384, s512 := sha1.Sum(msg), sha256.Sum224(msg), sha256.Sum256(msg), sha512.Sum384(msg), sha512.Sum512(msg)
	rows := []struct {
		name     string
		mech     uint
		param    []byte
		wantRV   uint
		wantHash crypto.Hash
		wantSum  []byte // from crypto/sha*, independently of the table
	}{
		{"SHA-1 hashes like crypto/sha1", ck.CKM_SHA_1, nil, ck.CKR_OK, crypto.SHA1, s1[:]},
		{"SHA-224 hashes like crypto/sha256.Sum224", ck.CKM_SHA224, nil, ck.CKR_OK, crypto.SHA224, s224[:]},
		{"SHA-256 hashes like crypto/sha256", ck.CKM_SHA256, nil, ck.CKR_OK, crypto.SHA256, s256[:]},
		{"SHA-384 hashes like crypto/sha512.Sum384", ck.CKM_SHA384, nil, ck.CKR_OK, crypto.SHA384, s384[:]},
		{"SHA-512 hashes like crypto/sha512", ck.CKM_SHA512, []byte{}, ck.CKR_OK, crypto.SHA512, s512[:]},
		{"param invalid for SHA-256 with a parameter", ck.CKM_SHA256, []byte{0}, ck.CKR_MECHANISM_PARAM_INVALID, 0, nil},
		{"mechanism invalid for MD5", ck.CKM_MD5, nil, ck.CKR_MECHANISM_INVALID, 0, nil},
		{"mechanism invalid for SHA-512/256", ck.CKM_SHA512_256, nil, ck.CKR_MECHANISM_INVALID, 0, nil},
		{"mechanism invalid for a signing mechanism", ck.CKM_SHA256_RSA_PKCS, nil, ck.CKR_MECHANISM_INVALID, 0, nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			h, err := DigestHash(r.mech, r.param)
			requireRV(t, r.wantRV, err)
			assert.Equal(t, r.wantHash, h)
			if r.wantRV != ck.CKR_OK {
				return
			}
			w := h.New()
			w.Write(msg)
			assert.Equal(t, r.wantSum, w.Sum(nil))
		})
	}
}

func TestDigestMechanismsAndInfo(t *testing.T) {
	want := []uint{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512}
	require.Equal(t, want, DigestMechanisms())
	for _, m := range want {
		minBits, maxBits, flags, ok := digestInfo(m)
		assert.True(t, ok, ck.MechName(m))
		assert.Equal(t, [3]uint{0, 0, ck.CKF_DIGEST}, [3]uint{minBits, maxBits, flags}, "%s: software digest, no key, no CKF_HW", ck.MechName(m))
	}
	_, _, _, ok := digestInfo(ck.CKM_RSA_PKCS_OAEP)
	assert.False(t, ok)
}
