//go:build !go1.27 || fips140v1.0

package mechanisms

import (
	"errors"
	"unsafe"

	"filippo.io/mldsa"
)

// filippo.io/mldsa v1.0.0 signs an external mu (PrivateKey.Sign with
// mldsacrypto.MLDSAMu) but exports no way to verify a signature against one
// (nor does Go's crypto/mldsa: golang/go#80272); its internal FIPS 204
// package does (VerifyExternalMu: Algorithm 8 from line 7, the same code its
// exported Verify ends in). verifyMu reaches it through go:linkname, as the
// dev KMS does (kmsbackend/devkms/mldsa_mu.go). The declarations must match
// filippo.io/mldsa/internal/fips140/mldsa at the version go.mod pins (func
// NewPublicKeyNN(pk []byte) (*PublicKey, error); func VerifyExternalMu(pub
// *PublicKey, μ, sig []byte) error; the *PublicKey is passed through as an
// unsafe.Pointer and never dereferenced here). The build constraint is the
// one under which that package is compiled (the standalone implementation);
// elsewhere mldsa_mu_none.go makes verifyMu fail. TestMLDSAVerifyMu fails if
// the declarations stop working.

//go:linkname fipsMLDSANewPublicKey44 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey44
func fipsMLDSANewPublicKey44(pk []byte) (unsafe.Pointer, error)

//go:linkname fipsMLDSANewPublicKey65 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey65
func fipsMLDSANewPublicKey65(pk []byte) (unsafe.Pointer, error)

//go:linkname fipsMLDSANewPublicKey87 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey87
func fipsMLDSANewPublicKey87(pk []byte) (unsafe.Pointer, error)

//go:linkname fipsMLDSAVerifyExternalMu filippo.io/mldsa/internal/fips140/mldsa.VerifyExternalMu
func fipsMLDSAVerifyExternalMu(pub unsafe.Pointer, mu, sig []byte) error

// verifyMu checks an ML-DSA signature over the 64-byte message
// representative mu (FIPS 204 Algorithm 8 with mu given); nil means valid.
func verifyMu(pub *mldsa.PublicKey, mu, sig []byte) error {
	var parse func([]byte) (unsafe.Pointer, error)
	switch pub.Parameters() {
	case mldsa.MLDSA44():
		parse = fipsMLDSANewPublicKey44
	case mldsa.MLDSA65():
		parse = fipsMLDSANewPublicKey65
	case mldsa.MLDSA87():
		parse = fipsMLDSANewPublicKey87
	default:
		return errors.New("mldsa: unknown parameter set")
	}
	p, err := parse(pub.Bytes())
	if err != nil {
		return err
	}
	return fipsMLDSAVerifyExternalMu(p, mu, sig)
}
