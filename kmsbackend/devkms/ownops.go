package devkms

import (
	"fmt"
	"net/http"

	"github.com/nsmithuk/local-kms/src/handler"
)

// The cryptographic operations on own keys (ownkeys.go): each checks the key
// state, usage and algorithm (ownKey.usable), then asks the key's engine.

// maxSignMessage is the longest Sign/Verify Message. Source: AWS KMS API
// reference, Sign Message ("Maximum length of 4096").
const maxSignMessage = 4096

// maxPlaintext is the longest Encrypt Plaintext. Source: AWS KMS API
// reference, Encrypt Plaintext ("Maximum length of 4096"); the engine
// applies the tighter limit of its algorithm.
const maxPlaintext = 4096

// signInput checks what Sign and Verify share: a SigningAlgorithm (required,
// AWS KMS API reference, Sign) and a Message of 1..4096 bytes.
func signInput(in ownRequest) *handler.Response {
	if in.SigningAlgorithm == "" {
		r := handler.NewValidationExceptionResponse("1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null")
		return &r
	}
	if len(in.Message) < 1 || len(in.Message) > maxSignMessage {
		r := handler.NewValidationExceptionResponse("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length between 1 and 4096")
		return &r
	}
	return nil
}

func (s *ownStore) sign(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in ownRequest, k *ownKey) handler.Response {
		if r := signInput(in); r != nil {
			return *r
		}
		if r, bad := k.usable("SIGN_VERIFY", "Sign", in.SigningAlgorithm); bad {
			return r
		}
		sig, err := k.eng.(signEngine).sign(in.SigningAlgorithm, in.MessageType, in.Message)
		if err != nil {
			return errResponse(err, "signing failed")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm})
	})
}

func (s *ownStore) verify(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in ownRequest, k *ownKey) handler.Response {
		if r := signInput(in); r != nil {
			return *r
		}
		if r, bad := k.usable("SIGN_VERIFY", "Verify", in.SigningAlgorithm); bad {
			return r
		}
		ok, err := k.eng.(signEngine).verify(in.SigningAlgorithm, in.MessageType, in.Message, in.Signature)
		if err != nil {
			return errResponse(err, "verification failed")
		}
		if !ok {
			// AWS KMS API reference, Verify: "If the signature verification
			// fails, the Verify operation fails with an
			// KMSInvalidSignatureException exception."
			return handler.NewKMSInvalidSignatureException("")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "SignatureValid": true, "SigningAlgorithm": in.SigningAlgorithm})
	})
}

// encryptionAlgorithm is the request's EncryptionAlgorithm; AWS KMS API
// reference, Encrypt/Decrypt EncryptionAlgorithm: "The default value,
// SYMMETRIC_DEFAULT, ..." (so an asymmetric key without it is refused).
func encryptionAlgorithm(in ownRequest) string {
	if in.EncryptionAlgorithm == "" {
		return "SYMMETRIC_DEFAULT"
	}
	return in.EncryptionAlgorithm
}

func (s *ownStore) encrypt(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in ownRequest, k *ownKey) handler.Response {
		if len(in.Plaintext) < 1 || len(in.Plaintext) > maxPlaintext {
			return handler.NewValidationExceptionResponse("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096")
		}
		alg := encryptionAlgorithm(in)
		if r, bad := k.usable("ENCRYPT_DECRYPT", "Encrypt", alg); bad {
			return r
		}
		ct, err := k.eng.(cryptEngine).encrypt(alg, in.Plaintext)
		if err != nil {
			return errResponse(err, "encryption failed")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "CiphertextBlob": ct, "EncryptionAlgorithm": alg})
	})
}

// decrypt answers Decrypt of an own key; a Decrypt without KeyId (symmetric
// ciphertext) goes to local-kms.
func (s *ownStore) decrypt(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in ownRequest, k *ownKey) handler.Response {
		if len(in.CiphertextBlob) < 1 || len(in.CiphertextBlob) > 6144 {
			// AWS KMS API reference, Decrypt CiphertextBlob: length 1..6144.
			return handler.NewValidationExceptionResponse("1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length between 1 and 6144")
		}
		alg := encryptionAlgorithm(in)
		if r, bad := k.usable("ENCRYPT_DECRYPT", "Decrypt", alg); bad {
			return r
		}
		pt, err := k.eng.(cryptEngine).decrypt(alg, in.CiphertextBlob)
		if err != nil {
			return errResponse(err, "decryption failed")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "Plaintext": pt, "EncryptionAlgorithm": alg})
	})
}

// deriveSharedSecret answers DeriveSharedSecret (AWS KMS API reference):
// request KeyId, KeyAgreementAlgorithm (only ECDH), PublicKey (the peer's DER
// SPKI); response KeyId, SharedSecret, KeyOrigin, KeyAgreementAlgorithm.
func (s *ownStore) deriveSharedSecret(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(in ownRequest, k *ownKey) handler.Response {
		if in.KeyAgreementAlgorithm != "ECDH" {
			return handler.NewValidationExceptionResponse(fmt.Sprintf("1 validation error detected: Value '%s' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]", in.KeyAgreementAlgorithm))
		}
		if len(in.PublicKey) < 1 || len(in.PublicKey) > 8192 {
			// AWS KMS API reference, DeriveSharedSecret PublicKey: length 1..8192.
			return handler.NewValidationExceptionResponse("1 validation error detected: Value at 'publicKey' failed to satisfy constraint: Member must have length between 1 and 8192")
		}
		if r, bad := k.usable("KEY_AGREEMENT", "DeriveSharedSecret", in.KeyAgreementAlgorithm); bad {
			return r
		}
		secret, err := k.eng.(agreeEngine).derive(in.PublicKey)
		if err != nil {
			return errResponse(err, "key agreement failed")
		}
		return handler.NewResponse(http.StatusOK, map[string]any{
			"KeyId": k.meta["Arn"], "SharedSecret": secret, "KeyOrigin": k.meta["Origin"], "KeyAgreementAlgorithm": in.KeyAgreementAlgorithm,
		})
	})
}
