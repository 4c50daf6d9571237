package mechanisms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/p11kms/p11kms/ck"
)

// errBadSignature is the cause of every CKR_SIGNATURE_INVALID.
var errBadSignature = errors.New("signature does not verify")

// Verify checks sig over the caller's complete C_Verify input locally with the
// public key (PKCS#11 2.40 §5.13): CKR_SIGNATURE_LEN_RANGE when sig is not
// SigLen bytes, CKR_SIGNATURE_INVALID when it does not verify,
// CKR_DATA_LEN_RANGE for input the raw mechanism cannot take (CKM_RSA_PKCS:
// more than k-11 bytes; CKM_RSA_PKCS_PSS: not the hash length; CKM_ECDSA:
// empty). CKM_RSA_PKCS verifies the input as the encoded message, whatever it
// holds (a SHA-1 DigestInfo verifies too). ECDSA uses the full input digest
// as the standard does (leftmost order bits), not the KMS-adjusted one.
func (p *Plan) Verify(input, sig []byte) error {
	if len(sig) != p.SigLen {
		return ck.Errorf(ck.CKR_SIGNATURE_LEN_RANGE, "signature is %d bytes, want %d", len(sig), p.SigLen)
	}
	if p.Hash != 0 {
		h := p.Hash.New()
		h.Write(input)
		return p.verifyHashed(p.Hash, h.Sum(nil), sig)
	}
	switch p.scheme {
	case schemePKCS1:
		if len(input) > p.SigLen-11 {
			return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS input is %d bytes, more than k-11 = %d", len(input), p.SigLen-11)
		}
		return p.verifyHashed(0, input, sig)
	case schemePSS:
		if len(input) != p.pssHash.Size() {
			return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS_PSS input is %d bytes, the parameters' hash is %d", len(input), p.pssHash.Size())
		}
		return p.verifyHashed(p.pssHash, input, sig)
	case schemeEdDSA:
		if len(input) > MaxEdDSAMessage {
			return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_EDDSA input is %d bytes; at most %d", len(input), MaxEdDSAMessage)
		}
		return p.verifyHashed(0, input, sig)
	case schemeMLDSA, schemeMuDSA:
		return p.mldsaVerify(input, sig) // mldsa.go
	case schemeSM2:
		return p.sm2Verify(input, sig) // sm2.go
	}
	if len(input) == 0 {
		return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_ECDSA input is empty")
	}
	return p.verifyHashed(0, input, sig)
}

// VerifyDigest checks sig for multi-part verification (C_VerifyFinal): digest
// is the sum of NewHash. For a raw mechanism it is Verify(digest, sig).
func (p *Plan) VerifyDigest(digest, sig []byte) error {
	if p.scheme == schemeSM2 {
		return p.sm2VerifySum(digest, sig) // digest is e = SM3(ZA||M) (sm2.go)
	}
	if p.Hash == 0 { // raw mechanisms; pure Ed25519's buffered message

		return p.Verify(digest, sig)
	}
	if len(sig) != p.SigLen {
		return ck.Errorf(ck.CKR_SIGNATURE_LEN_RANGE, "signature is %d bytes, want %d", len(sig), p.SigLen)
	}
	if len(digest) != p.Hash.Size() {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: a %d-byte hash sum does not fit this mechanism", ck.MechName(p.Mechanism), len(digest))
	}
	return p.verifyHashed(p.Hash, digest, sig)
}

// verifyHashed verifies a signature of SigLen bytes over a digest: h is the
// digest's hash for RSA (0: CKM_RSA_PKCS, digest is the encoded message) and
// ignored for ECDSA.
func (p *Plan) verifyHashed(h crypto.Hash, digest, sig []byte) error {
	var ok bool
	switch p.scheme {
	case schemePKCS1:
		ok = rsa.VerifyPKCS1v15(p.pub.RSA, h, digest, sig) == nil
	case schemePSS:
		ok = rsa.VerifyPSS(p.pub.RSA, h, digest, sig, &rsa.PSSOptions{SaltLength: h.Size(), Hash: h}) == nil
	case schemeECDSA:
		ok = verifyECDSA(p.pub, digest, sig)
	case schemeEdDSA:
		ok = p.verifyEd(digest, sig)
	case schemeSM2:
		ok = p.verifySM2(digest, sig) // sm2.go
	}
	if !ok {
		return ck.Errorf(ck.CKR_SIGNATURE_INVALID, "%s: %w", ck.MechName(p.Mechanism), errBadSignature)
	}
	return nil
}

// verifyECDSA checks r||s over digest with crypto/ecdsa, or decred's
// secp256k1 for that curve. r and s must be in [1, N-1].
func verifyECDSA(pub *PublicKey, digest, sig []byte) bool {
	ci, ok := pub.Curve.info()
	if !ok || len(sig) != 2*ci.orderLen {
		return false
	}
	if ci.std == nil {
		return verifySecp256k1(pub, digest, sig)
	}
	der, err := RawToDER(sig)
	if err != nil {
		return false
	}
	key, err := ecdsa.ParseUncompressedPublicKey(ci.std(), pub.Point())
	if err != nil {
		return false
	}
	return ecdsa.VerifyASN1(key, digest, der)
}

func verifySecp256k1(pub *PublicKey, digest, sig []byte) bool {
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
		return false // r or s >= N
	}
	key, err := secp256k1.ParsePubKey(pub.Point())
	if err != nil {
		return false
	}
	return k1ecdsa.NewSignature(&r, &s).Verify(digest, key)
}
