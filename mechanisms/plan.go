package mechanisms

import (
	"crypto"
	"hash"
	"slices"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// Key is what a plan needs to know about a KMS signing key.
type Key struct {
	// Spec is the KMS key spec; SpecUnknown skips the consistency check with Pub.
	Spec kmsbackend.KeySpec
	// Pub is the parsed public key (required).
	Pub *PublicKey
	// Algorithms the key allows; when empty, any algorithm is assumed allowed.
	Algorithms []kmsbackend.SigningAlgorithm
}

// Plan is one signature or verification operation: a mechanism with its
// parameters, bound to a key, turned into what KMS signs and what the caller
// receives. A Plan is immutable after construction and safe for concurrent use.
type Plan struct {
	// Mechanism is the PKCS#11 mechanism.
	Mechanism uint
	// Algorithm is the KMS signing algorithm. For CKM_RSA_PKCS it depends on
	// the DigestInfo in the input and is SignUnknown here: use Request.
	Algorithm kmsbackend.SigningAlgorithm
	// MessageType is what KMS receives: MessageDigest for every mechanism here.
	MessageType kmsbackend.MessageType
	// Hash is applied locally to the caller's data (CKM_SHAxxx_*); 0 for raw mechanisms.
	Hash crypto.Hash
	// SigLen is the PKCS#11 signature length: the modulus bytes for RSA,
	// 2*order length for ECDSA (r||s).
	SigLen int

	scheme  scheme
	pub     *PublicKey
	pssHash crypto.Hash // PSS: the parameters' hash (salt length = its size)
	ml      *mldsaState // CKM_ML_DSA, CKM_ML_DSA_EXTERNAL_MU; nil otherwise (mldsa.go)
	verify  bool        // set by NewVerifyPlan (CKM_ML_DSA verifies single-part only)
	sm2ZA   []byte      // CKM_P11KMS_SM3_SM2DSA: ZA of the signer's ID and key; nil otherwise (sm2.go)
	allowed []kmsbackend.SigningAlgorithm
}

// NewSignPlan validates (mechanism, parameters, key) for C_SignInit
// (PKCS#11 2.40 §5.12). CK_RVs: CKR_MECHANISM_INVALID for a mechanism not in
// the table or whose KMS algorithm the key does not allow;
// CKR_KEY_TYPE_INCONSISTENT for a mechanism of another key family;
// CKR_KEY_SIZE_RANGE for a key outside the mechanism's sizes;
// CKR_MECHANISM_PARAM_INVALID for missing, unexpected or unsupported parameters.
func NewSignPlan(mech uint, param []byte, key Key) (*Plan, error) {
	p, err := newPlan(mech, param, key)
	if err != nil {
		return nil, err
	}
	if err := p.mldsaSignCheck(); err != nil {
		return nil, err // a hedge variant KMS cannot honour (mldsa.go)
	}
	switch {
	case p.Algorithm != kmsbackend.SignUnknown:
		if !p.allows(p.Algorithm) {
			return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s needs KMS algorithm %s, which the key does not allow (it allows %v)",
				ck.MechName(mech), p.Algorithm, key.Algorithms)
		}
	case !slices.ContainsFunc(algTable, func(r algRow) bool { return r.scheme == p.scheme && p.allows(r.alg) }):
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "%s needs a KMS RSASSA_PKCS1_V1_5 algorithm; the key allows %v",
			ck.MechName(mech), key.Algorithms)
	}
	return p, nil
}

// NewVerifyPlan validates (mechanism, parameters, key) for C_VerifyInit
// (PKCS#11 2.40 §5.13), with NewSignPlan's rules except the key's algorithm
// list: verification is local.
func NewVerifyPlan(mech uint, param []byte, key Key) (*Plan, error) {
	p, err := newPlan(mech, param, key)
	if err != nil {
		return nil, err
	}
	p.verify = true
	return p, nil
}

func newPlan(mech uint, param []byte, key Key) (*Plan, error) {
	row, ok := lookupMech(mech)
	if !ok {
		return nil, ck.Errorf(ck.CKR_MECHANISM_INVALID, "mechanism %s is not supported", ck.MechName(mech))
	}
	pub := key.Pub
	if pub == nil || pub.Kind == KindUnknown {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "key has no parsed public key")
	}
	if key.Spec != kmsbackend.SpecUnknown && (specKind(key.Spec) != pub.Kind || CurveFromSpec(key.Spec) != pub.Curve) {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "key spec %s does not match its %s public key", key.Spec, pub.Kind)
	}
	if row.kind != pub.Kind {
		return nil, ck.Errorf(ck.CKR_KEY_TYPE_INCONSISTENT, "%s needs an %s key, not %s", ck.MechName(mech), row.kind, pub.Kind)
	}
	p := &Plan{Mechanism: mech, MessageType: kmsbackend.MessageDigest, Hash: row.hash, scheme: row.scheme, pub: pub, allowed: key.Algorithms}
	if row.scheme == schemeEdDSA {
		return p, p.setEdDSA(param) // Ed25519: 256-bit keys only (eddsa.go)
	}
	if row.scheme == schemeMLDSA || row.scheme == schemeMuDSA {
		return p, p.setMLDSA(row, param, key.Spec) // ML-DSA-44/65/87 (mldsa.go)
	}
	if row.scheme == schemeSM2 {
		return p, p.setSM2(param) // SM2DSA: the one SM2 curve (sm2.go)
	}
	bits := uint(pub.ModulusBits())
	if pub.Kind == KindEC {
		bits = uint(pub.Curve.Bits())
		p.SigLen = 2 * pub.Curve.OrderLen()
		p.Algorithm = pub.Curve.Algorithm()
	} else {
		p.SigLen = (int(bits) + 7) / 8
	}
	if bits < row.minBits || bits > row.maxBits {
		return nil, ck.Errorf(ck.CKR_KEY_SIZE_RANGE, "%s takes %d..%d-bit keys, not %d", ck.MechName(mech), row.minBits, row.maxBits, bits)
	}
	if row.scheme != schemePSS {
		if len(param) != 0 {
			return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s takes no parameter, got %d bytes", ck.MechName(mech), len(param))
		}
		if row.scheme == schemePKCS1 && row.hash != 0 {
			p.Algorithm = rsaAlgorithm(schemePKCS1, row.hash)
		}
		return p, nil
	}
	if err := p.setPSS(row, param); err != nil {
		return nil, err
	}
	return p, nil
}

// setPSS validates CK_RSA_PKCS_PSS_PARAMS (PKCS#11 Current Mechanisms 2.40
// §2.1.9: for a hashing mechanism hashAlg must match the mechanism's hash).
func (p *Plan) setPSS(row mechRow, param []byte) error {
	if param == nil {
		return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s needs CK_RSA_PKCS_PSS_PARAMS", ck.MechName(row.mech))
	}
	params, err := ParsePSSParams(param)
	if err != nil {
		return err
	}
	h, err := params.KMSHash()
	if err != nil {
		return err
	}
	if row.hash != 0 && h != row.hash {
		return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s with PSS hashAlg %s: hashAlg must match the mechanism's hash",
			ck.MechName(row.mech), ck.MechName(params.Hash))
	}
	p.pssHash = h
	p.Algorithm = rsaAlgorithm(schemePSS, h)
	return nil
}

// allows reports whether the key allows alg (an empty list allows all).
func (p *Plan) allows(alg kmsbackend.SigningAlgorithm) bool {
	return len(p.allowed) == 0 || slices.Contains(p.allowed, alg)
}

// NewHash returns a fresh hash for multi-part operations (C_SignUpdate,
// C_VerifyUpdate) of a hashing mechanism; nil for raw mechanisms, which are
// single-part only (PKCS#11 Current Mechanisms 2.40 §2.1.6, §2.1.10, §2.3.6).
func (p *Plan) NewHash() hash.Hash {
	if p.Hash == 0 {
		if p.scheme == schemeEdDSA {
			return &edBuffer{} // pure Ed25519: the message itself (eddsa.go)
		}
		if p.scheme == schemeMLDSA {
			return p.newMLDSAStream() // buffered, then streamed into mu (mldsa_stream.go)
		}
		if p.scheme == schemeSM2 {
			return p.sm2Hash() // SM3 seeded with ZA; nil for the raw CKM_P11KMS_SM2DSA (sm2.go)
		}
		return nil
	}
	return p.Hash.New()
}

// Curve returns the key's curve (CurveNone for RSA).
func (p *Plan) Curve() Curve { return p.pub.Curve }
