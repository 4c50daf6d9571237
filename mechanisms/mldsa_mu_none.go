//go:build go1.27 && !fips140v1.0

package mechanisms

import "filippo.io/mldsa"

// verifyMu cannot check a signature over an external mu in this build:
// filippo.io/mldsa wraps crypto/mldsa here, which exports no such
// verification (golang/go#80272), so every external-mu signature is
// withheld and C_Verify with CKM_ML_DSA_EXTERNAL_MU fails (see mldsa_mu.go).
func verifyMu(_ *mldsa.PublicKey, _, _ []byte) error {
	return errMuUnavailable
}
