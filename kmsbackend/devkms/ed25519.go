package devkms

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/handler"
)

// local-kms has no Ed25519 (KeySpec ECC_NIST_EDWARDS25519). The dev KMS
// keeps such keys itself, in memory for the life of one Server (they are not
// written to the leveldb directory and do not survive a restart), and
// answers the operations that name them before local-kms sees the request.
// Everything here follows the AWS KMS API reference for CreateKey,
// DescribeKey, GetPublicKey, Sign, Verify, ListKeys, CreateAlias,
// ListAliases, ListResourceTags and ScheduleKeyDeletion. Limits: aliases of
// Ed25519 keys live here too (local-kms's CreateAlias refuses a key it does
// not know), so a name taken by a local-kms alias is not detected, and
// UpdateAlias, DeleteAlias, TagResource, DisableKey and CancelKeyDeletion do
// not reach Ed25519 keys (local-kms answers NotFoundException).

// edSpec is the AWS KMS key spec of an Ed25519 key.
const edSpec = "ECC_NIST_EDWARDS25519"

// edAlgorithms are the signing algorithms of an Ed25519 key. Source: AWS KMS
// API reference, KeyMetadata SigningAlgorithms; AWS KMS Developer Guide,
// "Elliptic curve key specs" (ECC_NIST_EDWARDS25519).
var edAlgorithms = []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}

// maxSignMessage is the longest Sign/Verify Message. Source: AWS KMS API
// reference, Sign Message ("Maximum length of 4096").
const maxSignMessage = 4096

// edHooks answer requests about Ed25519 keys; done=false hands the request
// to local-kms.
var edHooks = map[string]func(s *edStore, body []byte) (resp handler.Response, done bool){
	"CreateKey":           (*edStore).createKey,
	"DescribeKey":         (*edStore).describeKey,
	"GetPublicKey":        (*edStore).getPublicKey,
	"Sign":                (*edStore).sign,
	"Verify":              (*edStore).verify,
	"CreateAlias":         (*edStore).createAlias,
	"ListAliases":         (*edStore).listAliasesOfKey,
	"ListResourceTags":    (*edStore).listTags,
	"ScheduleKeyDeletion": (*edStore).scheduleDeletion,
}

func init() {
	// AWS KMS API reference, ListKeys and ListAliases: the Ed25519 keys
	// and their aliases join local-kms's last page.
	fixups["ListKeys"] = func(h *kmsHandler, _ []byte, resp handler.Response) handler.Response {
		return h.ed.mergeKeys(resp)
	}
	fixups["ListAliases"] = func(h *kmsHandler, req []byte, resp handler.Response) handler.Response {
		return h.ed.mergeAliases(req, resp)
	}
}

// edKey is one Ed25519 key of the dev KMS.
type edKey struct {
	meta map[string]any
	priv ed25519.PrivateKey
	tags []map[string]string
}

// edStore holds the Ed25519 keys of one Server; its zero value is empty.
type edStore struct {
	mu      sync.Mutex
	keys    map[string]*edKey
	aliases map[string]string // alias name -> key id
}

// edRequest is the part of a request the hooks read.
type edRequest struct {
	KeyId, TargetKeyId, AliasName, KeySpec, KeyUsage, Description string
	SigningAlgorithm, MessageType                                 string
	Message, Signature                                            []byte
	Tags                                                          []map[string]string
}

// resolve finds the key a KeyId names (key id, key ARN, alias name or alias
// ARN; AWS KMS API reference, Sign KeyId); nil if it is not an Ed25519 key.
func (s *edStore) resolve(ref string) *edKey {
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
func parse(body []byte) (edRequest, bool) {
	var in edRequest
	return in, json.Unmarshal(body, &in) == nil
}

func (s *edStore) createKey(body []byte) (handler.Response, bool) {
	in, ok := parse(body)
	if !ok || in.KeySpec != edSpec {
		return handler.Response{}, false
	}
	if in.KeyUsage != "SIGN_VERIFY" {
		return handler.NewValidationExceptionResponse(fmt.Sprintf("KeyUsage %s is not compatible with KeySpec %s", in.KeyUsage, edSpec)), true
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return internalFailure("Ed25519 key generation failed"), true
	}
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
	meta := map[string]any{
		"AWSAccountId": config.AWSAccountId, "Arn": config.ArnPrefix() + "key/" + id, "KeyId": id,
		"CreationDate": float64(time.Now().Unix()), "Description": in.Description, "Enabled": true,
		"KeyManager": "CUSTOMER", "KeyState": "Enabled", "KeyUsage": "SIGN_VERIFY", "Origin": "AWS_KMS",
		"KeySpec": edSpec, "CustomerMasterKeySpec": edSpec, "SigningAlgorithms": edAlgorithms,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys, s.aliases = map[string]*edKey{}, map[string]string{}
	}
	s.keys[id] = &edKey{meta: meta, priv: priv, tags: in.Tags}
	return handler.NewResponse(http.StatusOK, map[string]any{"KeyMetadata": meta}), true
}

// withKey runs f on the Ed25519 key the request's KeyId names, under the lock.
func (s *edStore) withKey(body []byte, f func(in edRequest, k *edKey) handler.Response) (handler.Response, bool) {
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

func (s *edStore) describeKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ edRequest, k *edKey) handler.Response {
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyMetadata": k.meta})
	})
}

func (s *edStore) getPublicKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ edRequest, k *edKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		spki, err := x509.MarshalPKIXPublicKey(k.priv.Public())
		if err != nil {
			return internalFailure("cannot encode the Ed25519 public key")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{
			"KeyId": k.meta["Arn"], "PublicKey": spki, "KeySpec": edSpec, "CustomerMasterKeySpec": edSpec,
			"KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": edAlgorithms,
		})
	})
}

// unusable is KMSInvalidStateException for a key pending deletion.
func (k *edKey) unusable() (handler.Response, bool) {
	if k.meta["KeyState"] != "Enabled" {
		return handler.New400ExceptionResponse("KMSInvalidStateException", fmt.Sprintf("%s is pending deletion.", k.meta["Arn"])), true
	}
	return handler.Response{}, false
}

// edInput checks algorithm, message type and length (AWS KMS API reference,
// Sign: Message up to 4096 bytes; ED25519_SHA_512 takes RAW only;
// ED25519_PH_SHA_512 takes RAW, hashed with SHA-512, or a 64-byte DIGEST)
// and returns the message to sign and the Ed25519 options.
func edInput(in edRequest) ([]byte, *ed25519.Options, *handler.Response) {
	fail := func(msg string) ([]byte, *ed25519.Options, *handler.Response) {
		r := handler.NewValidationExceptionResponse(msg)
		return nil, nil, &r
	}
	if len(in.Message) < 1 || len(in.Message) > maxSignMessage {
		return fail("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
	}
	switch in.SigningAlgorithm {
	case "ED25519_SHA_512":
		if in.MessageType != "" && in.MessageType != "RAW" {
			return fail("ED25519_SHA_512 requires MessageType RAW")
		}
		return in.Message, &ed25519.Options{}, nil
	case "ED25519_PH_SHA_512":
		msg := in.Message
		switch in.MessageType {
		case "", "RAW":
			d := sha512.Sum512(msg)
			msg = d[:]
		case "DIGEST":
			if len(msg) != sha512.Size {
				return fail("Digest is invalid length for algorithm ED25519_PH_SHA_512.")
			}
		default:
			return fail("ED25519_PH_SHA_512 requires MessageType RAW or DIGEST")
		}
		return msg, &ed25519.Options{Hash: crypto.SHA512}, nil
	}
	r := handler.NewValidationExceptionResponse(fmt.Sprintf("Signing algorithm %s is not supported by key spec %s.", in.SigningAlgorithm, edSpec))
	return nil, nil, &r
}

func (s *edStore) sign(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in edRequest, k *edKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		msg, opts, r := edInput(in)
		if r != nil {
			return *r
		}
		sig, err := k.priv.Sign(nil, msg, opts)
		if err != nil {
			return internalFailure("Ed25519 signing failed")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm})
	})
}

func (s *edStore) verify(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in edRequest, k *edKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		msg, opts, r := edInput(in)
		if r != nil {
			return *r
		}
		if ed25519.VerifyWithOptions(k.priv.Public().(ed25519.PublicKey), msg, in.Signature, opts) != nil {
			return handler.New400ExceptionResponse("KMSInvalidSignatureException", "")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "SignatureValid": true, "SigningAlgorithm": in.SigningAlgorithm})
	})
}

func (s *edStore) createAlias(body []byte) (handler.Response, bool) {
	in, ok := parse(body)
	if !ok {
		return handler.Response{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.resolve(in.TargetKeyId)
	if k == nil {
		return handler.Response{}, false
	}
	if !strings.HasPrefix(in.AliasName, "alias/") || strings.HasPrefix(in.AliasName, "alias/aws/") {
		return handler.NewValidationExceptionResponse("Alias must start with the prefix \"alias/\" and must not begin with \"alias/aws/\""), true
	}
	if _, taken := s.aliases[in.AliasName]; taken {
		return handler.New400ExceptionResponse("AlreadyExistsException", fmt.Sprintf("An alias with the name %s already exists", config.ArnPrefix()+in.AliasName)), true
	}
	s.aliases[in.AliasName] = k.meta["KeyId"].(string)
	return handler.NewResponse(http.StatusOK, nil), true
}

// aliasEntries lists the aliases of one key id ("" for all), sorted.
func (s *edStore) aliasEntries(id string) []map[string]any {
	var out []map[string]any
	for name, kid := range s.aliases {
		if id == "" || kid == id {
			out = append(out, map[string]any{"AliasName": name, "AliasArn": config.ArnPrefix() + name, "TargetKeyId": kid})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["AliasName"].(string) < out[j]["AliasName"].(string) })
	return out
}

func (s *edStore) listAliasesOfKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ edRequest, k *edKey) handler.Response {
		return handler.NewResponse(http.StatusOK, map[string]any{"Aliases": s.aliasEntries(k.meta["KeyId"].(string)), "Truncated": false})
	})
}

func (s *edStore) listTags(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ edRequest, k *edKey) handler.Response {
		tags := k.tags
		if tags == nil {
			tags = []map[string]string{}
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"Tags": tags, "Truncated": false})
	})
}

func (s *edStore) scheduleDeletion(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ edRequest, k *edKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		when := float64(time.Now().Add(30 * 24 * time.Hour).Unix())
		k.meta["KeyState"], k.meta["Enabled"], k.meta["DeletionDate"] = "PendingDeletion", false, when
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "KeyState": "PendingDeletion", "DeletionDate": when})
	})
}

// mergeKeys appends the Ed25519 keys to local-kms's last ListKeys page.
func (s *edStore) mergeKeys(resp handler.Response) handler.Response {
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body["Truncated"] == true {
		return resp
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	keys, _ := body["Keys"].([]any)
	for _, id := range ids {
		keys = append(keys, map[string]any{"KeyId": id, "KeyArn": config.ArnPrefix() + "key/" + id})
	}
	body["Keys"] = keys
	return handler.NewResponse(resp.Code, body)
}

// mergeAliases appends the Ed25519 keys' aliases to local-kms's last
// ListAliases page of an unfiltered listing.
func (s *edStore) mergeAliases(req []byte, resp handler.Response) handler.Response {
	in, _ := parse(req)
	var body map[string]any
	if in.KeyId != "" || json.Unmarshal([]byte(resp.Body), &body) != nil || body["Truncated"] == true {
		return resp
	}
	s.mu.Lock()
	extra := s.aliasEntries("")
	s.mu.Unlock()
	aliases, _ := body["Aliases"].([]any)
	for _, a := range extra {
		aliases = append(aliases, a)
	}
	body["Aliases"] = aliases
	return handler.NewResponse(resp.Code, body)
}
