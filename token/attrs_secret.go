package token

import (
	"errors"
	"fmt"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// secretKeyTypes maps the KMS HMAC key specs to their CKA_KEY_TYPE. PKCS#11
// Current Mechanisms 2.40 lets the SHA-xxx-HMAC mechanisms use "generic
// secret keys and CKK_SHA<xxx>_HMAC" keys; the hash-specific type is chosen
// because it says what KMS enforces: the key works with that one hash only
// (AWS KMS Developer Guide, "Key spec reference": one MAC algorithm per
// HMAC spec), where CKK_GENERIC_SECRET would promise every HMAC.
var secretKeyTypes = map[kmsbackend.KeySpec]uint{
	kmsbackend.SpecHMAC224: ck.CKK_SHA224_HMAC, // pkcs11t.h 2.40; AWS KMS HMAC_224 -> HMAC_SHA_224
	kmsbackend.SpecHMAC256: ck.CKK_SHA256_HMAC, // pkcs11t.h 2.40; AWS KMS HMAC_256 -> HMAC_SHA_256
	kmsbackend.SpecHMAC384: ck.CKK_SHA384_HMAC, // pkcs11t.h 2.40; AWS KMS HMAC_384 -> HMAC_SHA_384
	kmsbackend.SpecHMAC512: ck.CKK_SHA512_HMAC, // pkcs11t.h 2.40; AWS KMS HMAC_512 -> HMAC_SHA_512
}

// secretSensitive is the secret key's value: it exists but is never
// revealed (Current Mechanisms 2.40, generic secret key objects: CKA_VALUE;
// PKCS#11 2.40 §4.10 CKA_SENSITIVE). KMS never exports it anyway.
var secretSensitive = []uint{ck.CKA_VALUE}

// newSecretKeyObject builds the one CKO_SECRET_KEY object (PKCS#11 2.40
// §4.10) that stands for a GENERATE_VERIFY_MAC KMS key. private says whether
// it has CKA_PRIVATE=true (a PIN is configured). CKA_ID, CKA_LABEL, the dates
// and CKA_LOCAL follow the asymmetric keys' rules (keyCommonAttrs). It signs
// and verifies only (CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP and
// CKA_DERIVE false); CKA_CHECK_VALUE, which needs the key value, and the
// wrap templates are absent. Another spec or usage wraps errUnsupportedKey.
func newSecretKeyObject(k *kmsbackend.KeyInfo, private bool) (*object, error) {
	if k == nil {
		return nil, errors.New("new secret key object: missing key description")
	}
	keyType, ok := secretKeyTypes[k.Spec]
	valueLen, okLen := mechanisms.HMACKeyLen(k.Spec)
	if !ok || !okLen || k.Usage != kmsbackend.UsageGenerateVerifyMac {
		return nil, fmt.Errorf("key %s: spec %s, usage %s: %w", k.ARN, k.Spec, k.Usage, errUnsupportedKey)
	}
	local := localOrigins[k.Origin]
	genMech := uint(ck.UnavailableInformation) // §4.7: not generated on the token
	if local {
		genMech = ck.CKM_GENERIC_SECRET_KEY_GEN // Current Mechanisms 2.40: the generic secret key generation mechanism
	}
	end := []byte{} // §4.7: empty value, no end date
	if k.State == kmsbackend.StatePendingDeletion {
		end = encodeDate(k.DeletionDate)
	}
	o := &object{class: ck.CKO_SECRET_KEY, keyARN: k.ARN, private: private, sensitive: map[uint]bool{}, attrs: map[uint][]byte{
		// §4.2 common object and §4.4 storage object attributes.
		ck.CKA_CLASS:       encodeULong(ck.CKO_SECRET_KEY),
		ck.CKA_TOKEN:       encodeBool(true),
		ck.CKA_PRIVATE:     encodeBool(private),
		ck.CKA_MODIFIABLE:  encodeBool(false),
		ck.CKA_COPYABLE:    encodeBool(false),
		ck.CKA_DESTROYABLE: encodeBool(false),
		ck.CKA_LABEL:       []byte(keyObjectLabel(k)),
		// §4.7 key attributes.
		ck.CKA_KEY_TYPE:           encodeULong(keyType),
		ck.CKA_ID:                 keyObjectID(k),
		ck.CKA_START_DATE:         encodeDate(k.CreatedAt),
		ck.CKA_END_DATE:           end,
		ck.CKA_DERIVE:             encodeBool(false),
		ck.CKA_LOCAL:              encodeBool(local),
		ck.CKA_KEY_GEN_MECHANISM:  encodeULong(genMech),
		ck.CKA_ALLOWED_MECHANISMS: encodeULongs(mechanisms.MechanismsFor(k.Spec, k.Usage)),
		// §4.10 secret key attributes: KMS computes and checks MACs only.
		ck.CKA_SENSITIVE:         encodeBool(true),
		ck.CKA_ENCRYPT:           encodeBool(false),
		ck.CKA_DECRYPT:           encodeBool(false),
		ck.CKA_SIGN:              encodeBool(true),
		ck.CKA_VERIFY:            encodeBool(true),
		ck.CKA_WRAP:              encodeBool(false),
		ck.CKA_UNWRAP:            encodeBool(false),
		ck.CKA_EXTRACTABLE:       encodeBool(false),
		ck.CKA_ALWAYS_SENSITIVE:  encodeBool(local),
		ck.CKA_NEVER_EXTRACTABLE: encodeBool(local),
		ck.CKA_WRAP_WITH_TRUSTED: encodeBool(false),
		ck.CKA_TRUSTED:           encodeBool(false),
		// Current Mechanisms 2.40, generic secret key objects: CKA_VALUE_LEN
		// in bytes; CKA_VALUE exists but is sensitive (markSensitive below).
		ck.CKA_VALUE_LEN: encodeULong(valueLen),
	}}
	markSensitive(o, secretSensitive)
	return o, nil
}

// newSecretEntry builds and registers the secret-key object of one HMAC
// key. The backend must be able to compute MACs (kmsbackend.Macer), or the
// key is skipped: an object that cannot sign would only mislead.
func (c *keyCache) newSecretEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object]) (*keyEntry, error) {
	if _, ok := c.s.backend.(kmsbackend.Macer); !ok {
		return nil, fmt.Errorf("key %s: the backend computes no MACs: %w", info.ARN, errUnsupportedKey)
	}
	o, err := newSecretKeyObject(info, c.s.pin != nil)
	if err != nil {
		return nil, err
	}
	e := &keyEntry{info: info, secret: o}
	c.register(e, objs)
	return e, nil
}
