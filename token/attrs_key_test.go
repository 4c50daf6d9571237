package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// objTestKey is one key generated in-process, with what an independent
// verifier needs to check the objects built from it.
type objTestKey struct {
	name string
	spec kmsbackend.KeySpec
	spki []byte
	ec   bool
	// rsa is the RSA public key (RSA keys).
	rsa *rsa.PublicKey
	// point is the uncompressed point as Go crypto / decred encode it (EC keys).
	point []byte
	// paramsHex is the DER named-curve OID (RFC 5480 §2.1.1.1, SEC 2 §A.2).
	paramsHex string
	// samePoint reports whether an uncompressed point decodes to this key.
	samePoint func(p []byte) bool
}

var objKeysOnce = sync.OnceValues(objGenerateKeys)

// objTestKeys returns RSA-2048, P-256, P-384, P-521 and secp256k1 keys, generated once.
func objTestKeys(t *testing.T) []objTestKey {
	t.Helper()
	keys, err := objKeysOnce()
	require.NoError(t, err)
	return keys
}

func objGenerateKeys() ([]objTestKey, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rspki, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		return nil, err
	}
	keys := []objTestKey{{name: "RSA-2048", spec: kmsbackend.SpecRSA2048, spki: rspki, rsa: &rk.PublicKey}}
	for _, c := range []struct {
		name   string
		spec   kmsbackend.KeySpec
		curve  elliptic.Curve
		params string
	}{
		{"P-256", kmsbackend.SpecECCNISTP256, elliptic.P256(), "06082a8648ce3d030107"},
		{"P-384", kmsbackend.SpecECCNISTP384, elliptic.P384(), "06052b81040022"},
		{"P-521", kmsbackend.SpecECCNISTP521, elliptic.P521(), "06052b81040023"},
	} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			return nil, err
		}
		spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		point, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, err
		}
		curve, pk := c.curve, &k.PublicKey
		keys = append(keys, objTestKey{name: c.name, spec: c.spec, spki: spki, ec: true, point: point, paramsHex: c.params,
			samePoint: func(p []byte) bool {
				got, err := ecdsa.ParseUncompressedPublicKey(curve, p)
				return err == nil && got.Equal(pk)
			}})
	}
	sk, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	spub := sk.PubKey()
	point := spub.SerializeUncompressed()
	// SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) with id-ecPublicKey and the
	// secp256k1 OID (RFC 5480 §2.1.1; SEC 2 §A.2), built by hand because
	// crypto/x509 does not know the curve.
	type algID struct {
		Algorithm asn1.ObjectIdentifier
		Curve     asn1.ObjectIdentifier
	}
	sspki, err := asn1.Marshal(struct {
		Alg algID
		Key asn1.BitString
	}{algID{asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.ObjectIdentifier{1, 3, 132, 0, 10}},
		asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
	if err != nil {
		return nil, err
	}
	keys = append(keys, objTestKey{name: "secp256k1", spec: kmsbackend.SpecECCSECGP256K1, spki: sspki, ec: true,
		point: point, paramsHex: "06052b8104000a",
		samePoint: func(p []byte) bool {
			got, err := secp256k1.ParsePubKey(p)
			return err == nil && len(p) == 65 && got.IsEqual(spub)
		}})
	return keys, nil
}

// objTestKeyID is the key id of objKeyInfo, and objTestKeyIDBytes its 16 bytes.
const objTestKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

var objTestKeyIDBytes = []byte{0x12, 0x34, 0xab, 0xcd, 0x12, 0xab, 0x34, 0xcd, 0x56, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab}

// objKeyInfo describes an enabled, KMS-generated key with two aliases,
// created at 2024-03-01 01:30 +05:00 (2024-02-29 UTC).
func objKeyInfo(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage, spki []byte) *kmsbackend.KeyInfo {
	return &kmsbackend.KeyInfo{
		ID:           objTestKeyID,
		ARN:          "arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID,
		Aliases:      []string{"alias/zeta", "alias/alpha"},
		Spec:         spec,
		Usage:        usage,
		State:        kmsbackend.StateEnabled,
		Origin:       "AWS_KMS",
		CreatedAt:    time.Date(2024, 3, 1, 1, 30, 0, 0, time.FixedZone("+05", 5*3600)),
		PublicKeyDER: spki,
	}
}

// objMustBuild parses k's public key with mechanisms and builds its objects.
func objMustBuild(t *testing.T, k objTestKey, info *kmsbackend.KeyInfo, private bool) (*object, *object) {
	t.Helper()
	pub, err := mechanisms.ParsePublicKey(k.spki)
	require.NoError(t, err)
	priv, pubo, err := newKeyObjects(info, pub, private)
	require.NoError(t, err)
	return priv, pubo
}

// objWant is what a row expects beyond the key material.
type objWant struct {
	local, sign, decrypt, private bool
	derive                        bool // KEY_AGREEMENT: the private key has CKA_DERIVE (derive.go)
	end                           []byte
}

// objWantAttrs lists every attribute the spec sections give the object, with
// its exact encoding, built from the key and the row's expectations.
func objWantAttrs(k objTestKey, info *kmsbackend.KeyInfo, class uint, w objWant) (map[uint][]byte, map[uint]bool) {
	b := func(v bool) []byte {
		if v {
			return []byte{1}
		}
		return []byte{0}
	}
	keyType, gen := uint(ck.CKK_RSA), uint(ck.CKM_RSA_PKCS_KEY_PAIR_GEN)
	if k.ec {
		keyType, gen = ck.CKK_EC, ck.CKM_EC_KEY_PAIR_GEN
	}
	if !w.local {
		gen = ck.UnavailableInformation
	}
	var mechs []byte
	for _, m := range mechanisms.MechanismsFor(info.Spec, info.Usage) {
		mechs = append(mechs, objNativeULong(m)...)
	}
	if mechs == nil {
		mechs = []byte{}
	}
	a := map[uint][]byte{
		ck.CKA_CLASS: objNativeULong(class), ck.CKA_TOKEN: b(true), ck.CKA_MODIFIABLE: b(false),
		ck.CKA_COPYABLE: b(false), ck.CKA_DESTROYABLE: b(false), ck.CKA_LABEL: []byte("alpha"),
		ck.CKA_ID: objTestKeyIDBytes, ck.CKA_KEY_TYPE: objNativeULong(keyType),
		ck.CKA_START_DATE: []byte("20240229"), ck.CKA_END_DATE: w.end, ck.CKA_DERIVE: b(false),
		ck.CKA_LOCAL: b(w.local), ck.CKA_KEY_GEN_MECHANISM: objNativeULong(gen),
		ck.CKA_ALLOWED_MECHANISMS: mechs, ck.CKA_SUBJECT: {}, ck.CKA_PUBLIC_KEY_INFO: k.spki,
	}
	sens := map[uint]bool{}
	if class == ck.CKO_PRIVATE_KEY {
		for t, v := range map[uint]bool{ck.CKA_PRIVATE: w.private, ck.CKA_SENSITIVE: true,
			ck.CKA_ALWAYS_SENSITIVE: w.local, ck.CKA_EXTRACTABLE: false, ck.CKA_NEVER_EXTRACTABLE: w.local,
			ck.CKA_DECRYPT: w.decrypt, ck.CKA_SIGN: w.sign, ck.CKA_SIGN_RECOVER: false, ck.CKA_UNWRAP: false,
			ck.CKA_WRAP_WITH_TRUSTED: false, ck.CKA_ALWAYS_AUTHENTICATE: false, ck.CKA_DERIVE: w.derive} {
			a[t] = b(v)
		}
	} else {
		for t, v := range map[uint]bool{ck.CKA_PRIVATE: false, ck.CKA_ENCRYPT: w.decrypt, ck.CKA_VERIFY: w.sign,
			ck.CKA_VERIFY_RECOVER: false, ck.CKA_WRAP: false, ck.CKA_TRUSTED: false} {
			a[t] = b(v)
		}
	}
	if k.ec {
		params, _ := hex.DecodeString(k.paramsHex)
		point, _ := asn1.Marshal(k.point)
		a[ck.CKA_EC_PARAMS], a[ck.CKA_EC_POINT] = params, point
		if class == ck.CKO_PRIVATE_KEY {
			sens[ck.CKA_VALUE] = true
		}
		return a, sens
	}
	a[ck.CKA_MODULUS] = k.rsa.N.Bytes()
	a[ck.CKA_PUBLIC_EXPONENT] = []byte{0x01, 0x00, 0x01} // 65537, Go's fixed exponent
	if class == ck.CKO_PUBLIC_KEY {
		a[ck.CKA_MODULUS_BITS] = objNativeULong(2048)
	} else {
		for _, t := range []uint{ck.CKA_PRIVATE_EXPONENT, ck.CKA_PRIME_1, ck.CKA_PRIME_2,
			ck.CKA_EXPONENT_1, ck.CKA_EXPONENT_2, ck.CKA_COEFFICIENT} {
			sens[t] = true
		}
	}
	return a, sens
}

func TestObjectKeyAttributes(t *testing.T) {
	keys := objTestKeys(t)
	deletion := time.Date(2024, 4, 15, 23, 30, 0, 0, time.FixedZone("-02", -2*3600))
	type row struct {
		name     string
		origin   string
		usage    kmsbackend.KeyUsage
		state    kmsbackend.KeyState
		deletion time.Time
		want     objWant
	}
	rows := []row{
		{"KMS-generated signing key with PIN is local, signs and is private", "AWS_KMS", kmsbackend.UsageSignVerify,
			kmsbackend.StateEnabled, time.Time{}, objWant{local: true, sign: true, private: true, end: []byte{}}},
		{"signing key without PIN has CKA_PRIVATE false", "AWS_KMS", kmsbackend.UsageSignVerify,
			kmsbackend.StateEnabled, time.Time{}, objWant{local: true, sign: true, private: false, end: []byte{}}},
		{"imported key is not local, not always sensitive, gen mechanism unavailable", "EXTERNAL", kmsbackend.UsageSignVerify,
			kmsbackend.StateEnabled, time.Time{}, objWant{local: false, sign: true, private: true, end: []byte{}}},
		{"pending deletion key has end date = UTC deletion date", "AWS_KMS", kmsbackend.UsageSignVerify,
			kmsbackend.StatePendingDeletion, deletion, objWant{local: true, sign: true, private: true, end: []byte("20240416")}},
		{"disabled key with stale deletion date has empty end date", "AWS_KMS", kmsbackend.UsageSignVerify,
			kmsbackend.StateDisabled, deletion, objWant{local: true, sign: true, private: true, end: []byte{}}},
	}
	type keyRow struct {
		row
		key objTestKey
	}
	var all []keyRow
	for _, k := range keys {
		for _, r := range rows {
			all = append(all, keyRow{r, k})
		}
		if k.ec && k.spec != kmsbackend.SpecECCSECGP256K1 { // KMS has no secp256k1 KEY_AGREEMENT (attrs_derive_test.go)
			all = append(all, keyRow{row{"key agreement key derives, neither signs nor decrypts", "AWS_KMS", kmsbackend.UsageKeyAgreement,
				kmsbackend.StateEnabled, time.Time{}, objWant{local: true, private: true, derive: true, end: []byte{}}}, k})
		} else if !k.ec {
			all = append(all, keyRow{row{"encryption key decrypts and encrypts, does not sign", "AWS_KMS", kmsbackend.UsageEncryptDecrypt,
				kmsbackend.StateEnabled, time.Time{}, objWant{local: true, decrypt: true, private: true, end: []byte{}}}, k})
		}
	}
	for _, tc := range all {
		t.Run(tc.key.name+"/"+tc.name, func(t *testing.T) {
			info := objKeyInfo(tc.key.spec, tc.usage, tc.key.spki)
			info.Origin, info.State, info.DeletionDate = tc.origin, tc.state, tc.deletion
			priv, pubo := objMustBuild(t, tc.key, info, tc.want.private)

			for _, o := range []*object{priv, pubo} {
				wantAttrs, wantSens := objWantAttrs(tc.key, info, o.class, tc.want)
				assert.Equal(t, wantAttrs, o.attrs, objClassName(o.class)+" attributes")
				assert.Equal(t, wantSens, o.sensitive, objClassName(o.class)+" sensitive set")
				assert.Equal(t, info.ARN, o.keyARN)
				assert.Zero(t, o.handle, "handles are the handle table's job")
			}
			assert.Equal(t, uint(ck.CKO_PRIVATE_KEY), priv.class)
			assert.Equal(t, uint(ck.CKO_PUBLIC_KEY), pubo.class)
			assert.Equal(t, tc.want.private, priv.private)
			assert.False(t, pubo.private, "public keys are readable without login")
			assert.NotSame(t, &priv.attrs[ck.CKA_ID][0], &pubo.attrs[ck.CKA_ID][0], "the pair shares no memory")
		})
	}
}

// TestObjectKeyMaterialIndependent decodes the key material attributes with
// independent verifiers (Go crypto, decred) and compares them to the key.
func TestObjectKeyMaterialIndependent(t *testing.T) {
	for _, k := range objTestKeys(t) {
		t.Run(k.name+"/attributes decode to the generated key", func(t *testing.T) {
			priv, pubo := objMustBuild(t, k, objKeyInfo(k.spec, kmsbackend.UsageSignVerify, k.spki), true)
			assert.NotEmpty(t, pubo.attrs[ck.CKA_ALLOWED_MECHANISMS], "a signing key allows some mechanism")
			for _, o := range []*object{priv, pubo} {
				if !k.ec {
					assert.Zero(t, new(big.Int).SetBytes(o.attrs[ck.CKA_MODULUS]).Cmp(k.rsa.N), "modulus is the key's N")
					assert.Equal(t, int64(k.rsa.E), new(big.Int).SetBytes(o.attrs[ck.CKA_PUBLIC_EXPONENT]).Int64())
					parsed, err := x509.ParsePKIXPublicKey(o.attrs[ck.CKA_PUBLIC_KEY_INFO])
					require.NoError(t, err)
					assert.True(t, k.rsa.Equal(parsed), "CKA_PUBLIC_KEY_INFO is the key's SPKI")
					continue
				}
				var point []byte
				rest, err := asn1.Unmarshal(o.attrs[ck.CKA_EC_POINT], &point)
				require.NoError(t, err, "CKA_EC_POINT is a DER OCTET STRING")
				assert.Empty(t, rest)
				assert.True(t, k.samePoint(point), "CKA_EC_POINT decodes to the key's X, Y")
				var oid asn1.ObjectIdentifier
				_, err = asn1.Unmarshal(o.attrs[ck.CKA_EC_PARAMS], &oid)
				require.NoError(t, err, "CKA_EC_PARAMS is a DER OID")
				assert.Equal(t, k.paramsHex, hex.EncodeToString(o.attrs[ck.CKA_EC_PARAMS]))
			}
		})
	}
}

func TestObjectKeyUnsupported(t *testing.T) {
	keys := objTestKeys(t)
	rsaKey, p256, p384 := keys[0], keys[1], keys[2]
	parse := func(k objTestKey) *mechanisms.PublicKey {
		pub, err := mechanisms.ParsePublicKey(k.spki)
		require.NoError(t, err)
		return pub
	}
	for _, tc := range []struct {
		name        string
		info        *kmsbackend.KeyInfo
		pub         *mechanisms.PublicKey
		unsupported bool
		wantErr     string
	}{
		{"symmetric key is unsupported", objKeyInfo(kmsbackend.SpecSymmetricDefault, kmsbackend.UsageEncryptDecrypt, nil), parse(rsaKey), true,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": spec SYMMETRIC_DEFAULT: key spec not exposed as PKCS#11 objects"},
		{"HMAC key is unsupported", objKeyInfo(kmsbackend.SpecHMAC256, kmsbackend.UsageGenerateVerifyMac, nil), parse(rsaKey), true,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": spec HMAC_256: key spec not exposed as PKCS#11 objects"},
		{"Ed25519 spec with a P-256 public key is refused", objKeyInfo(kmsbackend.SpecECCNISTEdwards25519, kmsbackend.UsageSignVerify, p256.spki), parse(p256), false,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": spec ECC_NIST_EDWARDS25519: public key family EC does not match the spec (want EdDSA)"},
		{"MAC usage on an RSA spec is unsupported", objKeyInfo(kmsbackend.SpecRSA2048, kmsbackend.UsageGenerateVerifyMac, rsaKey.spki), parse(rsaKey), true,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": usage GENERATE_VERIFY_MAC: key spec not exposed as PKCS#11 objects"},
		{"RSA spec with an EC public key is refused", objKeyInfo(kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, p256.spki), parse(p256), false,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": spec RSA_2048: public key family EC does not match the spec (want RSA)"},
		{"P-256 spec with a P-384 public key is refused", objKeyInfo(kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify, p384.spki), parse(p384), false,
			"key arn:aws:kms:us-east-1:111122223333:key/" + objTestKeyID + ": spec ECC_NIST_P256: public key curve P-384 does not match the spec (want P-256)"},
		{"missing public key is refused", objKeyInfo(kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify, nil), nil, false,
			"new key objects: missing key description or public key"},
		{"missing key description is refused", nil, parse(rsaKey), false,
			"new key objects: missing key description or public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			priv, pubo, err := newKeyObjects(tc.info, tc.pub, true)
			require.EqualError(t, err, tc.wantErr)
			assert.Equal(t, tc.unsupported, errors.Is(err, errUnsupportedKey))
			assert.Nil(t, priv)
			assert.Nil(t, pubo)
		})
	}
}
