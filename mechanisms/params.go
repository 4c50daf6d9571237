package mechanisms

import (
	"crypto"
	"encoding/binary"
	"math/bits"

	"github.com/p11kms/p11kms/ck"
)

// PSSParams is CK_RSA_PKCS_PSS_PARAMS (PKCS#11 Current Mechanisms 2.40 §2.1.9).
type PSSParams struct {
	// Hash is hashAlg, a digest mechanism (ck.CKM_SHA256, ...).
	Hash uint
	// MGF is mgf, a mask generation function (ck.CKG_MGF1_SHA256, ...).
	MGF uint
	// SaltLen is sLen, the salt length in bytes.
	SaltLen uint
}

// ckULONGSize is the size of CK_ULONG. cgo copies the C structure's bytes
// unchanged, so the layout is three native-endian CK_ULONGs with no padding.
// CK_ULONG is C unsigned long, which has the size of Go's uint on the
// platforms Go supports with cgo on Linux (LP64: 8 bytes on amd64 and arm64;
// 4 bytes on 32-bit targets).
const ckULONGSize = bits.UintSize / 8

// PSSParamsLen is the size of CK_RSA_PKCS_PSS_PARAMS (24 bytes on linux/amd64 and arm64).
const PSSParamsLen = 3 * ckULONGSize

// ParsePSSParams decodes the raw bytes of a CK_RSA_PKCS_PSS_PARAMS. A nil or
// wrong-length parameter is CKR_MECHANISM_PARAM_INVALID. It does not judge the
// values: see PSSParams.KMSHash.
func ParsePSSParams(b []byte) (PSSParams, error) {
	if len(b) != PSSParamsLen {
		return PSSParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CK_RSA_PKCS_PSS_PARAMS is %d bytes, want %d", len(b), PSSParamsLen)
	}
	return PSSParams{Hash: getULONG(b[0:]), MGF: getULONG(b[ckULONGSize:]), SaltLen: getULONG(b[2*ckULONGSize:])}, nil
}

// EncodePSSParams returns the raw bytes of the C structure for p, as cgo would copy them.
func EncodePSSParams(p PSSParams) []byte {
	b := make([]byte, PSSParamsLen)
	putULONG(b[0:], p.Hash)
	putULONG(b[ckULONGSize:], p.MGF)
	putULONG(b[2*ckULONGSize:], p.SaltLen)
	return b
}

func getULONG(b []byte) uint {
	if ckULONGSize == 8 {
		return uint(binary.NativeEndian.Uint64(b))
	}
	return uint(binary.NativeEndian.Uint32(b))
}

func putULONG(b []byte, v uint) {
	if ckULONGSize == 8 {
		binary.NativeEndian.PutUint64(b, uint64(v))
		return
	}
	binary.NativeEndian.PutUint32(b, uint32(v))
}

// pssRow is one PSS hash AWS KMS supports.
type pssRow struct {
	hashMech uint
	mgf      uint
	hash     crypto.Hash
	name     string
}

// pssTable lists the PSS parameter sets AWS KMS can honour: RSASSA_PSS_SHA_*
// use MGF1 with the same hash and a salt as long as the hash (AWS KMS API
// reference, SigningAlgorithm; DESIGN.md).
var pssTable = []pssRow{
	// AWS KMS RSASSA_PSS_SHA_256: hashAlg CKM_SHA256, mgf CKG_MGF1_SHA256, sLen 32.
	{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, crypto.SHA256, "SHA-256"},
	// AWS KMS RSASSA_PSS_SHA_384: hashAlg CKM_SHA384, mgf CKG_MGF1_SHA384, sLen 48.
	{ck.CKM_SHA384, ck.CKG_MGF1_SHA384, crypto.SHA384, "SHA-384"},
	// AWS KMS RSASSA_PSS_SHA_512: hashAlg CKM_SHA512, mgf CKG_MGF1_SHA512, sLen 64.
	{ck.CKM_SHA512, ck.CKG_MGF1_SHA512, crypto.SHA512, "SHA-512"},
}

// KMSHash checks that AWS KMS can produce exactly the PSS signature p asks
// for and returns its hash: hashAlg SHA-256/384/512, mgf MGF1 with the same
// hash, sLen equal to the hash length. Anything else is
// CKR_MECHANISM_PARAM_INVALID with a message saying what KMS needs — never a
// silently different signature (DESIGN.md).
func (p PSSParams) KMSHash() (crypto.Hash, error) {
	var row pssRow
	for _, r := range pssTable {
		if r.hashMech == p.Hash {
			row = r
		}
	}
	if row.hash == 0 {
		return 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS hashAlg %s: AWS KMS signs PSS only with CKM_SHA256, CKM_SHA384 or CKM_SHA512", ck.MechName(p.Hash))
	}
	if p.MGF != row.mgf {
		return 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS mgf 0x%x with hashAlg %s: AWS KMS needs MGF1 with the same hash (CKG_MGF1_%s)",
			p.MGF, ck.MechName(p.Hash), ck.MechName(p.Hash)[len("CKM_"):])
	}
	if p.SaltLen != uint(row.hash.Size()) {
		return 0, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS sLen %d with %s: AWS KMS uses a salt as long as the hash, sLen %d",
			p.SaltLen, row.name, row.hash.Size())
	}
	return row.hash, nil
}
