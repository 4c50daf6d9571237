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
// CKA_PRIVATE=true. It encrypts and decrypts only; the value (256-bit AES
// inside KMS) is sensitive and never extractable (attrs_kmssecret.go).
func newSymmetricKeyObject(k *kmsbackend.KeyInfo, private bool) (*object, error) {
	if k == nil {
		return nil, errors.New("new symmetric key object: missing key description")
	}
	if k.Spec != kmsbackend.SpecSymmetricDefault || k.Usage != kmsbackend.UsageEncryptDecrypt {
		return nil, fmt.Errorf("key %s: spec %s, usage %s: %w", k.ARN, k.Spec, k.Usage, errUnsupportedKey)
	}
	// CKA_KEY_GEN_MECHANISM: no PKCS#11 mechanism generates a KMS key, so the
	// value is unavailable (§4.7) whatever the origin. CKA_VALUE_LEN as for
	// CKK_AES (Current Mechanisms 2.40 §2.8.2).
	return newKMSSecretObject(k, private, kmsSecret{keyType: mechanisms.CKK_P11KMS_KMS, genMech: uint(ck.UnavailableInformation), valueLen: mechanisms.KMSBlobKeyLen}), nil
}

// newSymmetricEntry builds and registers the secret-key object of one
// SYMMETRIC_DEFAULT key. The backend must be able to encrypt and decrypt
// with context (kmsbackend.SymmetricCrypter).
func (c *keyCache) newSymmetricEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object]) (*keyEntry, error) {
	_, ok := c.s.backend.(kmsbackend.SymmetricCrypter)
	return c.newKMSSecretEntry(info, objs, ok, "has no symmetric Encrypt/Decrypt", newSymmetricKeyObject)
}
