package mechanisms

import (
	"crypto/sha3"
	"hash"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// Tags of an mldsaStream sum: what RequestFromHash receives after C_SignFinal.
const (
	mldsaSumMessage = 0 // the whole message follows (at most MaxMLDSARawMessage bytes)
	mldsaSumMu      = 1 // mu follows (MLDSAMuLen bytes)
)

// mldsaStream is the "hash" of CKM_ML_DSA's multi-part input (C_SignUpdate):
// it buffers the message while it may still go to KMS RAW (no context, at
// most MaxMLDSARawMessage bytes); past that it streams the message into the
// mu hash (FIPS 204 Algorithm 7 line 6), so the input has no size ceiling.
type mldsaStream struct {
	st  *mldsaState
	buf []byte
	mu  *sha3.SHAKE // nil while buffering
}

var _ hash.Hash = (*mldsaStream)(nil)

// newMLDSAStream starts a multi-part CKM_ML_DSA input.
func (p *Plan) newMLDSAStream() hash.Hash { return &mldsaStream{st: p.ml} }

// Write adds a part of the message.
func (s *mldsaStream) Write(part []byte) (int, error) {
	if s.mu == nil {
		if len(s.st.ctx) == 0 && len(s.buf)+len(part) <= MaxMLDSARawMessage {
			s.buf = append(s.buf, part...)
			return len(part), nil
		}
		s.mu = s.st.newMuHash()
		s.mu.Write(s.buf)
		s.buf = nil
	}
	return s.mu.Write(part)
}

// Sum appends to in the tagged buffered message, or the tagged mu, without
// changing the state.
func (s *mldsaStream) Sum(in []byte) []byte {
	if s.mu == nil {
		return append(append(in, mldsaSumMessage), s.buf...)
	}
	state, err := s.mu.MarshalBinary()
	h := s.st.newMuHash()
	if err != nil || h.UnmarshalBinary(state) != nil {
		return in // unreachable: a SHAKE state always round-trips; RequestFromHash refuses the short sum
	}
	mu := make([]byte, MLDSAMuLen)
	h.Read(mu)
	return append(append(in, mldsaSumMu), mu...)
}

// Reset empties the stream.
func (s *mldsaStream) Reset() { s.buf, s.mu = nil, nil }

// Size is the length Sum appends now.
func (s *mldsaStream) Size() int {
	if s.mu == nil {
		return 1 + len(s.buf)
	}
	return 1 + MLDSAMuLen
}

// BlockSize is 1: any write is accepted.
func (s *mldsaStream) BlockSize() int { return 1 }

// mldsaRequestFromSum turns an mldsaStream sum into the KMS Sign call: a
// buffered message as mldsaRequest would send it, a streamed one as
// EXTERNAL_MU over its mu.
func (p *Plan) mldsaRequestFromSum(sum []byte) (SignRequest, error) {
	switch {
	case len(sum) >= 1 && sum[0] == mldsaSumMessage:
		return p.mldsaRequest(sum[1:])
	case len(sum) == 1+MLDSAMuLen && sum[0] == mldsaSumMu && !p.ml.mu:
		return SignRequest{p.Algorithm, kmsbackend.MessageExternalMu, append([]byte(nil), sum[1:]...)}, nil
	}
	return SignRequest{}, ck.Errorf(ck.CKR_FUNCTION_FAILED, "%s: a %d-byte multi-part sum does not fit this mechanism", ck.MechName(p.Mechanism), len(sum))
}
