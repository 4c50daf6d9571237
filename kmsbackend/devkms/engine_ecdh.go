package devkms

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
)

// ecdhEngine is an ECC_NIST_P256/P384/P521 KEY_AGREEMENT key (local-kms has
// no KEY_AGREEMENT usage).
type ecdhEngine struct{ priv *ecdh.PrivateKey }

// ecdhGenerator makes keys on curve.
func ecdhGenerator(curve ecdh.Curve) func() (engine, error) {
	return func() (engine, error) {
		priv, err := curve.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return ecdhEngine{priv}, nil
	}
}

// spki is the RFC 5480 SubjectPublicKeyInfo (id-ecPublicKey, named curve,
// uncompressed point), as GetPublicKey returns for ECC keys.
func (e ecdhEngine) spki() ([]byte, error) { return x509.MarshalPKIXPublicKey(e.priv.PublicKey()) }

// derive is the ECDH primitive (AWS KMS API reference, DeriveSharedSecret:
// NIST SP 800-56A "Elliptic Curve Cryptography Cofactor Diffie-Hellman
// Primitive"; the NIST curves have cofactor 1): the x-coordinate of d·Q. A
// peer key that is not a DER SPKI, not a valid point, or on another curve
// is a ValidationException (DeriveSharedSecret PublicKey: "a DER-encoded
// X.509 public key"; "both key pairs must be on the same elliptic curve").
func (e ecdhEngine) derive(peerSPKI []byte) ([]byte, error) {
	pk, err := x509.ParsePKIXPublicKey(peerSPKI)
	if err != nil {
		return nil, validation("PublicKey is not a valid DER-encoded SubjectPublicKeyInfo: %v", err)
	}
	ec, ok := pk.(*ecdsa.PublicKey)
	if !ok {
		return nil, validation("PublicKey is a %T, not an elliptic curve public key", pk)
	}
	peer, err := ec.ECDH()
	if err != nil {
		return nil, validation("PublicKey is not a valid point: %v", err)
	}
	if peer.Curve() != e.priv.Curve() {
		return nil, validation("PublicKey is on curve %v, not on the curve of the KMS key (%v)", peer.Curve(), e.priv.Curve())
	}
	return e.priv.ECDH(peer)
}
