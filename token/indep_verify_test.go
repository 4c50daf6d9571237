package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for digestInfo
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decredecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/p11kms/p11kms/ck"
)

// This file is the tests' independent verifier: Go's crypto and decred's
// secp256k1 straight from the SPKI, sharing no code with mechanisms/.

var oidSecp256k1 = asn1.ObjectIdentifier{1, 3, 132, 0, 10}

// independentVerify checks sig over data as mechanism mech would have made it
// with the key whose SPKI is given. digestLen is used by raw mechanisms.
func independentVerify(spki []byte, mech uint, data, sig []byte) error {
	hashOf := map[uint]crypto.Hash{
		ck.CKM_SHA256_RSA_PKCS: crypto.SHA256, ck.CKM_SHA384_RSA_PKCS: crypto.SHA384, ck.CKM_SHA512_RSA_PKCS: crypto.SHA512,
		ck.CKM_SHA256_RSA_PKCS_PSS: crypto.SHA256, ck.CKM_SHA384_RSA_PKCS_PSS: crypto.SHA384, ck.CKM_SHA512_RSA_PKCS_PSS: crypto.SHA512,
		ck.CKM_ECDSA_SHA256: crypto.SHA256, ck.CKM_ECDSA_SHA384: crypto.SHA384, ck.CKM_ECDSA_SHA512: crypto.SHA512,
	}
	h, hashing := hashOf[mech]
	digest := data
	if hashing {
		hh := h.New()
		hh.Write(data)
		digest = hh.Sum(nil)
	}
	switch mech {
	case ck.CKM_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS, ck.CKM_SHA384_RSA_PKCS, ck.CKM_SHA512_RSA_PKCS:
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return err
		}
		if mech == ck.CKM_RSA_PKCS { // data is DigestInfo||digest: verify it as a raw PKCS#1 v1.5 block
			return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.Hash(0), data, sig)
		}
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), h, digest, sig)
	case ck.CKM_RSA_PKCS_PSS, ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_SHA512_RSA_PKCS_PSS:
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return err
		}
		if !hashing {
			h = map[int]crypto.Hash{32: crypto.SHA256, 48: crypto.SHA384, 64: crypto.SHA512}[len(data)]
		}
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), h, digest, sig, &rsa.PSSOptions{SaltLength: h.Size(), Hash: h})
	case ck.CKM_ECDSA, ck.CKM_ECDSA_SHA256, ck.CKM_ECDSA_SHA384, ck.CKM_ECDSA_SHA512:
		if len(sig)%2 != 0 {
			return fmt.Errorf("odd ECDSA signature length %d", len(sig))
		}
		r := new(big.Int).SetBytes(sig[:len(sig)/2])
		s := new(big.Int).SetBytes(sig[len(sig)/2:])
		var info struct {
			Alg pkix.AlgorithmIdentifier
			Key asn1.BitString
		}
		if _, err := asn1.Unmarshal(spki, &info); err != nil {
			return err
		}
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(info.Alg.Parameters.FullBytes, &curve); err == nil && curve.Equal(oidSecp256k1) {
			if len(sig) != 64 {
				return fmt.Errorf("secp256k1 signature of %d bytes", len(sig))
			}
			pk, err := secp256k1.ParsePubKey(info.Key.Bytes)
			if err != nil {
				return err
			}
			var rr, ss secp256k1.ModNScalar
			rr.SetByteSlice(sig[:32])
			ss.SetByteSlice(sig[32:])
			d := digest
			if len(d) > 32 {
				d = d[:32]
			}
			if !decredecdsa.NewSignature(&rr, &ss).Verify(d, pk) {
				return fmt.Errorf("secp256k1 signature invalid")
			}
			return nil
		}
		pub, err := x509.ParsePKIXPublicKey(spki)
		if err != nil {
			return err
		}
		ep := pub.(*ecdsa.PublicKey)
		if want := 2 * ((ep.Curve.Params().BitSize + 7) / 8); len(sig) != want {
			return fmt.Errorf("ECDSA signature of %d bytes, want %d", len(sig), want)
		}
		if !ecdsa.Verify(ep, digest, r, s) {
			return fmt.Errorf("ECDSA signature invalid")
		}
		return nil
	}
	return fmt.Errorf("no independent verifier for %s", ck.MechName(mech))
}

// digestInfo returns DigestInfo||SHA-xxx(data) for CKM_RSA_PKCS input.
func digestInfo(h crypto.Hash, data []byte) []byte {
	prefixes := map[crypto.Hash][]byte{
		crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
		crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
		crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
		crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	}
	hh := h.New()
	hh.Write(data)
	return append(append([]byte{}, prefixes[h]...), hh.Sum(nil)...)
}

var _ = sha256.New
var _ = sha512.New
