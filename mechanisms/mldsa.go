package mechanisms

import (
	"bytes"
	"crypto/sha3"
	"encoding/binary"
	"errors"
	"slices"

	"filippo.io/mldsa"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/internal/mldsamu"
	"github.com/p11kms/p11kms/kmsbackend"
)

// MaxMLDSARawMessage is the longest message CKM_ML_DSA sends to KMS as is:
// AWS KMS signs ML_DSA_SHAKE_256 with MessageType RAW for 1 to 4096 bytes
// (AWS KMS API reference, Sign Message: length 1..4096). Any other message,
// and any message with a context (RAW has no context field), is signed as
// MessageType EXTERNAL_MU over mu computed locally, so there is no ceiling.
const MaxMLDSARawMessage = 4096

// MLDSAMuLen is the length of the message representative mu (FIPS 204
// Algorithm 7 line 6; AWS KMS API reference, Sign MessageType EXTERNAL_MU).
const MLDSAMuLen = 64

// maxMLDSAContext is the longest FIPS 204 context string (Algorithm 2: |ctx| ≤ 255).
const maxMLDSAContext = 255

// mldsaHedge is a CK_HEDGE_TYPE and whether the token signs under it.
type mldsaHedge struct {
	hedge    uint
	signable bool
}

// mldsaHedges lists the CK_HEDGE_TYPE values (PKCS#11 3.2 ml_dsa.md) and
// whether this token can sign under each. The AWS KMS documentation (Sign;
// "ML-DSA keys in AWS KMS") offers no deterministic mode and no hedging
// option; the token takes KMS's signatures to be hedged, FIPS 204's default
// (Algorithm 2 with a fresh rnd): a deterministic signature cannot be
// promised, so CKH_DETERMINISTIC_REQUIRED is refused.
var mldsaHedges = []mldsaHedge{
	{ck.CKH_HEDGE_PREFERRED, true},         // "may create either": KMS's hedged signature
	{ck.CKH_HEDGE_REQUIRED, true},          // KMS signs hedged
	{ck.CKH_DETERMINISTIC_REQUIRED, false}, // "must produce a deterministic signature or fail": refused at C_SignInit
}

// MLDSAParams is CK_SIGN_ADDITIONAL_CONTEXT (PKCS#11 3.2 ml_dsa.md), the
// optional parameter of CKM_ML_DSA and CKM_ML_DSA_EXTERNAL_MU. The C
// structure holds a pointer (pContext), so cgo flattens it: Mechanism.Param
// holds hedgeVariant as 8 big-endian bytes, then the ulContextLen context
// bytes. An empty Param (no parameter) is CKH_HEDGE_PREFERRED without context.
type MLDSAParams struct {
	// Hedge is hedgeVariant (CKH_*).
	Hedge uint
	// Context is the FIPS 204 context string ctx, at most 255 bytes.
	Context []byte
}

// EncodeMLDSAParams returns the flattened form of p, as cgo builds it.
func EncodeMLDSAParams(p MLDSAParams) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(p.Hedge)), p.Context...)
}

// ParseMLDSAParams decodes the flattened parameter (see MLDSAParams). A
// hedgeVariant that is not a CK_HEDGE_TYPE, a context over 255 bytes or a
// parameter shorter than its hedgeVariant is CKR_MECHANISM_PARAM_INVALID.
func ParseMLDSAParams(b []byte) (MLDSAParams, error) {
	if len(b) == 0 {
		return MLDSAParams{Hedge: ck.CKH_HEDGE_PREFERRED}, nil
	}
	if len(b) < 8 {
		return MLDSAParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_SIGN_ADDITIONAL_CONTEXT is %d bytes, too short", len(b))
	}
	p := MLDSAParams{Hedge: uint(binary.BigEndian.Uint64(b)), Context: bytes.Clone(b[8:])}
	if !slices.ContainsFunc(mldsaHedges, func(h mldsaHedge) bool { return h.hedge == p.Hedge }) {
		return MLDSAParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_SIGN_ADDITIONAL_CONTEXT hedgeVariant %d is not a CK_HEDGE_TYPE", p.Hedge)
	}
	if len(p.Context) > maxMLDSAContext {
		return MLDSAParams{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "ML-DSA context is %d bytes; FIPS 204 allows at most %d", len(p.Context), maxMLDSAContext)
	}
	return p, nil
}

// mldsaState is the ML-DSA part of a Plan.
type mldsaState struct {
	pub   *mldsa.PublicKey
	tr    []byte // SHAKE256(pk, 64): FIPS 204 Algorithm 7 line 6
	ctx   []byte
	hedge uint
	mu    bool // CKM_ML_DSA_EXTERNAL_MU: the input is mu
}

// setMLDSA completes a CKM_ML_DSA or CKM_ML_DSA_EXTERNAL_MU plan: AWS KMS
// ML_DSA_SHAKE_256, SigLen of the key's parameter set. The external-mu
// mechanism ignores the parameter's context (3.3 draft: "ulContextLen will
// be zero and pContext are ignored"; mu already binds it).
func (p *Plan) setMLDSA(row mechRow, param []byte, spec kmsbackend.KeySpec) error {
	set := p.pub.MLDSASet
	if spec != kmsbackend.SpecUnknown && MLDSASetFromSpec(spec) != set {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "key spec %s does not match its %s public key", spec, set)
	}
	dec, err := p.pub.mldsaPublic()
	if err != nil {
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "ML-DSA public key: %w", err)
	}
	if n := uint(set.PublicKeyLen()); n < row.minBits || n > row.maxBits {
		return ck.Errorf(ck.CKR_KEY_SIZE_RANGE, "%s takes %d..%d-byte public keys, not %d", ck.MechName(row.mech), row.minBits, row.maxBits, n)
	}
	params, err := ParseMLDSAParams(param)
	if err != nil {
		return err
	}
	st := &mldsaState{pub: dec.pub, tr: dec.tr, ctx: params.Context, hedge: params.Hedge}
	p.MessageType = kmsbackend.MessageRaw
	if row.scheme == schemeMuDSA {
		st.mu, st.ctx, p.MessageType = true, nil, kmsbackend.MessageExternalMu
	}
	p.ml, p.SigLen, p.Algorithm = st, set.SignatureLen(), kmsbackend.ML_DSA_SHAKE_256
	return nil
}

// mldsaSignCheck refuses, at C_SignInit, a hedge variant the token cannot
// honour (verification ignores hedgeVariant: PKCS#11 3.2 ml_dsa.md).
func (p *Plan) mldsaSignCheck() error {
	if p.ml == nil {
		return nil
	}
	for _, h := range mldsaHedges {
		if h.hedge == p.ml.hedge && !h.signable {
			return ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s with hedgeVariant %d: AWS KMS signs ML-DSA hedged only", ck.MechName(p.Mechanism), p.ml.hedge)
		}
	}
	return nil
}

// newMuHash returns SHAKE256 fed with tr || 0 || len(ctx) || ctx: writing M
// and reading 64 bytes gives mu (FIPS 204 Algorithm 2 line 10, Algorithm 7 line 6).
func (st *mldsaState) newMuHash() *sha3.SHAKE {
	h := sha3.NewSHAKE256()
	h.Write(st.tr)
	h.Write([]byte{0, byte(len(st.ctx))})
	h.Write(st.ctx)
	return h
}

// mldsaRequest is the KMS Sign call for a complete input: CKM_ML_DSA_EXTERNAL_MU
// takes exactly 64 bytes (else CKR_DATA_LEN_RANGE); CKM_ML_DSA sends a 1..4096-byte
// message without context RAW and anything else as EXTERNAL_MU over its mu.
func (p *Plan) mldsaRequest(input []byte) (SignRequest, error) {
	st := p.ml
	switch {
	case st.mu && len(input) != MLDSAMuLen:
		return SignRequest{}, ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_ML_DSA_EXTERNAL_MU input is %d bytes; mu is %d", len(input), MLDSAMuLen)
	case st.mu:
		return SignRequest{p.Algorithm, kmsbackend.MessageExternalMu, bytes.Clone(input)}, nil
	case len(st.ctx) == 0 && len(input) >= 1 && len(input) <= MaxMLDSARawMessage:
		return SignRequest{p.Algorithm, kmsbackend.MessageRaw, bytes.Clone(input)}, nil
	}
	h := st.newMuHash()
	h.Write(input)
	mu := make([]byte, MLDSAMuLen)
	h.Read(mu)
	return SignRequest{p.Algorithm, kmsbackend.MessageExternalMu, mu}, nil
}

// mldsaOutputVerified checks KMS's signature (FIPS 204 sigEncode, SigLen
// bytes) against the request KMS signed: over the message for RAW, over mu
// for EXTERNAL_MU. Anything else is CKR_FUNCTION_FAILED.
func (p *Plan) mldsaOutputVerified(req SignRequest, kmsSig []byte) ([]byte, error) {
	if len(kmsSig) != p.SigLen {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS returned a %d-byte ML-DSA signature, want %d", len(kmsSig), p.SigLen)
	}
	var err error
	switch req.MessageType {
	case kmsbackend.MessageRaw:
		err = mldsa.Verify(p.ml.pub, req.Message, kmsSig, nil)
	case kmsbackend.MessageExternalMu:
		err = mldsamu.Verify(p.ml.pub, req.Message, kmsSig)
	default:
		err = errors.New("unexpected message type " + req.MessageType.String())
	}
	if err != nil {
		return nil, ck.Errorf(ck.CKR_FUNCTION_FAILED, "KMS %s %s signature does not verify with the key's public key: %w", req.Algorithm, req.MessageType, err)
	}
	return bytes.Clone(kmsSig), nil
}

// mldsaVerify checks sig (already SigLen bytes) for C_Verify: over the
// message with the parameter's context (FIPS 204 Algorithm 3), or over the
// 64-byte mu for CKM_ML_DSA_EXTERNAL_MU (else CKR_DATA_LEN_RANGE).
func (p *Plan) mldsaVerify(input, sig []byte) error {
	var err error
	if p.ml.mu {
		if len(input) != MLDSAMuLen {
			return ck.Errorf(ck.CKR_DATA_LEN_RANGE, "CKM_ML_DSA_EXTERNAL_MU input is %d bytes; mu is %d", len(input), MLDSAMuLen)
		}
		err = mldsamu.Verify(p.ml.pub, input, sig)
	} else {
		err = mldsa.Verify(p.ml.pub, input, sig, &mldsa.Options{Context: string(p.ml.ctx)})
	}
	switch {
	case errors.Is(err, mldsamu.ErrUnavailable):
		return ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: %w", ck.MechName(p.Mechanism), err)
	case err != nil:
		return ck.Errorf(ck.CKR_SIGNATURE_INVALID, "%s: %w", ck.MechName(p.Mechanism), errBadSignature)
	}
	return nil
}

// mldsaInfo is CK_MECHANISM_INFO of an ML-DSA mechanism: ulMinKeySize and
// ulMaxKeySize are the public key sizes in bytes over the token's ML-DSA keys
// (PKCS#11 3.2 ml_dsa.md); ok is false when the token has none.
func mldsaInfo(r mechRow, specs []kmsbackend.KeySpec) (minSize, maxSize, flags uint, ok bool) {
	for _, s := range specs {
		n := uint(MLDSASetFromSpec(s).PublicKeyLen())
		if n == 0 {
			continue
		}
		if !ok || n < minSize {
			minSize = n
		}
		maxSize, ok = max(maxSize, n), true
	}
	if !ok {
		return 0, 0, 0, false
	}
	return minSize, maxSize, r.flags, true
}
