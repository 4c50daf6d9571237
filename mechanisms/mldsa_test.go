package mechanisms

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"testing"

	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	mldsax509 "filippo.io/mldsa/x509"
	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/internal/mldsamu"
	"github.com/p11kms/p11kms/kmsbackend"
)

// The ML-DSA tests sign with filippo.io/mldsa standing in for KMS (RAW: the
// message; EXTERNAL_MU: mu) and check every signature with
// github.com/cloudflare/circl, an independent FIPS 204 implementation.

// mldsaCase is one parameter set under test, with the expected sizes (FIPS 204 Table 2).
var mldsaCases = []struct {
	set            MLDSASet
	spec           kmsbackend.KeySpec
	params         mldsa.Parameters
	circl          sign.Scheme
	ckp            uint
	pubLen, sigLen int
}{
	{MLDSA44, kmsbackend.SpecMLDSA44, mldsa.MLDSA44(), mldsa44.Scheme(), ck.CKP_ML_DSA_44, 1312, 2420},
	{MLDSA65, kmsbackend.SpecMLDSA65, mldsa.MLDSA65(), mldsa65.Scheme(), ck.CKP_ML_DSA_65, 1952, 3309},
	{MLDSA87, kmsbackend.SpecMLDSA87, mldsa.MLDSA87(), mldsa87.Scheme(), ck.CKP_ML_DSA_87, 2592, 4627},
}

// mldsaKey generates a key of the set and returns it with its plan Key (KMS's algorithm list).
func mldsaKey(t testing.TB, params mldsa.Parameters, spec kmsbackend.KeySpec) (*mldsa.PrivateKey, Key) {
	t.Helper()
	sk, err := mldsa.GenerateKey(params)
	require.NoError(t, err)
	spki, err := mldsax509.MarshalPKIXPublicKey(sk.PublicKey())
	require.NoError(t, err)
	pub, err := ParsePublicKey(spki)
	require.NoError(t, err)
	return sk, Key{Spec: spec, Pub: pub, Algorithms: []kmsbackend.SigningAlgorithm{kmsbackend.ML_DSA_SHAKE_256}}
}

// fakeKMSSignMLDSA signs like AWS KMS ML_DSA_SHAKE_256: RAW takes 1..4096
// bytes of message, EXTERNAL_MU exactly 64 bytes of mu.
func fakeKMSSignMLDSA(t testing.TB, sk *mldsa.PrivateKey, req SignRequest) []byte {
	t.Helper()
	require.Equal(t, kmsbackend.ML_DSA_SHAKE_256, req.Algorithm)
	var sig []byte
	var err error
	switch req.MessageType {
	case kmsbackend.MessageRaw:
		require.True(t, len(req.Message) >= 1 && len(req.Message) <= 4096, "KMS refuses a %d-byte RAW message", len(req.Message))
		sig, err = sk.Sign(nil, req.Message, nil)
	case kmsbackend.MessageExternalMu:
		require.Len(t, req.Message, 64, "KMS refuses an EXTERNAL_MU message that is not 64 bytes")
		sig, err = sk.Sign(nil, req.Message, mldsacrypto.MLDSAMu)
	default:
		t.Fatalf("KMS refuses MessageType %s for ML_DSA_SHAKE_256", req.MessageType)
	}
	require.NoError(t, err)
	return sig
}

// circlVerify checks sig over msg with context ctx with circl.
func circlVerify(t testing.TB, scheme sign.Scheme, pub, msg, ctx, sig []byte) bool {
	t.Helper()
	pk, err := scheme.UnmarshalBinaryPublicKey(pub)
	require.NoError(t, err)
	return scheme.Verify(pk, msg, sig, &sign.SignatureOpts{Context: string(ctx)})
}

func TestParsePublicKeyMLDSA(t *testing.T) {
	for _, c := range mldsaCases {
		t.Run(c.set.String(), func(t *testing.T) {
			sk, key := mldsaKey(t, c.params, c.spec)
			pk := key.Pub
			assert.Equal(t, KindMLDSA, pk.Kind)
			assert.Equal(t, "ML-DSA", pk.Kind.String())
			assert.Equal(t, c.set, pk.MLDSASet)
			assert.Equal(t, sk.PublicKey().Bytes(), pk.MLDSA)
			assert.Len(t, pk.MLDSA, c.pubLen)
			assert.Equal(t, c.ckp, pk.MLDSASet.ParameterSet())
			assert.Equal(t, c.sigLen, pk.MLDSASet.SignatureLen())
			assert.Equal(t, c.spec, pk.MLDSASet.Spec())
			assert.Equal(t, c.set, MLDSASetFromSpec(c.spec))
			assert.Nil(t, pk.ECPoint())
			assert.Nil(t, pk.EdPoint())
		})
	}
	good := func() spkiASN1 {
		_, key := mldsaKey(t, mldsa.MLDSA44(), kmsbackend.SpecMLDSA44)
		var s spkiASN1
		_, err := asn1.Unmarshal(key.Pub.SPKI, &s)
		require.NoError(t, err)
		return s
	}
	bad := []struct {
		name   string
		mutate func(*spkiASN1)
	}{
		{"parameters present (RFC 9881: absent)", func(s *spkiASN1) { s.Algorithm.Parameters = asn1.NullRawValue }},
		{"key one byte short", func(s *spkiASN1) {
			s.PublicKey = asn1.BitString{Bytes: s.PublicKey.Bytes[1:], BitLength: s.PublicKey.BitLength - 8}
		}},
		{"key of another set's size", func(s *spkiASN1) {
			b := append(bytes.Clone(s.PublicKey.Bytes), make([]byte, 1952-1312)...)
			s.PublicKey = asn1.BitString{Bytes: b, BitLength: 8 * len(b)}
		}},
		{"bit length not whole bytes", func(s *spkiASN1) { s.PublicKey.BitLength-- }},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			s := good()
			b.mutate(&s)
			der, err := asn1.Marshal(s)
			require.NoError(t, err)
			_, err = ParsePublicKey(der)
			require.Error(t, err)
		})
	}
}

func TestMLDSAParams(t *testing.T) {
	long := bytes.Repeat([]byte{'c'}, 255)
	rows := []struct {
		name string
		in   []byte
		want MLDSAParams
		rv   uint
	}{
		{"no parameter: hedge preferred, no context", nil, MLDSAParams{Hedge: ck.CKH_HEDGE_PREFERRED}, ck.CKR_OK},
		{"hedge preferred", EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_HEDGE_PREFERRED}), MLDSAParams{Hedge: ck.CKH_HEDGE_PREFERRED, Context: []byte{}}, ck.CKR_OK},
		{"hedge required with context", EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_HEDGE_REQUIRED, Context: []byte("ctx")}), MLDSAParams{Hedge: ck.CKH_HEDGE_REQUIRED, Context: []byte("ctx")}, ck.CKR_OK},
		{"deterministic parses (refused at C_SignInit)", EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_DETERMINISTIC_REQUIRED}), MLDSAParams{Hedge: ck.CKH_DETERMINISTIC_REQUIRED, Context: []byte{}}, ck.CKR_OK},
		{"255-byte context", EncodeMLDSAParams(MLDSAParams{Context: long}), MLDSAParams{Context: long}, ck.CKR_OK},
		{"256-byte context", EncodeMLDSAParams(MLDSAParams{Context: append(long, 'x')}), MLDSAParams{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"hedge 3 is no CK_HEDGE_TYPE", EncodeMLDSAParams(MLDSAParams{Hedge: 3}), MLDSAParams{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"hedge 2^32", EncodeMLDSAParams(MLDSAParams{Hedge: 1 << 32}), MLDSAParams{}, ck.CKR_MECHANISM_PARAM_INVALID},
		{"shorter than hedgeVariant", []byte{0, 0, 0, 1}, MLDSAParams{}, ck.CKR_MECHANISM_PARAM_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := ParseMLDSAParams(r.in)
			requireRV(t, r.rv, err)
			assert.Equal(t, r.want, got)
		})
	}
}

// TestMLDSAMuMatchesFIPS204 checks the mu the token computes: KMS's
// external-mu signature over it (filippo.io/mldsa here) verifies over the
// message and context with circl, and not over another message.
func TestMLDSAMuMatchesFIPS204(t *testing.T) {
	msg := make([]byte, 5000)
	_, _ = rand.Read(msg)
	for _, c := range mldsaCases {
		for _, ctx := range [][]byte{nil, []byte("p11kms context")} {
			t.Run(c.set.String()+"/ctx="+string(ctx), func(t *testing.T) {
				sk, key := mldsaKey(t, c.params, c.spec)
				p, err := NewSignPlan(ck.CKM_ML_DSA, EncodeMLDSAParams(MLDSAParams{Context: ctx}), key)
				require.NoError(t, err)
				req, err := p.Request(msg)
				require.NoError(t, err)
				require.Equal(t, kmsbackend.MessageExternalMu, req.MessageType)
				sig, err := sk.Sign(nil, req.Message, mldsacrypto.MLDSAMu)
				require.NoError(t, err)
				assert.True(t, circlVerify(t, c.circl, key.Pub.MLDSA, msg, ctx, sig), "circl verifies the external-mu signature over M")
				assert.False(t, circlVerify(t, c.circl, key.Pub.MLDSA, msg[1:], ctx, sig), "and not over another message")
				assert.False(t, circlVerify(t, c.circl, key.Pub.MLDSA, msg, []byte("other"), sig), "nor with another context")
			})
		}
	}
}

func TestMLDSARequestRouting(t *testing.T) {
	_, key := mldsaKey(t, mldsa.MLDSA44(), kmsbackend.SpecMLDSA44)
	mu := bytes.Repeat([]byte{7}, 64)
	rows := []struct {
		name string
		mech uint
		ctx  []byte
		in   []byte
		mt   kmsbackend.MessageType
		rv   uint
	}{
		{"empty message: EXTERNAL_MU (RAW takes 1..4096)", ck.CKM_ML_DSA, nil, []byte{}, kmsbackend.MessageExternalMu, ck.CKR_OK},
		{"1 byte RAW", ck.CKM_ML_DSA, nil, []byte{1}, kmsbackend.MessageRaw, ck.CKR_OK},
		{"4096 bytes RAW", ck.CKM_ML_DSA, nil, make([]byte, 4096), kmsbackend.MessageRaw, ck.CKR_OK},
		{"4097 bytes EXTERNAL_MU", ck.CKM_ML_DSA, nil, make([]byte, 4097), kmsbackend.MessageExternalMu, ck.CKR_OK},
		{"context: EXTERNAL_MU at any length", ck.CKM_ML_DSA, []byte("c"), make([]byte, 10), kmsbackend.MessageExternalMu, ck.CKR_OK},
		{"external mu: 64 bytes", ck.CKM_ML_DSA_EXTERNAL_MU, nil, mu, kmsbackend.MessageExternalMu, ck.CKR_OK},
		{"external mu: 63 bytes", ck.CKM_ML_DSA_EXTERNAL_MU, nil, mu[1:], 0, ck.CKR_DATA_LEN_RANGE},
		{"external mu: 65 bytes", ck.CKM_ML_DSA_EXTERNAL_MU, nil, append(mu, 0), 0, ck.CKR_DATA_LEN_RANGE},
		{"external mu: empty", ck.CKM_ML_DSA_EXTERNAL_MU, nil, nil, 0, ck.CKR_DATA_LEN_RANGE},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			p, err := NewSignPlan(r.mech, EncodeMLDSAParams(MLDSAParams{Context: r.ctx}), key)
			require.NoError(t, err)
			req, err := p.Request(r.in)
			requireRV(t, r.rv, err)
			if r.rv != ck.CKR_OK {
				return
			}
			assert.Equal(t, kmsbackend.ML_DSA_SHAKE_256, req.Algorithm)
			assert.Equal(t, r.mt, req.MessageType)
			switch {
			case r.mt == kmsbackend.MessageRaw || r.mech == ck.CKM_ML_DSA_EXTERNAL_MU:
				assert.Equal(t, r.in, req.Message, "sent as given")
			default:
				assert.Len(t, req.Message, 64, "mu")
			}
		})
	}
}

// TestMLDSASignRoundTrip signs through the plan with a fake KMS and checks
// each signature with circl and with the token's own C_Verify path.
func TestMLDSASignRoundTrip(t *testing.T) {
	lengths := []int{0, 100, 4096, 4097, 100 << 10}
	for _, c := range mldsaCases {
		sk, key := mldsaKey(t, c.params, c.spec)
		for _, n := range lengths {
			for _, ctx := range [][]byte{nil, []byte("ctx")} {
				msg := make([]byte, n)
				_, _ = rand.Read(msg)
				param := EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_HEDGE_REQUIRED, Context: ctx})
				sp, err := NewSignPlan(ck.CKM_ML_DSA, param, key)
				require.NoError(t, err)
				require.Equal(t, c.sigLen, sp.SigLen)
				req, err := sp.Request(msg)
				require.NoError(t, err)
				sig, err := sp.OutputVerified(req, fakeKMSSignMLDSA(t, sk, req))
				require.NoError(t, err, "%s %d bytes ctx %q", c.set, n, ctx)
				require.Len(t, sig, c.sigLen)
				require.True(t, circlVerify(t, c.circl, key.Pub.MLDSA, msg, ctx, sig), "circl: %s %d bytes ctx %q", c.set, n, ctx)

				vp, err := NewVerifyPlan(ck.CKM_ML_DSA, param, key)
				require.NoError(t, err)
				requireRV(t, ck.CKR_OK, vp.Verify(msg, sig))
				bad := bytes.Clone(sig)
				bad[len(bad)/2] ^= 1
				requireRV(t, ck.CKR_SIGNATURE_INVALID, vp.Verify(msg, bad))
				requireRV(t, ck.CKR_SIGNATURE_INVALID, vp.Verify(append(bytes.Clone(msg), 0), sig))
				requireRV(t, ck.CKR_SIGNATURE_LEN_RANGE, vp.Verify(msg, sig[1:]))
			}
		}
	}
}

func TestMLDSAMultiPart(t *testing.T) {
	_, key := mldsaKey(t, mldsa.MLDSA65(), kmsbackend.SpecMLDSA65)
	msg := make([]byte, 100<<10)
	_, _ = rand.Read(msg)
	rows := []struct {
		n, chunk int
		ctx      []byte
	}{
		{0, 1, nil}, {100, 7, nil}, {4096, 1000, nil}, {4096, 4096, nil}, {4097, 4096, nil},
		{4097, 1, nil}, {100 << 10, 3000, nil}, {100, 10, []byte("ctx")}, {100 << 10, 65536, []byte("ctx")},
	}
	for _, r := range rows {
		p, err := NewSignPlan(ck.CKM_ML_DSA, EncodeMLDSAParams(MLDSAParams{Context: r.ctx}), key)
		require.NoError(t, err)
		require.True(t, p.MultiPart())
		h := p.NewHash()
		for off := 0; off < r.n; off += r.chunk {
			_, _ = h.Write(msg[off:min(off+r.chunk, r.n)])
		}
		first := h.Sum(nil)
		require.Equal(t, first, h.Sum(nil), "Sum leaves the state alone")
		require.Len(t, first, h.Size())
		got, err := p.RequestFromHash(first)
		require.NoError(t, err)
		want, err := p.Request(msg[:r.n])
		require.NoError(t, err)
		assert.Equal(t, want, got, "%d bytes in %d-byte parts, ctx %q", r.n, r.chunk, r.ctx)
	}
	_, err := (&Plan{Mechanism: ck.CKM_ML_DSA, ml: &mldsaState{}}).mldsaRequestFromSum([]byte{9})
	requireRV(t, ck.CKR_FUNCTION_FAILED, err)
}

func TestMLDSAOutputVerifiedRejects(t *testing.T) {
	sk, key := mldsaKey(t, mldsa.MLDSA44(), kmsbackend.SpecMLDSA44)
	other, _ := mldsaKey(t, mldsa.MLDSA44(), kmsbackend.SpecMLDSA44)
	p, err := NewSignPlan(ck.CKM_ML_DSA, nil, key)
	require.NoError(t, err)
	for _, n := range []int{10, 5000} {
		req, err := p.Request(make([]byte, n))
		require.NoError(t, err)
		good := fakeKMSSignMLDSA(t, sk, req)
		_, err = p.OutputVerified(req, good)
		requireRV(t, ck.CKR_OK, err)
		_, err = p.OutputVerified(req, good[:len(good)-1])
		requireRV(t, ck.CKR_FUNCTION_FAILED, err)
		_, err = p.OutputVerified(req, fakeKMSSignMLDSA(t, other, req))
		requireRV(t, ck.CKR_FUNCTION_FAILED, err)
	}
}

// TestMLDSAVerifyMu guards the go:linkname into filippo.io/mldsa (internal/mldsamu)
// and CKM_ML_DSA_EXTERNAL_MU's sign and verify paths.
func TestMLDSAVerifyMu(t *testing.T) {
	for _, c := range mldsaCases {
		t.Run(c.set.String(), func(t *testing.T) {
			sk, key := mldsaKey(t, c.params, c.spec)
			msg := []byte("message behind mu")
			mp, err := NewSignPlan(ck.CKM_ML_DSA, EncodeMLDSAParams(MLDSAParams{Context: []byte("c")}), key)
			require.NoError(t, err)
			mreq, err := mp.Request(msg)
			require.NoError(t, err)
			mu := mreq.Message

			sp, err := NewSignPlan(ck.CKM_ML_DSA_EXTERNAL_MU, nil, key)
			require.NoError(t, err)
			require.False(t, sp.MultiPart(), "CKM_ML_DSA_EXTERNAL_MU is single-part")
			req, err := sp.Request(mu)
			require.NoError(t, err)
			sig, err := sp.OutputVerified(req, fakeKMSSignMLDSA(t, sk, req))
			require.NoError(t, err)
			require.True(t, circlVerify(t, c.circl, key.Pub.MLDSA, msg, []byte("c"), sig), "circl")

			require.NoError(t, mldsamu.Verify(sk.PublicKey(), mu, sig))
			badMu := bytes.Clone(mu)
			badMu[0] ^= 1
			require.Error(t, mldsamu.Verify(sk.PublicKey(), badMu, sig))

			vp, err := NewVerifyPlan(ck.CKM_ML_DSA_EXTERNAL_MU, nil, key)
			require.NoError(t, err)
			requireRV(t, ck.CKR_OK, vp.Verify(mu, sig))
			requireRV(t, ck.CKR_SIGNATURE_INVALID, vp.Verify(badMu, sig))
			requireRV(t, ck.CKR_DATA_LEN_RANGE, vp.Verify(mu[1:], sig))
			requireRV(t, ck.CKR_SIGNATURE_LEN_RANGE, vp.Verify(mu, append(sig, 0)))
			_, err = sp.OutputVerified(req, fakeKMSSignMLDSA(t, sk, SignRequest{req.Algorithm, req.MessageType, badMu}))
			requireRV(t, ck.CKR_FUNCTION_FAILED, err)
		})
	}
}

func TestMLDSAPlanErrors(t *testing.T) {
	_, key44 := mldsaKey(t, mldsa.MLDSA44(), kmsbackend.SpecMLDSA44)
	ecKey := testKMSKey(t, kmsbackend.SpecECCNISTP256)
	det := EncodeMLDSAParams(MLDSAParams{Hedge: ck.CKH_DETERMINISTIC_REQUIRED})
	rows := []struct {
		name   string
		mech   uint
		param  []byte
		key    Key
		verify bool
		rv     uint
	}{
		{"deterministic signing refused", ck.CKM_ML_DSA, det, key44, false, ck.CKR_MECHANISM_PARAM_INVALID},
		{"deterministic ignored on verify", ck.CKM_ML_DSA, det, key44, true, ck.CKR_OK},
		{"deterministic refused for external mu", ck.CKM_ML_DSA_EXTERNAL_MU, det, key44, false, ck.CKR_MECHANISM_PARAM_INVALID},
		{"external mu ignores the context", ck.CKM_ML_DSA_EXTERNAL_MU, EncodeMLDSAParams(MLDSAParams{Context: []byte("x")}), key44, false, ck.CKR_OK},
		{"bad hedge on verify too", ck.CKM_ML_DSA, EncodeMLDSAParams(MLDSAParams{Hedge: 9}), key44, true, ck.CKR_MECHANISM_PARAM_INVALID},
		{"ML-DSA mechanism, EC key", ck.CKM_ML_DSA, nil, ecKey, false, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"ECDSA mechanism, ML-DSA key", ck.CKM_ECDSA, nil, key44, false, ck.CKR_KEY_TYPE_INCONSISTENT},
		{"spec of another set", ck.CKM_ML_DSA, nil, Key{Spec: kmsbackend.SpecMLDSA65, Pub: key44.Pub}, false, ck.CKR_FUNCTION_FAILED},
		{"key without ML_DSA_SHAKE_256", ck.CKM_ML_DSA, nil, Key{Spec: kmsbackend.SpecMLDSA44, Pub: key44.Pub, Algorithms: []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}}, false, ck.CKR_MECHANISM_INVALID},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var err error
			if r.verify {
				_, err = NewVerifyPlan(r.mech, r.param, r.key)
			} else {
				_, err = NewSignPlan(r.mech, r.param, r.key)
			}
			requireRV(t, r.rv, err)
		})
	}
	vp, err := NewVerifyPlan(ck.CKM_ML_DSA, nil, key44)
	require.NoError(t, err)
	assert.False(t, vp.MultiPart(), "CKM_ML_DSA verifies single-part only (PKCS#11 3.2 ml_dsa.md)")
}

func TestMLDSAMechanismsAndInfo(t *testing.T) {
	for _, c := range mldsaCases {
		assert.Equal(t, []uint{ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU}, MechanismsFor(c.spec, kmsbackend.UsageSignVerify))
		assert.Nil(t, MechanismsFor(c.spec, kmsbackend.UsageEncryptDecrypt))
	}
	flags := uint(ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW)
	rows := []struct {
		name     string
		specs    []kmsbackend.KeySpec
		min, max uint
		ok       bool
	}{
		{"one ML-DSA-65 key", []kmsbackend.KeySpec{kmsbackend.SpecMLDSA65}, 1952, 1952, true},
		{"44 and 87 among others", []kmsbackend.KeySpec{kmsbackend.SpecRSA2048, kmsbackend.SpecMLDSA87, kmsbackend.SpecMLDSA44}, 1312, 2592, true},
		{"no ML-DSA key", []kmsbackend.KeySpec{kmsbackend.SpecRSA2048, kmsbackend.SpecECCNISTP256}, 0, 0, false},
	}
	for _, r := range rows {
		for _, mech := range []uint{ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU} {
			lo, hi, f, ok := Info(mech, r.specs)
			assert.Equal(t, r.ok, ok, r.name)
			if r.ok {
				assert.Equal(t, []uint{r.min, r.max, flags}, []uint{lo, hi, f}, r.name)
			}
		}
	}
	lo, hi, _, ok := InfoFor(ck.CKM_ML_DSA, []KeyUse{{kmsbackend.SpecMLDSA44, kmsbackend.UsageSignVerify}})
	assert.Equal(t, []any{uint(1312), uint(1312), true}, []any{lo, hi, ok})
}
