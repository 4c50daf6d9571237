package kmsbackend

// KeySpec is a key's type and size, as the AWS KMS API names it (KeySpec).
type KeySpec int

// Key specs. Source: AWS KMS API reference, CreateKey KeySpec.
const (
	SpecUnknown KeySpec = iota
	SpecRSA2048
	SpecRSA3072
	SpecRSA4096
	SpecECCNISTP256
	SpecECCNISTP384
	SpecECCNISTP521
	SpecECCSECGP256K1
	SpecECCNISTEdwards25519
	SpecSymmetricDefault
	SpecHMAC224
	SpecHMAC256
	SpecHMAC384
	SpecHMAC512
	SpecSM2
	SpecMLDSA44
	SpecMLDSA65
	SpecMLDSA87
)

// keySpecNames maps each spec to its AWS API string. Source: AWS KMS API reference, KeySpec.
var keySpecNames = map[KeySpec]string{
	SpecRSA2048:             "RSA_2048",
	SpecRSA3072:             "RSA_3072",
	SpecRSA4096:             "RSA_4096",
	SpecECCNISTP256:         "ECC_NIST_P256",
	SpecECCNISTP384:         "ECC_NIST_P384",
	SpecECCNISTP521:         "ECC_NIST_P521",
	SpecECCSECGP256K1:       "ECC_SECG_P256K1",
	SpecECCNISTEdwards25519: "ECC_NIST_EDWARDS25519",
	SpecSymmetricDefault:    "SYMMETRIC_DEFAULT",
	SpecHMAC224:             "HMAC_224",
	SpecHMAC256:             "HMAC_256",
	SpecHMAC384:             "HMAC_384",
	SpecHMAC512:             "HMAC_512",
	SpecSM2:                 "SM2",
	SpecMLDSA44:             "ML_DSA_44",
	SpecMLDSA65:             "ML_DSA_65",
	SpecMLDSA87:             "ML_DSA_87",
}

// String returns the AWS API name of the spec.
func (s KeySpec) String() string { return nameOr(keySpecNames, s) }

// ParseKeySpec returns the spec for an AWS API name, SpecUnknown if unknown.
func ParseKeySpec(name string) KeySpec { return parseName(keySpecNames, name, SpecUnknown) }

// KeyUsage is what a key may be used for (AWS KeyUsage).
type KeyUsage int

// Key usages. Source: AWS KMS API reference, KeyMetadata.KeyUsage.
const (
	UsageUnknown KeyUsage = iota
	UsageSignVerify
	UsageEncryptDecrypt
	UsageGenerateVerifyMac
	UsageKeyAgreement
)

var keyUsageNames = map[KeyUsage]string{
	UsageSignVerify:        "SIGN_VERIFY",
	UsageEncryptDecrypt:    "ENCRYPT_DECRYPT",
	UsageGenerateVerifyMac: "GENERATE_VERIFY_MAC",
	UsageKeyAgreement:      "KEY_AGREEMENT",
}

// String returns the AWS API name of the usage.
func (u KeyUsage) String() string { return nameOr(keyUsageNames, u) }

// ParseKeyUsage returns the usage for an AWS API name, UsageUnknown if unknown.
func ParseKeyUsage(name string) KeyUsage { return parseName(keyUsageNames, name, UsageUnknown) }

// KeyState is a key's lifecycle state (AWS KeyState).
type KeyState int

// Key states. Source: AWS KMS API reference, KeyMetadata.KeyState.
const (
	StateUnknown KeyState = iota
	StateEnabled
	StateDisabled
	StatePendingDeletion
	StatePendingImport
	StatePendingReplicaDeletion
	StateUnavailable
	StateCreating
	StateUpdating
)

var keyStateNames = map[KeyState]string{
	StateEnabled:                "Enabled",
	StateDisabled:               "Disabled",
	StatePendingDeletion:        "PendingDeletion",
	StatePendingImport:          "PendingImport",
	StatePendingReplicaDeletion: "PendingReplicaDeletion",
	StateUnavailable:            "Unavailable",
	StateCreating:               "Creating",
	StateUpdating:               "Updating",
}

// String returns the AWS API name of the state.
func (s KeyState) String() string { return nameOr(keyStateNames, s) }

// ParseKeyState returns the state for an AWS API name, StateUnknown if unknown.
func ParseKeyState(name string) KeyState { return parseName(keyStateNames, name, StateUnknown) }

// SigningAlgorithm is an AWS KMS signing algorithm.
type SigningAlgorithm int

// Signing algorithms. Source: AWS KMS API reference, Sign SigningAlgorithm.
const (
	SignUnknown SigningAlgorithm = iota
	RSASSA_PKCS1_V1_5_SHA_256
	RSASSA_PKCS1_V1_5_SHA_384
	RSASSA_PKCS1_V1_5_SHA_512
	RSASSA_PSS_SHA_256
	RSASSA_PSS_SHA_384
	RSASSA_PSS_SHA_512
	ECDSA_SHA_256
	ECDSA_SHA_384
	ECDSA_SHA_512
	ED25519_SHA_512
	ED25519_PH_SHA_512
	SM2DSA
	ML_DSA_SHAKE_256
)

var signingNames = map[SigningAlgorithm]string{
	RSASSA_PKCS1_V1_5_SHA_256: "RSASSA_PKCS1_V1_5_SHA_256",
	RSASSA_PKCS1_V1_5_SHA_384: "RSASSA_PKCS1_V1_5_SHA_384",
	RSASSA_PKCS1_V1_5_SHA_512: "RSASSA_PKCS1_V1_5_SHA_512",
	RSASSA_PSS_SHA_256:        "RSASSA_PSS_SHA_256",
	RSASSA_PSS_SHA_384:        "RSASSA_PSS_SHA_384",
	RSASSA_PSS_SHA_512:        "RSASSA_PSS_SHA_512",
	ECDSA_SHA_256:             "ECDSA_SHA_256",
	ECDSA_SHA_384:             "ECDSA_SHA_384",
	ECDSA_SHA_512:             "ECDSA_SHA_512",
	ED25519_SHA_512:           "ED25519_SHA_512",
	ED25519_PH_SHA_512:        "ED25519_PH_SHA_512",
	SM2DSA:                    "SM2DSA",
	ML_DSA_SHAKE_256:          "ML_DSA_SHAKE_256",
}

// String returns the AWS API name of the algorithm.
func (a SigningAlgorithm) String() string { return nameOr(signingNames, a) }

// ParseSigningAlgorithm returns the algorithm for an AWS API name, SignUnknown if unknown.
func ParseSigningAlgorithm(name string) SigningAlgorithm {
	return parseName(signingNames, name, SignUnknown)
}

// EncryptionAlgorithm is an AWS KMS encryption algorithm.
type EncryptionAlgorithm int

// Encryption algorithms. Source: AWS KMS API reference, Decrypt EncryptionAlgorithm.
const (
	EncryptUnknown EncryptionAlgorithm = iota
	SYMMETRIC_DEFAULT
	RSAES_OAEP_SHA_1
	RSAES_OAEP_SHA_256
	SM2PKE
)

var encryptionNames = map[EncryptionAlgorithm]string{
	SYMMETRIC_DEFAULT:  "SYMMETRIC_DEFAULT",
	RSAES_OAEP_SHA_1:   "RSAES_OAEP_SHA_1",
	RSAES_OAEP_SHA_256: "RSAES_OAEP_SHA_256",
	SM2PKE:             "SM2PKE",
}

// String returns the AWS API name of the algorithm.
func (a EncryptionAlgorithm) String() string { return nameOr(encryptionNames, a) }

// ParseEncryptionAlgorithm returns the algorithm for an AWS API name, EncryptUnknown if unknown.
func ParseEncryptionAlgorithm(name string) EncryptionAlgorithm {
	return parseName(encryptionNames, name, EncryptUnknown)
}

// MacAlgorithm is an AWS KMS MAC algorithm.
type MacAlgorithm int

// MAC algorithms. Source: AWS KMS API reference, GenerateMac MacAlgorithm.
const (
	MacUnknown MacAlgorithm = iota
	HMAC_SHA_224
	HMAC_SHA_256
	HMAC_SHA_384
	HMAC_SHA_512
)

var macNames = map[MacAlgorithm]string{
	HMAC_SHA_224: "HMAC_SHA_224",
	HMAC_SHA_256: "HMAC_SHA_256",
	HMAC_SHA_384: "HMAC_SHA_384",
	HMAC_SHA_512: "HMAC_SHA_512",
}

// String returns the AWS API name of the algorithm.
func (a MacAlgorithm) String() string { return nameOr(macNames, a) }

// ParseMacAlgorithm returns the algorithm for an AWS API name, MacUnknown if unknown.
func ParseMacAlgorithm(name string) MacAlgorithm { return parseName(macNames, name, MacUnknown) }

// MessageType says whether Sign's input is the message or its digest (AWS MessageType).
type MessageType int

// Message types. Source: AWS KMS API reference, Sign MessageType.
const (
	MessageRaw MessageType = iota
	MessageDigest
	MessageExternalMu
)

var messageTypeNames = map[MessageType]string{
	MessageRaw:        "RAW",
	MessageDigest:     "DIGEST",
	MessageExternalMu: "EXTERNAL_MU",
}

// String returns the AWS API name of the message type.
func (m MessageType) String() string { return nameOr(messageTypeNames, m) }

func nameOr[K comparable](m map[K]string, k K) string {
	if s, ok := m[k]; ok {
		return s
	}
	return "UNKNOWN"
}

func parseName[K comparable](m map[K]string, name string, unknown K) K {
	for k, v := range m {
		if v == name {
			return k
		}
	}
	return unknown
}
