package cabitest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"slices"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// exerciser runs one mechanism with one key (nil for a digest) through the
// built library and checks the result with a party other than the module:
// Go's crypto with the public key as the KMS published it, or the KMS itself.
type exerciser func(t *testing.T, e *everyEnv, k *everyKey, mech uint)

// exercisers has one row per mechanism the module can list. A mechanism the
// module lists without a row here fails TestEveryListedMechanism.
var exercisers = map[uint]exerciser{
	ck.CKM_RSA_PKCS:                signRSAPKCS1Raw,
	ck.CKM_SHA256_RSA_PKCS:         signHashed(crypto.SHA256),
	ck.CKM_SHA384_RSA_PKCS:         signHashed(crypto.SHA384),
	ck.CKM_SHA512_RSA_PKCS:         signHashed(crypto.SHA512),
	ck.CKM_RSA_PKCS_PSS:            signPSSRaw,
	ck.CKM_SHA256_RSA_PKCS_PSS:     signHashed(crypto.SHA256),
	ck.CKM_SHA384_RSA_PKCS_PSS:     signHashed(crypto.SHA384),
	ck.CKM_SHA512_RSA_PKCS_PSS:     signHashed(crypto.SHA512),
	ck.CKM_ECDSA:                   signECDSARaw,
	ck.CKM_ECDSA_SHA256:            signHashed(crypto.SHA256),
	ck.CKM_ECDSA_SHA384:            signHashed(crypto.SHA384),
	ck.CKM_ECDSA_SHA512:            signHashed(crypto.SHA512),
	ck.CKM_EDDSA:                   signEdDSA,
	ck.CKM_SHA224_HMAC:             macVerifiedByKMS(kmsbackend.HMAC_SHA_224),
	ck.CKM_SHA256_HMAC:             macVerifiedByKMS(kmsbackend.HMAC_SHA_256),
	ck.CKM_SHA384_HMAC:             macVerifiedByKMS(kmsbackend.HMAC_SHA_384),
	ck.CKM_SHA512_HMAC:             macVerifiedByKMS(kmsbackend.HMAC_SHA_512),
	ck.CKM_RSA_PKCS_OAEP:           cryptOAEP,
	ck.CKM_SHA_1:                   digestLike(crypto.SHA1),
	ck.CKM_SHA224:                  digestLike(crypto.SHA224),
	ck.CKM_SHA256:                  digestLike(crypto.SHA256),
	ck.CKM_SHA384:                  digestLike(crypto.SHA384),
	ck.CKM_SHA512:                  digestLike(crypto.SHA512),
	mechanisms.CKM_P11KMS_KMS_BLOB: cryptKMSBlob,
}

// TestEveryListedMechanism loads one token holding a key of every spec and
// usage the token exposes, and runs every mechanism C_GetMechanismList
// reports — with every key whose CKA_ALLOWED_MECHANISMS names it — through
// the built library, each output checked independently.
func TestEveryListedMechanism(t *testing.T) {
	e := startEveryEnv(t)
	mechs, err := e.p.GetMechanismList(e.slot)
	requireRV(t, ck.CKR_OK, err)
	require.NotEmpty(t, mechs)
	for _, m := range mechs {
		mech := m.Mechanism
		t.Run(ck.MechName(mech), func(t *testing.T) {
			run, ok := exercisers[mech]
			require.True(t, ok, "%s is listed but has no C-ABI exerciser", ck.MechName(mech))
			if isDigest(mech) {
				run(t, e, nil, mech)
				return
			}
			keys := e.keysFor(mech)
			require.NotEmpty(t, keys, "%s is listed but no key allows it", ck.MechName(mech))
			for _, k := range keys {
				t.Run(k.label, func(t *testing.T) { run(t, e, k, mech) })
			}
		})
	}
	t.Run("every key's allowed mechanisms are listed", func(t *testing.T) {
		listed := map[uint]bool{}
		for _, m := range mechs {
			listed[m.Mechanism] = true
		}
		for _, k := range e.keys {
			for _, m := range k.allowedMechs {
				assert.True(t, listed[m], "%s allows %s, which C_GetMechanismList omits", k.label, ck.MechName(m))
			}
		}
	})
}

func isDigest(mech uint) bool {
	return slices.Contains([]uint{ck.CKM_SHA_1, ck.CKM_SHA224, ck.CKM_SHA256, ck.CKM_SHA384, ck.CKM_SHA512}, mech)
}

var everyMsg = []byte("p11kms: every listed mechanism, checked by someone else")

// sign signs data with the key's private (or secret) object.
func (e *everyEnv) sign(t *testing.T, k *everyKey, mech *pkcs11.Mechanism, data []byte) []byte {
	t.Helper()
	h := k.priv
	if k.secret != 0 {
		h = k.secret
	}
	requireRV(t, ck.CKR_OK, e.p.SignInit(e.sh, []*pkcs11.Mechanism{mech}, h), "C_SignInit")
	sig, err := e.p.Sign(e.sh, data)
	requireRV(t, ck.CKR_OK, err, "C_Sign")
	return sig
}

// kmsPublic is the key's public key as CreateKey returned it from the KMS.
func kmsPublic(t *testing.T, k *everyKey) any {
	t.Helper()
	pub, err := parseSPKI(k.info.PublicKeyDER)
	if err != nil {
		p, err2 := x509.ParsePKIXPublicKey(k.info.PublicKeyDER)
		require.NoError(t, err2, "public key of %s: %v", k.label, err)
		pub = p
	}
	return pub
}

// verifyAny checks a PKCS#11 signature (RSA PKCS#1 v1.5 or PSS by pss, ECDSA
// raw r||s) of digest with Go's crypto.
func verifyAny(t *testing.T, pub any, h crypto.Hash, digest, sig []byte, pss bool) {
	t.Helper()
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pss {
			require.NoError(t, rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: h.Size(), Hash: h}))
			return
		}
		require.NoError(t, rsa.VerifyPKCS1v15(pub, h, digest, sig))
	case *ecdsa.PublicKey:
		half := len(sig) / 2
		require.Equal(t, 2*((pub.Curve.Params().BitSize+7)/8), len(sig), "r||s length")
		r, s := new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:])
		require.True(t, ecdsa.Verify(pub, digest, r, s), "ECDSA signature does not verify")
	case *secp256k1.PublicKey:
		require.Len(t, sig, 64)
		var r, s secp256k1.ModNScalar
		r.SetByteSlice(sig[:32])
		s.SetByteSlice(sig[32:])
		require.True(t, secpecdsa.NewSignature(&r, &s).Verify(digest, pub), "secp256k1 signature does not verify")
	default:
		t.Fatalf("no verifier for %T", pub)
	}
}

func hashOf(h crypto.Hash, msg []byte) []byte {
	d := h.New()
	d.Write(msg)
	return d.Sum(nil)
}

func isPSS(mech uint) bool {
	return slices.Contains([]uint{ck.CKM_RSA_PKCS_PSS, ck.CKM_SHA256_RSA_PKCS_PSS, ck.CKM_SHA384_RSA_PKCS_PSS, ck.CKM_SHA512_RSA_PKCS_PSS}, mech)
}

// kmsPSSParams are the CK_RSA_PKCS_PSS_PARAMS KMS signs with: MGF1 of the same
// hash, salt = hash length (AWS KMS API reference, SigningAlgorithm RSASSA_PSS_*).
func kmsPSSParams(h crypto.Hash) []byte {
	switch h {
	case crypto.SHA384:
		return pkcs11.NewPSSParams(ck.CKM_SHA384, ck.CKG_MGF1_SHA384, 48)
	case crypto.SHA512:
		return pkcs11.NewPSSParams(ck.CKM_SHA512, ck.CKG_MGF1_SHA512, 64)
	}
	return pkcs11.NewPSSParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, 32)
}

// signHashed: the hashing sign mechanisms (RSA PKCS#1, RSA PSS, ECDSA).
func signHashed(h crypto.Hash) exerciser {
	return func(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
		var param []byte
		if isPSS(mech) {
			param = kmsPSSParams(h)
		}
		sig := e.sign(t, k, pkcs11.NewMechanism(mech, param), everyMsg)
		verifyAny(t, kmsPublic(t, k), h, hashOf(h, everyMsg), sig, isPSS(mech))
	}
}

func signRSAPKCS1Raw(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	d := hashOf(crypto.SHA384, everyMsg)
	di := append(mechanisms.DigestInfoPrefix(crypto.SHA384), d...)
	sig := e.sign(t, k, pkcs11.NewMechanism(mech, nil), di)
	verifyAny(t, kmsPublic(t, k), crypto.SHA384, d, sig, false)
}

func signPSSRaw(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	d := hashOf(crypto.SHA512, everyMsg)
	sig := e.sign(t, k, pkcs11.NewMechanism(mech, kmsPSSParams(crypto.SHA512)), d)
	verifyAny(t, kmsPublic(t, k), crypto.SHA512, d, sig, true)
}

func signECDSARaw(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	d := hashOf(crypto.SHA256, everyMsg)
	sig := e.sign(t, k, pkcs11.NewMechanism(mech, nil), d)
	verifyAny(t, kmsPublic(t, k), crypto.SHA256, d, sig, false)
}

func signEdDSA(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	sig := e.sign(t, k, pkcs11.NewMechanism(mech, nil), everyMsg)
	pub, ok := kmsPublic(t, k).(ed25519.PublicKey)
	require.True(t, ok)
	require.True(t, ed25519.Verify(pub, everyMsg, sig), "Ed25519 signature does not verify")
}

// macVerifiedByKMS: the key material never leaves KMS, so KMS's own
// VerifyMac (through the aws backend, not the module) is the check.
func macVerifiedByKMS(alg kmsbackend.MacAlgorithm) exerciser {
	return func(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
		mac := e.sign(t, k, pkcs11.NewMechanism(mech, nil), everyMsg)
		ok, err := e.oracle.VerifyMac(context.Background(), k.info.ARN, alg, everyMsg, mac)
		require.NoError(t, err)
		require.True(t, ok, "KMS VerifyMac refuses the module's MAC")
	}
}

// cryptOAEP: Go encrypts, the module decrypts; the module encrypts, KMS decrypts.
func cryptOAEP(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	pub, ok := kmsPublic(t, k).(*rsa.PublicKey)
	require.True(t, ok)
	m := []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, pkcs11.NewOAEPParams(ck.CKM_SHA256, ck.CKG_MGF1_SHA256, ck.CKZ_DATA_SPECIFIED, nil))}
	ct, err := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, everyMsg, nil)
	require.NoError(t, err)
	requireRV(t, ck.CKR_OK, e.p.DecryptInit(e.sh, m, k.priv))
	pt, err := e.p.Decrypt(e.sh, ct)
	requireRV(t, ck.CKR_OK, err)
	require.Equal(t, everyMsg, pt)
	requireRV(t, ck.CKR_OK, e.p.EncryptInit(e.sh, m, k.pub))
	ct, err = e.p.Encrypt(e.sh, everyMsg)
	requireRV(t, ck.CKR_OK, err)
	pt, err = e.oracle.Decrypt(context.Background(), k.info.ARN, kmsbackend.RSAES_OAEP_SHA_256, ct)
	require.NoError(t, err)
	require.Equal(t, everyMsg, pt)
}

// cryptKMSBlob: the module encrypts, KMS decrypts with the same context, and back.
func cryptKMSBlob(t *testing.T, e *everyEnv, k *everyKey, mech uint) {
	ec := map[string]string{"purpose": "every-mechanism"}
	m := []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, mechanisms.EncodeEncryptionContext(ec))}
	requireRV(t, ck.CKR_OK, e.p.EncryptInit(e.sh, m, k.secret))
	blob, err := e.p.Encrypt(e.sh, everyMsg)
	requireRV(t, ck.CKR_OK, err)
	pt, err := e.oracle.DecryptWithContext(context.Background(), k.info.ARN, blob, ec)
	require.NoError(t, err)
	require.Equal(t, everyMsg, pt)
	blob, err = e.oracle.Encrypt(context.Background(), k.info.ARN, everyMsg, ec)
	require.NoError(t, err)
	requireRV(t, ck.CKR_OK, e.p.DecryptInit(e.sh, m, k.secret))
	pt, err = e.p.Decrypt(e.sh, blob)
	requireRV(t, ck.CKR_OK, err)
	require.Equal(t, everyMsg, pt)
}

func digestLike(h crypto.Hash) exerciser {
	return func(t *testing.T, e *everyEnv, _ *everyKey, mech uint) {
		requireRV(t, ck.CKR_OK, e.p.DigestInit(e.sh, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}))
		d, err := e.p.Digest(e.sh, everyMsg)
		requireRV(t, ck.CKR_OK, err)
		require.Equal(t, hashOf(h, everyMsg), d)
	}
}
