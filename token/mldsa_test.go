package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha3"
	"encoding/asn1"
	"fmt"
	"sync"
	"testing"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// The ML-DSA tests sign through the dev KMS (ML_DSA_44/65/87 keys served by
// kmsbackend/devkms) and check every signature with cloudflare/circl, which
// shares no code with the module (filippo.io/mldsa).

// mlSets are the parameter sets under test: KMS spec, CKA_PARAMETER_SET,
// circl scheme, public key and signature sizes (FIPS 204 Table 2).
var mlSets = []struct {
	alias          string
	spec           kmsbackend.KeySpec
	ckp            uint
	scheme         sign.Scheme
	pubLen, sigLen int
}{
	{"t-mldsa44", kmsbackend.SpecMLDSA44, ck.CKP_ML_DSA_44, mldsa44.Scheme(), 1312, 2420},
	{"t-mldsa65", kmsbackend.SpecMLDSA65, ck.CKP_ML_DSA_65, mldsa65.Scheme(), 1952, 3309},
	{"t-mldsa87", kmsbackend.SpecMLDSA87, ck.CKP_ML_DSA_87, mldsa87.Scheme(), 2592, 4627},
}

// mlSuite is the ML-DSA keys and a P-256 key (for the wrong-key-type
// cases) in the shared dev KMS, tagged suite=mldsa so the selections of
// other tests do not see them.
var mlSuite = &keySuite{tag: "mldsa", desc: "p11kms token test", keys: func() []suiteKey {
	keys := []suiteKey{{"t-mldsa-p256", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify}}
	for _, s := range mlSets {
		keys = append(keys, suiteKey{s.alias, s.spec, kmsbackend.UsageSignVerify})
	}
	return keys
}()}

// mlDevKeys creates mlSuite once and returns each key's SPKI by spec.
func mlDevKeys(t *testing.T) map[kmsbackend.KeySpec][]byte {
	t.Helper()
	infos := mlSuite.create(t)
	spkis := map[kmsbackend.KeySpec][]byte{}
	for _, k := range mlSuite.keys {
		spkis[k.spec] = infos[k.alias].PublicKeyDER
	}
	return spkis
}

// mtBackend records the MessageType of every KMS Sign call.
type mtBackend struct {
	kmsbackend.Backend
	mu  sync.Mutex
	mts []kmsbackend.MessageType
}

func (b *mtBackend) Sign(ctx context.Context, arn string, alg kmsbackend.SigningAlgorithm, mt kmsbackend.MessageType, msg []byte) ([]byte, error) {
	b.mu.Lock()
	b.mts = append(b.mts, mt)
	b.mu.Unlock()
	return b.Backend.Sign(ctx, arn, alg, mt, msg)
}

// take returns and clears the recorded message types.
func (b *mtBackend) take() []kmsbackend.MessageType {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.mts
	b.mts = nil
	return out
}

// mlModule is a module whose one token holds mlSuite.
func mlModule(t *testing.T) (*Module, *mtBackend, map[kmsbackend.KeySpec][]byte) {
	t.Helper()
	spkis := mlDevKeys(t)
	m, mb := suiteModule(t, "mldsa", "{tags: {suite: mldsa}}", "", func(b kmsbackend.Backend) *mtBackend {
		return &mtBackend{Backend: b}
	})
	return m, mb, spkis
}

// mlObject returns the one object of class cls with the parameter set ckp.
func mlObject(t *testing.T, m *Module, sh, cls, ckp uint) uint {
	t.Helper()
	hs := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(cls)},
		Attribute{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_ML_DSA)}, Attribute{Type: ck.CKA_PARAMETER_SET, Value: encodeULong(ckp)})
	require.Len(t, hs, 1)
	return hs[0]
}

// rawMLDSAKey is the BIT STRING of an ML-DSA SPKI, read with encoding/asn1.
func rawMLDSAKey(t *testing.T, spki []byte) []byte {
	t.Helper()
	var s struct {
		Alg struct{ OID asn1.ObjectIdentifier }
		Key asn1.BitString
	}
	_, err := asn1.Unmarshal(spki, &s)
	require.NoError(t, err)
	return s.Key.Bytes
}

// circlOK verifies sig over msg and ctx with circl.
func circlOK(t *testing.T, scheme sign.Scheme, raw, msg, ctx, sig []byte) bool {
	t.Helper()
	pk, err := scheme.UnmarshalBinaryPublicKey(raw)
	require.NoError(t, err)
	return scheme.Verify(pk, msg, sig, &sign.SignatureOpts{Context: string(ctx)})
}

func TestMLDSAKeyObjects(t *testing.T) {
	m, _, spkis := mlModule(t)
	sh := openSession(t, m)
	assert.Len(t, findAll(t, m, sh, Attribute{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_ML_DSA)}), 6, "3 keys, 2 objects each")
	for _, s := range mlSets {
		t.Run(s.alias, func(t *testing.T) {
			priv, pubo := mlObject(t, m, sh, ck.CKO_PRIVATE_KEY, s.ckp), mlObject(t, m, sh, ck.CKO_PUBLIC_KEY, s.ckp)
			raw := rawMLDSAKey(t, spkis[s.spec])
			require.Len(t, raw, s.pubLen)
			assert.Equal(t, raw, attrValue(t, m, sh, pubo, ck.CKA_VALUE), "public CKA_VALUE is the FIPS 204 public key")
			for _, oh := range []uint{priv, pubo} {
				assert.Equal(t, encodeULong(s.ckp), attrValue(t, m, sh, oh, ck.CKA_PARAMETER_SET))
				assert.Equal(t, []byte(s.alias), attrValue(t, m, sh, oh, ck.CKA_LABEL))
				assert.Equal(t, spkis[s.spec], attrValue(t, m, sh, oh, ck.CKA_PUBLIC_KEY_INFO))
				assert.Equal(t, encodeULongs([]uint{ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU}), attrValue(t, m, sh, oh, ck.CKA_ALLOWED_MECHANISMS))
				assert.Equal(t, encodeULong(ck.CKM_ML_DSA_KEY_PAIR_GEN), attrValue(t, m, sh, oh, ck.CKA_KEY_GEN_MECHANISM))
			}
			assert.Equal(t, encodeBool(true), attrValue(t, m, sh, priv, ck.CKA_SIGN))
			assert.Equal(t, encodeBool(true), attrValue(t, m, sh, pubo, ck.CKA_VERIFY))
			for _, typ := range []uint{ck.CKA_VALUE, ck.CKA_SEED} {
				reqs := []AttrRequest{{Type: typ, HasBuf: true, BufLen: 8192}}
				assert.Equal(t, "CKR_ATTRIBUTE_SENSITIVE", rvOf(m.GetAttributeValue(sh, priv, reqs)), "attribute 0x%x", typ)
			}
		})
	}
	list, err := m.MechanismList(0)
	require.NoError(t, err)
	assert.Subset(t, list, []uint{ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU})
	for _, mech := range []uint{ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU} {
		info, err := m.MechanismInfo(0, mech)
		require.NoError(t, err)
		assert.Equal(t, MechanismInfo{MinKeySize: 1312, MaxKeySize: 2592, Flags: ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW}, info, "public key bytes over the token's keys")
	}
}

// mlSign signs msg through the module, single-part or in 1000-byte parts.
func mlSign(t *testing.T, m *Module, sh, key uint, mech Mechanism, msg []byte, multi bool, sigLen int) ([]byte, error) {
	t.Helper()
	require.NoError(t, m.SignInit(sh, mech, key))
	if !multi {
		sig, _, err := m.Sign(sh, msg, false, uint(sigLen))
		return sig, err
	}
	for off := 0; off < len(msg); off += 1000 {
		if err := m.SignUpdate(sh, msg[off:min(off+1000, len(msg))]); err != nil {
			return nil, err
		}
	}
	sig, _, err := m.SignFinal(sh, false, uint(sigLen))
	return sig, err
}

// TestMLDSASignThroughKMS covers 44/65/87 × message sizes × context ×
// single/multi-part: one KMS Sign each, RAW exactly for 1..4096 bytes
// without context, every signature verified by circl and by C_Verify.
func TestMLDSASignThroughKMS(t *testing.T) {
	m, mb, spkis := mlModule(t)
	sh := openSession(t, m)
	for _, s := range mlSets {
		priv, pubo := mlObject(t, m, sh, ck.CKO_PRIVATE_KEY, s.ckp), mlObject(t, m, sh, ck.CKO_PUBLIC_KEY, s.ckp)
		raw := rawMLDSAKey(t, spkis[s.spec])
		for _, n := range []int{0, 100, 4096, 4097, 100 << 10} {
			for _, ctx := range [][]byte{nil, []byte("p11kms")} {
				for _, multi := range []bool{false, true} {
					name := fmt.Sprintf("%s/%dB/ctx=%q/multi=%v", s.alias, n, ctx, multi)
					msg := make([]byte, n)
					_, _ = rand.Read(msg)
					mech := Mechanism{Type: ck.CKM_ML_DSA}
					if ctx != nil {
						mech.Param = mechanisms.EncodeMLDSAParams(mechanisms.MLDSAParams{Hedge: ck.CKH_HEDGE_REQUIRED, Context: ctx})
					}
					mb.take()
					sig, err := mlSign(t, m, sh, priv, mech, msg, multi, s.sigLen)
					require.NoError(t, err, name)
					want := kmsbackend.MessageExternalMu
					if ctx == nil && n >= 1 && n <= 4096 {
						want = kmsbackend.MessageRaw
					}
					assert.Equal(t, []kmsbackend.MessageType{want}, mb.take(), name)
					require.Len(t, sig, s.sigLen, name)
					require.True(t, circlOK(t, s.scheme, raw, msg, ctx, sig), "circl: %s", name)

					require.NoError(t, m.VerifyInit(sh, mech, pubo))
					require.NoError(t, m.Verify(sh, msg, sig), name)
					bad := bytes.Clone(sig)
					bad[7] ^= 0x80
					require.NoError(t, m.VerifyInit(sh, mech, pubo))
					assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, msg, bad)), name)
				}
			}
		}
	}
}

// fips204Mu computes mu = SHAKE256(SHAKE256(pk, 64) || 0 || len(ctx) || ctx || M, 64)
// (FIPS 204 Algorithm 2 line 10, Algorithm 7 line 6), independently of mechanisms/.
func fips204Mu(pk, ctx, msg []byte) []byte {
	h := sha3.NewSHAKE256()
	h.Write(sha3.SumSHAKE256(pk, 64))
	h.Write([]byte{0, byte(len(ctx))})
	h.Write(ctx)
	h.Write(msg)
	mu := make([]byte, 64)
	_, _ = h.Read(mu)
	return mu
}

func TestMLDSAExternalMuThroughKMS(t *testing.T) {
	m, mb, spkis := mlModule(t)
	sh := openSession(t, m)
	mech := Mechanism{Type: ck.CKM_ML_DSA_EXTERNAL_MU}
	msg, ctx := []byte("document signed by mu"), []byte("ctx")
	for _, s := range mlSets {
		t.Run(s.alias, func(t *testing.T) {
			priv, pubo := mlObject(t, m, sh, ck.CKO_PRIVATE_KEY, s.ckp), mlObject(t, m, sh, ck.CKO_PUBLIC_KEY, s.ckp)
			raw := rawMLDSAKey(t, spkis[s.spec])
			mu := fips204Mu(raw, ctx, msg)
			mb.take()
			sig, err := mlSign(t, m, sh, priv, mech, mu, false, s.sigLen)
			require.NoError(t, err)
			assert.Equal(t, []kmsbackend.MessageType{kmsbackend.MessageExternalMu}, mb.take())
			require.True(t, circlOK(t, s.scheme, raw, msg, ctx, sig), "circl verifies over M and ctx")
			require.NoError(t, m.VerifyInit(sh, mech, pubo))
			require.NoError(t, m.Verify(sh, mu, sig))
			bad := bytes.Clone(mu)
			bad[0] ^= 1
			require.NoError(t, m.VerifyInit(sh, mech, pubo))
			assert.Equal(t, "CKR_SIGNATURE_INVALID", rvOf(m.Verify(sh, bad, sig)))

			for _, n := range []int{0, 63, 65, 100} {
				_, err = mlSign(t, m, sh, priv, mech, make([]byte, n), false, s.sigLen)
				assert.Equal(t, "CKR_DATA_LEN_RANGE", rvOf(err), "%d bytes", n)
				require.NoError(t, m.VerifyInit(sh, mech, pubo))
				assert.Equal(t, "CKR_DATA_LEN_RANGE", rvOf(m.Verify(sh, make([]byte, n), sig)), "%d bytes", n)
			}
			assert.Empty(t, mb.take(), "refused locally")
			require.NoError(t, m.SignInit(sh, mech, priv))
			assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.SignUpdate(sh, mu)), "single-part only")
		})
	}
}

func TestMLDSARefusals(t *testing.T) {
	m, mb, _ := mlModule(t)
	sh := openSession(t, m)
	priv, pubo := mlObject(t, m, sh, ck.CKO_PRIVATE_KEY, ck.CKP_ML_DSA_44), mlObject(t, m, sh, ck.CKO_PUBLIC_KEY, ck.CKP_ML_DSA_44)
	ec := findAll(t, m, sh, Attribute{Type: ck.CKA_CLASS, Value: encodeULong(ck.CKO_PRIVATE_KEY)}, Attribute{Type: ck.CKA_KEY_TYPE, Value: encodeULong(ck.CKK_EC)})
	require.Len(t, ec, 1)
	param := func(hedge uint, ctx []byte) []byte {
		return mechanisms.EncodeMLDSAParams(mechanisms.MLDSAParams{Hedge: hedge, Context: ctx})
	}
	rows := []struct {
		name string
		sign bool
		mech Mechanism
		key  uint
		rv   string
	}{
		{"deterministic signing", true, Mechanism{ck.CKM_ML_DSA, param(ck.CKH_DETERMINISTIC_REQUIRED, nil)}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"deterministic ignored on verify", false, Mechanism{ck.CKM_ML_DSA, param(ck.CKH_DETERMINISTIC_REQUIRED, nil)}, pubo, "CKR_OK"},
		{"hedge 7", true, Mechanism{ck.CKM_ML_DSA, param(7, nil)}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"256-byte context", true, Mechanism{ck.CKM_ML_DSA, param(0, make([]byte, 256))}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"parameter shorter than hedgeVariant", true, Mechanism{ck.CKM_ML_DSA, []byte{1, 2}}, priv, "CKR_MECHANISM_PARAM_INVALID"},
		{"ECDSA on an ML-DSA key", true, Mechanism{Type: ck.CKM_ECDSA}, priv, "CKR_KEY_TYPE_INCONSISTENT"},
		{"ML-DSA on a P-256 key", true, Mechanism{Type: ck.CKM_ML_DSA}, ec[0], "CKR_KEY_TYPE_INCONSISTENT"},
		{"signing with the public key", true, Mechanism{Type: ck.CKM_ML_DSA}, pubo, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var err error
			if r.sign {
				err = m.SignInit(sh, r.mech, r.key)
				m.EndSign(sh)
			} else {
				err = m.VerifyInit(sh, r.mech, r.key)
				m.EndVerify(sh)
			}
			assert.Equal(t, r.rv, rvOf(err), "%v", err)
		})
	}
	t.Run("C_VerifyUpdate and C_VerifyFinal: single-part only", func(t *testing.T) {
		require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_ML_DSA}, pubo))
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.VerifyUpdate(sh, []byte("part"))))
		require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_ML_DSA}, pubo), "the failed update ended the operation")
		assert.Equal(t, "CKR_FUNCTION_NOT_SUPPORTED", rvOf(m.VerifyFinal(sh, make([]byte, 2420))))
	})
	t.Run("wrong signature length", func(t *testing.T) {
		require.NoError(t, m.VerifyInit(sh, Mechanism{Type: ck.CKM_ML_DSA}, pubo))
		assert.Equal(t, "CKR_SIGNATURE_LEN_RANGE", rvOf(m.Verify(sh, []byte("m"), make([]byte, 2419))))
	})
	t.Run("size query and short buffer are local and keep the operation", func(t *testing.T) {
		mb.take()
		require.NoError(t, m.SignInit(sh, Mechanism{Type: ck.CKM_ML_DSA}, priv))
		_, n, err := m.Sign(sh, []byte("m"), true, 0)
		require.NoError(t, err)
		assert.Equal(t, uint(2420), n)
		_, n, err = m.Sign(sh, []byte("m"), false, 2419)
		assert.Equal(t, "CKR_BUFFER_TOO_SMALL", rvOf(err))
		assert.Equal(t, uint(2420), n)
		assert.Empty(t, mb.take())
		sig, _, err := m.Sign(sh, []byte("m"), false, 2420)
		require.NoError(t, err)
		assert.Len(t, sig, 2420)
		assert.Equal(t, []kmsbackend.MessageType{kmsbackend.MessageRaw}, mb.take())
	})
}
