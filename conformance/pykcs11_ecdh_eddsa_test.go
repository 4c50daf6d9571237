package conformance

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// pyECDHCase derives with PyKCS11.ECDH1_DERIVE_Mechanism (raw peer point,
// CKD_NULL) and compares CKA_VALUE with `openssl pkeyutl -derive` from the
// peer's private key and the KMS public key.
func pyECDHCase(k *extraKey) pyCase {
	var want []byte
	return pyCase{
		op:  "derive CKM_ECDH1_DERIVE (ECDH1_DERIVE_Mechanism), CKA_VALUE equals openssl's: ecdh-p256",
		key: k,
		job: func(t *testing.T) pyJob {
			dir := t.TempDir()
			peer := filepath.Join(dir, "peer.pem")
			ossl := func(args ...string) Result {
				return Cmd{Args: append([]string{"openssl"}, args...), Env: noEngine()}.Run(t)
			}
			ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", peer)
			want = []byte(ossl("pkeyutl", "-derive", "-inkey", peer, "-peerkey", k.PubPEM).Stdout)
			spki := []byte(ossl("pkey", "-in", peer, "-pubout", "-outform", "DER").Stdout)
			point := spki[len(spki)-65:] // the BIT STRING's uncompressed point ends the SPKI
			require.Equal(t, byte(4), point[0])
			return pyJob{Op: "derive", Label: "conf-ecdh-p256", Peer: hex.EncodeToString(point), Len: 32}
		},
		verify: func(t *testing.T, r pyJobResult) {
			got := pyOut(t, r)
			require.Len(t, want, 32, "openssl's secret")
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "CKA_VALUE differs from openssl's secret")
		},
	}
}

// pyEdDSACase signs with CKM_EDDSA (no parameter: pure Ed25519) and checks
// the signature with openssl.
func pyEdDSACase(k *extraKey) pyCase {
	var msg []byte
	return pyCase{
		op:  "sign CKM_EDDSA (0x1057), openssl verifies: ed25519",
		key: k,
		job: func(t *testing.T) pyJob {
			msg = randomBytes(t, 1000)
			return pyJob{Op: "sign", Label: "conf-ed25519", Mech: pyCKMEdDSA, Data: hex.EncodeToString(msg)}
		},
		verify: func(t *testing.T, r pyJobResult) {
			sig := pyOut(t, r)
			require.Len(t, sig, 64, "Ed25519 signature (RFC 8032 §5.1.6)")
			dir := t.TempDir()
			msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
			require.NoError(t, os.WriteFile(msgFile, msg, 0o600))
			require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
			requireOpenSSLEdVerify(t, k.PubPEM, msgFile, sigFile, true)
			sig[5] ^= 0x10
			require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
			requireOpenSSLEdVerify(t, k.PubPEM, msgFile, sigFile, false)
		},
	}
}
