package token

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// errUnsupportedKey is wrapped by newKeyObjects for a key the token does not
// expose (a spec missing from keySpecObjects, or a usage without mechanisms):
// the caller logs it and skips the key.
var errUnsupportedKey = errors.New("key spec not exposed as PKCS#11 objects")

// keySpecObject is how one KMS key spec appears in PKCS#11.
type keySpecObject struct {
	keyType uint               // CKA_KEY_TYPE
	genMech uint               // CKA_KEY_GEN_MECHANISM of a key made in the token
	kind    mechanisms.KeyKind // the public key family the spec must carry
	curve   mechanisms.Curve   // the curve, for EC specs
}

// keySpecObjects maps the asymmetric KMS key specs the token exposes to their
// PKCS#11 key type. Specs missing here get errUnsupportedKey.
var keySpecObjects = map[kmsbackend.KeySpec]keySpecObject{
	// PKCS#11 2.40 Current Mechanisms §2.1.1 (CKK_RSA), §2.1.5 (CKM_RSA_PKCS_KEY_PAIR_GEN); AWS KMS KeySpec RSA_2048.
	kmsbackend.SpecRSA2048: {ck.CKK_RSA, ck.CKM_RSA_PKCS_KEY_PAIR_GEN, mechanisms.KindRSA, mechanisms.CurveNone},
	// Same sources; AWS KMS KeySpec RSA_3072.
	kmsbackend.SpecRSA3072: {ck.CKK_RSA, ck.CKM_RSA_PKCS_KEY_PAIR_GEN, mechanisms.KindRSA, mechanisms.CurveNone},
	// Same sources; AWS KMS KeySpec RSA_4096.
	kmsbackend.SpecRSA4096: {ck.CKK_RSA, ck.CKM_RSA_PKCS_KEY_PAIR_GEN, mechanisms.KindRSA, mechanisms.CurveNone},
	// PKCS#11 2.40 Current Mechanisms §2.3.3 (CKK_EC), §2.3.5 (CKM_EC_KEY_PAIR_GEN); AWS KMS ECC_NIST_P256 (secp256r1).
	kmsbackend.SpecECCNISTP256: {ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN, mechanisms.KindEC, mechanisms.CurveP256},
	// Same sources; AWS KMS ECC_NIST_P384 (secp384r1).
	kmsbackend.SpecECCNISTP384: {ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN, mechanisms.KindEC, mechanisms.CurveP384},
	// Same sources; AWS KMS ECC_NIST_P521 (secp521r1).
	kmsbackend.SpecECCNISTP521: {ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN, mechanisms.KindEC, mechanisms.CurveP521},
	// Same sources; AWS KMS ECC_SECG_P256K1 (secp256k1, SEC 2 §2.4.1).
	kmsbackend.SpecECCSECGP256K1: {ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN, mechanisms.KindEC, mechanisms.CurveSecp256k1},
	// PKCS#11 3.0 Current Mechanisms §2.3.5 (CKK_EC_EDWARDS), §2.3.8 (CKM_EC_EDWARDS_KEY_PAIR_GEN); AWS KMS ECC_NIST_EDWARDS25519 (attrs_edwards.go).
	kmsbackend.SpecECCNISTEdwards25519: {ck.CKK_EC_EDWARDS, ck.CKM_EC_EDWARDS_KEY_PAIR_GEN, mechanisms.KindEdwards, mechanisms.CurveNone},
	// PKCS#11 3.2 ml_dsa.md (CKK_ML_DSA, CKM_ML_DSA_KEY_PAIR_GEN); AWS KMS ML_DSA_44, ML_DSA_65, ML_DSA_87 (attrs_mldsa.go).
	kmsbackend.SpecMLDSA44: {ck.CKK_ML_DSA, ck.CKM_ML_DSA_KEY_PAIR_GEN, mechanisms.KindMLDSA, mechanisms.CurveNone},
	kmsbackend.SpecMLDSA65: {ck.CKK_ML_DSA, ck.CKM_ML_DSA_KEY_PAIR_GEN, mechanisms.KindMLDSA, mechanisms.CurveNone},
	kmsbackend.SpecMLDSA87: {ck.CKK_ML_DSA, ck.CKM_ML_DSA_KEY_PAIR_GEN, mechanisms.KindMLDSA, mechanisms.CurveNone},
	// PKCS#11 2.40 Current Mechanisms §2.3.3 (CKK_EC, CKA_EC_PARAMS the curve OID 1.2.156.10197.1.301), §2.3.5; AWS KMS SM2
	// (China Regions): SM2DSA / SM2PKE through the vendor mechanisms of mechanisms/sm2.go, no ECDSA.
	kmsbackend.SpecSM2: {ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN, mechanisms.KindSM2, mechanisms.CurveSM2},
}

// localOrigins lists the KeyMetadata.Origin values whose key material KMS
// generated itself (AWS KMS API reference, KeyMetadata.Origin: AWS_KMS = "KMS
// created the key material"; EXTERNAL = imported). Only those keys are
// CKA_LOCAL (PKCS#11 2.40 §4.7: generated on the token).
var localOrigins = map[string]bool{
	"AWS_KMS": true, // AWS KMS API reference, OriginType
}

// rsaSensitive are the RSA private-key attributes that exist but are never
// revealed (PKCS#11 2.40 Current Mechanisms §2.1.3, Table 5; §4.9 CKA_SENSITIVE).
var rsaSensitive = []uint{
	ck.CKA_PRIVATE_EXPONENT, ck.CKA_PRIME_1, ck.CKA_PRIME_2,
	ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2, ck.CKA_COEFFICIENT,
}

// ecSensitive is the EC private value (PKCS#11 2.40 Current Mechanisms §2.3.4, Table 24).
var ecSensitive = []uint{ck.CKA_VALUE}

// newKeyObjects builds the private-key and public-key objects for one asymmetric KMS key.
// private says whether the private key object has CKA_PRIVATE=true (a PIN is configured).
// pub is k.PublicKeyDER parsed by mechanisms.ParsePublicKey. An unsupported
// spec or usage gives an error wrapping errUnsupportedKey; a public key that
// does not fit the spec gives another error. Handles are left zero.
func newKeyObjects(k *kmsbackend.KeyInfo, pub *mechanisms.PublicKey, private bool) (priv, pubo *object, err error) {
	if k == nil || pub == nil {
		return nil, nil, errors.New("new key objects: missing key description or public key")
	}
	so, ok := keySpecObjects[k.Spec]
	if !ok {
		return nil, nil, fmt.Errorf("key %s: spec %s: %w", k.ARN, k.Spec, errUnsupportedKey)
	}
	if k.Usage == kmsbackend.UsageGenerateVerifyMac ||
		(k.Usage == kmsbackend.UsageKeyAgreement && len(mechanisms.MechanismsFor(k.Spec, k.Usage)) == 0) {
		return nil, nil, fmt.Errorf("key %s: usage %s: %w", k.ARN, k.Usage, errUnsupportedKey)
	}
	if err := checkPublicKey(so, pub); err != nil {
		return nil, nil, fmt.Errorf("key %s: spec %s: %w", k.ARN, k.Spec, err)
	}
	if err := checkMLDSASet(k.Spec, pub); err != nil {
		return nil, nil, fmt.Errorf("key %s: spec %s: %w", k.ARN, k.Spec, err) // attrs_mldsa.go
	}
	priv = &object{class: ck.CKO_PRIVATE_KEY, keyARN: k.ARN, private: private,
		attrs: keyCommonAttrs(k, so, pub), sensitive: map[uint]bool{}}
	pubo = &object{class: ck.CKO_PUBLIC_KEY, keyARN: k.ARN, private: false,
		attrs: keyCommonAttrs(k, so, pub), sensitive: map[uint]bool{}}
	addPrivateKeyAttrs(priv, k)
	addPublicKeyAttrs(pubo, k)
	addKeyMaterialAttrs(priv, pubo, pub)
	return priv, pubo, nil
}

// checkPublicKey refuses a public key whose family or curve differs from the spec's.
func checkPublicKey(so keySpecObject, pub *mechanisms.PublicKey) error {
	switch {
	case pub.Kind != so.kind:
		return fmt.Errorf("public key family %s does not match the spec (want %s)", pub.Kind, so.kind)
	case pub.Kind == mechanisms.KindRSA && pub.RSA == nil:
		return errors.New("RSA public key without modulus")
	case (pub.Kind == mechanisms.KindEC || pub.Kind == mechanisms.KindSM2) && pub.Curve != so.curve:
		return fmt.Errorf("public key curve %s does not match the spec (want %s)", pub.Curve, so.curve)
	case (pub.Kind == mechanisms.KindEC || pub.Kind == mechanisms.KindSM2) && (pub.ECPoint() == nil || pub.Curve.ECParams() == nil):
		return errors.New("EC public key without a valid point")
	case pub.Kind == mechanisms.KindEdwards && pub.EdPoint() == nil:
		return errors.New("Ed25519 public key without a valid point")
	}
	return nil
}

// keyCommonAttrs returns the attributes both objects of a key share: storage
// object attributes (PKCS#11 2.40 §4.4), key attributes (§4.7), and
// CKA_SUBJECT and CKA_PUBLIC_KEY_INFO, which §4.8 and §4.9 both define.
// Each call returns fresh slices, so the two objects share no memory.
func keyCommonAttrs(k *kmsbackend.KeyInfo, so keySpecObject, pub *mechanisms.PublicKey) map[uint][]byte {
	local := localOrigins[k.Origin]
	genMech := uint(ck.UnavailableInformation) // §4.7: "CK_UNAVAILABLE_INFORMATION" when not generated here
	if local {
		genMech = so.genMech
	}
	end := []byte{} // §4.7: empty value, no end date
	if k.State == kmsbackend.StatePendingDeletion {
		end = encodeDate(k.DeletionDate)
	}
	return map[uint][]byte{
		ck.CKA_TOKEN:              encodeBool(true),
		ck.CKA_MODIFIABLE:         encodeBool(false),
		ck.CKA_COPYABLE:           encodeBool(false),
		ck.CKA_DESTROYABLE:        encodeBool(false),
		ck.CKA_LABEL:              []byte(keyObjectLabel(k)),
		ck.CKA_ID:                 keyObjectID(k),
		ck.CKA_KEY_TYPE:           encodeULong(so.keyType),
		ck.CKA_START_DATE:         encodeDate(k.CreatedAt),
		ck.CKA_END_DATE:           end,
		ck.CKA_DERIVE:             encodeBool(false),
		ck.CKA_LOCAL:              encodeBool(local),
		ck.CKA_KEY_GEN_MECHANISM:  encodeULong(genMech),
		ck.CKA_ALLOWED_MECHANISMS: encodeULongs(mechanisms.MechanismsFor(k.Spec, k.Usage)),
		ck.CKA_SUBJECT:            []byte{},
		ck.CKA_PUBLIC_KEY_INFO:    append([]byte(nil), pub.SPKI...),
	}
}

// addPrivateKeyAttrs adds the CKO_PRIVATE_KEY attributes (PKCS#11 2.40 §4.9).
// CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE hold only for key material
// KMS generated: imported material existed in the clear before (the rule
// C_UnwrapKey follows, §5.14). CKA_UNWRAP_TEMPLATE is absent (no unwrapping).
func addPrivateKeyAttrs(o *object, k *kmsbackend.KeyInfo) {
	local := localOrigins[k.Origin]
	o.attrs[ck.CKA_CLASS] = encodeULong(ck.CKO_PRIVATE_KEY)
	o.attrs[ck.CKA_PRIVATE] = encodeBool(o.private)
	o.attrs[ck.CKA_SENSITIVE] = encodeBool(true)
	o.attrs[ck.CKA_ALWAYS_SENSITIVE] = encodeBool(local)
	o.attrs[ck.CKA_EXTRACTABLE] = encodeBool(false)
	o.attrs[ck.CKA_NEVER_EXTRACTABLE] = encodeBool(local)
	o.attrs[ck.CKA_DECRYPT] = encodeBool(k.Usage == kmsbackend.UsageEncryptDecrypt)
	o.attrs[ck.CKA_SIGN] = encodeBool(k.Usage == kmsbackend.UsageSignVerify)
	o.attrs[ck.CKA_DERIVE] = encodeBool(k.Usage == kmsbackend.UsageKeyAgreement) // CKM_ECDH1_DERIVE (derive.go)
	o.attrs[ck.CKA_SIGN_RECOVER] = encodeBool(false)
	o.attrs[ck.CKA_UNWRAP] = encodeBool(false)
	o.attrs[ck.CKA_WRAP_WITH_TRUSTED] = encodeBool(false)
	o.attrs[ck.CKA_ALWAYS_AUTHENTICATE] = encodeBool(false)
}

// addPublicKeyAttrs adds the CKO_PUBLIC_KEY attributes (PKCS#11 2.40 §4.8).
// CKA_WRAP_TEMPLATE is absent (no wrapping).
func addPublicKeyAttrs(o *object, k *kmsbackend.KeyInfo) {
	o.attrs[ck.CKA_CLASS] = encodeULong(ck.CKO_PUBLIC_KEY)
	o.attrs[ck.CKA_PRIVATE] = encodeBool(false)
	o.attrs[ck.CKA_ENCRYPT] = encodeBool(k.Usage == kmsbackend.UsageEncryptDecrypt)
	o.attrs[ck.CKA_VERIFY] = encodeBool(k.Usage == kmsbackend.UsageSignVerify)
	o.attrs[ck.CKA_VERIFY_RECOVER] = encodeBool(false)
	o.attrs[ck.CKA_WRAP] = encodeBool(false)
	o.attrs[ck.CKA_TRUSTED] = encodeBool(false)
}

// addKeyMaterialAttrs adds the family-specific attributes. RSA (Current
// Mechanisms §2.1.2, §2.1.3): CKA_MODULUS and CKA_PUBLIC_EXPONENT on both
// objects, CKA_MODULUS_BITS on the public key only — Table 5 does not list it
// for private keys, so there it is CKR_ATTRIBUTE_TYPE_INVALID, as in SoftHSM
// (clients size private keys from CKA_MODULUS). EC (§2.3.3, §2.3.4):
// CKA_EC_PARAMS on both; CKA_EC_POINT on both, though Table 24 lists it only
// for public keys, because clients read it from the private key (as from
// SoftHSM and most HSM modules). The private parts are sensitive.
func addKeyMaterialAttrs(priv, pubo *object, pub *mechanisms.PublicKey) {
	if pub.Kind == mechanisms.KindRSA {
		for _, o := range []*object{priv, pubo} {
			o.attrs[ck.CKA_MODULUS] = pub.RSA.N.Bytes()
			o.attrs[ck.CKA_PUBLIC_EXPONENT] = big.NewInt(int64(pub.RSA.E)).Bytes()
		}
		pubo.attrs[ck.CKA_MODULUS_BITS] = encodeULong(uint(pub.ModulusBits()))
		markSensitive(priv, rsaSensitive)
		return
	}
	if pub.Kind == mechanisms.KindEdwards {
		addEdwardsAttrs(priv, pubo, pub) // attrs_edwards.go
		return
	}
	if pub.Kind == mechanisms.KindMLDSA {
		addMLDSAAttrs(priv, pubo, pub) // attrs_mldsa.go
		return
	}
	for _, o := range []*object{priv, pubo} {
		o.attrs[ck.CKA_EC_PARAMS] = append([]byte(nil), pub.Curve.ECParams()...)
		o.attrs[ck.CKA_EC_POINT] = append([]byte(nil), pub.ECPoint()...)
	}
	markSensitive(priv, ecSensitive)
}

// markSensitive records attribute types that exist on o but are never revealed.
func markSensitive(o *object, types []uint) {
	for _, t := range types {
		o.sensitive[t] = true
	}
}
