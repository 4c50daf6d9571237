package devkms

import (
	"crypto/ecdsa"
	"crypto/rand"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/p11kms/p11kms/internal/sm2pke"
)

// sm2DistID is the SM2 distinguishing ID AWS KMS hashes into ZA. Source: AWS
// KMS API reference, Verify and GetPublicKey ("By default, KMS uses
// 1234567812345678 as the distinguishing ID"); GB/T 32918.2 default.
var sm2DistID = []byte("1234567812345678")

// maxSM2Plaintext is the longest SM2PKE plaintext. Source: AWS KMS API
// reference, Encrypt ("SM2PKE: 1024 bytes (China Regions only)").
const maxSM2Plaintext = 1024

// sm2Engine is an SM2 key (local-kms has none); one engine serves the three
// usages, the key's usage picks the operations (ownKey.usable).
type sm2Engine struct{ priv *sm2.PrivateKey }

func newSM2Engine() (engine, error) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return sm2Engine{priv}, nil
}

// spki is the SubjectPublicKeyInfo with id-ecPublicKey and the SM2 curve
// OID 1.2.156.10197.1.301 (GB/T 35276; the form AWS KMS and OpenSSL use).
func (e sm2Engine) spki() ([]byte, error) { return smx509.MarshalPKIXPublicKey(&e.priv.PublicKey) }

// sm2Digest is the 32-byte e to sign: SM3(ZA || M) for RAW (GB/T 32918.2
// section 6.1, ZA with sm2DistID), the Message itself for DIGEST (AWS KMS
// API reference, Sign MessageType: DIGEST length must match the hash, SM3).
func (e sm2Engine) sm2Digest(messageType string, msg []byte) ([]byte, error) {
	switch messageType {
	case "", "RAW":
		za, err := sm2.CalculateZA(&e.priv.PublicKey, sm2DistID)
		if err != nil {
			return nil, err
		}
		h := sm3.New()
		h.Write(za)
		h.Write(msg)
		return h.Sum(nil), nil
	case "DIGEST":
		if len(msg) != sm3.Size {
			return nil, validation("Digest is invalid length for algorithm SM2DSA.")
		}
		return msg, nil
	}
	return nil, validation("SM2DSA requires MessageType RAW or DIGEST, not %s.", messageType)
}

// sign makes an SM2DSA signature, DER SEQUENCE {r, s} like ECDSA.
func (e sm2Engine) sign(_, messageType string, msg []byte) ([]byte, error) {
	d, err := e.sm2Digest(messageType, msg)
	if err != nil {
		return nil, err
	}
	return sm2.SignASN1(rand.Reader, e.priv, d, nil)
}

func (e sm2Engine) verify(_, messageType string, msg, sig []byte) (bool, error) {
	d, err := e.sm2Digest(messageType, msg)
	if err != nil {
		return false, err
	}
	return sm2.VerifyASN1(&e.priv.PublicKey, d, sig), nil
}

// encrypt is SM2PKE (GB/T 32918.4-2016 section 6.1) with the GM/T 0009
// ciphertext, by internal/sm2pke, the implementation the module's C_Encrypt
// shares (gmsm v0.15.5's own sm2.Encrypt loses 1 in 256 one-byte messages);
// the plaintext is at most 1024 bytes.
func (e sm2Engine) encrypt(_ string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > maxSM2Plaintext {
		return nil, validation("Plaintext of %d bytes is longer than 1024 bytes, the limit of SM2PKE.", len(plaintext))
	}
	return sm2pke.Encrypt(rand.Reader, &e.priv.PublicKey, plaintext)
}

// decrypt is SM2PKE decryption (GB/T 32918.4-2016 section 7.1) by
// internal/sm2pke, which takes the GM/T 0009 form only (not the bare
// C1||C3||C2); anything it refuses, or a ciphertext of another key, is
// InvalidCiphertextException (AWS KMS API reference, Decrypt).
func (e sm2Engine) decrypt(_ string, ciphertext []byte) ([]byte, error) {
	m, err := sm2pke.Decrypt(&e.priv.PrivateKey, ciphertext)
	if err != nil {
		return nil, &kmsError{"InvalidCiphertextException", ""}
	}
	return m, nil
}

// derive is ECDH on the SM2 curve (AWS KMS API reference, DeriveSharedSecret
// with an SM2 KEY_AGREEMENT key; SM2 has cofactor 1): the x-coordinate of
// d·Q. The peer key must be an SM2 SPKI; anything else is a
// ValidationException, as for the NIST curves (engine_ecdh.go).
func (e sm2Engine) derive(peerSPKI []byte) ([]byte, error) {
	pk, err := smx509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		return nil, validation("PublicKey is not a valid DER-encoded SubjectPublicKeyInfo: %v", err)
	}
	ec, ok := pk.(*ecdsa.PublicKey)
	if !ok || ec.Curve != sm2.P256() {
		return nil, validation("PublicKey is not on the SM2 curve")
	}
	peer, err := sm2.PublicKeyToECDH(ec)
	if err != nil {
		return nil, validation("PublicKey is not a valid point: %v", err)
	}
	priv, err := e.priv.ECDH()
	if err != nil {
		return nil, err
	}
	return priv.ECDH(peer)
}
