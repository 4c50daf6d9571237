package conformance

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pySM2Cases are the SM2 checks: CKM_P11KMS_SM3_SM2DSA with the default
// distinguishing ID and with one given as the parameter (README
// "Mechanisms"), each verified by `openssl dgst -sm3 -sigopt distid:ID`
// (GM/T 0003.2 Z_A), an ID over 8,191 bytes refused, and CKM_P11KMS_SM2PKE
// decrypting what `openssl pkeyutl -encrypt` made (GM/T 0009 ASN.1).
func pySM2Cases(k, pke *extraKey) []pyCase {
	var cases []pyCase
	for _, id := range []struct{ op, id string }{{"default ID", ""}, {"ID alice@example.com", "alice@example.com"}} {
		var msg []byte
		cases = append(cases, pyCase{
			op:  "sign CKM_P11KMS_SM3_SM2DSA (" + id.op + "), openssl verifies: sm2",
			key: k,
			job: func(t *testing.T) pyJob {
				msg = randomBytes(t, 1000)
				return pyJob{Op: "sign", Label: "conf-sm2", Mech: pyCKMSM3SM2DSA, Param: hex.EncodeToString([]byte(id.id)), Data: hex.EncodeToString(msg)}
			},
			verify: func(t *testing.T, r pyJobResult) {
				raw := pyOut(t, r)
				require.Len(t, raw, 64, "SM2 signature r||s")
				der, err := ecRawToDER(raw)
				require.NoError(t, err)
				distid := id.id
				if distid == "" {
					distid = "1234567812345678" // GM/T 0009-2012's default user ID, the module's default (README)
				}
				dir := t.TempDir()
				msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig.der")
				require.NoError(t, os.WriteFile(msgFile, msg, 0o600))
				require.NoError(t, os.WriteFile(sigFile, der, 0o600))
				c := Cmd{Args: []string{"openssl", "dgst", "-sm3", "-verify", k.PubPEM, "-sigopt", "distid:" + distid, "-signature", sigFile, msgFile}, Env: noEngine()}
				if res := c.Try(t); res.Err != nil || strings.TrimSpace(res.Stdout) != "Verified OK" {
					t.Fatalf("%s", describeFailure(c, res, "openssl does not verify the SM2 signature"))
				}
			},
		})
	}
	cases = append(cases, pyCase{
		op:  "sign refused: CKM_P11KMS_SM3_SM2DSA with an 8192-byte ID gives CKR_MECHANISM_PARAM_INVALID: sm2",
		key: k,
		job: func(t *testing.T) pyJob {
			return pyJob{Op: "sign", Label: "conf-sm2", Mech: pyCKMSM3SM2DSA, Param: strings.Repeat("61", 8192), Data: "00"}
		},
		verify: func(t *testing.T, r pyJobResult) { pyRefused(t, r, "CKR_MECHANISM_PARAM_INVALID") },
	})
	var pt []byte
	cases = append(cases, pyCase{
		op:  "decrypt CKM_P11KMS_SM2PKE of an openssl pkeyutl -encrypt ciphertext: sm2-pke",
		key: pke,
		job: func(t *testing.T) pyJob {
			pt = randomBytes(t, 200)
			dir := t.TempDir()
			ptFile, ctFile := filepath.Join(dir, "pt"), filepath.Join(dir, "ct")
			require.NoError(t, os.WriteFile(ptFile, pt, 0o600))
			Cmd{Args: []string{"openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pke.PubPEM, "-in", ptFile, "-out", ctFile}, Env: noEngine()}.Run(t)
			ct, err := os.ReadFile(ctFile)
			require.NoError(t, err)
			return pyJob{Op: "decrypt", Label: "conf-sm2-pke", Mech: pyCKMSM2PKE, Data: hex.EncodeToString(ct)}
		},
		verify: func(t *testing.T, r pyJobResult) {
			require.Equal(t, hex.EncodeToString(pt), hex.EncodeToString(pyOut(t, r)), "the plaintext differs")
		},
	})
	return cases
}

// pySM2ECDHCase derives on the SM2 curve (KMS KEY_AGREEMENT SM2 keys:
// DeriveSharedSecret ECDH). openssl 3.0 has no ECDH with SM2 keys and the
// module uses gmsm, so the expected secret comes from Go's generic curve
// code (sm2Curve).
func pySM2ECDHCase(k *extraKey) pyCase {
	var want []byte
	return pyCase{
		op:  "derive CKM_ECDH1_DERIVE on the SM2 curve, CKA_VALUE equals the test's ECDH: sm2-ecdh",
		key: k,
		job: func(t *testing.T) pyJob {
			c := sm2Curve()
			kmsX, kmsY := sm2PointFromSPKI(t, k.Info.PublicKeyDER)
			d := randomBytes(t, 32)
			d[0] &= 0x7f // below the order n
			px, py := c.ScalarBaseMult(d)
			zx, _ := c.ScalarMult(kmsX, kmsY, d)
			want = zx.FillBytes(make([]byte, 32))
			point := append([]byte{4}, append(px.FillBytes(make([]byte, 32)), py.FillBytes(make([]byte, 32))...)...)
			return pyJob{Op: "derive", Label: "conf-sm2-ecdh", Peer: hex.EncodeToString(point), Len: 32}
		},
		verify: func(t *testing.T, r pyJobResult) {
			require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(pyOut(t, r)), "CKA_VALUE differs from the test's ECDH secret")
		},
	}
}
