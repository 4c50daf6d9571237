package token

import (
	"errors"
	"fmt"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// newSymmetricKeyObject builds the one CKO_SECRET_KEY object (PKCS#11 2.40
// §4.10) that stands for a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT KMS key, whatever
// its origin (AWS_KMS, AWS_CLOUDHSM custom key stores, EXTERNAL, external key
// stores: KMS Encrypt and Decrypt work the same for all). Its key type is the
// vendor-defined mechanisms.CKK_P11KMS_KMS, not CKK_AES (see there): its one
// mechanism is mechanisms.CKM_P11KMS_KMS_BLOB. private says whether it has
// CKA_PRIVATE=true. CKA_ID, CKA_LABEL, the dates and CKA_LOCAL follow the
// other keys' rules (keyCommonAttrs). It encrypts and decrypts only; the
// value (256-bit AES inside KMS) is sensitive and never extractable.
func newSymmetricKeyObject(k *kmsbackend.KeyInfo, private bool) (*object, error) {
	if k == nil {
		return nil, errors.New("new symmetric key object: missing key description")
	}
	if k.Spec != kmsbackend.SpecSymmetricDefault || k.Usage != kmsbackend.UsageEncryptDecrypt {
		return nil, fmt.Errorf("key %s: spec %s, usage %s: %w", k.ARN, k.Spec, k.Usage, errUnsupportedKey)
	}
	local := localOrigins[k.Origin]
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
		// §4.7 key attributes. CKA_KEY_GEN_MECHANISM: no PKCS#11 mechanism
		// generates a KMS key, so the value is unavailable (§4.7).
		ck.CKA_KEY_TYPE:           encodeULong(mechanisms.CKK_P11KMS_KMS),
		ck.CKA_ID:                 keyObjectID(k),
		ck.CKA_START_DATE:         encodeDate(k.CreatedAt),
		ck.CKA_END_DATE:           end,
		ck.CKA_DERIVE:             encodeBool(false),
		ck.CKA_LOCAL:              encodeBool(local),
		ck.CKA_KEY_GEN_MECHANISM:  encodeULong(uint(ck.UnavailableInformation)),
		ck.CKA_ALLOWED_MECHANISMS: encodeULongs(mechanisms.MechanismsFor(k.Spec, k.Usage)),
		// §4.10 secret key attributes: KMS encrypts and decrypts only.
		ck.CKA_SENSITIVE:         encodeBool(true),
		ck.CKA_ENCRYPT:           encodeBool(true),
		ck.CKA_DECRYPT:           encodeBool(true),
		ck.CKA_SIGN:              encodeBool(false),
		ck.CKA_VERIFY:            encodeBool(false),
		ck.CKA_WRAP:              encodeBool(false),
		ck.CKA_UNWRAP:            encodeBool(false),
		ck.CKA_EXTRACTABLE:       encodeBool(false),
		ck.CKA_ALWAYS_SENSITIVE:  encodeBool(local),
		ck.CKA_NEVER_EXTRACTABLE: encodeBool(local),
		ck.CKA_WRAP_WITH_TRUSTED: encodeBool(false),
		ck.CKA_TRUSTED:           encodeBool(false),
		// CKA_VALUE_LEN in bytes, as for CKK_AES (Current Mechanisms 2.40
		// §2.8.2); CKA_VALUE exists but is sensitive (markSensitive below).
		ck.CKA_VALUE_LEN: encodeULong(mechanisms.KMSBlobKeyLen),
	}}
	markSensitive(o, secretSensitive)
	return o, nil
}

// newSymmetricEntry builds and registers the secret-key object of one
// SYMMETRIC_DEFAULT key. The backend must be able to encrypt and decrypt
// with context (kmsbackend.SymmetricCrypter), or the key is skipped.
func (c *keyCache) newSymmetricEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object]) (*keyEntry, error) {
	if _, ok := c.s.backend.(kmsbackend.SymmetricCrypter); !ok {
		return nil, fmt.Errorf("key %s: the backend has no symmetric Encrypt/Decrypt: %w", info.ARN, errUnsupportedKey)
	}
	o, err := newSymmetricKeyObject(info, c.s.pin != nil)
	if err != nil {
		return nil, err
	}
	e := &keyEntry{info: info, secret: o}
	c.register(e, objs)
	return e, nil
}
