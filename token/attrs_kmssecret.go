package token

import (
	"fmt"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// secretSensitive is the secret key's value: it exists but is never
// revealed (Current Mechanisms 2.40, generic secret key objects: CKA_VALUE;
// PKCS#11 2.40 §4.10 CKA_SENSITIVE). KMS never exports it anyway.
var secretSensitive = []uint{ck.CKA_VALUE}

// kmsSecret is what differs between the secret-key objects that stand for
// KMS keys (HMAC keys, attrs_secret.go; SYMMETRIC_DEFAULT keys,
// attrs_symmetric.go).
type kmsSecret struct {
	keyType  uint // CKA_KEY_TYPE
	genMech  uint // CKA_KEY_GEN_MECHANISM when KMS made the key material
	valueLen uint // CKA_VALUE_LEN in bytes
	mac      bool // signs and verifies (HMAC) rather than encrypts and decrypts
}

// newKMSSecretObject builds the one CKO_SECRET_KEY object (PKCS#11 2.40
// §4.10) of a KMS key that has no public key. private says whether it has
// CKA_PRIVATE=true (a PIN is configured). CKA_ID, CKA_LABEL, the dates and
// CKA_LOCAL follow the asymmetric keys' rules (keyCommonAttrs); the value is
// sensitive and never extractable; CKA_CHECK_VALUE, which needs the value,
// and the wrap templates are absent.
func newKMSSecretObject(k *kmsbackend.KeyInfo, private bool, s kmsSecret) *object {
	local := localOrigins[k.Origin]
	genMech := uint(ck.UnavailableInformation) // §4.7: not generated on the token
	if local {
		genMech = s.genMech
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
		ck.CKA_KEY_TYPE:           encodeULong(s.keyType),
		ck.CKA_ID:                 keyObjectID(k),
		ck.CKA_START_DATE:         encodeDate(k.CreatedAt),
		ck.CKA_END_DATE:           end,
		ck.CKA_DERIVE:             encodeBool(false),
		ck.CKA_LOCAL:              encodeBool(local),
		ck.CKA_KEY_GEN_MECHANISM:  encodeULong(genMech),
		ck.CKA_ALLOWED_MECHANISMS: encodeULongs(mechanisms.MechanismsFor(k.Spec, k.Usage)),
		// §4.10 secret key attributes: KMS either computes and checks MACs or
		// encrypts and decrypts, never both.
		ck.CKA_SENSITIVE:         encodeBool(true),
		ck.CKA_ENCRYPT:           encodeBool(!s.mac),
		ck.CKA_DECRYPT:           encodeBool(!s.mac),
		ck.CKA_SIGN:              encodeBool(s.mac),
		ck.CKA_VERIFY:            encodeBool(s.mac),
		ck.CKA_WRAP:              encodeBool(false),
		ck.CKA_UNWRAP:            encodeBool(false),
		ck.CKA_EXTRACTABLE:       encodeBool(false),
		ck.CKA_ALWAYS_SENSITIVE:  encodeBool(local),
		ck.CKA_NEVER_EXTRACTABLE: encodeBool(local),
		ck.CKA_WRAP_WITH_TRUSTED: encodeBool(false),
		ck.CKA_TRUSTED:           encodeBool(false),
		// CKA_VALUE_LEN in bytes (Current Mechanisms 2.40, generic secret and
		// AES key objects); CKA_VALUE exists but is sensitive.
		ck.CKA_VALUE_LEN: encodeULong(s.valueLen),
	}}
	markSensitive(o, secretSensitive)
	return o
}

// newKMSSecretEntry builds and registers the secret-key object of one key
// (build), provided the backend can use it (capable); otherwise the key is
// skipped with errUnsupportedKey: an object that cannot be used would only
// mislead.
func (c *keyCache) newKMSSecretEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object], capable bool, missing string,
	build func(*kmsbackend.KeyInfo, bool) (*object, error)) (*keyEntry, error) {
	if !capable {
		return nil, fmt.Errorf("key %s: the backend %s: %w", info.ARN, missing, errUnsupportedKey)
	}
	o, err := build(info, c.s.pin != nil)
	if err != nil {
		return nil, err
	}
	e := &keyEntry{info: info, secret: o}
	c.register(e, objs)
	return e, nil
}
