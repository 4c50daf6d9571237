package devkms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nsmithuk/local-kms/src/cmk"
	"github.com/nsmithuk/local-kms/src/handler"
)

// pssHashes maps each RSASSA-PSS algorithm to its hash. Source: AWS KMS
// API reference, SigningAlgorithmSpec; AWS KMS Developer Guide, "RSA key
// specs for signing" (salt length = hash length, MGF1 with the same hash).
var pssHashes = map[string]crypto.Hash{
	"RSASSA_PSS_SHA_256": crypto.SHA256,
	"RSASSA_PSS_SHA_384": crypto.SHA384,
	"RSASSA_PSS_SHA_512": crypto.SHA512,
}

// fixPSSSalt replaces the signature of a successful RSASSA-PSS Sign (which
// local-kms made with the maximum salt) by one with a salt as long as the
// hash, as AWS KMS makes it. local-kms has already checked the key, its
// state, usage and the algorithm; the key is the one its response names.
func fixPSSSalt(h *kmsHandler, req []byte, resp handler.Response) handler.Response {
	var in struct {
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if err := json.Unmarshal(req, &in); err != nil {
		return resp
	}
	hash, ok := pssHashes[in.SigningAlgorithm]
	if !ok {
		return resp
	}
	var out struct {
		KeyId            string
		Signature        []byte
		SigningAlgorithm string
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		return internalFailure("cannot read local-kms's Sign response")
	}
	key, err := h.db.LoadKey(out.KeyId)
	if err != nil {
		return internalFailure(fmt.Sprintf("cannot load key %s", out.KeyId))
	}
	rk, ok := key.(*cmk.RsaKey)
	if !ok {
		return internalFailure(fmt.Sprintf("key %s is not an RSA key", out.KeyId))
	}
	digest := in.Message
	if in.MessageType != "DIGEST" {
		hh := hash.New()
		hh.Write(in.Message)
		digest = hh.Sum(nil)
	}
	if len(digest) != hash.Size() {
		return handler.NewValidationExceptionResponse(fmt.Sprintf("Digest is invalid length for algorithm %s.", in.SigningAlgorithm))
	}
	priv := rsa.PrivateKey(rk.PrivateKey)
	out.Signature, err = rsa.SignPSS(rand.Reader, &priv, hash, digest, &rsa.PSSOptions{SaltLength: hash.Size(), Hash: hash})
	if err != nil {
		return internalFailure("RSASSA-PSS signing failed")
	}
	return handler.NewResponse(http.StatusOK, out)
}

// internalFailure is an HTTP 500 InternalFailureException response.
func internalFailure(msg string) handler.Response {
	return handler.NewInternalFailureExceptionResponse("devkms: " + msg)
}
