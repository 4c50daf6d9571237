package mechanisms

import (
	"bytes"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// SignRequest is one KMS Sign call.
type SignRequest struct {
	Algorithm   kmsbackend.SigningAlgorithm
	MessageType kmsbackend.MessageType
	// Message is what KMS signs: a digest of the algorithm's hash length.
	Message []byte
}

// Digest turns the caller's complete C_Sign input into the bytes KMS signs
// (see Request).
func (p *Plan) Digest(input []byte) ([]byte, error) {
	r, err := p.Request(input)
	if err != nil {
		return nil, err
	}
	return r.Message, nil
}

// Request turns the caller's complete C_Sign input into the KMS Sign call:
//   - CKM_SHAxxx_*: the local hash of the input (then as RequestFromHash);
//   - CKM_RSA_PKCS: the input must be a DigestInfo (ParseDigestInfo); its
//     hash picks RSASSA_PKCS1_V1_5_SHA_{256,384,512}; input longer than
//     k-11 bytes is CKR_DATA_LEN_RANGE (Current Mechanisms 2.40 §2.1.6);
//     a hash the key does not allow is CKR_DATA_INVALID;
//   - CKM_RSA_PKCS_PSS: the input is the hash; a length other than the
//     parameters' hash length is CKR_DATA_LEN_RANGE (§2.1.10);
//   - CKM_ECDSA: the input is a digest of any length, adjusted to the
//     curve's KMS digest length (AdjustDigest, §2.3.6).
func (p *Plan) Request(input []byte) (SignRequest, error) {
	if p.Hash != 0 {
		h := p.Hash.New()
		h.Write(input)
		return p.RequestFromHash(h.Sum(nil))
	}
	switch p.scheme {
	case schemePKCS1:
		if len(input) > p.SigLen-11 {
			return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS input is %d bytes, more than k-11 = %d", len(input), p.SigLen-11)
		}
		h, digest, err := ParseDigestInfo(input)
		if err != nil {
			return SignRequest{}, err
		}
		alg := rsaAlgorithm(schemePKCS1, h)
		if !p.allows(alg) {
			return SignRequest{}, ck.Errorf(ck.CKR_DATA_INVALID, "DigestInfo asks for KMS algorithm %s, which the key does not allow", alg)
		}
		return SignRequest{alg, p.MessageType, bytes.Clone(digest)}, nil
	case schemePSS:
		if len(input) != p.pssHash.Size() {
			return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS_PSS input is %d bytes, the parameters' hash is %d", len(input), p.pssHash.Size())
		}
		return SignRequest{p.Algorithm, p.MessageType, bytes.Clone(input)}, nil
	case schemeEdDSA:
		return p.edRequest(input)
	case schemeMLDSA, schemeMuDSA:
		return p.mldsaRequest(input) // mldsa.go
	case schemeSM2:
		return p.sm2Request(input) // sm2.go
	}
	digest, err := AdjustDigest(input, p.pub.Curve)
	if err != nil {
		return SignRequest{}, err
	}
	return SignRequest{p.Algorithm, p.MessageType, digest}, nil
}

// RequestFromHash turns the sum of NewHash (multi-part C_SignFinal) into the
// KMS Sign call. Only for hashing mechanisms; the sum must have the hash's length.
func (p *Plan) RequestFromHash(sum []byte) (SignRequest, error) {
	if p.scheme == schemeEdDSA && p.Hash == 0 {
		return p.edRequest(sum) // pure Ed25519: sum is the buffered message
	}
	if p.ml != nil {
		return p.mldsaRequestFromSum(sum) // tagged message or mu (mldsa_stream.go)
	}
	if p.scheme == schemeSM2 {
		return p.sm2RequestFromSum(sum) // sum is e = SM3(ZA||M) (sm2.go)
	}
	if p.Hash == 0 || len(sum) != p.Hash.Size() {
		return SignRequest{}, ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: a %d-byte hash sum does not fit this mechanism", ck.MechName(p.Mechanism), len(sum))
	}
	if p.scheme != schemeECDSA {
		return SignRequest{p.Algorithm, p.MessageType, bytes.Clone(sum)}, nil
	}
	digest, err := AdjustDigest(sum, p.pub.Curve)
	if err != nil {
		return SignRequest{}, err
	}
	return SignRequest{p.Algorithm, p.MessageType, digest}, nil
}

// Output turns KMS's signature into the PKCS#11 signature of SigLen bytes.
// ECDSA: DER to r||s, each half left-padded to the order length (DERToRaw).
// RSA: KMS returns exactly the modulus length (I2OSP, RFC 8017 §8.1.1 step
// 2c, §8.2.1 step 2c); anything else is refused, not padded. A malformed KMS
// signature is CKR_FUNCTION_FAILED.
func (p *Plan) Output(kmsSig []byte) ([]byte, error) {
	if p.scheme == schemeECDSA || p.scheme == schemeSM2 { // SM2DSA: the same DER SEQUENCE {r, s} (GM/T 0009)
		raw, err := DERToRaw(kmsSig, p.pub.Curve.OrderLen())
		if err != nil {
			return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS returned a malformed %s signature: %w", p.Algorithm, err)
		}
		return raw, nil
	}
	if len(kmsSig) != p.SigLen {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS returned a %d-byte RSA signature, want %d", len(kmsSig), p.SigLen)
	}
	return bytes.Clone(kmsSig), nil
}

// OutputVerified is Output followed by a local verification of the result
// against the request KMS signed, so a wrong signature never reaches the
// caller (a misbehaving backend, or one whose PSS salt differs from the hash
// length). A signature that does not verify is CKR_FUNCTION_FAILED.
func (p *Plan) OutputVerified(req SignRequest, kmsSig []byte) ([]byte, error) {
	if p.ml != nil {
		return p.mldsaOutputVerified(req, kmsSig) // over the message (RAW) or mu (EXTERNAL_MU) (mldsa.go)
	}
	sig, err := p.Output(kmsSig)
	if err != nil {
		return nil, err
	}
	h := p.pssHash
	if p.scheme == schemePKCS1 {
		h = algHash(req.Algorithm)
	}
	if err := p.verifyHashed(h, req.Message, sig); err != nil {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS %s signature does not verify with the key's public key", req.Algorithm)
	}
	return sig, nil
}
