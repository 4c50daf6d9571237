package cabitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
)

// goSign signs digest with the seeded private key, independently of the
// module, in the PKCS#11 signature format (r||s for ECDSA).
func goSign(t *testing.T, k *keyFixture, scheme sigScheme, h crypto.Hash, digest []byte) []byte {
	t.Helper()
	switch priv := k.priv.(type) {
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if scheme == schemePSS {
			sig, err = rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: h.Size()})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, h, digest)
		}
		require.NoError(t, err)
		return sig
	case *ecdsa.PrivateKey:
		if k.curveOID.Equal(secp256k1OID) {
			d := make([]byte, 32)
			priv.D.FillBytes(d)
			compact := secpecdsa.SignCompact(secp256k1.PrivKeyFromBytes(d), digest[:min(32, len(digest))], false)
			return compact[1:] // [recovery code] R S
		}
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		require.NoError(t, err)
		n := k.sigLen() / 2
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig
	}
	t.Fatalf("no private key for %s", k.name)
	return nil
}

// TestVerify checks C_Verify and C_VerifyUpdate/C_VerifyFinal (PKCS#11 2.40
// §5.13) against signatures made with Go's crypto: valid → CKR_OK, one bit
// flipped → CKR_SIGNATURE_INVALID, wrong length → CKR_SIGNATURE_LEN_RANGE.
func TestVerify(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	msg := []byte("verified locally, from the public key")
	cases := []struct {
		key string
		v   signVariant
	}{
		{"RSA2048", variant(ck.CKM_RSA_PKCS, crypto.SHA256)},
		{"RSA2048", variant(ck.CKM_SHA384_RSA_PKCS, crypto.SHA384)},
		{"RSA3072", variant(ck.CKM_RSA_PKCS_PSS, crypto.SHA256)},
		{"RSA4096", variant(ck.CKM_SHA512_RSA_PKCS_PSS, crypto.SHA512)},
		{"P256", variant(ck.CKM_ECDSA, 0)},
		{"P384", variant(ck.CKM_ECDSA_SHA384, crypto.SHA384)},
		{"P521", variant(ck.CKM_ECDSA_SHA256, crypto.SHA256)},
		{"Secp256k1", variant(ck.CKM_ECDSA_SHA256, crypto.SHA256)},
	}
	for _, c := range cases {
		k := fixture(c.key)
		_, pub := keyObjects(t, p, sh, k)
		input, digest := c.v.signInput(k, msg)
		good := goSign(t, k, c.v.scheme, c.v.hashFor(k), digest)
		flipped := append([]byte{}, good...)
		flipped[len(flipped)/3] ^= 0x10
		rows := []struct {
			name string
			sig  []byte
			rv   uint
		}{
			{"CKR_OK for a valid signature", good, ck.CKR_OK},
			{"CKR_SIGNATURE_INVALID for a flipped bit", flipped, ck.CKR_SIGNATURE_INVALID},
			{"CKR_SIGNATURE_LEN_RANGE for one byte short", good[:len(good)-1], ck.CKR_SIGNATURE_LEN_RANGE},
			{"CKR_SIGNATURE_LEN_RANGE for one byte long", append(append([]byte{}, good...), 0), ck.CKR_SIGNATURE_LEN_RANGE},
		}
		for _, row := range rows {
			for _, multi := range []bool{false, true} {
				if multi && !c.v.multi {
					continue
				}
				name := k.name + "/" + c.v.name() + "/" + row.name + map[bool]string{false: "/single", true: "/multi"}[multi]
				t.Run(name, func(t *testing.T) {
					requireRV(t, ck.CKR_OK, p.VerifyInit(sh, c.v.mechanism(), pub))
					if !multi {
						requireRV(t, row.rv, p.Verify(sh, input, row.sig))
					} else {
						half := len(input) / 2
						requireRV(t, ck.CKR_OK, p.VerifyUpdate(sh, input[:half]))
						requireRV(t, ck.CKR_OK, p.VerifyUpdate(sh, input[half:]))
						requireRV(t, row.rv, p.VerifyFinal(sh, row.sig))
					}
					requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, p.Verify(sh, input, row.sig), "C_Verify ended the operation")
				})
			}
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	p := initialized(t)
	sh := openSession(t, p, mainSlot(t, p), ck.CKF_SERIAL_SESSION)
	_, rsaPub := keyObjects(t, p, sh, fixture("RSA2048"))
	_, ecPub := keyObjects(t, p, sh, fixture("P256"))
	mech := func(m uint) []*pkcs11.Mechanism { return []*pkcs11.Mechanism{pkcs11.NewMechanism(m, nil)} }
	requireRV(t, ck.CKR_OPERATION_NOT_INITIALIZED, p.Verify(sh, []byte("x"), make([]byte, 64)), "C_Verify without C_VerifyInit")
	requireRV(t, ck.CKR_KEY_TYPE_INCONSISTENT, p.VerifyInit(sh, mech(ck.CKM_ECDSA), rsaPub), "ECDSA with an RSA key")
	requireRV(t, ck.CKR_KEY_TYPE_INCONSISTENT, p.VerifyInit(sh, mech(ck.CKM_SHA256_RSA_PKCS), ecPub), "RSA with an EC key")
	requireRV(t, ck.CKR_MECHANISM_INVALID, p.VerifyInit(sh, mech(ck.CKM_SHA1_RSA_PKCS), rsaPub), "SHA-1")
	requireRV(t, ck.CKR_KEY_HANDLE_INVALID, p.VerifyInit(sh, mech(ck.CKM_ECDSA), 0x7eadbeef), "unknown key")
	requireRV(t, ck.CKR_OK, p.VerifyInit(sh, mech(ck.CKM_ECDSA), ecPub))
	requireRV(t, ck.CKR_OPERATION_ACTIVE, p.VerifyInit(sh, mech(ck.CKM_ECDSA), ecPub), "second C_VerifyInit")
}
