package token

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// TestKeyAgreementObjectsNeedAnAgreementCurve: a KEY_AGREEMENT key of a spec
// KMS does not agree on (secp256k1) is skipped like any unsupported key.
func TestKeyAgreementObjectsNeedAnAgreementCurve(t *testing.T) {
	for _, k := range objTestKeys(t) {
		if !k.ec {
			continue
		}
		t.Run(k.name, func(t *testing.T) {
			pub, err := mechanisms.ParsePublicKey(k.spki)
			require.NoError(t, err)
			_, _, err = newKeyObjects(objKeyInfo(k.spec, kmsbackend.UsageKeyAgreement, k.spki), pub, true)
			if k.spec == kmsbackend.SpecECCSECGP256K1 {
				assert.ErrorIs(t, err, errUnsupportedKey)
				return
			}
			assert.NoError(t, err)
		})
	}
}
