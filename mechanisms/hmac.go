package mechanisms

import (
	"crypto"
	"slices"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// macFlags are the CK_MECHANISM_INFO flags of the HMAC mechanisms (PKCS#11
// 2.40 §3.7): sign and verify, both computed in AWS KMS's HSMs (CKF_HW).
const macFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW

// macRow is one HMAC mechanism: the only KMS key spec it works with, the
// KMS MAC algorithm, the hash (whose size is the MAC length) and the key
// length in bytes.
type macRow struct {
	mech   uint
	spec   kmsbackend.KeySpec
	alg    kmsbackend.MacAlgorithm
	hash   crypto.Hash
	keyLen uint
}

// macTable lists the HMAC mechanisms. Sources: PKCS#11 Current Mechanisms
// 2.40, the SHA-224-HMAC, SHA-256-HMAC, SHA-384-HMAC and SHA-512-HMAC
// mechanisms (special cases of the general-length ones: full hash length
// output, no parameter; keys generic secret or CKK_SHA*_HMAC); AWS KMS Developer Guide, "Key spec reference", HMAC key
// specs: each spec's key length and its one MAC algorithm. Not offered: the
// CKM_*_HMAC_GENERAL variants (truncated MACs: KMS returns and checks only
// full-length MACs) and SHA-1/MD5 HMACs (no KMS key spec).
var macTable = []macRow{
	{ck.CKM_SHA224_HMAC, kmsbackend.SpecHMAC224, kmsbackend.HMAC_SHA_224, crypto.SHA224, 28}, // HMAC_224: 224-bit key, HMAC_SHA_224
	{ck.CKM_SHA256_HMAC, kmsbackend.SpecHMAC256, kmsbackend.HMAC_SHA_256, crypto.SHA256, 32}, // HMAC_256: 256-bit key, HMAC_SHA_256
	{ck.CKM_SHA384_HMAC, kmsbackend.SpecHMAC384, kmsbackend.HMAC_SHA_384, crypto.SHA384, 48}, // HMAC_384: 384-bit key, HMAC_SHA_384
	{ck.CKM_SHA512_HMAC, kmsbackend.SpecHMAC512, kmsbackend.HMAC_SHA_512, crypto.SHA512, 64}, // HMAC_512: 512-bit key, HMAC_SHA_512
}

func lookupMac(mech uint) (macRow, bool) {
	for _, r := range macTable {
		if r.mech == mech {
			return r, true
		}
	}
	return macRow{}, false
}

// IsMacMechanism reports whether mech is one of the HMAC mechanisms the token offers.
func IsMacMechanism(mech uint) bool {
	_, ok := lookupMac(mech)
	return ok
}

// HMACKeyLen returns the key length in bytes of a KMS HMAC key spec
// (CKA_VALUE_LEN, in bytes: PKCS#11 Current Mechanisms 2.40, generic
// secret key objects), false for any
// other spec.
func HMACKeyLen(spec kmsbackend.KeySpec) (uint, bool) {
	for _, r := range macTable {
		if r.spec == spec {
			return r.keyLen, true
		}
	}
	return 0, false
}

// macMechanismsFor returns the HMAC mechanism of a GENERATE_VERIFY_MAC key
// of an HMAC spec, nil for any other key.
func macMechanismsFor(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage) []uint {
	if usage != kmsbackend.UsageGenerateVerifyMac {
		return nil
	}
	for _, r := range macTable {
		if r.spec == spec {
			return []uint{r.mech}
		}
	}
	return nil
}

// macInfo answers C_GetMechanismInfo for an HMAC mechanism on a token whose
// keys have the given specs: ok when one key has the mechanism's spec. Key
// sizes are in bytes, as PKCS#11 measures HMAC keys (CKA_VALUE_LEN) and as
// SoftHSM reports them; KMS offers one length per spec.
func macInfo(r macRow, specs []kmsbackend.KeySpec) (minLen, maxLen, flags uint, ok bool) {
	if !slices.Contains(specs, r.spec) {
		return 0, 0, 0, false
	}
	return r.keyLen, r.keyLen, macFlags, true
}

// allMacMechanisms returns every HMAC mechanism, in table order.
func allMacMechanisms() []uint {
	out := make([]uint, len(macTable))
	for i, r := range macTable {
		out[i] = r.mech
	}
	return out
}

// MacKey is what a MAC plan needs to know about a KMS HMAC key.
type MacKey struct {
	// Spec is the KMS key spec (HMAC_224 .. HMAC_512).
	Spec kmsbackend.KeySpec
	// Algorithms the key allows (KeyMetadata.MacAlgorithms); when empty,
	// the spec's algorithm is assumed allowed.
	Algorithms []kmsbackend.MacAlgorithm
}

// MacPlan is one HMAC sign or verify operation: a mechanism bound to a key,
// turned into the KMS MAC algorithm and the MAC length. It is immutable.
type MacPlan struct {
	// Mechanism is the PKCS#11 mechanism (CKM_SHA*_HMAC).
	Mechanism uint
	// Algorithm is the KMS MAC algorithm.
	Algorithm kmsbackend.MacAlgorithm
	// MacLen is the MAC length in bytes: the hash's output size.
	MacLen int
}

// NewMacPlan validates (mechanism, parameter, key) for C_SignInit or
// C_VerifyInit with an HMAC key (PKCS#11 2.40 §5.12, §5.13). CK_RVs:
// CKR_KEY_TYPE_INCONSISTENT for a signing mechanism of the asymmetric table;
// CKR_MECHANISM_INVALID for any other mechanism that is not an HMAC
// mechanism the token offers, or whose algorithm the key does not allow;
// CKR_KEY_TYPE_INCONSISTENT for an HMAC mechanism of another hash than the
// key's spec (KMS ties each HMAC spec to one algorithm);
// CKR_MECHANISM_PARAM_INVALID for any parameter (the HMAC mechanisms take none).
func NewMacPlan(mech uint, param []byte, key MacKey) (*MacPlan, error) {
	r, ok := lookupMac(mech)
	if _, asym := lookupMech(mech); asym {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "%s needs an asymmetric key, not an HMAC key", ck.MechName(mech))
	}
	if !ok {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s is not an HMAC mechanism this token offers", ck.MechName(mech))
	}
	if r.spec != key.Spec {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "%s needs a KMS %s key, not %s", ck.MechName(mech), r.spec, key.Spec)
	}
	if len(key.Algorithms) > 0 && !slices.Contains(key.Algorithms, r.alg) {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s needs KMS algorithm %s, which the key does not allow (it allows %v)",
			ck.MechName(mech), r.alg, key.Algorithms)
	}
	if len(param) != 0 {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s takes no parameter, got %d bytes", ck.MechName(mech), len(param))
	}
	return &MacPlan{Mechanism: mech, Algorithm: r.alg, MacLen: r.hash.Size()}, nil
}

// CheckMessage refuses a message KMS cannot MAC: AWS KMS GenerateMac and
// VerifyMac take 1 to 4,096 bytes (kmsbackend.MaxMacMessage), so anything
// else is CKR_DATA_LEN_RANGE (PKCS#11 2.40 §5.1: input data length out of range).
func (p *MacPlan) CheckMessage(msg []byte) error {
	if len(msg) < 1 || len(msg) > kmsbackend.MaxMacMessage {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "%s through KMS takes 1 to %d bytes of message, got %d",
			ck.MechName(p.Mechanism), kmsbackend.MaxMacMessage, len(msg))
	}
	return nil
}

// CheckMac refuses a MAC of the wrong length before any remote call:
// CKR_SIGNATURE_LEN_RANGE (PKCS#11 2.40 §5.13: C_Verify, signature length).
func (p *MacPlan) CheckMac(mac []byte) error {
	if len(mac) != p.MacLen {
		return ck.Errorf(ck.CKR_SIGNATURE_LEN_RANGE, "%s MACs are %d bytes, got %d", ck.MechName(p.Mechanism), p.MacLen, len(mac))
	}
	return nil
}

// Output checks a MAC KMS returned: one of another length than the hash's
// is withheld (CKR_DEVICE_ERROR), never handed to the caller.
func (p *MacPlan) Output(mac []byte) ([]byte, error) {
	if len(mac) != p.MacLen {
		return nil, ck.Errorf(ck.CKR_DEVICE_ERROR, "KMS returned a %d-byte MAC for %s; %d expected", len(mac), p.Algorithm, p.MacLen)
	}
	return mac, nil
}
