package token

import (
	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// edwardsECParams is CKA_EC_PARAMS of an Ed25519 key: the DER of the OID
// id-Ed25519 1.3.101.112 (RFC 8410 §3). PKCS#11 Current Mechanisms 3.0
// §2.3.5 allows either an OID or the printable string "edwards25519"; the
// OID is what OpenSSL, OpenSC and pkcs11-provider write and read.
var edwardsECParams = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}

// edwardsSensitive is the Ed25519 private value (PKCS#11 Current Mechanisms
// 3.0 §2.3.6, CKA_VALUE of a CKK_EC_EDWARDS private key).
var edwardsSensitive = []uint{ck.CKA_VALUE}

// addEdwardsAttrs adds the CKK_EC_EDWARDS attributes (PKCS#11 Current
// Mechanisms 3.0 §2.3.5, §2.3.6): CKA_EC_PARAMS on both objects; CKA_EC_POINT,
// the DER OCTET STRING around the 32-byte public key, on both (as for EC
// keys, clients read it from the private key too); CKA_VALUE of the private
// key exists and is sensitive.
func addEdwardsAttrs(priv, pubo *object, pub *mechanisms.PublicKey) {
	for _, o := range []*object{priv, pubo} {
		o.attrs[ck.CKA_EC_PARAMS] = append([]byte(nil), edwardsECParams...)
		o.attrs[ck.CKA_EC_POINT] = pub.EdPoint()
	}
	markSensitive(priv, edwardsSensitive)
}
