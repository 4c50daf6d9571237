package mechanisms

import (
	"bytes"
	"crypto"
	_ "crypto/sha1"   // the CKD_SHA1_KDF hash
	_ "crypto/sha256" // CKD_SHA224_KDF, CKD_SHA256_KDF
	_ "crypto/sha512" // CKD_SHA384_KDF, CKD_SHA512_KDF
	"encoding/binary"
	"fmt"

	"github.com/p11kms/p11kms/ck"
)

// kdfTable lists the key derivation functions of CK_ECDH1_DERIVE_PARAMS
// the token applies (locally, to the shared secret KMS returns); hash 0 is
// CKD_NULL. Source: PKCS#11 Current Mechanisms 2.40 §2.3.15
// (CK_EC_KDF_TYPE): the CKD_SHA*_KDF functions "derive keying data from
// the shared secret value as defined in [ANSI X9.63]" (see X963KDF).
// Not offered: CKD_SHA1_KDF_ASN1, CKD_SHA1_KDF_CONCATENATE, the SHA-3 and
// SP 800-56A variants.
var kdfTable = []struct {
	kdf  uint
	hash crypto.Hash
}{
	{ck.CKD_NULL, 0},                   // the raw shared secret
	{ck.CKD_SHA1_KDF, crypto.SHA1},     // ANSI X9.63 with SHA-1
	{ck.CKD_SHA224_KDF, crypto.SHA224}, // ANSI X9.63 with SHA-224
	{ck.CKD_SHA256_KDF, crypto.SHA256}, // ANSI X9.63 with SHA-256
	{ck.CKD_SHA384_KDF, crypto.SHA384}, // ANSI X9.63 with SHA-384
	{ck.CKD_SHA512_KDF, crypto.SHA512}, // ANSI X9.63 with SHA-512
}

// MaxDerivedKeyLen bounds CKA_VALUE_LEN of a key derived with a KDF.
const MaxDerivedKeyLen = 1024

// kdfHash returns the hash of a supported KDF (0 for CKD_NULL).
func kdfHash(kdf uint) (crypto.Hash, bool) {
	for _, r := range kdfTable {
		if r.kdf == kdf {
			return r.hash, true
		}
	}
	return 0, false
}

// IsKDF reports whether kdf is a supported KDF other than CKD_NULL.
func IsKDF(kdf uint) bool {
	h, ok := kdfHash(kdf)
	return ok && h != 0
}

// DeriveValue turns the raw shared secret z into the value of a key of n
// bytes (Current Mechanisms 2.40 §2.3.16). With CKD_NULL the secret is
// truncated "according to CKA_VALUE_LEN" by removing bytes "from the
// leading end of the secret value": the last n bytes; n larger than z is
// CKR_TEMPLATE_INCONSISTENT. With a KDF, the ANSI X9.63 KDF produces
// exactly n bytes from z and sharedInfo.
func DeriveValue(kdf uint, z, sharedInfo []byte, n int) ([]byte, error) {
	h, ok := kdfHash(kdf)
	switch {
	case !ok:
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "kdf 0x%X is not supported", kdf)
	case n <= 0:
		return nil, ck.Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "derived key length %d", n)
	case h == 0 && n > len(z):
		return nil, ck.Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "CKA_VALUE_LEN %d exceeds the %d-byte shared secret (CKD_NULL)", n, len(z))
	case h == 0:
		return bytes.Clone(z[len(z)-n:]), nil
	case n > MaxDerivedKeyLen:
		return nil, ck.Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "CKA_VALUE_LEN %d exceeds %d", n, MaxDerivedKeyLen)
	}
	return X963KDF(h, z, sharedInfo, n), nil
}

// X963KDF is the ANSI X9.63 key derivation function (as restated in SEC 1
// v2 §3.6.1): the concatenation of Hash(Z || Counter || SharedInfo) for a
// 32-bit big-endian Counter from 1, cut to n bytes. n must be positive and
// at most MaxDerivedKeyLen (far below the hashLen*(2^32-1) limit).
func X963KDF(h crypto.Hash, z, sharedInfo []byte, n int) []byte {
	out := make([]byte, 0, n+h.Size())
	var ctr [4]byte
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		d := h.New()
		d.Write(z)
		d.Write(ctr[:])
		d.Write(sharedInfo)
		out = d.Sum(out)
	}
	clear(out[n:])
	return out[:n]
}

// KDFName names a KDF for logs ("CKD_SHA256_KDF").
func KDFName(kdf uint) string {
	names := map[uint]string{
		ck.CKD_NULL: "CKD_NULL", ck.CKD_SHA1_KDF: "CKD_SHA1_KDF", ck.CKD_SHA224_KDF: "CKD_SHA224_KDF",
		ck.CKD_SHA256_KDF: "CKD_SHA256_KDF", ck.CKD_SHA384_KDF: "CKD_SHA384_KDF", ck.CKD_SHA512_KDF: "CKD_SHA512_KDF",
	}
	if n, ok := names[kdf]; ok {
		return n
	}
	return fmt.Sprintf("CKD(0x%X)", kdf)
}
