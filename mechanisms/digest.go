package mechanisms

import (
	"crypto"
	_ "crypto/sha1" // registers crypto.SHA1 for DigestHash's hashes
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/p11kms/p11kms/ck"
)

// digestRow is one message-digesting mechanism, computed locally in software.
type digestRow struct {
	mech uint
	hash crypto.Hash
}

// digestTable lists the digest mechanisms every token offers, in the order
// C_GetMechanismList reports them. Each takes no parameter and accepts input of
// any length (PKCS#11 Current Mechanisms 2.40, the SHA-x "Data Length" tables).
var digestTable = []digestRow{
	{ck.CKM_SHA_1, crypto.SHA1},    // Current Mechanisms 2.40, SHA-1 (CKM_SHA_1): FIPS 180-4, 20-byte digest
	{ck.CKM_SHA224, crypto.SHA224}, // Current Mechanisms 2.40, SHA-224 (CKM_SHA224): FIPS 180-4, 28-byte digest
	{ck.CKM_SHA256, crypto.SHA256}, // Current Mechanisms 2.40, SHA-256 (CKM_SHA256): FIPS 180-4, 32-byte digest
	{ck.CKM_SHA384, crypto.SHA384}, // Current Mechanisms 2.40, SHA-384 (CKM_SHA384): FIPS 180-4, 48-byte digest
	{ck.CKM_SHA512, crypto.SHA512}, // Current Mechanisms 2.40, SHA-512 (CKM_SHA512): FIPS 180-4, 64-byte digest
}

// digestFlags is the CK_MECHANISM_INFO flags of a digest mechanism (PKCS#11
// 2.40 §3.7): CKF_DIGEST only; no CKF_HW, as the module hashes in software.
const digestFlags = ck.CKF_DIGEST

// DigestMechanisms returns the digest mechanisms, in table order.
func DigestMechanisms() []uint {
	out := make([]uint, len(digestTable))
	for i, r := range digestTable {
		out[i] = r.mech
	}
	return out
}

// DigestHash validates a C_DigestInit mechanism (PKCS#11 2.40 §5.10) and
// returns its hash: CKR_MECHANISM_INVALID for a mechanism that is not in the
// digest table, CKR_MECHANISM_PARAM_INVALID for a parameter (digests take none).
func DigestHash(mech uint, param []byte) (crypto.Hash, error) {
	for _, r := range digestTable {
		if r.mech != mech {
			continue
		}
		if len(param) != 0 {
			return 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s takes no parameter, got %d bytes", ck.MechName(mech), len(param))
		}
		return r.hash, nil
	}
	return 0, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s is not a digest mechanism this module offers", ck.MechName(mech))
}

// digestInfo returns the CK_MECHANISM_INFO of a digest mechanism: key sizes
// 0 (no key), CKF_DIGEST. ok is false for any other mechanism.
func digestInfo(mech uint) (minBits, maxBits, flags uint, ok bool) {
	for _, r := range digestTable {
		if r.mech == mech {
			return 0, 0, digestFlags, true
		}
	}
	return 0, 0, 0, false
}
