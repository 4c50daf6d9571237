package token

import (
	"bytes"
	"encoding/binary"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// deriveKeyTypes are the key types C_DeriveKey makes, with the value
// lengths each allows (nil: any). Source: PKCS#11 Current Mechanisms 2.40
// §2.8.2 (CKK_AES: CKA_VALUE_LEN 16, 24 or 32) and the generic secret key
// objects (CKK_GENERIC_SECRET: any length). Any other key type, valid in
// Cryptoki but not made here, is CKR_TEMPLATE_INCONSISTENT (PKCS#11 2.40
// §4.1.1 rule 5: values each valid, but not satisfiable by the token).
var deriveKeyTypes = map[uint][]int{
	ck.CKK_GENERIC_SECRET: nil,
	ck.CKK_AES:            {16, 24, 32},
}

// deriveBools are the CK_BBOOL attributes a C_DeriveKey template may give,
// with the default each takes when omitted (PKCS#11 2.40 §4.4, §4.7,
// §4.10). CKA_SENSITIVE defaults to CK_FALSE (§4.10 Table 34);
// CKA_EXTRACTABLE, whose default the spec leaves to the token, to CK_TRUE,
// as in SoftHSM, since pkcs11-tool and libp11 read CKA_VALUE of the
// derived key without asking for it; CKA_DESTROYABLE to CK_TRUE (3.0
// §4.4). CKA_PRIVATE is absent: its default is the base key's (derive.go).
var deriveBools = map[uint]bool{
	ck.CKA_TOKEN: false, ck.CKA_MODIFIABLE: false, ck.CKA_COPYABLE: false, ck.CKA_DESTROYABLE: true,
	ck.CKA_DERIVE: false, ck.CKA_SENSITIVE: false, ck.CKA_ENCRYPT: false, ck.CKA_DECRYPT: false,
	ck.CKA_SIGN: false, ck.CKA_VERIFY: false, ck.CKA_WRAP: false, ck.CKA_UNWRAP: false,
	ck.CKA_EXTRACTABLE: true, ck.CKA_WRAP_WITH_TRUSTED: false, ck.CKA_TRUSTED: false,
	ck.CKA_PRIVATE: false,
}

// deriveBytes are the byte-array attributes a template may give (PKCS#11
// 2.40 §4.4 CKA_LABEL, §4.7 CKA_ID, dates, CKA_ALLOWED_MECHANISMS).
var deriveBytes = map[uint]bool{
	ck.CKA_LABEL: true, ck.CKA_ID: true, ck.CKA_START_DATE: true, ck.CKA_END_DATE: true,
	ck.CKA_ALLOWED_MECHANISMS: true,
}

// deriveReadOnly are attributes the token computes (PKCS#11 2.40 Table 15
// footnotes 2, 4, 6: "must not be specified"); a template giving one is
// CKR_ATTRIBUTE_READ_ONLY (§4.1.1 rule 3). CKA_VALUE is the mechanism's
// contribution (Current Mechanisms 2.40 §2.3.16).
var deriveReadOnly = map[uint]bool{
	ck.CKA_VALUE: true, ck.CKA_LOCAL: true, ck.CKA_ALWAYS_SENSITIVE: true,
	ck.CKA_NEVER_EXTRACTABLE: true, ck.CKA_KEY_GEN_MECHANISM: true,
}

// deriveTemplate is a checked C_DeriveKey template.
type deriveTemplate struct {
	keyType  uint
	valueLen int // 0 when the template gives none
	bools    map[uint]bool
	bytes    map[uint][]byte
}

// parseDeriveTemplate checks a C_DeriveKey template by the rules of
// PKCS#11 2.40 §4.1.1, in this order per attribute: an attribute a secret
// key does not have is CKR_ATTRIBUTE_TYPE_INVALID; a computed one
// CKR_ATTRIBUTE_READ_ONLY; a value of the wrong size, or an impossible
// value (CKA_VALUE_LEN 0, a date not 8 digits), CKR_ATTRIBUTE_VALUE_INVALID;
// an attribute given twice with different values, CKA_CLASS other than
// CKO_SECRET_KEY, an unsupported CKA_KEY_TYPE, CKA_TOKEN true (the token
// stores no objects: derived keys are session objects), or CKA_MODIFIABLE
// or CKA_COPYABLE true (no C_SetAttributeValue or C_CopyObject),
// CKR_TEMPLATE_INCONSISTENT; CKA_TRUSTED true (only a security officer
// may set it, and p11kms has none, §4.10) CKR_ATTRIBUTE_READ_ONLY.
// CKA_CHECK_VALUE is ignored, as §4.10 lets a token that does not compute
// it do. Lengths against the mechanism are checked by derivedLen.
func parseDeriveTemplate(tmpl []Attribute) (*deriveTemplate, error) {
	t := &deriveTemplate{keyType: ck.CKK_GENERIC_SECRET, bools: map[uint]bool{}, bytes: map[uint][]byte{}}
	seen := map[uint][]byte{}
	for _, a := range tmpl {
		if prev, dup := seen[a.Type]; dup && !bytes.Equal(prev, a.Value) {
			return nil, Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey template gives attribute 0x%X twice with different values", a.Type)
		}
		seen[a.Type] = a.Value
		if err := t.set(a); err != nil {
			return nil, err
		}
	}
	switch {
	case t.bools[ck.CKA_TOKEN]:
		return nil, Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey: CKA_TOKEN true; p11kms stores no objects, a derived key can only be a session object (CKA_TOKEN false)")
	case t.bools[ck.CKA_MODIFIABLE] || t.bools[ck.CKA_COPYABLE]:
		return nil, Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey: CKA_MODIFIABLE/CKA_COPYABLE true; derived keys cannot be modified or copied (no C_SetAttributeValue, C_CopyObject)")
	case t.bools[ck.CKA_TRUSTED]:
		return nil, Errorf(ck.CKR_ATTRIBUTE_READ_ONLY, "C_DeriveKey: CKA_TRUSTED true can only be set by a security officer, and p11kms has none")
	}
	return t, nil
}

// set records one template attribute (see parseDeriveTemplate).
func (t *deriveTemplate) set(a Attribute) error {
	_, isBool := deriveBools[a.Type]
	switch {
	case a.Type == ck.CKA_CLASS:
		v, err := ulongValue(a)
		if err != nil {
			return err
		}
		if v != ck.CKO_SECRET_KEY {
			return Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey: CKA_CLASS 0x%X; CKM_ECDH1_DERIVE makes secret keys (CKO_SECRET_KEY)", v)
		}
	case a.Type == ck.CKA_KEY_TYPE:
		v, err := ulongValue(a)
		if err != nil {
			return err
		}
		if _, ok := deriveKeyTypes[v]; !ok {
			return Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey: CKA_KEY_TYPE 0x%X; p11kms derives CKK_GENERIC_SECRET and CKK_AES keys only", v)
		}
		t.keyType = v
	case a.Type == ck.CKA_VALUE_LEN:
		v, err := ulongValue(a)
		if err != nil {
			return err
		}
		if v == 0 || v > 1<<20 {
			return Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: CKA_VALUE_LEN %d", v)
		}
		t.valueLen = int(v)
	case isBool:
		if len(a.Value) != 1 {
			return Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: CK_BBOOL attribute 0x%X is %d bytes", a.Type, len(a.Value))
		}
		t.bools[a.Type] = a.Value[0] != 0
	case deriveBytes[a.Type]:
		if err := checkBytesAttr(a); err != nil {
			return err
		}
		t.bytes[a.Type] = bytes.Clone(a.Value)
	case a.Type == ck.CKA_CHECK_VALUE:
		// Ignored: the token does not compute key check values (§4.10).
	case deriveReadOnly[a.Type]:
		return Errorf(ck.CKR_ATTRIBUTE_READ_ONLY, "C_DeriveKey: attribute 0x%X is computed by the token and cannot be given", a.Type)
	default:
		return Errorf(ck.CKR_ATTRIBUTE_TYPE_INVALID, "C_DeriveKey: attribute 0x%X is not an attribute of a secret key p11kms derives", a.Type)
	}
	return nil
}

// checkBytesAttr checks the shape of a byte-array attribute: dates are
// empty or 8 bytes (CK_DATE, PKCS#11 2.40 §3.3), CKA_ALLOWED_MECHANISMS a
// whole number of CK_MECHANISM_TYPEs.
func checkBytesAttr(a Attribute) error {
	switch {
	case (a.Type == ck.CKA_START_DATE || a.Type == ck.CKA_END_DATE) && len(a.Value) != 0 && len(a.Value) != 8:
		return Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: date attribute 0x%X is %d bytes, want 8 (CK_DATE) or 0", a.Type, len(a.Value))
	case a.Type == ck.CKA_ALLOWED_MECHANISMS && len(a.Value)%ulongSize != 0:
		return Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: CKA_ALLOWED_MECHANISMS is %d bytes, not a whole number of CK_MECHANISM_TYPEs", len(a.Value))
	}
	return nil
}

// ulongValue decodes a CK_ULONG attribute value.
func ulongValue(a Attribute) (uint, error) {
	if len(a.Value) != ulongSize {
		return 0, Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "attribute 0x%X is %d bytes, a CK_ULONG is %d", a.Type, len(a.Value), ulongSize)
	}
	if ulongSize == 8 { // native order, as encodeULong writes
		return uint(binary.NativeEndian.Uint64(a.Value)), nil
	}
	return uint(binary.NativeEndian.Uint32(a.Value)), nil
}

// boolOr returns the template's value for a CK_BBOOL attribute, or its default.
func (t *deriveTemplate) boolOr(attr uint) bool {
	if v, ok := t.bools[attr]; ok {
		return v
	}
	return deriveBools[attr]
}

// derivedLen decides the length of the new key's value (Current Mechanisms
// 2.40 §2.3.16: the result is truncated "according to the CKA_KEY_TYPE
// attribute of the template and, if it has one and the key type supports
// it, the CKA_VALUE_LEN attribute"). secretLen is the length of the raw
// shared secret; kdf says whether a KDF (which makes any length) is used.
// CKA_VALUE_LEN is required for CKK_AES and with a KDF, where no length
// follows from the mechanism (CKR_TEMPLATE_INCOMPLETE, §4.1.1 rule 4); an
// AES length other than 16, 24 or 32 is CKR_ATTRIBUTE_VALUE_INVALID; more
// than the secret's length with CKD_NULL is CKR_TEMPLATE_INCONSISTENT;
// more than mechanisms.MaxDerivedKeyLen with a KDF CKR_ATTRIBUTE_VALUE_INVALID.
func (t *deriveTemplate) derivedLen(secretLen int, kdf bool) (int, error) {
	n := t.valueLen
	allowed := deriveKeyTypes[t.keyType]
	switch {
	case n == 0 && (allowed != nil || kdf):
		return 0, Errorf(ck.CKR_TEMPLATE_INCOMPLETE, "C_DeriveKey: CKA_VALUE_LEN is needed for key type 0x%X with this KDF", t.keyType)
	case n == 0:
		return secretLen, nil
	case allowed != nil && !containsInt(allowed, n):
		return 0, Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: CKA_VALUE_LEN %d is not a length of key type 0x%X (%v)", n, t.keyType, allowed)
	case !kdf && n > secretLen:
		return 0, Errorf(ck.CKR_TEMPLATE_INCONSISTENT, "C_DeriveKey: CKA_VALUE_LEN %d exceeds the %d-byte shared secret (CKD_NULL)", n, secretLen)
	case kdf && n > mechanisms.MaxDerivedKeyLen:
		return 0, Errorf(ck.CKR_ATTRIBUTE_VALUE_INVALID, "C_DeriveKey: CKA_VALUE_LEN %d exceeds the %d bytes p11kms derives with a KDF", n, mechanisms.MaxDerivedKeyLen)
	}
	return n, nil
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
