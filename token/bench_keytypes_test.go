package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha3"
	"encoding/asn1"
	"fmt"
	"log/slog"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/aws"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
	"github.com/p11kms/p11kms/mechanisms"
)

// BenchmarkSignOverheadKeyTypes is BenchmarkSignOverhead for the key types
// of the dev KMS's own layer (Ed25519, ML-DSA-65, SM2): each key signed
// through the module and, side by side in the same run, straight through
// the backend with what KMS needs for the same signature (the baseline).
// For ML-DSA over 64 KiB the baseline sends a precomputed μ as EXTERNAL_MU,
// and for SM2 a precomputed e = SM3(Z_A || M) as DIGEST (what the module
// sends), so the ratios show the module's hashing and local verification.
func BenchmarkSignOverheadKeyTypes(b *testing.B) {
	ctx := context.Background()
	url := devKMS(b)
	be, err := aws.New(ctx, aws.Options{Region: devkms.DefaultRegion, Endpoint: url, Anonymous: true})
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close() })
	keys := map[string]*kmsbackend.KeyInfo{}
	for alias, spec := range map[string]kmsbackend.KeySpec{
		"b-ed25519": kmsbackend.SpecECCNISTEdwards25519, "b-mldsa65": kmsbackend.SpecMLDSA65, "b-sm2": kmsbackend.SpecSM2,
	} {
		info, err := be.CreateKey(ctx, spec, kmsbackend.UsageSignVerify, "alias/"+alias, "p11kms bench", map[string]string{"suite": "bench"})
		require.NoError(b, err)
		keys[alias] = info
	}
	m := New()
	m.NewBackend = func(ctx context.Context, tc TokenConfig, log *slog.Logger) (kmsbackend.Backend, error) {
		return newAWSBackend(ctx, tc, log)
	}
	cfg := fmt.Sprintf("log: {level: error}\ntokens:\n  - label: bench\n    region: %s\n    endpoint: %s\n    anonymous: true\n    keys: {tags: {suite: bench}}\n", devkms.DefaultRegion, url)
	require.NoError(b, m.Initialize(InitArgs{Present: true, Reserved: cfg}))
	b.Cleanup(func() { _ = m.Finalize() })
	sh := openSession(b, m)

	kib, big := bytes.Repeat([]byte("k"), 1024), bytes.Repeat([]byte("b"), 64<<10)
	for _, c := range []struct {
		name, alias string
		mech        uint
		in          []byte
		alg         kmsbackend.SigningAlgorithm
		mt          kmsbackend.MessageType
		kmsIn       func(*kmsbackend.KeyInfo) []byte
	}{
		{"Ed25519 1KiB", "b-ed25519", ck.CKM_EDDSA, kib, kmsbackend.ED25519_SHA_512, kmsbackend.MessageRaw, func(*kmsbackend.KeyInfo) []byte { return kib }},
		{"ML-DSA-65 1KiB", "b-mldsa65", ck.CKM_ML_DSA, kib, kmsbackend.ML_DSA_SHAKE_256, kmsbackend.MessageRaw, func(*kmsbackend.KeyInfo) []byte { return kib }},
		{"ML-DSA-65 64KiB", "b-mldsa65", ck.CKM_ML_DSA, big, kmsbackend.ML_DSA_SHAKE_256, kmsbackend.MessageExternalMu, func(k *kmsbackend.KeyInfo) []byte { return benchMu(b, k.PublicKeyDER, big) }},
		{"SM2 1KiB", "b-sm2", mechanisms.CKM_P11KMS_SM3_SM2DSA, kib, kmsbackend.SM2DSA, kmsbackend.MessageDigest, func(k *kmsbackend.KeyInfo) []byte { return benchSM2e(b, k.PublicKeyDER, kib) }},
	} {
		priv, _ := keyPair(b, m, sh, c.alias)
		arn, kin := keys[c.alias].ARN, c.kmsIn(keys[c.alias])
		b.Run(c.name+"/baseline-backend", func(b *testing.B) {
			for b.Loop() {
				if _, err := be.Sign(ctx, arn, c.alg, c.mt, kin); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/module", func(b *testing.B) {
			for b.Loop() {
				if err := m.SignInit(sh, Mechanism{Type: c.mech}, priv); err != nil {
					b.Fatal(err)
				}
				if _, _, err := m.Sign(sh, c.in, false, 8192); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchMu is FIPS 204 μ with an empty context: SHAKE256(SHAKE256(pk, 64) ||
// 0 || 0 || msg, 64), pk read from the SubjectPublicKeyInfo.
func benchMu(b *testing.B, spki, msg []byte) []byte {
	var s struct {
		Alg asn1.RawValue
		Key asn1.BitString
	}
	_, err := asn1.Unmarshal(spki, &s)
	require.NoError(b, err)
	h := sha3.NewSHAKE256()
	h.Write(sha3.SumSHAKE256(s.Key.Bytes, 64))
	h.Write([]byte{0, 0})
	h.Write(msg)
	mu := make([]byte, 64)
	_, _ = h.Read(mu)
	return mu
}

// benchSM2e is e = SM3(Z_A || msg) with the default ID (GM/T 0003.2 §6.1),
// computed with gmsm from the public key in the SubjectPublicKeyInfo.
func benchSM2e(b *testing.B, spki, msg []byte) []byte {
	pub, err := smx509.ParsePKIXPublicKey(spki)
	require.NoError(b, err)
	ecPub, ok := pub.(*ecdsa.PublicKey)
	require.True(b, ok, "SM2 public key is %T", pub)
	za, err := sm2.CalculateZA(ecPub, []byte("1234567812345678"))
	require.NoError(b, err)
	h := sm3.New()
	h.Write(za)
	h.Write(msg)
	return h.Sum(nil)
}
