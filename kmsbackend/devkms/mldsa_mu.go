package devkms

import (
	"errors"
	"unsafe"

	"filippo.io/mldsa"
)

// filippo.io/mldsa v1.0.0 signs an external mu (PrivateKey.Sign with
// mldsacrypto.MLDSAMu) but exports no verification of one; its internal
// package has it (VerifyExternalMu, FIPS 204 Algorithm 8 from line 7). Verify
// with MessageType EXTERNAL_MU reaches it through go:linkname. The two
// declarations below must match filippo.io/mldsa/internal/fips140/mldsa
// v1.0.0 (func NewPublicKeyNN(pk []byte) (*PublicKey, error) and func
// VerifyExternalMu(pub *PublicKey, μ, sig []byte) error; a pointer is passed
// as unsafe.Pointer); TestMLDSAExternalMuVerify fails if they stop working.
// Revisit when go.mod moves filippo.io/mldsa: Go 1.27's crypto/mldsa may
// export it.

//go:linkname mldsaNewPublicKey44 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey44
func mldsaNewPublicKey44(pk []byte) (unsafe.Pointer, error)

//go:linkname mldsaNewPublicKey65 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey65
func mldsaNewPublicKey65(pk []byte) (unsafe.Pointer, error)

//go:linkname mldsaNewPublicKey87 filippo.io/mldsa/internal/fips140/mldsa.NewPublicKey87
func mldsaNewPublicKey87(pk []byte) (unsafe.Pointer, error)

//go:linkname mldsaVerifyExternalMu filippo.io/mldsa/internal/fips140/mldsa.VerifyExternalMu
func mldsaVerifyExternalMu(pub unsafe.Pointer, mu, sig []byte) error

// verifyMu checks an ML-DSA signature over the message representative mu
// (64 bytes); nil means valid.
func verifyMu(pub *mldsa.PublicKey, mu, sig []byte) error {
	var parse func([]byte) (unsafe.Pointer, error)
	switch pub.Parameters() {
	case mldsa.MLDSA44():
		parse = mldsaNewPublicKey44
	case mldsa.MLDSA65():
		parse = mldsaNewPublicKey65
	case mldsa.MLDSA87():
		parse = mldsaNewPublicKey87
	default:
		return errors.New("mldsa: unknown parameter set")
	}
	p, err := parse(pub.Bytes())
	if err != nil {
		return err
	}
	return mldsaVerifyExternalMu(p, mu, sig)
}
