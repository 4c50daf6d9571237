package token

import (
	"fmt"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// mldsaSensitive are the ML-DSA private-key values that exist but are never
// revealed: the seed ξ and the private key sk (PKCS#11 3.2 ml_dsa.md, ML-DSA
// Private Key Object Attributes; §4.9 CKA_SENSITIVE). KMS never exports them.
var mldsaSensitive = []uint{ck.CKA_SEED, ck.CKA_VALUE}

// checkMLDSASet refuses an ML-DSA public key whose parameter set is not the
// one of its KMS key spec (AWS KMS ML_DSA_44/65/87); other keys pass.
func checkMLDSASet(spec kmsbackend.KeySpec, pub *mechanisms.PublicKey) error {
	if pub.Kind != mechanisms.KindMLDSA {
		return nil
	}
	if want := mechanisms.MLDSASetFromSpec(spec); pub.MLDSASet != want || len(pub.MLDSA) != want.PublicKeyLen() {
		return fmt.Errorf("public key parameter set %s does not match the spec (want %s)", pub.MLDSASet, want)
	}
	return nil
}

// addMLDSAAttrs adds the CKK_ML_DSA attributes (PKCS#11 3.2 ml_dsa.md):
// CKA_PARAMETER_SET (CKP_ML_DSA_*) on both objects; CKA_VALUE of the public
// key, the FIPS 204 encoded public key (the raw key inside the RFC 9881
// SubjectPublicKeyInfo, which is CKA_PUBLIC_KEY_INFO); CKA_SEED and CKA_VALUE
// of the private key exist and are sensitive.
func addMLDSAAttrs(priv, pubo *object, pub *mechanisms.PublicKey) {
	for _, o := range []*object{priv, pubo} {
		o.attrs[ck.CKA_PARAMETER_SET] = encodeULong(pub.MLDSASet.ParameterSet())
	}
	pubo.attrs[ck.CKA_VALUE] = append([]byte(nil), pub.MLDSA...)
	markSensitive(priv, mldsaSensitive)
}
