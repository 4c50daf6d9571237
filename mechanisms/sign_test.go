package mechanisms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"fmt"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

var testMessage = []byte("p11kms: the quick brown fox signs over the lazy HSM")

func hashOf(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// signCase is one C_Sign through a plan: the caller's input, and what an
// independent verifier must accept (the hash the caller meant and its digest).
type signCase struct {
	name     string
	spec     kmsbackend.KeySpec
	mech     uint
	param    []byte
	input    []byte
	hash     crypto.Hash // RSA: the digest's hash for the verifier
	digest   []byte      // what a standard verifier checks the signature over
	wantAlg  kmsbackend.SigningAlgorithm
	wantHash crypto.Hash // Plan.Hash
}

var (
	rsaSpecs = []kmsbackend.KeySpec{kmsbackend.SpecRSA2048, kmsbackend.SpecRSA3072, kmsbackend.SpecRSA4096}
	ecSpecs  = []kmsbackend.KeySpec{kmsbackend.SpecECCNISTP256, kmsbackend.SpecECCNISTP384, kmsbackend.SpecECCNISTP521, kmsbackend.SpecECCSECGP256K1}
	sha2     = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	// Independent expectations, from the AWS KMS developer guide.
	wantCurveAlg = map[kmsbackend.KeySpec]kmsbackend.SigningAlgorithm{
		kmsbackend.SpecECCNISTP256: kmsbackend.ECDSA_SHA_256, kmsbackend.SpecECCNISTP384: kmsbackend.ECDSA_SHA_384,
		kmsbackend.SpecECCNISTP521: kmsbackend.ECDSA_SHA_512, kmsbackend.SpecECCSECGP256K1: kmsbackend.ECDSA_SHA_256,
	}
	wantSigLen = map[kmsbackend.KeySpec]int{
		kmsbackend.SpecRSA2048: 256, kmsbackend.SpecRSA3072: 384, kmsbackend.SpecRSA4096: 512,
		kmsbackend.SpecECCNISTP256: 64, kmsbackend.SpecECCNISTP384: 96, kmsbackend.SpecECCNISTP521: 132, kmsbackend.SpecECCSECGP256K1: 64,
	}
	pkcs1Mech = map[crypto.Hash]uint{crypto.SHA256: ck.CKM_SHA256_RSA_PKCS, crypto.SHA384: ck.CKM_SHA384_RSA_PKCS, crypto.SHA512: ck.CKM_SHA512_RSA_PKCS}
	pssMech   = map[crypto.Hash]uint{crypto.SHA256: ck.CKM_SHA256_RSA_PKCS_PSS, crypto.SHA384: ck.CKM_SHA384_RSA_PKCS_PSS, crypto.SHA512: ck.CKM_SHA512_RSA_PKCS_PSS}
	ecdsaMech = map[crypto.Hash]uint{crypto.SHA256: ck.CKM_ECDSA_SHA256, crypto.SHA384: ck.CKM_ECDSA_SHA384, crypto.SHA512: ck.CKM_ECDSA_SHA512}
	pkcs1Alg  = map[crypto.Hash]kmsbackend.SigningAlgorithm{crypto.SHA256: kmsbackend.RSASSA_PKCS1_V1_5_SHA_256, crypto.SHA384: kmsbackend.RSASSA_PKCS1_V1_5_SHA_384, crypto.SHA512: kmsbackend.RSASSA_PKCS1_V1_5_SHA_512}
	pssAlg    = map[crypto.Hash]kmsbackend.SigningAlgorithm{crypto.SHA256: kmsbackend.RSASSA_PSS_SHA_256, crypto.SHA384: kmsbackend.RSASSA_PSS_SHA_384, crypto.SHA512: kmsbackend.RSASSA_PSS_SHA_512}
	pssParams = map[crypto.Hash][]byte{
		crypto.SHA256: EncodePSSParams(PSSParams{ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32}),
		crypto.SHA384: EncodePSSParams(PSSParams{ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 48}),
		crypto.SHA512: EncodePSSParams(PSSParams{ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 64}),
	}
	rfcPrefix = map[crypto.Hash]string{crypto.SHA256: rfcSHA256Prefix, crypto.SHA384: rfcSHA384Prefix, crypto.SHA512: rfcSHA512Prefix}
)

// signCases covers every mechanism x key spec (and every hash for raw mechanisms).
func signCases(t testing.TB) []signCase {
	var cases []signCase
	for _, spec := range rsaSpecs {
		for _, h := range sha2 {
			d := hashOf(h, testMessage)
			cases = append(cases,
				signCase{fmt.Sprintf("%s RSA-PKCS over a %v DigestInfo signs %v", spec, h, pkcs1Alg[h]), spec, ck.CKM_RSA_PKCS, nil,
					append(mustHex(t, rfcPrefix[h]), d...), h, d, pkcs1Alg[h], 0},
				signCase{fmt.Sprintf("%s %s signs %v", spec, ck.MechName(pkcs1Mech[h]), pkcs1Alg[h]), spec, pkcs1Mech[h], nil,
					testMessage, h, d, pkcs1Alg[h], h},
				signCase{fmt.Sprintf("%s RSA-PKCS-PSS over a %v hash signs %v", spec, h, pssAlg[h]), spec, ck.CKM_RSA_PKCS_PSS, pssParams[h],
					d, h, d, pssAlg[h], 0},
				signCase{fmt.Sprintf("%s %s signs %v", spec, ck.MechName(pssMech[h]), pssAlg[h]), spec, pssMech[h], pssParams[h],
					testMessage, h, d, pssAlg[h], h},
			)
		}
	}
	for _, spec := range ecSpecs {
		alg := wantCurveAlg[spec]
		d1 := sha1.Sum(testMessage)
		cases = append(cases, signCase{fmt.Sprintf("%s ECDSA over a SHA-1 digest (left-padded) signs %v", spec, alg), spec, ck.CKM_ECDSA, nil,
			d1[:], 0, d1[:], alg, 0})
		for _, h := range sha2 {
			d := hashOf(h, testMessage)
			cases = append(cases,
				signCase{fmt.Sprintf("%s ECDSA over a %v digest signs %v", spec, h, alg), spec, ck.CKM_ECDSA, nil, d, 0, d, alg, 0},
				signCase{fmt.Sprintf("%s %s signs %v", spec, ck.MechName(ecdsaMech[h]), alg), spec, ecdsaMech[h], nil, testMessage, 0, d, alg, h},
			)
		}
	}
	return cases
}

// verifyIndependently checks a PKCS#11 signature with Go's crypto (or decred
// for secp256k1) over the digest the caller meant, never with this package.
func verifyIndependently(t testing.TB, tk *testKey, c signCase, sig []byte) {
	t.Helper()
	switch {
	case tk.rsa != nil && (c.wantAlg == kmsbackend.RSASSA_PSS_SHA_256 || c.wantAlg == kmsbackend.RSASSA_PSS_SHA_384 || c.wantAlg == kmsbackend.RSASSA_PSS_SHA_512):
		require.NoError(t, rsa.VerifyPSS(&tk.rsa.PublicKey, c.hash, c.digest, sig, &rsa.PSSOptions{SaltLength: c.hash.Size()}))
	case tk.rsa != nil:
		require.NoError(t, rsa.VerifyPKCS1v15(&tk.rsa.PublicKey, c.hash, c.digest, sig))
	case tk.k1 != nil:
		var r, s secp256k1.ModNScalar
		require.False(t, r.SetByteSlice(sig[:32]))
		require.False(t, s.SetByteSlice(sig[32:]))
		require.True(t, k1ecdsa.NewSignature(&r, &s).Verify(c.digest, tk.k1.PubKey()))
	default:
		n := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		require.True(t, ecdsa.Verify(&tk.ec.PublicKey, c.digest, r, s), "ecdsa.Verify over the caller's digest")
	}
}

func TestSignPlansProduceVerifiableSignatures(t *testing.T) {
	for _, c := range signCases(t) {
		t.Run(c.name, func(t *testing.T) {
			tk := keyFor(t, c.spec)
			plan, err := NewSignPlan(c.mech, c.param, testKMSKey(t, c.spec))
			require.NoError(t, err)
			assert.Equal(t, wantSigLen[c.spec], plan.SigLen)
			assert.Equal(t, kmsbackend.MessageDigest, plan.MessageType)
			assert.Equal(t, c.wantHash, plan.Hash)
			if c.mech != ck.CKM_RSA_PKCS {
				assert.Equal(t, c.wantAlg, plan.Algorithm)
			}

			req, err := plan.Request(c.input)
			require.NoError(t, err)
			assert.Equal(t, c.wantAlg, req.Algorithm)
			digest, err := plan.Digest(c.input)
			require.NoError(t, err)
			assert.Equal(t, req.Message, digest)

			kmsSig := fakeKMSSign(t, tk, req)
			sig, err := plan.Output(kmsSig)
			require.NoError(t, err)
			require.Len(t, sig, wantSigLen[c.spec])
			verifyIndependently(t, tk, c, sig)

			checked, err := plan.OutputVerified(req, kmsSig)
			require.NoError(t, err)
			assert.Equal(t, sig, checked)

			vplan, err := NewVerifyPlan(c.mech, c.param, testKMSKey(t, c.spec))
			require.NoError(t, err)
			require.NoError(t, vplan.Verify(c.input, sig))
			tampered := append([]byte(nil), sig...)
			tampered[len(tampered)/3] ^= 0x10
			requireRV(t, ck.CKR_SIGNATURE_INVALID, vplan.Verify(c.input, tampered))
			requireRV(t, ck.CKR_SIGNATURE_LEN_RANGE, vplan.Verify(c.input, sig[1:]))

			if c.wantHash == 0 {
				assert.Nil(t, plan.NewHash(), "raw mechanisms are single-part")
				return
			}
			h := plan.NewHash()
			for i := 0; i < len(c.input); i += 7 {
				h.Write(c.input[i:min(i+7, len(c.input))])
			}
			sum := h.Sum(nil)
			multi, err := plan.RequestFromHash(sum)
			require.NoError(t, err)
			assert.Equal(t, req, multi)
			require.NoError(t, vplan.VerifyDigest(sum, sig))
			requireRV(t, ck.CKR_SIGNATURE_INVALID, vplan.VerifyDigest(sum, tampered))
		})
	}
}
