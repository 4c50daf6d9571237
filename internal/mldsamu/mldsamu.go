//go:build !go1.27 || fips140v1.0

// Package mldsamu verifies an ML-DSA signature against an external message
// representative mu (FIPS 204 Algorithm 8 from line 7, with mu given), the
// one ML-DSA operation the module and the dev KMS need that
// filippo.io/mldsa v1.0.0 does not export. It is the project's only
// go:linkname: one place to revisit when go.mod moves filippo.io/mldsa (Go
// 1.27's crypto/mldsa may export it; golang/go#80272).
//
// filippo.io/mldsa signs an external mu (PrivateKey.Sign with
// mldsacrypto.MLDSAMu) and its internal FIPS 204 package verifies one
// (VerifyExternalMu, the same code its exported Verify ends in). The
// declarations below must match filippo.io/mldsa/internal/fips140/mldsa at
// the version go.mod pins (func NewPublicKeyNN(pk []byte) (*PublicKey,
// error); func VerifyExternalMu(pub *PublicKey, μ, sig []byte) error; the
// *PublicKey passes through as an unsafe.Pointer and is never dereferenced
// here). The build constraint is the one under which that package is
// compiled (the standalone implementation); elsewhere none.go makes Verify
// fail with ErrUnavailable. TestVerify fails if the declarations stop working.
package mldsamu

import (
	"errors"
	"unsafe"

	"filippo.io/mldsa"
)

//go:linkname newPublicKey44 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey44
func newPublicKey44(pk []byte) (unsafe.Pointer, error)

//go:linkname newPublicKey65 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey65
func newPublicKey65(pk []byte) (unsafe.Pointer, error)

//go:linkname newPublicKey87 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey87
func newPublicKey87(pk []byte) (unsafe.Pointer, error)

//go:linkname verifyExternalMu filippo.io/mldsa/internal/fips140/mldsa.VerifyExternalMu
func verifyExternalMu(pub unsafe.Pointer, mu, sig []byte) error

// Verify checks an ML-DSA signature over the 64-byte message representative
// mu; nil means valid.
func Verify(pub *mldsa.PublicKey, mu, sig []byte) error {
	var parse func([]byte) (unsafe.Pointer, error)
	switch pub.Parameters() {
	case mldsa.MLDSA44():
		parse = newPublicKey44
	case mldsa.MLDSA65():
		parse = newPublicKey65
	case mldsa.MLDSA87():
		parse = newPublicKey87
	default:
		return errors.New("mldsa: unknown parameter set")
	}
	p, err := parse(pub.Bytes())
	if err != nil {
		return err
	}
	return verifyExternalMu(p, mu, sig)
}
