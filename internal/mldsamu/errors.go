package mldsamu

import "errors"

// ErrUnavailable is Verify's error in a build without external-mu
// verification.
var ErrUnavailable = errors.New("mldsa: verification against an external mu is not available in this build")
