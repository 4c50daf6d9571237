package mechanisms

import (
	"crypto"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// scheme is the signature scheme of a mechanism.
type scheme int

const (
	schemePKCS1 scheme = iota + 1 // RSASSA-PKCS1-v1_5
	schemePSS                     // RSASSA-PSS
	schemeECDSA                   // ECDSA
	schemeEdDSA                   // EdDSA (eddsa.go)
	schemeMLDSA                   // pure ML-DSA of the message (mldsa.go)
	schemeMuDSA                   // ML-DSA of a caller-computed mu (mldsa.go)
	schemeSM2                     // SM2DSA (sm2.go)
)

// Flags of the CK_MECHANISM_INFO rows (PKCS#11 2.40 §3.7 CK_MECHANISM_INFO).
// CKF_HW: the private-key operation runs in AWS KMS's HSMs.
const (
	rsaSignFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW
	ecSignFlags  = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS
	// rsaCryptFlags: decryption runs in KMS; encryption is local with the public key.
	rsaCryptFlags = ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW
)

// Key sizes in bits AWS KMS offers (AWS KMS API reference, CreateKey KeySpec):
// RSA_2048..RSA_4096 and ECC_NIST_P256..ECC_NIST_P521 (secp256k1 is 256 bits).
const (
	rsaMinBits = 2048
	rsaMaxBits = 4096
	ecMinBits  = 256
	ecMaxBits  = 521
)

// mechRow is one signing mechanism the token offers.
type mechRow struct {
	mech   uint
	kind   KeyKind
	scheme scheme
	// hash is applied locally to the caller's data; 0 for raw mechanisms.
	hash             crypto.Hash
	flags            uint
	minBits, maxBits uint
}

// mechTable lists the signing mechanisms, in the order C_GetMechanismList reports them.
var mechTable = []mechRow{
	// PKCS#11 Current Mechanisms 2.40 §2.1.6 PKCS #1 v1.5 RSA; input DigestInfo -> AWS KMS RSASSA_PKCS1_V1_5_SHA_{256,384,512} by its hash.
	{ck.CKM_RSA_PKCS, KindRSA, schemePKCS1, 0, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.14 PKCS #1 v1.5 RSA signature with SHA-256 -> AWS KMS RSASSA_PKCS1_V1_5_SHA_256.
	{ck.CKM_SHA256_RSA_PKCS, KindRSA, schemePKCS1, crypto.SHA256, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.14 PKCS #1 v1.5 RSA signature with SHA-384 -> AWS KMS RSASSA_PKCS1_V1_5_SHA_384.
	{ck.CKM_SHA384_RSA_PKCS, KindRSA, schemePKCS1, crypto.SHA384, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.14 PKCS #1 v1.5 RSA signature with SHA-512 -> AWS KMS RSASSA_PKCS1_V1_5_SHA_512.
	{ck.CKM_SHA512_RSA_PKCS, KindRSA, schemePKCS1, crypto.SHA512, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.10 PKCS #1 RSA PSS; input the hash named by the parameters -> AWS KMS RSASSA_PSS_SHA_{256,384,512}.
	{ck.CKM_RSA_PKCS_PSS, KindRSA, schemePSS, 0, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.17 PKCS #1 RSA PSS signature with SHA-256 -> AWS KMS RSASSA_PSS_SHA_256.
	{ck.CKM_SHA256_RSA_PKCS_PSS, KindRSA, schemePSS, crypto.SHA256, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.17 PKCS #1 RSA PSS signature with SHA-384 -> AWS KMS RSASSA_PSS_SHA_384.
	{ck.CKM_SHA384_RSA_PKCS_PSS, KindRSA, schemePSS, crypto.SHA384, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.1.17 PKCS #1 RSA PSS signature with SHA-512 -> AWS KMS RSASSA_PSS_SHA_512.
	{ck.CKM_SHA512_RSA_PKCS_PSS, KindRSA, schemePSS, crypto.SHA512, rsaSignFlags, rsaMinBits, rsaMaxBits},
	// §2.3.6 ECDSA without hashing; input a digest of any length -> AWS KMS ECDSA_SHA_{256,384,512} by curve.
	{ck.CKM_ECDSA, KindEC, schemeECDSA, 0, ecSignFlags, ecMinBits, ecMaxBits},
	// §2.3.7 ECDSA with hashing (SHA-256) -> AWS KMS ECDSA_SHA_{256,384,512} by curve, digest adjusted.
	{ck.CKM_ECDSA_SHA256, KindEC, schemeECDSA, crypto.SHA256, ecSignFlags, ecMinBits, ecMaxBits},
	// §2.3.7 ECDSA with hashing (SHA-384) -> AWS KMS ECDSA_SHA_{256,384,512} by curve, digest adjusted.
	{ck.CKM_ECDSA_SHA384, KindEC, schemeECDSA, crypto.SHA384, ecSignFlags, ecMinBits, ecMaxBits},
	// §2.3.7 ECDSA with hashing (SHA-512) -> AWS KMS ECDSA_SHA_{256,384,512} by curve, digest adjusted.
	{ck.CKM_ECDSA_SHA512, KindEC, schemeECDSA, crypto.SHA512, ecSignFlags, ecMinBits, ecMaxBits},
	// Current Mechanisms 3.0 §2.3.14 EdDSA, Ed25519 only -> AWS KMS ED25519_SHA_512 (RAW), ED25519_PH_SHA_512 with phFlag (eddsa.go).
	{ck.CKM_EDDSA, KindEdwards, schemeEdDSA, 0, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, 256, 256},
	// Vendor (no PKCS#11 SM2 mechanism): input e = SM3(ZA||M), 32 bytes -> AWS KMS SM2DSA, MessageType DIGEST (sm2.go).
	{CKM_P11KMS_SM2DSA, KindSM2, schemeSM2, 0, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, 256, 256},
	// Vendor: input the message; e = SM3(ZA||M) locally, ZA of the parameter's ID -> AWS KMS SM2DSA, DIGEST (sm2.go).
	{CKM_P11KMS_SM3_SM2DSA, KindSM2, schemeSM2, 0, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, 256, 256},
	// PKCS#11 3.2 ml_dsa.md "ML-DSA Signature" (FIPS 204 Alg. 2/3) -> AWS KMS ML_DSA_SHAKE_256: RAW for 1..4096 bytes
	// without context, else EXTERNAL_MU over mu computed locally (mldsa.go). Sizes: public key bytes, over the token's keys.
	{ck.CKM_ML_DSA, KindMLDSA, schemeMLDSA, 0, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, 1312, 2592},
	// PKCS#11 3.3 draft (0x403C) "ExternalMu-ML-DSA": input the 64-byte mu -> AWS KMS ML_DSA_SHAKE_256 EXTERNAL_MU (mldsa.go).
	{ck.CKM_ML_DSA_EXTERNAL_MU, KindMLDSA, schemeMuDSA, 0, ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW, 1312, 2592},
	// Not offered: CKM_ECDSA_SHA1/SHA224, CKM_SHA1/SHA224_RSA_PKCS[_PSS] — AWS KMS has no SHA-1/SHA-224 signing.
}

// cryptTable lists the encryption mechanisms, offered for RSA and SM2 keys
// whose KMS KeyUsage is ENCRYPT_DECRYPT (scheme unused).
var cryptTable = []mechRow{
	// Current Mechanisms 2.40 §2.1.8 PKCS #1 RSA OAEP, single-part; decrypt -> AWS KMS
	// RSAES_OAEP_SHA_1/SHA_256 by the parameters' hash (oaepTable); encrypt locally.
	{ck.CKM_RSA_PKCS_OAEP, KindRSA, 0, 0, rsaCryptFlags, rsaMinBits, rsaMaxBits},
	// Vendor: SM2PKE (GM/T 0003.4-2012), GM/T 0009 ASN.1 ciphertext; decrypt -> AWS KMS SM2PKE; encrypt locally (sm2pke.go).
	{CKM_P11KMS_SM2PKE, KindSM2, 0, 0, ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW, 256, 256},
	// Not offered: CKM_RSA_PKCS and CKM_RSA_X_509 decryption — AWS KMS decrypts RSA with OAEP only.
}

func lookupCrypt(mech uint) (mechRow, bool) {
	for _, r := range cryptTable {
		if r.mech == mech {
			return r, true
		}
	}
	return mechRow{}, false
}

// algRow maps a scheme and hash to the AWS KMS signing algorithm.
type algRow struct {
	scheme scheme
	hash   crypto.Hash
	alg    kmsbackend.SigningAlgorithm
}

// algTable is the AWS KMS API reference, SigningAlgorithm, for RSA (ECDSA
// algorithms are tied to the curve: see curveTable).
var algTable = []algRow{
	{schemePKCS1, crypto.SHA256, kmsbackend.RSASSA_PKCS1_V1_5_SHA_256}, // RFC 8017 §8.2 with SHA-256
	{schemePKCS1, crypto.SHA384, kmsbackend.RSASSA_PKCS1_V1_5_SHA_384}, // RFC 8017 §8.2 with SHA-384
	{schemePKCS1, crypto.SHA512, kmsbackend.RSASSA_PKCS1_V1_5_SHA_512}, // RFC 8017 §8.2 with SHA-512
	{schemePSS, crypto.SHA256, kmsbackend.RSASSA_PSS_SHA_256},          // RFC 8017 §8.1, MGF1-SHA-256, salt 32
	{schemePSS, crypto.SHA384, kmsbackend.RSASSA_PSS_SHA_384},          // RFC 8017 §8.1, MGF1-SHA-384, salt 48
	{schemePSS, crypto.SHA512, kmsbackend.RSASSA_PSS_SHA_512},          // RFC 8017 §8.1, MGF1-SHA-512, salt 64
}

// rsaAlgorithm returns the KMS algorithm for an RSA scheme and hash, SignUnknown if none.
func rsaAlgorithm(s scheme, h crypto.Hash) kmsbackend.SigningAlgorithm {
	for _, r := range algTable {
		if r.scheme == s && r.hash == h {
			return r.alg
		}
	}
	return kmsbackend.SignUnknown
}

func lookupMech(mech uint) (mechRow, bool) {
	for _, r := range mechTable {
		if r.mech == mech {
			return r, true
		}
	}
	return mechRow{}, false
}

// specKind returns the key family of a KMS signing key spec.
func specKind(spec kmsbackend.KeySpec) KeyKind {
	switch spec {
	case kmsbackend.SpecRSA2048, kmsbackend.SpecRSA3072, kmsbackend.SpecRSA4096:
		return KindRSA
	case kmsbackend.SpecECCNISTEdwards25519:
		return KindEdwards
	case kmsbackend.SpecMLDSA44, kmsbackend.SpecMLDSA65, kmsbackend.SpecMLDSA87:
		return KindMLDSA
	case kmsbackend.SpecSM2:
		return KindSM2 // before the curve test: SM2 is in curveTable, but not an ECDSA key
	}
	if CurveFromSpec(spec) != CurveNone {
		return KindEC
	}
	return KindUnknown
}

// MechanismsFor returns, in table order, the mechanisms a key of this spec
// and usage supports: the signing mechanisms for SIGN_VERIFY RSA, ECC, SM2 and
// ML-DSA keys, CKM_RSA_PKCS_OAEP for ENCRYPT_DECRYPT RSA keys, CKM_P11KMS_SM2PKE for
// ENCRYPT_DECRYPT SM2 keys, the one CKM_SHA*_HMAC of
// its spec for a GENERATE_VERIFY_MAC HMAC key; nil for anything else.
func MechanismsFor(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage) []uint {
	if macs := macMechanismsFor(spec, usage); macs != nil {
		return macs // GENERATE_VERIFY_MAC HMAC keys: their one CKM_SHA*_HMAC (hmac.go)
	}
	if blob := kmsBlobMechanismsFor(spec, usage); blob != nil {
		return blob // SYMMETRIC_DEFAULT keys: CKM_P11KMS_KMS_BLOB (kmsblob.go)
	}
	if agree := ecdhMechanismsFor(spec, usage); agree != nil {
		return agree // KEY_AGREEMENT keys: CKM_ECDH1_DERIVE (ecdh.go)
	}
	kind := specKind(spec)
	table := mechTable
	switch {
	case kind == KindUnknown:
		return nil
	case usage == kmsbackend.UsageEncryptDecrypt:
		table = cryptTable
	case usage != kmsbackend.UsageSignVerify:
		return nil
	}
	var out []uint
	for _, r := range table {
		if r.kind == kind {
			out = append(out, r.mech)
		}
	}
	return out
}

// Info returns CK_MECHANISM_INFO (PKCS#11 2.40 §5.5 C_GetMechanismInfo) for a
// token whose signing keys have the given specs: ok is false when the
// mechanism is not in the table or no spec is of its key family. The sizes
// are the range KMS offers for the family (RSA 2048..4096, EC 256..521 bits);
// for an HMAC mechanism, the key length in bytes of its one KMS spec.
func Info(mech uint, specs []kmsbackend.KeySpec) (minBits, maxBits, flags uint, ok bool) {
	if mr, isMac := lookupMac(mech); isMac {
		return macInfo(mr, specs) // HMAC: key sizes in bytes (hmac.go)
	}
	r, found := lookupMech(mech)
	if !found {
		return 0, 0, 0, false
	}
	if r.kind == KindMLDSA {
		return mldsaInfo(r, specs) // public key bytes over the token's ML-DSA keys (mldsa.go)
	}
	for _, s := range specs {
		if specKind(s) == r.kind {
			return r.minBits, r.maxBits, r.flags, true
		}
	}
	return 0, 0, 0, false
}

// KeyUse is a key's spec and KMS usage: together they decide its mechanisms.
type KeyUse struct {
	Spec  kmsbackend.KeySpec
	Usage kmsbackend.KeyUsage
}

// InfoFor is Info for a token whose keys have the given specs and usages
// (PKCS#11 2.40 §5.5 C_GetMechanismInfo): digests are always offered (no key
// needed); CKM_RSA_PKCS_OAEP (CKM_P11KMS_SM2PKE) when an ENCRYPT_DECRYPT RSA
// (SM2) key is present;
// any other mechanism as Info answers over the keys that are not ENCRYPT_DECRYPT.
func InfoFor(mech uint, keys []KeyUse) (minBits, maxBits, flags uint, ok bool) {
	if minBits, maxBits, flags, ok = digestInfo(mech); ok {
		return minBits, maxBits, flags, ok
	}
	if mech == CKM_P11KMS_KMS_BLOB {
		return kmsBlobInfo(keys) // SYMMETRIC_DEFAULT keys (kmsblob.go)
	}
	if mech == ck.CKM_ECDH1_DERIVE {
		return ecdhInfo(keys) // KEY_AGREEMENT keys (ecdh.go)
	}
	var specs []kmsbackend.KeySpec
	r, crypt := lookupCrypt(mech)
	for _, k := range keys {
		switch {
		case crypt && k.Usage == kmsbackend.UsageEncryptDecrypt && specKind(k.Spec) == r.kind:
			return r.minBits, r.maxBits, r.flags, true
		case k.Usage != kmsbackend.UsageEncryptDecrypt && k.Usage != kmsbackend.UsageKeyAgreement:
			specs = append(specs, k.Spec) // KEY_AGREEMENT keys neither sign nor verify
		}
	}
	if crypt {
		return 0, 0, 0, false
	}
	return Info(mech, specs)
}

// AllMechanisms returns every mechanism the module offers: the signing
// mechanisms, the encryption mechanisms, the KMS-blob and ECDH derive
// mechanisms and the digests, each in table order.
func AllMechanisms() []uint {
	out := AllSignMechanisms()
	for _, r := range cryptTable {
		out = append(out, r.mech)
	}
	out = append(out, CKM_P11KMS_KMS_BLOB, ck.CKM_ECDH1_DERIVE) // kmsblob.go, ecdh.go
	return append(out, DigestMechanisms()...)
}

// AllSignMechanisms returns every signing mechanism in the table, in order,
// then the HMAC mechanisms (hmac.go), which sign with secret keys.
func AllSignMechanisms() []uint {
	out := make([]uint, len(mechTable))
	for i, r := range mechTable {
		out[i] = r.mech
	}
	return append(out, allMacMechanisms()...)
}

// algHash returns the hash of an RSA KMS algorithm, 0 if it is not in algTable.
func algHash(alg kmsbackend.SigningAlgorithm) crypto.Hash {
	for _, r := range algTable {
		if r.alg == alg {
			return r.hash
		}
	}
	return 0
}
