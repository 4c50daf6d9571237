package mechanisms

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// CKM_P11KMS_KMS_BLOB is the vendor-defined mechanism (PKCS#11 2.40 §2.1:
// vendor values are CKM_VENDOR_DEFINED plus a vendor's number; 0x4B4D5301 is
// "KMS" and 1) with which C_Encrypt and C_Decrypt use a SYMMETRIC_DEFAULT KMS
// key: C_Encrypt returns the KMS ciphertext blob of AWS KMS Encrypt,
// C_Decrypt takes such a blob to AWS KMS Decrypt. Its parameter is the
// encryption context (ParseEncryptionContext). Single-part only.
const CKM_P11KMS_KMS_BLOB = ck.CKM_P11KMS_KMS_BLOB // CKM_VENDOR_DEFINED | 0x4B4D5301 (cgo/include/p11kms_vendor.h)

// CKK_P11KMS_KMS is the vendor-defined key type (PKCS#11 2.40 §4.7:
// CKK_VENDOR_DEFINED plus a vendor's number; 0x4B4D53 is "KMS") of the
// secret-key objects that stand for SYMMETRIC_DEFAULT KMS keys. Not CKK_AES:
// the key is AES-256 inside KMS, but its ciphertext is a KMS blob, not the
// output of any CKM_AES_* mechanism, so a client choosing CKM_AES_GCM by the
// key type would only fail. Not CKK_GENERIC_SECRET: that promises HMAC and
// derivation, which a KMS encryption key cannot do.
const CKK_P11KMS_KMS = ck.CKK_P11KMS_KMS // CKK_VENDOR_DEFINED | 0x4B4D53 (cgo/include/p11kms_vendor.h)

// KMSBlobKeyLen is the CKA_VALUE_LEN of a SYMMETRIC_DEFAULT key in bytes:
// AES-256 (AWS KMS Developer Guide, "Key spec reference", SYMMETRIC_DEFAULT:
// 256-bit AES-GCM keys).
const KMSBlobKeyLen = 32

// KMSBlobOverhead bounds how many bytes a KMS ciphertext blob adds to its
// plaintext: the documented maximum blob (6144) less the documented maximum
// plaintext (4096) (AWS KMS API reference, Encrypt Plaintext and
// CiphertextBlob). It is what a C_Encrypt size query adds, without a remote call.
const KMSBlobOverhead = kmsbackend.MaxCiphertextBlob - kmsbackend.MaxEncryptPlaintext

// kmsBlobFlags are the mechanism's CK_MECHANISM_INFO flags (PKCS#11 2.40
// §3.7): both directions run in KMS's HSMs.
const kmsBlobFlags = ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW

// KMSBlobEncryptLen is the size a C_Encrypt size query answers for a
// plaintext of n bytes: an upper bound (PKCS#11 2.40 §5.2 allows one).
func KMSBlobEncryptLen(n int) int {
	return min(n+KMSBlobOverhead, kmsbackend.MaxCiphertextBlob)
}

// CheckKMSBlobPlaintext refuses a plaintext KMS Encrypt would refuse
// (1..4096 bytes, AWS KMS API reference, Encrypt Plaintext) with
// CKR_DATA_LEN_RANGE (PKCS#11 2.40 §5.8).
func CheckKMSBlobPlaintext(pt []byte) error {
	if len(pt) < 1 || len(pt) > kmsbackend.MaxEncryptPlaintext {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "plaintext of %d bytes; KMS Encrypt takes 1 to %d", len(pt), kmsbackend.MaxEncryptPlaintext)
	}
	return nil
}

// CheckKMSBlobCiphertext refuses a blob KMS Decrypt would refuse (1..6144
// bytes, AWS KMS API reference, Decrypt CiphertextBlob) with
// CKR_ENCRYPTED_DATA_LEN_RANGE (PKCS#11 2.40 §5.9).
func CheckKMSBlobCiphertext(ct []byte) error {
	if len(ct) < 1 || len(ct) > kmsbackend.MaxCiphertextBlob {
		return ck.Errorf(ck.CKR_ENCRYPTED_DATA_LEN_RANGE, "ciphertext of %d bytes; KMS Decrypt takes 1 to %d", len(ct), kmsbackend.MaxCiphertextBlob)
	}
	return nil
}

// errContext is wrapped by every refusal of ParseEncryptionContext.
var errContext = errors.New("encryption context must be empty or one JSON object of string values")

// ParseEncryptionContext parses the CKM_P11KMS_KMS_BLOB parameter: empty
// (NULL or zero length) for no encryption context, else the UTF-8 text of
// one JSON object (RFC 8259) whose values are all strings, e.g.
// {"purpose":"backup"}. Raw bytes without pointers, so cgo copies it as is.
// Parsed strictly: invalid UTF-8, a non-object, a non-string value, an empty
// or duplicated key, or anything after the object is
// CKR_MECHANISM_PARAM_INVALID (PKCS#11 2.40 §5.8). An empty object is no context.
// A lone surrogate escape (\ud800), which RFC 8259 §8.2 leaves undefined,
// becomes U+FFFD, as encoding/json decodes it.
func ParseEncryptionContext(param []byte) (map[string]string, error) {
	if len(param) == 0 {
		return nil, nil
	}
	if !utf8.Valid(param) {
		return nil, paramInvalid("not UTF-8: %w", errContext)
	}
	dec := json.NewDecoder(bytes.NewReader(param))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, paramInvalid("no JSON object: %w", errContext)
	}
	out := map[string]string{}
	for dec.More() {
		kt, err := dec.Token()
		k, ok := kt.(string)
		if err != nil || !ok || k == "" {
			return nil, paramInvalid("bad or empty key: %w", errContext)
		}
		if _, dup := out[k]; dup {
			return nil, paramInvalid("key %q twice: %w", k, errContext)
		}
		vt, err := dec.Token()
		v, ok := vt.(string)
		if err != nil || !ok {
			return nil, paramInvalid("value of %q is not a string: %w", k, errContext)
		}
		out[k] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, paramInvalid("unterminated object: %w", errContext)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, paramInvalid("data after the object: %w", errContext)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// EncodeEncryptionContext is the inverse of ParseEncryptionContext: the
// parameter bytes for a context (nil for none). Keys are sorted.
func EncodeEncryptionContext(c map[string]string) []byte {
	if len(c) == 0 {
		return nil
	}
	b, _ := json.Marshal(c) // a map[string]string always marshals
	return b
}

func paramInvalid(format string, args ...any) error {
	return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CKM_P11KMS_KMS_BLOB parameter: "+format, args...)
}

// kmsBlobMechanismsFor returns the mechanisms of a SYMMETRIC_DEFAULT
// ENCRYPT_DECRYPT key (CKM_P11KMS_KMS_BLOB), nil for any other key.
func kmsBlobMechanismsFor(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage) []uint {
	if spec == kmsbackend.SpecSymmetricDefault && usage == kmsbackend.UsageEncryptDecrypt {
		return []uint{CKM_P11KMS_KMS_BLOB}
	}
	return nil
}

// kmsBlobInfo is CK_MECHANISM_INFO for CKM_P11KMS_KMS_BLOB when one of keys
// is a SYMMETRIC_DEFAULT encryption key: key size in bytes (256-bit AES).
func kmsBlobInfo(keys []KeyUse) (minBits, maxBits, flags uint, ok bool) {
	for _, k := range keys {
		if kmsBlobMechanismsFor(k.Spec, k.Usage) != nil {
			return KMSBlobKeyLen, KMSBlobKeyLen, kmsBlobFlags, true
		}
	}
	return 0, 0, 0, false
}
