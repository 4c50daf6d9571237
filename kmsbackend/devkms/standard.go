package devkms

import (
	"sync"

	"github.com/p11kms/p11kms/kmsbackend"
)

// StandardKey describes one key of the standard seed.
type StandardKey struct {
	Spec  kmsbackend.KeySpec
	Usage kmsbackend.KeyUsage
	Alias string
}

// StandardKeys is the standard seed: one key of each spec and usage
// local-kms implements (DESIGN.md, "The embedded dev KMS"), each with one
// alias, for tests and `p11kms devkms` demos.
var StandardKeys = []StandardKey{
	{kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, "alias/dev-rsa-2048"},
	{kmsbackend.SpecRSA3072, kmsbackend.UsageSignVerify, "alias/dev-rsa-3072"},
	{kmsbackend.SpecRSA4096, kmsbackend.UsageSignVerify, "alias/dev-rsa-4096"},
	{kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt, "alias/dev-rsa-2048-decrypt"},
	{kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, "alias/dev-ec-p256"},
	{kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify, "alias/dev-ec-p384"},
	{kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify, "alias/dev-ec-p521"},
	{kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify, "alias/dev-ec-secp256k1"},
	{kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, "alias/dev-aes"},
	{kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac, "alias/dev-hmac-256"},
}

// StandardSeed generates fresh material for every StandardKeys entry, in
// that order (concurrently: RSA-4096 alone takes a second or more).
func StandardSeed() ([]SeedKey, error) {
	return GenerateSeed(StandardKeys)
}

// GenerateSeed generates one key per entry of specs, in order.
func GenerateSeed(specs []StandardKey) ([]SeedKey, error) {
	keys := make([]SeedKey, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() { keys[i], errs[i] = NewSeedKey(s.Spec, s.Usage, s.Alias) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
}
