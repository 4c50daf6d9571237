package devkms

import (
	"filippo.io/mldsa"
	"filippo.io/mldsa/mldsacrypto"
	mldsax509 "filippo.io/mldsa/x509"

	"github.com/p11kms/p11kms/internal/mldsamu"
)

// mldsaParams are the ML-DSA parameter sets of ML_DSA_44, ML_DSA_65 and
// ML_DSA_87 (FIPS 204, Table 1), indexed as mldsaGenerator takes them.
var mldsaParams = []func() mldsa.Parameters{mldsa.MLDSA44, mldsa.MLDSA65, mldsa.MLDSA87}

// muSize is the length of the message representative mu. Source: AWS KMS
// API reference, Sign MessageType ("When the value of MessageType is
// EXTERNAL_MU the length of the Message value must be 64 bytes"); FIPS 204
// Algorithm 7, line 6.
const muSize = 64

// mldsaEngine is an ML_DSA_44/65/87 key (local-kms has none).
type mldsaEngine struct{ priv *mldsa.PrivateKey }

// mldsaGenerator makes keys of the parameter set mldsaParams[i].
func mldsaGenerator(i int) func() (engine, error) {
	return func() (engine, error) {
		priv, err := mldsa.GenerateKey(mldsaParams[i]())
		if err != nil {
			return nil, err
		}
		return mldsaEngine{priv}, nil
	}
}

// spki is the RFC 9881 SubjectPublicKeyInfo: id-ml-dsa-44/65/87
// (2.16.840.1.101.3.4.3.17/18/19, no parameters), the raw public key in the
// BIT STRING.
func (e mldsaEngine) spki() ([]byte, error) {
	return mldsax509.MarshalPKIXPublicKey(e.priv.PublicKey())
}

// mldsaMessageType checks the MessageType of ML_DSA_SHAKE_256 (AWS KMS API
// reference, Sign MessageType): RAW (pure ML-DSA of the message, empty
// context) or EXTERNAL_MU (a 64-byte mu, FIPS 204 section 6.2); DIGEST is
// refused. It reports whether the message is mu.
func mldsaMessageType(messageType string, msg []byte) (bool, error) {
	switch messageType {
	case "", "RAW":
		return false, nil
	case "EXTERNAL_MU":
		if len(msg) != muSize {
			return false, validation("EXTERNAL_MU message must be 64 bytes, got %d.", len(msg))
		}
		return true, nil
	}
	return false, validation("ML_DSA_SHAKE_256 requires MessageType RAW or EXTERNAL_MU, not %s.", messageType)
}

func (e mldsaEngine) sign(_, messageType string, msg []byte) ([]byte, error) {
	mu, err := mldsaMessageType(messageType, msg)
	if err != nil {
		return nil, err
	}
	if mu {
		return e.priv.Sign(nil, msg, mldsacrypto.MLDSAMu)
	}
	return e.priv.Sign(nil, msg, nil)
}

func (e mldsaEngine) verify(_, messageType string, msg, sig []byte) (bool, error) {
	mu, err := mldsaMessageType(messageType, msg)
	if err != nil {
		return false, err
	}
	if mu {
		return mldsamu.Verify(e.priv.PublicKey(), msg, sig) == nil, nil
	}
	return mldsa.Verify(e.priv.PublicKey(), msg, sig, nil) == nil, nil
}
