package mechanisms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

func TestNewPlanRefuses(t *testing.T) {
	rsaKey := func(t *testing.T) Key { return testKMSKey(t, kmsbackend.SpecRSA2048) }
	p256Key := func(t *testing.T) Key { return testKMSKey(t, kmsbackend.SpecECCNISTP256) }
	pss := func(h, mgf, sLen uint) []byte { return EncodePSSParams(PSSParams{h, mgf, sLen}) }
	rows := []struct {
		name       string
		mech       uint
		param      []byte
		key        func(t *testing.T) Key
		wantRV     uint
		wantMsg    string
		verifyToo  bool // NewVerifyPlan refuses the same way
		verifyOnly bool // NewVerifyPlan accepts (algorithm-list refusals)
	}{
		{"refuses SHA1-RSA-PKCS as unknown", ck.CKM_SHA1_RSA_PKCS, nil, rsaKey, ck.CKR_MECHANISM_INVALID,
			"mechanism CKM_SHA1_RSA_PKCS is not supported", true, false},
		{"refuses ECDSA-SHA224 as unknown", ck.CKM_ECDSA_SHA224, nil, p256Key, ck.CKR_MECHANISM_INVALID,
			"mechanism CKM_ECDSA_SHA224 is not supported", true, false},
		{"refuses ECDSA on an RSA key", ck.CKM_ECDSA, nil, rsaKey, ck.CKR_KEY_TYPE_INCONSISTENT,
			"CKM_ECDSA needs an EC key, not RSA", true, false},
		{"refuses RSA-PKCS on an EC key", ck.CKM_RSA_PKCS, nil, p256Key, ck.CKR_KEY_TYPE_INCONSISTENT,
			"CKM_RSA_PKCS needs an RSA key, not EC", true, false},
		{"refuses SHA256-RSA-PKCS-PSS on an EC key", ck.CKM_SHA256_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32), p256Key, ck.CKR_KEY_TYPE_INCONSISTENT,
			"CKM_SHA256_RSA_PKCS_PSS needs an RSA key, not EC", true, false},
		{"refuses a parameter on RSA-PKCS", ck.CKM_RSA_PKCS, []byte{0}, rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_RSA_PKCS takes no parameter, got 1 bytes", true, false},
		{"refuses a parameter on ECDSA-SHA256", ck.CKM_ECDSA_SHA256, make([]byte, 24), p256Key, ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_ECDSA_SHA256 takes no parameter, got 24 bytes", true, false},
		{"refuses PSS without parameters", ck.CKM_RSA_PKCS_PSS, nil, rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_RSA_PKCS_PSS needs CK_RSA_PKCS_PSS_PARAMS", true, false},
		{"refuses PSS parameters of 16 bytes", ck.CKM_RSA_PKCS_PSS, make([]byte, 16), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"CK_RSA_PKCS_PSS_PARAMS is 16 bytes, want 24", true, false},
		{"refuses the PSS maximum salt libp11 asks for", ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 222), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS sLen 222 with SHA-256: AWS KMS uses a salt as long as the hash, sLen 32", true, false},
		{"refuses PSS salt 0 on SHA384-RSA-PKCS-PSS", ck.CKM_SHA384_RSA_PKCS_PSS, pss(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 0), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS sLen 0 with SHA-384: AWS KMS uses a salt as long as the hash, sLen 48", true, false},
		{"refuses PSS with MGF1-SHA-1", ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA256, ck.CKG_MGF1_SHA1, 32), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS mgf 0x1 with hashAlg CKM_SHA256: AWS KMS needs MGF1 with the same hash (CKG_MGF1_SHA256)", true, false},
		{"refuses PSS with SHA-1", ck.CKM_RSA_PKCS_PSS, pss(ck.CKM_SHA_1, ck.CKG_MGF1_SHA1, 20), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"PSS hashAlg CKM_SHA_1: AWS KMS signs PSS only with CKM_SHA256, CKM_SHA384 or CKM_SHA512", true, false},
		{"refuses SHA256-RSA-PKCS-PSS with SHA-384 parameters", ck.CKM_SHA256_RSA_PKCS_PSS, pss(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 48), rsaKey, ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_SHA256_RSA_PKCS_PSS with PSS hashAlg CKM_SHA384: hashAlg must match the mechanism's hash", true, false},
		{"refuses a key without a public key", ck.CKM_ECDSA, nil, func(t *testing.T) Key { return Key{Spec: kmsbackend.SpecECCNISTP256} }, ck.CKR_FUNCTION_FAILED,
			"key has no parsed public key", true, false},
		{"refuses a spec that contradicts the public key", ck.CKM_ECDSA, nil, func(t *testing.T) Key {
			k := p256Key(t)
			k.Spec = kmsbackend.SpecECCNISTP384
			return k
		}, ck.CKR_FUNCTION_FAILED, "key spec ECC_NIST_P384 does not match its EC public key", true, false},
		{"refuses an RSA-1024 key", ck.CKM_SHA256_RSA_PKCS, nil, func(t *testing.T) Key {
			priv, err := rsa.GenerateKey(rand.Reader, 1024)
			require.NoError(t, err)
			der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
			require.NoError(t, err)
			pub, err := ParsePublicKey(der)
			require.NoError(t, err)
			return Key{Pub: pub}
		}, ck.CKR_KEY_SIZE_RANGE, "CKM_SHA256_RSA_PKCS takes 2048..4096-bit keys, not 1024", true, false},
		{"refuses SHA256-RSA-PKCS on a key allowing only PSS", ck.CKM_SHA256_RSA_PKCS, nil, func(t *testing.T) Key {
			k := rsaKey(t)
			k.Algorithms = []kmsbackend.SigningAlgorithm{kmsbackend.RSASSA_PSS_SHA_256}
			return k
		}, ck.CKR_MECHANISM_INVALID, "CKM_SHA256_RSA_PKCS needs KMS algorithm RSASSA_PKCS1_V1_5_SHA_256, which the key does not allow (it allows [RSASSA_PSS_SHA_256])", false, true},
		{"refuses RSA-PKCS on a key allowing only PSS", ck.CKM_RSA_PKCS, nil, func(t *testing.T) Key {
			k := rsaKey(t)
			k.Algorithms = []kmsbackend.SigningAlgorithm{kmsbackend.RSASSA_PSS_SHA_512}
			return k
		}, ck.CKR_MECHANISM_INVALID, "CKM_RSA_PKCS needs a KMS RSASSA_PKCS1_V1_5 algorithm; the key allows [RSASSA_PSS_SHA_512]", false, true},
		{"refuses ECDSA on a P-521 key listing only ECDSA_SHA_256", ck.CKM_ECDSA, nil, func(t *testing.T) Key {
			k := testKMSKey(t, kmsbackend.SpecECCNISTP521)
			k.Algorithms = []kmsbackend.SigningAlgorithm{kmsbackend.ECDSA_SHA_256}
			return k
		}, ck.CKR_MECHANISM_INVALID, "CKM_ECDSA needs KMS algorithm ECDSA_SHA_512, which the key does not allow (it allows [ECDSA_SHA_256])", false, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			key := r.key(t)
			plan, err := NewSignPlan(r.mech, r.param, key)
			requireRV(t, r.wantRV, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Nil(t, plan)
			vplan, verr := NewVerifyPlan(r.mech, r.param, key)
			switch {
			case r.verifyToo:
				requireRV(t, r.wantRV, verr)
				assert.Equal(t, r.wantMsg, ckMsg(verr))
				assert.Nil(t, vplan)
			case r.verifyOnly:
				require.NoError(t, verr)
				assert.NotNil(t, vplan)
			}
		})
	}
}

func TestRequestRefuses(t *testing.T) {
	h := func(s string) []byte { return mustHex(t, s) }
	sha256DI := append(h(rfcSHA256Prefix), make([]byte, 32)...)
	sha384DI := append(h(rfcSHA384Prefix), make([]byte, 48)...)
	rows := []struct {
		name    string
		spec    kmsbackend.KeySpec
		algs    []kmsbackend.SigningAlgorithm // nil: KMS's list for the spec
		mech    uint
		param   []byte
		input   []byte
		wantRV  uint
		wantMsg string
	}{
		{"refuses a SHA-1 DigestInfo on RSA-PKCS", kmsbackend.SpecRSA2048, nil, ck.CKM_RSA_PKCS, nil, append(h(rfcSHA1Prefix), make([]byte, 20)...),
			ck.CKR_DATA_INVALID, "DigestInfo names SHA-1: AWS KMS signs RSA PKCS#1 v1.5 only over SHA-256, SHA-384 or SHA-512 digests"},
		{"refuses a SHA-224 DigestInfo on RSA-PKCS", kmsbackend.SpecRSA3072, nil, ck.CKM_RSA_PKCS, nil, append(h(rfcSHA224Prefix), make([]byte, 28)...),
			ck.CKR_DATA_INVALID, "DigestInfo names SHA-224: AWS KMS signs RSA PKCS#1 v1.5 only over SHA-256, SHA-384 or SHA-512 digests"},
		{"refuses a bare digest on RSA-PKCS", kmsbackend.SpecRSA2048, nil, ck.CKM_RSA_PKCS, nil, make([]byte, 32),
			ck.CKR_DATA_INVALID, "malformed DigestInfo: DigestInfo: tag 0x00, want 0x30"},
		{"refuses RSA-PKCS input longer than k-11", kmsbackend.SpecRSA2048, nil, ck.CKM_RSA_PKCS, nil, make([]byte, 246),
			ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS input is 246 bytes, more than k-11 = 245"},
		{"refuses a SHA-384 DigestInfo the key does not allow", kmsbackend.SpecRSA2048, []kmsbackend.SigningAlgorithm{kmsbackend.RSASSA_PKCS1_V1_5_SHA_256},
			ck.CKM_RSA_PKCS, nil, sha384DI, ck.CKR_DATA_INVALID, "DigestInfo asks for KMS algorithm RSASSA_PKCS1_V1_5_SHA_384, which the key does not allow"},
		{"refuses a 48-byte hash under SHA-256 PSS parameters", kmsbackend.SpecRSA4096, nil, ck.CKM_RSA_PKCS_PSS, pssParams[crypto.SHA256], make([]byte, 48),
			ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS_PSS input is 48 bytes, the parameters' hash is 32"},
		{"refuses a SHA-256 DigestInfo on RSA-PKCS-PSS", kmsbackend.SpecRSA2048, nil, ck.CKM_RSA_PKCS_PSS, pssParams[crypto.SHA256], sha256DI,
			ck.CKR_DATA_LEN_RANGE, "CKM_RSA_PKCS_PSS input is 51 bytes, the parameters' hash is 32"},
		{"refuses an empty ECDSA digest", kmsbackend.SpecECCNISTP256, nil, ck.CKM_ECDSA, nil, nil,
			ck.CKR_DATA_LEN_RANGE, "ecdsa: empty digest"},
		{"refuses a 66-byte digest on P-521", kmsbackend.SpecECCNISTP521, nil, ck.CKM_ECDSA, nil, make([]byte, 66),
			ck.CKR_DATA_LEN_RANGE, "ecdsa: a 66-byte digest on P-521 needs its leftmost 521 bits; AWS KMS signs only 64-byte digests on this curve"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			key := testKMSKey(t, r.spec)
			if r.algs != nil {
				key.Algorithms = r.algs
			}
			plan, err := NewSignPlan(r.mech, r.param, key)
			require.NoError(t, err)
			req, err := plan.Request(r.input)
			requireRV(t, r.wantRV, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Zero(t, req)
			d, err := plan.Digest(r.input)
			requireRV(t, r.wantRV, err)
			assert.Nil(t, d)
		})
	}
}

func TestRequestFromHashRefuses(t *testing.T) {
	rows := []struct {
		name    string
		mech    uint
		sum     []byte
		wantMsg string
	}{
		{"refuses a sum on raw ECDSA", ck.CKM_ECDSA, make([]byte, 32), "CKM_ECDSA: a 32-byte hash sum does not fit this mechanism"},
		{"refuses a SHA-256-sized sum on ECDSA-SHA384", ck.CKM_ECDSA_SHA384, make([]byte, 32), "CKM_ECDSA_SHA384: a 32-byte hash sum does not fit this mechanism"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewSignPlan(r.mech, nil, testKMSKey(t, kmsbackend.SpecECCNISTP256))
			require.NoError(t, err)
			_, err = plan.RequestFromHash(r.sum)
			requireRV(t, ck.CKR_FUNCTION_FAILED, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			err = plan.VerifyDigest(r.sum, make([]byte, 64))
			if r.mech == ck.CKM_ECDSA {
				requireRV(t, ck.CKR_SIGNATURE_INVALID, err) // raw: the sum is the input
			} else {
				requireRV(t, ck.CKR_FUNCTION_FAILED, err)
			}
		})
	}
}

func TestOutputRefusesMalformedKMSSignatures(t *testing.T) {
	h := func(s string) []byte { return mustHex(t, s) }
	rows := []struct {
		name    string
		spec    kmsbackend.KeySpec
		mech    uint
		kmsSig  []byte
		wantMsg string
	}{
		{"refuses a 255-byte RSA-2048 signature", kmsbackend.SpecRSA2048, ck.CKM_SHA256_RSA_PKCS, make([]byte, 255), "KMS returned a 255-byte RSA signature, want 256"},
		{"refuses a 257-byte RSA-2048 signature", kmsbackend.SpecRSA2048, ck.CKM_SHA256_RSA_PKCS, make([]byte, 257), "KMS returned a 257-byte RSA signature, want 256"},
		{"refuses raw r||s where DER is due", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, make([]byte, 64),
			"KMS returned a malformed ECDSA_SHA_256 signature: ecdsa signature: tag 0x00, want 0x30"},
		{"refuses a P-256 r of 33 significant bytes", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA, append(append(h("302602210101"), make([]byte, 31)...), h("020101")...),
			"KMS returned a malformed ECDSA_SHA_256 signature: ecdsa signature r: 33 bytes, longer than the order (32)"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			plan, err := NewSignPlan(r.mech, nil, testKMSKey(t, r.spec))
			require.NoError(t, err)
			sig, err := plan.Output(r.kmsSig)
			requireRV(t, ck.CKR_FUNCTION_FAILED, err)
			assert.Equal(t, r.wantMsg, ckMsg(err))
			assert.Nil(t, sig)
		})
	}
}

func TestOutputVerifiedRefusesAWrongSignature(t *testing.T) {
	rows := []struct {
		name string
		spec kmsbackend.KeySpec
		mech uint
		// sign produces a well-formed KMS signature over something else.
		sign func(t *testing.T, tk *testKey, req SignRequest) []byte
	}{
		{"refuses an ECDSA signature over another digest", kmsbackend.SpecECCNISTP256, ck.CKM_ECDSA_SHA256, func(t *testing.T, tk *testKey, req SignRequest) []byte {
			req.Message = hashOf(crypto.SHA256, []byte("other"))
			return fakeKMSSign(t, tk, req)
		}},
		{"refuses a PSS signature with the maximum salt", kmsbackend.SpecRSA2048, ck.CKM_SHA256_RSA_PKCS_PSS, func(t *testing.T, tk *testKey, req SignRequest) []byte {
			sig, err := rsa.SignPSS(rand.Reader, tk.rsa, crypto.SHA256, req.Message, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
			require.NoError(t, err)
			return sig
		}},
		{"refuses a secp256k1 signature by another key", kmsbackend.SpecECCSECGP256K1, ck.CKM_ECDSA, func(t *testing.T, tk *testKey, req SignRequest) []byte {
			other := *tk
			other.k1 = nil
			other.ec = keyFor(t, kmsbackend.SpecECCNISTP256).ec // a P-256 key signing the same 32 bytes: valid DER, wrong key
			return fakeKMSSign(t, &other, req)
		}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var param []byte
			if r.mech == ck.CKM_SHA256_RSA_PKCS_PSS {
				param = pssParams[crypto.SHA256]
			}
			plan, err := NewSignPlan(r.mech, param, testKMSKey(t, r.spec))
			require.NoError(t, err)
			req, err := plan.Request(hashOf(crypto.SHA256, testMessage))
			require.NoError(t, err)
			sig, err := plan.OutputVerified(req, r.sign(t, keyFor(t, r.spec), req))
			requireRV(t, ck.CKR_FUNCTION_FAILED, err)
			assert.Equal(t, "KMS "+req.Algorithm.String()+" signature does not verify with the key's public key", ckMsg(err))
			assert.Nil(t, sig)
		})
	}
}
