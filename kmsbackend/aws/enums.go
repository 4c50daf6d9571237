package aws

import (
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/p11kms/p11kms/kmsbackend"
)

// The tables below map the project's enums to the SDK's. Values received
// from the service are parsed by name with kmsbackend.Parse* (the names are
// the API's), so values this module does not know become *Unknown.

// signingAlgorithms maps signing algorithms. Source: AWS KMS API reference,
// Sign, SigningAlgorithm valid values.
var signingAlgorithms = map[kmsbackend.SigningAlgorithm]types.SigningAlgorithmSpec{
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_256: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_384: types.SigningAlgorithmSpecRsassaPkcs1V15Sha384,
	kmsbackend.RSASSA_PKCS1_V1_5_SHA_512: types.SigningAlgorithmSpecRsassaPkcs1V15Sha512,
	kmsbackend.RSASSA_PSS_SHA_256:        types.SigningAlgorithmSpecRsassaPssSha256,
	kmsbackend.RSASSA_PSS_SHA_384:        types.SigningAlgorithmSpecRsassaPssSha384,
	kmsbackend.RSASSA_PSS_SHA_512:        types.SigningAlgorithmSpecRsassaPssSha512,
	kmsbackend.ECDSA_SHA_256:             types.SigningAlgorithmSpecEcdsaSha256,
	kmsbackend.ECDSA_SHA_384:             types.SigningAlgorithmSpecEcdsaSha384,
	kmsbackend.ECDSA_SHA_512:             types.SigningAlgorithmSpecEcdsaSha512,
	kmsbackend.ED25519_SHA_512:           types.SigningAlgorithmSpecEd25519Sha512,
	kmsbackend.ED25519_PH_SHA_512:        types.SigningAlgorithmSpecEd25519PhSha512,
	kmsbackend.SM2DSA:                    types.SigningAlgorithmSpecSm2dsa,
	kmsbackend.ML_DSA_SHAKE_256:          types.SigningAlgorithmSpecMlDsaShake256,
}

// messageTypes maps message types. Source: AWS KMS API reference, Sign, MessageType.
var messageTypes = map[kmsbackend.MessageType]types.MessageType{
	kmsbackend.MessageRaw:        types.MessageTypeRaw,
	kmsbackend.MessageDigest:     types.MessageTypeDigest,
	kmsbackend.MessageExternalMu: types.MessageTypeExternalMu,
}

// encryptionAlgorithms maps encryption algorithms. Source: AWS KMS API
// reference, Decrypt, EncryptionAlgorithm valid values.
var encryptionAlgorithms = map[kmsbackend.EncryptionAlgorithm]types.EncryptionAlgorithmSpec{
	kmsbackend.SYMMETRIC_DEFAULT:  types.EncryptionAlgorithmSpecSymmetricDefault,
	kmsbackend.RSAES_OAEP_SHA_1:   types.EncryptionAlgorithmSpecRsaesOaepSha1,
	kmsbackend.RSAES_OAEP_SHA_256: types.EncryptionAlgorithmSpecRsaesOaepSha256,
	kmsbackend.SM2PKE:             types.EncryptionAlgorithmSpecSm2pke,
}

// keySpecs maps key specs for CreateKey. Source: AWS KMS API reference,
// CreateKey, KeySpec valid values.
var keySpecs = map[kmsbackend.KeySpec]types.KeySpec{
	kmsbackend.SpecRSA2048:             types.KeySpecRsa2048,
	kmsbackend.SpecRSA3072:             types.KeySpecRsa3072,
	kmsbackend.SpecRSA4096:             types.KeySpecRsa4096,
	kmsbackend.SpecECCNISTP256:         types.KeySpecEccNistP256,
	kmsbackend.SpecECCNISTP384:         types.KeySpecEccNistP384,
	kmsbackend.SpecECCNISTP521:         types.KeySpecEccNistP521,
	kmsbackend.SpecECCSECGP256K1:       types.KeySpecEccSecgP256k1,
	kmsbackend.SpecECCNISTEdwards25519: types.KeySpecEccNistEdwards25519,
	kmsbackend.SpecSymmetricDefault:    types.KeySpecSymmetricDefault,
	kmsbackend.SpecHMAC224:             types.KeySpecHmac224,
	kmsbackend.SpecHMAC256:             types.KeySpecHmac256,
	kmsbackend.SpecHMAC384:             types.KeySpecHmac384,
	kmsbackend.SpecHMAC512:             types.KeySpecHmac512,
	kmsbackend.SpecSM2:                 types.KeySpecSm2,
	kmsbackend.SpecMLDSA44:             types.KeySpecMlDsa44,
	kmsbackend.SpecMLDSA65:             types.KeySpecMlDsa65,
	kmsbackend.SpecMLDSA87:             types.KeySpecMlDsa87,
}

// keyUsages maps key usages for CreateKey. Source: AWS KMS API reference,
// CreateKey, KeyUsage valid values.
var keyUsages = map[kmsbackend.KeyUsage]types.KeyUsageType{
	kmsbackend.UsageSignVerify:        types.KeyUsageTypeSignVerify,
	kmsbackend.UsageEncryptDecrypt:    types.KeyUsageTypeEncryptDecrypt,
	kmsbackend.UsageGenerateVerifyMac: types.KeyUsageTypeGenerateVerifyMac,
	kmsbackend.UsageKeyAgreement:      types.KeyUsageTypeKeyAgreement,
}

// asymmetricSpecs are the specs with a public key (GetPublicKey answers).
// Source: AWS KMS API reference, GetPublicKey ("asymmetric KMS key").
var asymmetricSpecs = map[kmsbackend.KeySpec]bool{
	kmsbackend.SpecRSA2048:             true,
	kmsbackend.SpecRSA3072:             true,
	kmsbackend.SpecRSA4096:             true,
	kmsbackend.SpecECCNISTP256:         true,
	kmsbackend.SpecECCNISTP384:         true,
	kmsbackend.SpecECCNISTP521:         true,
	kmsbackend.SpecECCSECGP256K1:       true,
	kmsbackend.SpecECCNISTEdwards25519: true,
	kmsbackend.SpecSM2:                 true,
	kmsbackend.SpecMLDSA44:             true,
	kmsbackend.SpecMLDSA65:             true,
	kmsbackend.SpecMLDSA87:             true,
}
