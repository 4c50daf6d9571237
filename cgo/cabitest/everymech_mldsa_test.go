package cabitest

import (
	"crypto/sha3"
	"encoding/asn1"
	"testing"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// The ML-DSA keys and exercisers of TestEveryListedMechanism (kept in this
// file next to the ML-DSA feature; they extend everyKeys and exercisers).
func init() {
	for _, spec := range []kmsbackend.KeySpec{kmsbackend.SpecMLDSA44, kmsbackend.SpecMLDSA65, kmsbackend.SpecMLDSA87} {
		everyKeys = append(everyKeys, struct {
			spec  kmsbackend.KeySpec
			usage kmsbackend.KeyUsage
		}{spec, kmsbackend.UsageSignVerify}) // AWS KMS KeySpec ML_DSA_44/65/87, SIGN_VERIFY only
	}
	exercisers[ck.CKM_ML_DSA] = signMLDSA
	exercisers[ck.CKM_ML_DSA_EXTERNAL_MU] = signMLDSA
}

// everyMLDSAScheme is the circl scheme of each ML-DSA spec.
var everyMLDSAScheme = map[kmsbackend.KeySpec]sign.Scheme{
	kmsbackend.SpecMLDSA44: mldsa44.Scheme(), kmsbackend.SpecMLDSA65: mldsa65.Scheme(), kmsbackend.SpecMLDSA87: mldsa87.Scheme(),
}

// signMLDSA: CKM_ML_DSA signs everyMsg, CKM_ML_DSA_EXTERNAL_MU its mu (FIPS
// 204 Algorithm 7 line 6, empty context); circl verifies over everyMsg with
// the public key as the KMS published it.
func signMLDSA(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	var spki struct {
		Alg struct{ OID asn1.ObjectIdentifier }
		Key asn1.BitString
	}
	_, err := asn1.Unmarshal(k.info.PublicKeyDER, &spki)
	require.NoError(t, err)
	scheme := everyMLDSAScheme[k.info.Spec]
	require.NotNil(t, scheme, "no circl scheme for %s", k.info.Spec)
	data := everyMsg
	if mech == ck.CKM_ML_DSA_EXTERNAL_MU {
		h := sha3.NewSHAKE256()
		h.Write(sha3.SumSHAKE256(spki.Key.Bytes, 64))
		h.Write([]byte{0, 0})
		h.Write(everyMsg)
		data = make([]byte, 64)
		_, _ = h.Read(data)
	}
	sig := e.sign(t, k, pkcs11.NewMechanism(mech, nil), data)
	pk, err := scheme.UnmarshalBinaryPublicKey(spki.Key.Bytes)
	require.NoError(t, err)
	require.True(t, scheme.Verify(pk, everyMsg, sig, nil), "ML-DSA signature does not verify with circl")
}
