package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decredecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
)

// statsMechanism returns the mechanism for a scheme and how a message
// becomes (digest to verify, input to C_Sign).
func statsMechanism(k *confKey, scheme string) ([]*pkcs11.Mechanism, func(msg []byte) (digest, in []byte)) {
	switch scheme {
	case schemePKCS1:
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}, func(msg []byte) ([]byte, []byte) {
			d := hashBytes(crypto.SHA256, msg)
			return d, append(append([]byte{}, digestInfoSHA256...), d...)
		}
	case schemePSS:
		params := pkcs11.NewPSSParams(pkcs11.CKM_SHA256, pkcs11.CKG_MGF1_SHA256, 32)
		return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS, params)}, func(msg []byte) ([]byte, []byte) {
			d := hashBytes(crypto.SHA256, msg)
			return d, d
		}
	}
	h := map[string]crypto.Hash{"sha256": crypto.SHA256, "sha384": crypto.SHA384, "sha512": crypto.SHA512}[k.Curve().hash]
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}, func(msg []byte) ([]byte, []byte) {
		d := hashBytes(h, msg)
		return d, d
	}
}

// hashBytes returns h(msg).
func hashBytes(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

// statsVerifier returns an independent verifier of (digest, signature) for
// k and the scheme: Go's crypto/rsa and crypto/ecdsa, decred's secp256k1.
func statsVerifier(t *testing.T, k *confKey, scheme string) func(digest, sig []byte) bool {
	t.Helper()
	switch scheme {
	case schemePKCS1:
		pub := k.Public.(*rsa.PublicKey)
		return func(d, sig []byte) bool { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d, sig) == nil }
	case schemePSS:
		pub := k.Public.(*rsa.PublicKey)
		opts := &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
		return func(d, sig []byte) bool { return rsa.VerifyPSS(pub, crypto.SHA256, d, sig, opts) == nil }
	}
	pub := k.Public.(*ecdsa.PublicKey)
	size := k.Curve().size
	if k.Spec == kmsbackend.SpecECCSECGP256K1 {
		dpub, err := secp256k1.ParsePubKey(ecPoint(pub, size))
		require.NoError(t, err)
		return func(d, sig []byte) bool {
			if len(sig) != 2*size {
				return false
			}
			var r, s secp256k1.ModNScalar
			if r.SetByteSlice(sig[:size]) || s.SetByteSlice(sig[size:]) {
				return false // not reduced modulo the order: invalid
			}
			return decredecdsa.NewSignature(&r, &s).Verify(d, dpub)
		}
	}
	return func(d, sig []byte) bool {
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, d, r, s)
	}
}
