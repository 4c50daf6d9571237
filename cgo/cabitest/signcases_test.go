package cabitest

import (
	"crypto"
	_ "crypto/sha1"   // registers SHA-1 for crypto.Hash.New
	_ "crypto/sha256" // registers SHA-224/256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-384/512 for crypto.Hash.New
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/p11kms/p11kms/ck"
)

// inputKind is what a mechanism's caller passes to C_Sign.
type inputKind int

const (
	inputMessage    inputKind = iota // the message; the mechanism hashes it
	inputDigest                      // a bare digest (CKM_ECDSA)
	inputDigestInfo                  // DER DigestInfo || digest (CKM_RSA_PKCS, RFC 8017 §9.2)
	inputPSSDigest                   // the digest named by the PSS parameters (CKM_RSA_PKCS_PSS)
)

// signVariant is one way to sign: a mechanism, its parameters and its input.
type signVariant struct {
	mech   uint
	family uint        // CKK_RSA or CKK_EC
	scheme sigScheme   // how the verifier checks it
	hash   crypto.Hash // the digest signed; 0 = the curve's own hash (KMS's, DESIGN.md)
	input  inputKind
	// multi: the mechanism hashes, so C_SignUpdate/C_SignFinal work (Mechanisms 2.40 tables).
	multi bool
}

// name is the variant's test name.
func (v signVariant) name() string {
	switch v.input {
	case inputDigest, inputDigestInfo, inputPSSDigest:
		if v.hash != 0 {
			return fmt.Sprintf("%s/%s", ck.MechName(v.mech), v.hash)
		}
	}
	return ck.MechName(v.mech)
}

// mechanism returns the CK_MECHANISM, with CK_RSA_PKCS_PSS_PARAMS for PSS:
// salt = hash length and MGF1 with the same hash, the only form KMS signs (DESIGN.md).
func (v signVariant) mechanism() []*pkcs11.Mechanism {
	if v.scheme != schemePSS {
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(v.mech, nil)}
	}
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(v.mech, pssParams(v.hash, v.hash, uint(v.hash.Size())))}
}

// pssParams encodes CK_RSA_PKCS_PSS_PARAMS (Mechanisms 2.40 §2.1.3) for hash, MGF1 hash and salt length.
func pssParams(h, mgf crypto.Hash, salt uint) []byte {
	return pkcs11.NewPSSParams(hashMech[h], mgfOf[mgf], salt)
}

// hashMech and mgfOf name hashes as PKCS#11 does (Mechanisms 2.40 §2.1.3 Table 4, §2.16).
var (
	hashMech = map[crypto.Hash]uint{crypto.SHA1: ck.CKM_SHA_1, crypto.SHA224: ck.CKM_SHA224,
		crypto.SHA256: ck.CKM_SHA256, crypto.SHA384: ck.CKM_SHA384, crypto.SHA512: ck.CKM_SHA512}
	mgfOf = map[crypto.Hash]uint{crypto.SHA1: ck.CKG_MGF1_SHA1, crypto.SHA224: ck.CKG_MGF1_SHA224,
		crypto.SHA256: ck.CKG_MGF1_SHA256, crypto.SHA384: ck.CKG_MGF1_SHA384, crypto.SHA512: ck.CKG_MGF1_SHA512}
)

// digestInfoPrefix is the DER DigestInfo before the digest (RFC 8017 §9.2, note 1).
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// signVariants are every mechanism the token offers for signing (signMechanisms),
// with each accepted input form. Sources: DESIGN.md "Facts"; CLIENTS.md.
var signVariants = []signVariant{
	{ck.CKM_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA256, inputDigestInfo, false},
	{ck.CKM_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA384, inputDigestInfo, false},
	{ck.CKM_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA512, inputDigestInfo, false},
	{ck.CKM_SHA256_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA256, inputMessage, true},
	{ck.CKM_SHA384_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA384, inputMessage, true},
	{ck.CKM_SHA512_RSA_PKCS, ck.CKK_RSA, schemePKCS1v15, crypto.SHA512, inputMessage, true},
	{ck.CKM_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA256, inputPSSDigest, false},
	{ck.CKM_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA384, inputPSSDigest, false},
	{ck.CKM_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA512, inputPSSDigest, false},
	{ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA256, inputMessage, true},
	{ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA384, inputMessage, true},
	{ck.CKM_SHA512_RSA_PKCS_PSS, ck.CKK_RSA, schemePSS, crypto.SHA512, inputMessage, true},
	// CKM_ECDSA takes a digest of any length (DESIGN.md): the curve's own, shorter (padded), longer (cut).
	{ck.CKM_ECDSA, ck.CKK_EC, schemeECDSA, 0, inputDigest, false},
	{ck.CKM_ECDSA, ck.CKK_EC, schemeECDSA, crypto.SHA1, inputDigest, false},
	{ck.CKM_ECDSA, ck.CKK_EC, schemeECDSA, crypto.SHA256, inputDigest, false},
	{ck.CKM_ECDSA, ck.CKK_EC, schemeECDSA, crypto.SHA512, inputDigest, false},
	{ck.CKM_ECDSA_SHA256, ck.CKK_EC, schemeECDSA, crypto.SHA256, inputMessage, true},
	{ck.CKM_ECDSA_SHA384, ck.CKK_EC, schemeECDSA, crypto.SHA384, inputMessage, true},
	{ck.CKM_ECDSA_SHA512, ck.CKK_EC, schemeECDSA, crypto.SHA512, inputMessage, true},
}

// hashFor returns the digest a variant signs with a key.
func (v signVariant) hashFor(k *keyFixture) crypto.Hash {
	if v.hash != 0 {
		return v.hash
	}
	return map[string]crypto.Hash{"SHA256": crypto.SHA256, "SHA384": crypto.SHA384, "SHA512": crypto.SHA512}[k.curveHash]
}

// signInput returns what the caller passes to C_Sign for msg, and the digest the verifier checks.
func (v signVariant) signInput(k *keyFixture, msg []byte) (input, digest []byte) {
	h := v.hashFor(k).New()
	h.Write(msg)
	digest = h.Sum(nil)
	switch v.input {
	case inputMessage:
		return msg, digest
	case inputDigestInfo:
		return append(append([]byte{}, digestInfoPrefix[v.hash]...), digest...), digest
	}
	return digest, digest
}

// variant returns the signVariant of a mechanism and hash.
func variant(mech uint, h crypto.Hash) signVariant {
	for _, v := range signVariants {
		if v.mech == mech && v.hash == h {
			return v
		}
	}
	panic("no sign variant " + ck.MechName(mech) + "/" + h.String())
}
