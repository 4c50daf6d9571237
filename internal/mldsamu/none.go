//go:build go1.27 && !fips140v1.0

package mldsamu

import "filippo.io/mldsa"

// Verify cannot check a signature over an external mu in this build:
// filippo.io/mldsa wraps crypto/mldsa here, which exports no such
// verification (golang/go#80272).
func Verify(_ *mldsa.PublicKey, _, _ []byte) error { return ErrUnavailable }
