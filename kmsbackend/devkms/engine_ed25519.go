package devkms

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
)

// ed25519Engine is an ECC_NIST_EDWARDS25519 key (local-kms has none).
type ed25519Engine struct{ priv ed25519.PrivateKey }

func newEd25519Engine() (engine, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return ed25519Engine{priv}, nil
}

// spki is the RFC 8410 SubjectPublicKeyInfo (id-Ed25519).
func (e ed25519Engine) spki() ([]byte, error) { return x509.MarshalPKIXPublicKey(e.priv.Public()) }

// edInput checks the message type (AWS KMS API reference, Sign MessageType:
// ED25519_SHA_512 takes RAW only; ED25519_PH_SHA_512 takes RAW, hashed here
// with SHA-512, or a 64-byte DIGEST) and returns the message to sign and the
// Ed25519 options.
func edInput(alg, messageType string, msg []byte) ([]byte, *ed25519.Options, error) {
	switch alg {
	case "ED25519_SHA_512":
		if messageType != "" && messageType != "RAW" {
			return nil, nil, validation("ED25519_SHA_512 requires MessageType RAW")
		}
		return msg, &ed25519.Options{}, nil
	default: // ED25519_PH_SHA_512, the key's other algorithm
		switch messageType {
		case "", "RAW":
			d := sha512.Sum512(msg)
			msg = d[:]
		case "DIGEST":
			if len(msg) != sha512.Size {
				return nil, nil, validation("Digest is invalid length for algorithm ED25519_PH_SHA_512.")
			}
		default:
			return nil, nil, validation("ED25519_PH_SHA_512 requires MessageType RAW or DIGEST")
		}
		return msg, &ed25519.Options{Hash: crypto.SHA512}, nil
	}
}

func (e ed25519Engine) sign(alg, messageType string, msg []byte) ([]byte, error) {
	m, opts, err := edInput(alg, messageType, msg)
	if err != nil {
		return nil, err
	}
	return e.priv.Sign(nil, m, opts)
}

func (e ed25519Engine) verify(alg, messageType string, msg, sig []byte) (bool, error) {
	m, opts, err := edInput(alg, messageType, msg)
	if err != nil {
		return false, err
	}
	return ed25519.VerifyWithOptions(e.priv.Public().(ed25519.PublicKey), m, sig, opts) == nil, nil
}
