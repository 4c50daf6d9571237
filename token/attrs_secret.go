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

// newSecretKeyObject builds the one CKO_SECRET_KEY object (PKCS#11 2.40
// §4.10, attrs_kmssecret.go) that stands for a GENERATE_VERIFY_MAC KMS key.
// private says whether it has CKA_PRIVATE=true (a PIN is configured). It
// signs and verifies only (CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP and
// CKA_DERIVE false). Another spec or usage wraps errUnsupportedKey.
func newSecretKeyObject(k *kmsbackend.KeyInfo, private bool) (*object, error) {
	if k == nil {
		return nil, errors.New("new secret key object: missing key description")
	}
	keyType, ok := secretKeyTypes[k.Spec]
	valueLen, okLen := mechanisms.HMACKeyLen(k.Spec)
	if !ok || !okLen || k.Usage != kmsbackend.UsageGenerateVerifyMac {
		return nil, fmt.Errorf("key %s: spec %s, usage %s: %w", k.ARN, k.Spec, k.Usage, errUnsupportedKey)
	}
	// Current Mechanisms 2.40: the generic secret key generation mechanism.
	return newKMSSecretObject(k, private, kmsSecret{keyType: keyType, genMech: ck.CKM_GENERIC_SECRET_KEY_GEN, valueLen: valueLen, mac: true}), nil
}

// newSecretEntry builds and registers the secret-key object of one HMAC
// key. The backend must be able to compute MACs (kmsbackend.Macer).
func (c *keyCache) newSecretEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object]) (*keyEntry, error) {
	_, ok := c.s.backend.(kmsbackend.Macer)
	return c.newKMSSecretEntry(info, objs, ok, "computes no MACs", newSecretKeyObject)
}
