package mechanisms

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/hex"

	"github.com/p11kms/p11kms/ck"
)

// digestInfoRow is one hash a DigestInfo may name.
type digestInfoRow struct {
	hash crypto.Hash
	name string
	// oid is the content octets of the hash's OBJECT IDENTIFIER.
	oid []byte
	// kms is true when AWS KMS signs RSASSA-PKCS1-v1_5 over this hash.
	kms bool
}

// digestInfoTable lists the hashes ParseDigestInfo recognises.
var digestInfoTable = []digestInfoRow{
	// id-sha1 1.3.14.3.2.26, RFC 8017 §9.2 note 1; AWS KMS has no RSASSA_PKCS1_V1_5_SHA_1.
	{crypto.SHA1, "SHA-1", []byte{0x2b, 0x0e, 0x03, 0x02, 0x1a}, false},
	// id-sha224 2.16.840.1.101.3.4.2.4, RFC 8017 §9.2 note 1; AWS KMS has no RSASSA_PKCS1_V1_5_SHA_224.
	{crypto.SHA224, "SHA-224", []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04}, false},
	// id-sha256 2.16.840.1.101.3.4.2.1, RFC 8017 §9.2 note 1; AWS KMS RSASSA_PKCS1_V1_5_SHA_256.
	{crypto.SHA256, "SHA-256", []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, true},
	// id-sha384 2.16.840.1.101.3.4.2.2, RFC 8017 §9.2 note 1; AWS KMS RSASSA_PKCS1_V1_5_SHA_384.
	{crypto.SHA384, "SHA-384", []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, true},
	// id-sha512 2.16.840.1.101.3.4.2.3, RFC 8017 §9.2 note 1; AWS KMS RSASSA_PKCS1_V1_5_SHA_512.
	{crypto.SHA512, "SHA-512", []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, true},
}

func digestInfoRowFor(h crypto.Hash) (digestInfoRow, bool) {
	for _, r := range digestInfoTable {
		if r.hash == h {
			return r, true
		}
	}
	return digestInfoRow{}, false
}

// DigestInfoPrefix returns the DER DigestInfo that precedes a digest of hash h
// (AlgorithmIdentifier with NULL parameters, RFC 8017 §9.2 note 1), nil for a
// hash not in the table (SHA-1, SHA-224, SHA-256, SHA-384, SHA-512).
func DigestInfoPrefix(h crypto.Hash) []byte { return digestInfoPrefix(h, true) }

// digestInfoPrefix builds the prefix with NULL parameters or with them absent.
func digestInfoPrefix(h crypto.Hash, withNull bool) []byte {
	r, ok := digestInfoRowFor(h)
	if !ok {
		return nil
	}
	alg := appendTLV(nil, tagOID, r.oid)
	if withNull {
		alg = append(alg, tagNull, 0x00)
	}
	inner := appendTLV(nil, tagSequence, alg)
	inner = append(inner, tagOctetString, byte(h.Size()))
	// The outer length covers the digest that follows the prefix.
	out := []byte{tagSequence, byte(len(inner) + h.Size())}
	return append(out, inner...)
}

// ParseDigestInfo parses the input of CKM_RSA_PKCS signing as a DER DigestInfo
// (RFC 8017 §9.2): SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }, strict
// DER lengths, no trailing bytes, a digest whose length matches the hash. It
// returns the hash and the digest.
//
// Only the NULL-parameters form is accepted (the encoding RFC 8017 §9.2 note 1
// lists). The absent-parameters form is parsed but refused: AWS KMS always
// signs the NULL encoding, so the signature would not be over the bytes the
// caller gave, and C_Verify with CKM_RSA_PKCS over those bytes would fail.
//
// Errors are *ck.Error with CKR_DATA_INVALID: "malformed DigestInfo: ..." when
// the bytes are not such a DigestInfo; distinct messages naming the hash for a
// well-formed SHA-1 or SHA-224 DigestInfo, which AWS KMS cannot sign, and for
// the absent-parameters form (DESIGN: a precise error, never a wrong signature).
func ParseDigestInfo(b []byte) (crypto.Hash, []byte, error) {
	row, digest, withNull, err := parseDigestInfo(b)
	if err != nil {
		return 0, nil, err
	}
	if !withNull {
		return 0, nil, ck.Errorf(ck.CKR_DATA_INVALID,
			"%s DigestInfo without NULL parameters: AWS KMS signs only the encoding with NULL parameters", row.name)
	}
	if !row.kms {
		return 0, nil, ck.Errorf(ck.CKR_DATA_INVALID,
			"DigestInfo names %s: AWS KMS signs RSA PKCS#1 v1.5 only over SHA-256, SHA-384 or SHA-512 digests", row.name)
	}
	return row.hash, digest, nil
}

// parseDigestInfo does the parsing for ParseDigestInfo, accepting every hash
// in the table and both parameter forms; withNull reports which.
func parseDigestInfo(b []byte) (row digestInfoRow, digest []byte, withNull bool, err error) {
	bad := func(format string, args ...any) (digestInfoRow, []byte, bool, error) {
		return digestInfoRow{}, nil, false, ck.Errorf(ck.CKR_DATA_INVALID, "malformed DigestInfo: "+format, args...)
	}
	body, rest, err := readExpect(b, tagSequence, "DigestInfo")
	if err != nil {
		return bad("%w", err)
	}
	if len(rest) != 0 {
		return bad("%d trailing bytes", len(rest))
	}
	alg, body, err := readExpect(body, tagSequence, "digestAlgorithm")
	if err != nil {
		return bad("%w", err)
	}
	digest, rest, err = readExpect(body, tagOctetString, "digest")
	if err != nil {
		return bad("%w", err)
	}
	if len(rest) != 0 {
		return bad("%d bytes after the digest", len(rest))
	}
	oid, params, err := readExpect(alg, tagOID, "digestAlgorithm OID")
	if err != nil {
		return bad("%w", err)
	}
	if len(params) != 0 && !bytes.Equal(params, []byte{tagNull, 0x00}) {
		return bad("digestAlgorithm parameters must be NULL or absent")
	}
	for _, r := range digestInfoTable {
		if bytes.Equal(r.oid, oid) {
			row = r
		}
	}
	if row.hash == 0 {
		return bad("unsupported digest algorithm %s", oidString(oid))
	}
	if len(digest) != row.hash.Size() {
		return bad("%s digest is %d bytes, want %d", row.name, len(digest), row.hash.Size())
	}
	return row, digest, len(params) != 0, nil
}

// oidString renders OID content octets for a message ("1.2.3" or their hex).
func oidString(content []byte) string {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(appendTLV(nil, tagOID, content), &oid); err == nil && len(rest) == 0 {
		return oid.String()
	}
	return "OID 0x" + hex.EncodeToString(content)
}
