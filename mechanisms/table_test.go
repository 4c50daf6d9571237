package mechanisms

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

var (
	wantRSAMechs = []uint{ck.CKM_RSA_PKCS, ck.CKM_SHA256_RSA_PKCS, ck.CKM_SHA384_RSA_PKCS, ck.CKM_SHA512_RSA_PKCS,
		ck.CKM_RSA_PKCS_PSS, ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_SHA512_RSA_PKCS_PSS}
	wantECMechs = []uint{ck.CKM_ECDSA, ck.CKM_ECDSA_SHA256, ck.CKM_ECDSA_SHA384, ck.CKM_ECDSA_SHA512}
)

func TestMechanismsFor(t *testing.T) {
	rows := []struct {
		name  string
		spec  kmsbackend.KeySpec
		usage kmsbackend.KeyUsage
		want  []uint
	}{
		{"RSA-2048 sign key gets PKCS#1 and PSS", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, wantRSAMechs},
		{"RSA-3072 sign key gets PKCS#1 and PSS", kmsbackend.SpecRSA3072, kmsbackend.UsageSignVerify, wantRSAMechs},
		{"RSA-4096 sign key gets PKCS#1 and PSS", kmsbackend.SpecRSA4096, kmsbackend.UsageSignVerify, wantRSAMechs},
		{"P-256 sign key gets ECDSA", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, wantECMechs},
		{"P-384 sign key gets ECDSA", kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify, wantECMechs},
		{"P-521 sign key gets ECDSA", kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify, wantECMechs},
		{"secp256k1 sign key gets ECDSA", kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify, wantECMechs},
		{"RSA encrypt key gets RSA-OAEP only", kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt, []uint{ck.CKM_RSA_PKCS_OAEP}},
		{"RSA-4096 encrypt key gets RSA-OAEP only", kmsbackend.SpecRSA4096, kmsbackend.UsageEncryptDecrypt, []uint{ck.CKM_RSA_PKCS_OAEP}},
		{"P-256 encrypt key gets none (KMS has no EC encryption)", kmsbackend.SpecECCNISTP256, kmsbackend.UsageEncryptDecrypt, nil},
		{"P-256 key-agreement key gets ECDH1 derive", kmsbackend.SpecECCNISTP256, kmsbackend.UsageKeyAgreement, []uint{ck.CKM_ECDH1_DERIVE}},
		{"Ed25519 sign key gets EdDSA", kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, []uint{ck.CKM_EDDSA}},
		{"HMAC-256 MAC key gets CKM_SHA256_HMAC only", kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac, []uint{ck.CKM_SHA256_HMAC}},
		{"symmetric key gets CKM_P11KMS_KMS_BLOB", kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, []uint{CKM_P11KMS_KMS_BLOB}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assert.Equal(t, r.want, MechanismsFor(r.spec, r.usage))
		})
	}
}

func TestInfo(t *testing.T) {
	const rsaFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW
	const ecFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW | ck.CKF_EC_F_P | ck.CKF_EC_NAMEDCURVE | ck.CKF_EC_UNCOMPRESS
	rsa, p256, k1 := kmsbackend.SpecRSA2048, kmsbackend.SpecECCNISTP256, kmsbackend.SpecECCSECGP256K1
	rows := []struct {
		name            string
		mech            uint
		specs           []kmsbackend.KeySpec
		min, max, flags uint
		ok              bool
	}{
		{"RSA-PKCS on an RSA token", ck.CKM_RSA_PKCS, []kmsbackend.KeySpec{rsa}, 2048, 4096, rsaFlags, true},
		{"SHA512-RSA-PKCS-PSS on a mixed token", ck.CKM_SHA512_RSA_PKCS_PSS, []kmsbackend.KeySpec{p256, rsa}, 2048, 4096, rsaFlags, true},
		{"ECDSA on a secp256k1 token", ck.CKM_ECDSA, []kmsbackend.KeySpec{k1}, 256, 521, ecFlags, true},
		{"ECDSA-SHA384 on a P-256 token", ck.CKM_ECDSA_SHA384, []kmsbackend.KeySpec{p256}, 256, 521, ecFlags, true},
		{"no ECDSA on an RSA-only token", ck.CKM_ECDSA, []kmsbackend.KeySpec{rsa}, 0, 0, 0, false},
		{"no RSA-PKCS on an EC-only token", ck.CKM_RSA_PKCS, []kmsbackend.KeySpec{p256}, 0, 0, 0, false},
		{"nothing on an empty token", ck.CKM_RSA_PKCS, nil, 0, 0, 0, false},
		{"no SHA1-RSA-PKCS (KMS has no SHA-1)", ck.CKM_SHA1_RSA_PKCS, []kmsbackend.KeySpec{rsa}, 0, 0, 0, false},
		{"no ECDSA-SHA1 (KMS has no SHA-1)", ck.CKM_ECDSA_SHA1, []kmsbackend.KeySpec{p256}, 0, 0, 0, false},
		{"no ECDSA-SHA224", ck.CKM_ECDSA_SHA224, []kmsbackend.KeySpec{p256}, 0, 0, 0, false},
		{"EdDSA on an Ed25519 token", ck.CKM_EDDSA, []kmsbackend.KeySpec{kmsbackend.SpecECCNISTEdwards25519}, 256, 256, rsaFlags, true},
		{"no EdDSA on an EC-only token", ck.CKM_EDDSA, []kmsbackend.KeySpec{p256}, 0, 0, 0, false},
		{"no RSA-PKCS-OAEP in the signing table", ck.CKM_RSA_PKCS_OAEP, []kmsbackend.KeySpec{rsa}, 0, 0, 0, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			minBits, maxBits, flags, ok := Info(r.mech, r.specs)
			assert.Equal(t, r.ok, ok)
			assert.Equal(t, r.min, minBits)
			assert.Equal(t, r.max, maxBits)
			assert.Equal(t, r.flags, flags)
		})
	}
}

func TestAllSignMechanismsIsRSAThenECThenHMAC(t *testing.T) {
	want := append(append([]uint{}, wantRSAMechs...), wantECMechs...)
	want = append(want, ck.CKM_EDDSA, CKM_P11KMS_SM2DSA, CKM_P11KMS_SM3_SM2DSA, ck.CKM_ML_DSA, ck.CKM_ML_DSA_EXTERNAL_MU, ck.CKM_SHA224_HMAC, ck.CKM_SHA256_HMAC, ck.CKM_SHA384_HMAC, ck.CKM_SHA512_HMAC)
	assert.Equal(t, want, AllSignMechanisms())
}

func TestInfoForKeyUses(t *testing.T) {
	const rsaFlags = ck.CKF_SIGN | ck.CKF_VERIFY | ck.CKF_HW
	const oaepFlags = ck.CKF_ENCRYPT | ck.CKF_DECRYPT | ck.CKF_HW
	rsaSign := KeyUse{kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify}
	rsaDec := KeyUse{kmsbackend.SpecRSA3072, kmsbackend.UsageEncryptDecrypt}
	p256 := KeyUse{kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify}
	aes := KeyUse{kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt}
	rows := []struct {
		name            string
		mech            uint
		keys            []KeyUse
		min, max, flags uint
		ok              bool
	}{
		{"RSA-OAEP with an encrypt RSA key", ck.CKM_RSA_PKCS_OAEP, []KeyUse{p256, rsaDec}, 2048, 4096, oaepFlags, true},
		{"no RSA-OAEP with only a signing RSA key", ck.CKM_RSA_PKCS_OAEP, []KeyUse{rsaSign}, 0, 0, 0, false},
		{"no RSA-OAEP with only a symmetric key", ck.CKM_RSA_PKCS_OAEP, []KeyUse{aes}, 0, 0, 0, false},
		{"no RSA-PKCS with only an encrypt RSA key", ck.CKM_RSA_PKCS, []KeyUse{rsaDec}, 0, 0, 0, false},
		{"RSA-PKCS with a signing RSA key", ck.CKM_RSA_PKCS, []KeyUse{rsaDec, rsaSign}, 2048, 4096, rsaFlags, true},
		{"SHA-256 digest on an empty token", ck.CKM_SHA256, nil, 0, 0, ck.CKF_DIGEST, true},
		{"SHA-1 digest on an RSA token", ck.CKM_SHA_1, []KeyUse{rsaSign}, 0, 0, ck.CKF_DIGEST, true},
		{"no MD5 digest", ck.CKM_MD5, []KeyUse{rsaSign}, 0, 0, 0, false},
		{"no SHA-512/256 digest", ck.CKM_SHA512_256, nil, 0, 0, 0, false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			minBits, maxBits, flags, ok := InfoFor(r.mech, r.keys)
			assert.Equal(t, r.ok, ok)
			assert.Equal(t, r.min, minBits)
			assert.Equal(t, r.max, maxBits)
			assert.Equal(t, r.flags, flags)
		})
	}
}

func TestAllMechanismsIsSignThenCryptThenDeriveThenDigests(t *testing.T) {
	want := append(AllSignMechanisms(), ck.CKM_RSA_PKCS_OAEP, CKM_P11KMS_SM2PKE, CKM_P11KMS_KMS_BLOB, ck.CKM_ECDH1_DERIVE, ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512)
	assert.Equal(t, want, AllMechanisms())
}
