package devkms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/handler"
)

// The dev KMS keeps, beside local-kms, the keys local-kms lacks ("own
// keys"), one row of ownSpecs per key spec:
//
//   - ECC_NIST_EDWARDS25519, SIGN_VERIFY: ED25519_SHA_512 (RAW),
//     ED25519_PH_SHA_512 (RAW or a 64-byte DIGEST) (engine_ed25519.go);
//   - ML_DSA_44/65/87, SIGN_VERIFY: ML_DSA_SHAKE_256 with MessageType RAW
//     (pure ML-DSA, empty context) or EXTERNAL_MU (64-byte mu) (engine_mldsa.go);
//   - ECC_NIST_P256/P384/P521, KEY_AGREEMENT: DeriveSharedSecret ECDH
//     (engine_ecdh.go; SIGN_VERIFY keys of these specs stay with local-kms);
//   - SM2, SIGN_VERIFY (SM2DSA, RAW with the distinguishing ID
//     1234567812345678, or a 32-byte SM3 DIGEST), ENCRYPT_DECRYPT (SM2PKE,
//     GM/T 0009 ASN.1 ciphertext C1C3C2, plaintext 1..1024 bytes) or
//     KEY_AGREEMENT (ECDH on the SM2 curve) (engine_sm2.go).
//
// The operations that name an own key are answered here before local-kms
// sees them, written to the AWS KMS API reference: CreateKey, DescribeKey,
// GetPublicKey, Sign, Verify, Encrypt, Decrypt, DeriveSharedSecret,
// CreateAlias, ListAliases, ListResourceTags and ScheduleKeyDeletion;
// ListKeys and ListAliases merge own keys into local-kms's last page.
//
// Limits: own keys live in memory for the life of one Server (not written
// to the leveldb directory, gone after a restart; `p11kms devkms --seed`
// cannot seed them). Their aliases live here too (local-kms's CreateAlias
// refuses a key it does not know), so a name taken by a local-kms alias is
// not detected. UpdateAlias, DeleteAlias, TagResource, DisableKey,
// CancelKeyDeletion, ReEncrypt and GenerateDataKeyPair do not reach own keys
// (local-kms answers NotFoundException). Deviations: the GrantTokens, DryRun
// and Recipient parameters are ignored; Decrypt of an own key needs KeyId.

// ownHooks answer requests about own keys; done=false hands the request to
// local-kms.
var ownHooks = map[string]func(s *ownStore, body []byte) (resp handler.Response, done bool){
	"CreateKey":           (*ownStore).createKey,
	"DescribeKey":         (*ownStore).describeKey,
	"GetPublicKey":        (*ownStore).getPublicKey,
	"Sign":                (*ownStore).sign,
	"Verify":              (*ownStore).verify,
	"Encrypt":             (*ownStore).encrypt,
	"Decrypt":             (*ownStore).decrypt,
	"DeriveSharedSecret":  (*ownStore).deriveSharedSecret,
	"CreateAlias":         (*ownStore).createAlias,
	"ListAliases":         (*ownStore).listAliasesOfKey,
	"ListResourceTags":    (*ownStore).listTags,
	"ScheduleKeyDeletion": (*ownStore).scheduleDeletion,
}

// ownOnly are the operations local-kms does not implement at all: a request
// that names no own key gets ownOnlyFallback (handler.go).
var ownOnly = map[string]bool{"DeriveSharedSecret": true}

func init() {
	// AWS KMS API reference, ListKeys and ListAliases: own keys and their
	// aliases join local-kms's last page.
	fixups["ListKeys"] = func(h *kmsHandler, _ []byte, resp handler.Response) handler.Response {
		return h.own.mergeKeys(resp)
	}
	fixups["ListAliases"] = func(h *kmsHandler, req []byte, resp handler.Response) handler.Response {
		return h.own.mergeAliases(req, resp)
	}
}

// ownKey is one own key of the dev KMS.
type ownKey struct {
	meta  map[string]any
	usage string
	algs  []string // the algorithms of its usage
	eng   engine
	tags  []map[string]string
}

// ownStore holds the own keys of one Server; its zero value is empty.
type ownStore struct {
	mu      sync.Mutex
	keys    map[string]*ownKey
	aliases map[string]string // alias name -> key id
}

// ownRequest is the part of a request the hooks read.
type ownRequest struct {
	KeyId, TargetKeyId, AliasName, KeySpec, KeyUsage, Description string
	SigningAlgorithm, MessageType, EncryptionAlgorithm            string
	KeyAgreementAlgorithm                                         string
	Message, Signature, Plaintext, CiphertextBlob, PublicKey      []byte
	Tags                                                          []map[string]string
}

// resolve finds the key a KeyId names (key id, key ARN, alias name or alias
// ARN; AWS KMS API reference, Sign KeyId); nil if it is not an own key.
func (s *ownStore) resolve(ref string) *ownKey {
	if i := strings.Index(ref, ":key/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+len(":key/"):]
	} else if i := strings.Index(ref, ":alias/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		ref = ref[i+1:]
	}
	if strings.HasPrefix(ref, "alias/") {
		ref = s.aliases[ref]
	}
	return s.keys[ref]
}

// parse reads a request body; a body it cannot read goes to local-kms.
func parse(body []byte) (ownRequest, bool) {
	var in ownRequest
	return in, json.Unmarshal(body, &in) == nil
}

func (s *ownStore) createKey(body []byte) (handler.Response, bool) {
	in, ok := parse(body)
	if !ok {
		return handler.Response{}, false
	}
	row, ok := ownSpecs[in.KeySpec]
	if !ok {
		return handler.Response{}, false
	}
	algs, ok := row.usages[in.KeyUsage]
	if !ok {
		if !row.whole {
			return handler.Response{}, false
		}
		return handler.NewValidationExceptionResponse(fmt.Sprintf("KeyUsage %s is not compatible with KeySpec %s", in.KeyUsage, in.KeySpec)), true
	}
	eng, err := row.generate()
	if err != nil {
		return internalFailure(fmt.Sprintf("%s key generation failed: %v", in.KeySpec, err)), true
	}
	id := newKeyID()
	meta := map[string]any{
		"AWSAccountId": config.AWSAccountId, "Arn": config.ArnPrefix() + "key/" + id, "KeyId": id,
		"CreationDate": float64(time.Now().Unix()), "Description": in.Description, "Enabled": true,
		"KeyManager": "CUSTOMER", "KeyState": "Enabled", "KeyUsage": in.KeyUsage, "Origin": "AWS_KMS",
		"KeySpec": in.KeySpec, "CustomerMasterKeySpec": in.KeySpec, usageFields[in.KeyUsage]: algs,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys, s.aliases = map[string]*ownKey{}, map[string]string{}
	}
	s.keys[id] = &ownKey{meta: meta, usage: in.KeyUsage, algs: algs, eng: eng, tags: in.Tags}
	return handler.NewResponse(http.StatusOK, map[string]any{"KeyMetadata": meta}), true
}

// withKey runs f on the own key the request's KeyId names, under the lock.
func (s *ownStore) withKey(body []byte, f func(in ownRequest, k *ownKey) handler.Response) (handler.Response, bool) {
	in, ok := parse(body)
	if !ok {
		return handler.Response{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.resolve(in.KeyId)
	if k == nil {
		return handler.Response{}, false
	}
	return f(in, k), true
}

func (s *ownStore) describeKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ ownRequest, k *ownKey) handler.Response {
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyMetadata": k.meta})
	})
}

func (s *ownStore) getPublicKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ ownRequest, k *ownKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		spki, err := k.eng.spki()
		if err != nil {
			return internalFailure(fmt.Sprintf("cannot encode the %s public key: %v", k.meta["KeySpec"], err))
		}
		return handler.NewResponse(http.StatusOK, map[string]any{
			"KeyId": k.meta["Arn"], "PublicKey": spki, "KeySpec": k.meta["KeySpec"], "CustomerMasterKeySpec": k.meta["KeySpec"],
			"KeyUsage": k.usage, usageFields[k.usage]: k.algs,
		})
	})
}

// unusable is KMSInvalidStateException for a key pending deletion.
func (k *ownKey) unusable() (handler.Response, bool) {
	if k.meta["KeyState"] != "Enabled" {
		return handler.New400ExceptionResponse("KMSInvalidStateException", fmt.Sprintf("%s is pending deletion.", k.meta["Arn"])), true
	}
	return handler.Response{}, false
}

// usable checks the key state, that the key has the usage the operation
// needs, and that it lists the algorithm (AWS KMS API reference,
// InvalidKeyUsageException: "The KeyUsage value of the KMS key is
// incompatible with the API operation" or "the encryption algorithm or
// signing algorithm ... is incompatible with ... (KeySpec)").
func (k *ownKey) usable(usage, op, alg string) (handler.Response, bool) {
	if r, bad := k.unusable(); bad {
		return r, true
	}
	if k.usage != usage {
		return handler.NewInvalidKeyUsageException(fmt.Sprintf("%s key usage is %s which is not valid for %s.", k.meta["Arn"], k.usage, op)), true
	}
	if !slices.Contains(k.algs, alg) {
		return handler.NewInvalidKeyUsageException(fmt.Sprintf("Algorithm %s is incompatible with key spec %s.", alg, k.meta["KeySpec"])), true
	}
	return handler.Response{}, false
}
