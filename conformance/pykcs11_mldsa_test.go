package conformance

import (
	"crypto/sha3"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"github.com/cloudflare/circl/sign/mldsa/mldsa87"
	"github.com/p11kms/p11kms/kmsbackend"

	"github.com/stretchr/testify/require"
)

// pyMLDSASets are the ML-DSA parameter sets: KMS key spec, CKP_ML_DSA_*
// (PKCS#11 3.2), the SPKI algorithm OID (RFC 9881 §2), the public key size
// (FIPS 204 Table 2) and circl's scheme (the independent verifier).
var pyMLDSASets = []struct {
	name   string
	spec   kmsbackend.KeySpec
	ckp    uint64
	oid    asn1.ObjectIdentifier
	pkLen  int
	scheme sign.Scheme
}{
	{"ml-dsa-44", kmsbackend.SpecMLDSA44, 1, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 17}, 1312, mldsa44.Scheme()},
	{"ml-dsa-65", kmsbackend.SpecMLDSA65, 2, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}, 1952, mldsa65.Scheme()},
	{"ml-dsa-87", kmsbackend.SpecMLDSA87, 3, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 19}, 2592, mldsa87.Scheme()},
}

// pyMLDSACases are the ML-DSA checks of one key: its attributes, CKM_ML_DSA
// over a message KMS signs RAW (up to 4,096 bytes) and one the module signs
// as external μ, and (ML-DSA-44 only) CKM_ML_DSA_EXTERNAL_MU over μ
// computed here and a μ of the wrong length.
func pyMLDSACases(name string, k *extraKey, ckp uint64, oid asn1.ObjectIdentifier, pkLen int, scheme sign.Scheme) []pyCase {
	label := "conf-" + name
	// kmsPK is the FIPS 204 public key: the BIT STRING of the KMS's SPKI (RFC 9881 §4).
	kmsPK := func(t *testing.T) []byte {
		t.Helper()
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		rest, err := asn1.Unmarshal(k.Info.PublicKeyDER, &spki)
		require.NoError(t, err)
		require.Empty(t, rest)
		require.True(t, spki.Algorithm.Algorithm.Equal(oid), "SPKI algorithm %v", spki.Algorithm.Algorithm)
		require.Len(t, spki.PublicKey.Bytes, pkLen)
		return spki.PublicKey.Bytes
	}
	verifies := func(t *testing.T, msg, sig []byte) {
		t.Helper()
		pk, err := scheme.UnmarshalBinaryPublicKey(kmsPK(t))
		require.NoError(t, err)
		require.Len(t, sig, scheme.SignatureSize())
		require.True(t, scheme.Verify(pk, msg, sig, nil), "circl does not verify the signature (empty context)")
		sig[len(sig)/2] ^= 1
		require.False(t, scheme.Verify(pk, msg, sig, nil), "circl verifies an altered signature")
	}
	cases := []pyCase{{
		op:  "CKA_PARAMETER_SET and public CKA_VALUE (the KMS public key): " + name,
		key: k,
		job: func(t *testing.T) pyJob {
			return pyJob{Op: "attrs", Label: label, Class: "public", Attrs: []uint64{pyCKAParameterSet, pyCKAValue}}
		},
		verify: func(t *testing.T, r pyJobResult) {
			require.Equal(t, "ok", r.Result, "PyKCS11: %s", r.Detail)
			vals := strings.Split(r.Out, ",")
			require.Len(t, vals, 2)
			set, err := hex.DecodeString(vals[0])
			require.NoError(t, err)
			require.Len(t, set, 8, "CKA_PARAMETER_SET is a CK_ULONG")
			require.Equal(t, ckp, binary.NativeEndian.Uint64(set), "CKA_PARAMETER_SET (CKP_ML_DSA_*)")
			require.Equal(t, hex.EncodeToString(kmsPK(t)), vals[1], "public CKA_VALUE is not the KMS public key")
		},
	}}
	for _, n := range []struct {
		size int
		path string
	}{{100, "KMS RAW"}, {5000, "external mu in the module"}} {
		var msg []byte
		cases = append(cases, pyCase{
			op:  "sign CKM_ML_DSA (0x1D), " + strconv.Itoa(n.size) + "-byte message (" + n.path + "), circl verifies: " + name,
			key: k,
			job: func(t *testing.T) pyJob {
				msg = randomBytes(t, n.size)
				return pyJob{Op: "sign", Label: label, Mech: pyCKMMLDSA, Data: hex.EncodeToString(msg)}
			},
			verify: func(t *testing.T, r pyJobResult) { verifies(t, msg, pyOut(t, r)) },
		})
	}
	if name != "ml-dsa-44" {
		return cases
	}
	var msg []byte
	cases = append(cases, pyCase{
		op:  "sign CKM_ML_DSA_EXTERNAL_MU (0x403C) over mu computed by the test, circl verifies: " + name,
		key: k,
		job: func(t *testing.T) pyJob {
			msg = randomBytes(t, 300)
			// μ = SHAKE256(tr ‖ 0 ‖ len(ctx)=0 ‖ M, 64), tr = SHAKE256(pk, 64):
			// FIPS 204 Algorithm 2 line 10, Algorithm 7 line 6.
			tr := sha3.SumSHAKE256(kmsPK(t), 64)
			h := sha3.NewSHAKE256()
			h.Write(tr[:])
			h.Write([]byte{0, 0})
			h.Write(msg)
			mu := make([]byte, 64)
			_, _ = h.Read(mu)
			return pyJob{Op: "sign", Label: label, Mech: pyCKMMLDSAExternalMu, Data: hex.EncodeToString(mu)}
		},
		verify: func(t *testing.T, r pyJobResult) { verifies(t, msg, pyOut(t, r)) },
	}, pyCase{
		op:  "sign refused: CKM_ML_DSA_EXTERNAL_MU with a 63-byte mu gives CKR_DATA_LEN_RANGE: " + name,
		key: k,
		job: func(t *testing.T) pyJob {
			return pyJob{Op: "sign", Label: label, Mech: pyCKMMLDSAExternalMu, Data: hex.EncodeToString(randomBytes(t, 63))}
		},
		verify: func(t *testing.T, r pyJobResult) { pyRefused(t, r, "CKR_DATA_LEN_RANGE") },
	})
	return cases
}
