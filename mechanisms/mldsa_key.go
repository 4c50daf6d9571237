package mechanisms

import (
	"bytes"
	"crypto/sha3"
	"encoding/asn1"
	"errors"
	"fmt"

	"filippo.io/mldsa"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// MLDSASet is an ML-DSA parameter set (FIPS 204 §4, Table 1).
type MLDSASet int

// ML-DSA parameter sets.
const (
	MLDSANone MLDSASet = iota
	MLDSA44
	MLDSA65
	MLDSA87
)

// mldsaSetInfo is one row of mldsaSets.
type mldsaSetInfo struct {
	set  MLDSASet
	name string
	// oid is the SubjectPublicKeyInfo algorithm (no parameters).
	oid asn1.ObjectIdentifier
	// ckp is the CKA_PARAMETER_SET value.
	ckp uint
	// spec is the AWS KMS key spec.
	spec kmsbackend.KeySpec
	// pubLen and sigLen are the encoded public key and signature sizes in bytes.
	pubLen, sigLen int
	// params is the filippo.io/mldsa parameter set, for local verification.
	params func() mldsa.Parameters
}

// mldsaSets lists the ML-DSA parameter sets AWS KMS offers.
var mldsaSets = []mldsaSetInfo{
	// FIPS 204 Table 2 (pk 1312, sig 2420 bytes); RFC 9881 §2 id-ml-dsa-44; PKCS#11 3.2 CKP_ML_DSA_44; AWS KMS KeySpec ML_DSA_44.
	{MLDSA44, "ML-DSA-44", asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}, ck.CKP_ML_DSA_44, kmsbackend.SpecMLDSA44, 1312, 2420, mldsa.MLDSA44},
	// FIPS 204 Table 2 (pk 1952, sig 3309 bytes); RFC 9881 §2 id-ml-dsa-65; PKCS#11 3.2 CKP_ML_DSA_65; AWS KMS KeySpec ML_DSA_65.
	{MLDSA65, "ML-DSA-65", asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, ck.CKP_ML_DSA_65, kmsbackend.SpecMLDSA65, 1952, 3309, mldsa.MLDSA65},
	// FIPS 204 Table 2 (pk 2592, sig 4627 bytes); RFC 9881 §2 id-ml-dsa-87; PKCS#11 3.2 CKP_ML_DSA_87; AWS KMS KeySpec ML_DSA_87.
	{MLDSA87, "ML-DSA-87", asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}, ck.CKP_ML_DSA_87, kmsbackend.SpecMLDSA87, 2592, 4627, mldsa.MLDSA87},
}

func (s MLDSASet) info() (mldsaSetInfo, bool) {
	for _, r := range mldsaSets {
		if r.set == s {
			return r, true
		}
	}
	return mldsaSetInfo{}, false
}

// String returns the FIPS 204 name ("ML-DSA-65").
func (s MLDSASet) String() string {
	if r, ok := s.info(); ok {
		return r.name
	}
	return fmt.Sprintf("MLDSASet(%d)", int(s))
}

// ParameterSet returns the CKA_PARAMETER_SET value (CKP_ML_DSA_*), 0 for MLDSANone.
func (s MLDSASet) ParameterSet() uint {
	r, _ := s.info()
	return r.ckp
}

// PublicKeyLen returns the encoded public key size in bytes (1312, 1952, 2592).
func (s MLDSASet) PublicKeyLen() int {
	r, _ := s.info()
	return r.pubLen
}

// SignatureLen returns the signature size in bytes (2420, 3309, 4627).
func (s MLDSASet) SignatureLen() int {
	r, _ := s.info()
	return r.sigLen
}

// Spec returns the AWS KMS key spec of the set, SpecUnknown for MLDSANone.
func (s MLDSASet) Spec() kmsbackend.KeySpec {
	r, _ := s.info()
	return r.spec
}

// MLDSASetFromSpec returns the parameter set of an ML_DSA_* key spec, MLDSANone otherwise.
func MLDSASetFromSpec(spec kmsbackend.KeySpec) MLDSASet {
	for _, r := range mldsaSets {
		if r.spec == spec {
			return r.set
		}
	}
	return MLDSANone
}

func mldsaSetFromOID(oid asn1.ObjectIdentifier) MLDSASet {
	for _, r := range mldsaSets {
		if r.oid.Equal(oid) {
			return r.set
		}
	}
	return MLDSANone
}

// parseMLDSA builds the PublicKey of an ML-DSA SubjectPublicKeyInfo (RFC
// 9881 §4: the AlgorithmIdentifier has no parameters; the BIT STRING is the
// FIPS 204 pkEncode output). filippo.io/mldsa checks the encoding.
func parseMLDSA(set MLDSASet, s spkiASN1, spki []byte) (*PublicKey, error) {
	r, _ := set.info()
	if len(s.Algorithm.Parameters.FullBytes) != 0 {
		return nil, fmt.Errorf("parse public key: %s AlgorithmIdentifier has parameters (RFC 9881 §2: absent)", r.name)
	}
	raw := s.PublicKey.RightAlign()
	if s.PublicKey.BitLength%8 != 0 || len(raw) != r.pubLen {
		return nil, fmt.Errorf("parse public key: %s key is %d bits, want %d bytes", r.name, s.PublicKey.BitLength, r.pubLen)
	}
	pk, err := mldsa.NewPublicKey(r.params(), raw)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	dec := &mldsaDecoded{pub: pk, tr: sha3.SumSHAKE256(raw, MLDSAMuLen)}
	return &PublicKey{Kind: KindMLDSA, MLDSA: bytes.Clone(raw), MLDSASet: set, SPKI: bytes.Clone(spki), mldsa: dec}, nil
}

// mldsaDecoded is an ML-DSA public key decoded for signing and verifying:
// the filippo.io/mldsa key (safe for concurrent use) and tr = SHAKE256(pk,
// 64 bytes) (FIPS 204 Algorithm 7 line 6), both fixed for the key.
type mldsaDecoded struct {
	pub *mldsa.PublicKey
	tr  []byte
}

// mldsaPublic returns k decoded: as ParsePublicKey decoded it, or decoded
// now for a PublicKey built by hand.
func (k *PublicKey) mldsaPublic() (*mldsaDecoded, error) {
	if k == nil || k.Kind != KindMLDSA {
		return nil, errors.New("not an ML-DSA public key")
	}
	if k.mldsa != nil {
		return k.mldsa, nil
	}
	r, ok := k.MLDSASet.info()
	if !ok {
		return nil, errors.New("ML-DSA public key without a parameter set")
	}
	pk, err := mldsa.NewPublicKey(r.params(), k.MLDSA)
	if err != nil {
		return nil, err
	}
	return &mldsaDecoded{pub: pk, tr: sha3.SumSHAKE256(k.MLDSA, MLDSAMuLen)}, nil
}
