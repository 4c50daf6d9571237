package devkms

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/asn1"
	"math/big"

	"github.com/emmansun/gmsm/kdf"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
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

// sm2Ciphertext is the GM/T 0009 SM2 ciphertext: SEQUENCE {x, y INTEGER
// (C1), hash OCTET STRING (C3), ciphertext OCTET STRING (C2)}, the form
// OpenSSL writes and reads.
type sm2Ciphertext struct {
	X, Y   *big.Int
	C3, C2 []byte
}

// SM2PKE is written here on gmsm's curve, SM3 and KDF, to GB/T 32918.4-2016
// section 6.1 (A1-A8) and 7.1 (B1-B7), because gmsm v0.15.5 gets it wrong
// for short plaintexts: Encrypt, after drawing a k whose t is all zeros (1 in
// 256 for a 1-byte plaintext), retries with Q already overwritten by k·Q and
// returns an undecryptable ciphertext; Decrypt tests C2 instead of t for
// all zeros (refusing 1 in 256 valid 1-byte ciphertexts) and takes the bare
// C1||C3||C2 form too.

// sm2KDF is KDF(x2 || y2, n) (A5/B4) and the two coordinates, 32 bytes each.
func sm2KDF(x2, y2 *big.Int, n int) (t, x, y []byte) {
	x, y = x2.FillBytes(make([]byte, 32)), y2.FillBytes(make([]byte, 32))
	return kdf.Kdf(sm3.New(), append(append([]byte{}, x...), y...), n), x, y
}

// sm2C3 is SM3(x2 || M || y2) (A7/B6).
func sm2C3(x, m, y []byte) []byte {
	h := sm3.New()
	h.Write(x)
	h.Write(m)
	h.Write(y)
	return h.Sum(nil)
}

// encrypt is SM2PKE with the GM/T 0009 ciphertext; the plaintext is at
// most 1024 bytes.
func (e sm2Engine) encrypt(_ string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > maxSM2Plaintext {
		return nil, validation("Plaintext of %d bytes is longer than 1024 bytes, the limit of SM2PKE.", len(plaintext))
	}
	curve := sm2.P256()
	nMinus1 := new(big.Int).Sub(curve.Params().N, big.NewInt(1))
	for {
		k, err := rand.Int(rand.Reader, nMinus1) // A1: k in [1, n-1]
		if err != nil {
			return nil, err
		}
		kb := k.Add(k, big.NewInt(1)).Bytes()
		x1, y1 := curve.ScalarBaseMult(kb)                 // A2
		x2, y2 := curve.ScalarMult(e.priv.X, e.priv.Y, kb) // A4
		t, x, y := sm2KDF(x2, y2, len(plaintext))          // A5
		if subtle.ConstantTimeCompare(t, make([]byte, len(t))) == 1 {
			continue // A5: t all zeros, new k
		}
		c2 := make([]byte, len(plaintext))
		subtle.XORBytes(c2, plaintext, t) // A6
		return asn1.Marshal(sm2Ciphertext{X: x1, Y: y1, C3: sm2C3(x, plaintext, y), C2: c2})
	}
}

// decrypt takes the GM/T 0009 form only; anything else, or a ciphertext of
// another key, is InvalidCiphertextException (AWS KMS API reference,
// Decrypt).
func (e sm2Engine) decrypt(_ string, ciphertext []byte) ([]byte, error) {
	bad := &kmsError{"InvalidCiphertextException", ""}
	var c sm2Ciphertext
	if rest, err := asn1.Unmarshal(ciphertext, &c); err != nil || len(rest) > 0 || len(c.C3) != sm3.Size || len(c.C2) == 0 {
		return nil, bad
	}
	curve := sm2.P256()
	if c.X.Sign() < 0 || c.Y.Sign() < 0 || !curve.IsOnCurve(c.X, c.Y) { // B1 (h = 1: B2 holds)
		return nil, bad
	}
	x2, y2 := curve.ScalarMult(c.X, c.Y, e.priv.D.Bytes()) // B3
	t, x, y := sm2KDF(x2, y2, len(c.C2))                   // B4
	if subtle.ConstantTimeCompare(t, make([]byte, len(t))) == 1 {
		return nil, bad
	}
	m := make([]byte, len(c.C2))
	subtle.XORBytes(m, c.C2, t)                                // B5
	if subtle.ConstantTimeCompare(sm2C3(x, m, y), c.C3) != 1 { // B6
		return nil, bad
	}
	return m, nil // B7
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
