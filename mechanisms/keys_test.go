package mechanisms

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"sync"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/kmsbackend"
)

// testKey is a private key generated in-process, standing in for a KMS key.
type testKey struct {
	spec kmsbackend.KeySpec
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	k1   *secp256k1.PrivateKey
	spki []byte
}

var (
	testKeysOnce sync.Once
	testKeys     map[kmsbackend.KeySpec]*testKey
	testKeysErr  error
)

// allSpecs lists the sign key specs the tests cover.
var allSpecs = []kmsbackend.KeySpec{
	kmsbackend.SpecRSA2048, kmsbackend.SpecRSA3072, kmsbackend.SpecRSA4096,
	kmsbackend.SpecECCNISTP256, kmsbackend.SpecECCNISTP384, kmsbackend.SpecECCNISTP521,
	kmsbackend.SpecECCSECGP256K1,
}

// keyFor returns the process-wide test key of a spec (generated once: RSA-4096 is slow).
func keyFor(t testing.TB, spec kmsbackend.KeySpec) *testKey {
	t.Helper()
	testKeysOnce.Do(func() { testKeys, testKeysErr = generateTestKeys() })
	require.NoError(t, testKeysErr)
	k, ok := testKeys[spec]
	require.True(t, ok, "no test key for %s", spec)
	return k
}

func generateTestKeys() (map[kmsbackend.KeySpec]*testKey, error) {
	out := map[kmsbackend.KeySpec]*testKey{}
	for spec, bits := range map[kmsbackend.KeySpec]int{kmsbackend.SpecRSA2048: 2048, kmsbackend.SpecRSA3072: 3072, kmsbackend.SpecRSA4096: 4096} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		out[spec] = &testKey{spec: spec, rsa: k, spki: der}
	}
	for spec, c := range map[kmsbackend.KeySpec]elliptic.Curve{kmsbackend.SpecECCNISTP256: elliptic.P256(), kmsbackend.SpecECCNISTP384: elliptic.P384(), kmsbackend.SpecECCNISTP521: elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		out[spec] = &testKey{spec: spec, ec: k, spki: der}
	}
	k1, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	der, err := secp256k1SPKI(k1.PubKey().SerializeUncompressed())
	if err != nil {
		return nil, err
	}
	out[kmsbackend.SpecECCSECGP256K1] = &testKey{spec: kmsbackend.SpecECCSECGP256K1, k1: k1, spki: der}
	return out, nil
}

// secp256k1SPKI encodes a SubjectPublicKeyInfo for a secp256k1 point (RFC 5480 layout).
func secp256k1SPKI(point []byte) ([]byte, error) {
	params, err := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 132, 0, 10})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Parameters: asn1.RawValue{FullBytes: params}},
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
}
