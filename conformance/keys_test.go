package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/kmsbackend/devkms"
)

// confKeySpecs are the keys the suite seeds into the dev KMS, one alias each
// ("conf-" + name), so their CKA_LABEL is that alias. Source: the
// conformance brief (every RSA size and curve AWS KMS signs with, plus one
// RSA decryption key).
var confKeySpecs = []struct {
	name  string
	spec  kmsbackend.KeySpec
	usage kmsbackend.KeyUsage
}{
	{"rsa2048", kmsbackend.SpecRSA2048, kmsbackend.UsageSignVerify},             // AWS key spec RSA_2048
	{"rsa3072", kmsbackend.SpecRSA3072, kmsbackend.UsageSignVerify},             // AWS key spec RSA_3072
	{"rsa4096", kmsbackend.SpecRSA4096, kmsbackend.UsageSignVerify},             // AWS key spec RSA_4096
	{"p256", kmsbackend.SpecECCNISTP256, kmsbackend.UsageSignVerify},            // AWS key spec ECC_NIST_P256
	{"p384", kmsbackend.SpecECCNISTP384, kmsbackend.UsageSignVerify},            // AWS key spec ECC_NIST_P384
	{"p521", kmsbackend.SpecECCNISTP521, kmsbackend.UsageSignVerify},            // AWS key spec ECC_NIST_P521
	{"secp256k1", kmsbackend.SpecECCSECGP256K1, kmsbackend.UsageSignVerify},     // AWS key spec ECC_SECG_P256K1
	{"rsa2048-decrypt", kmsbackend.SpecRSA2048, kmsbackend.UsageEncryptDecrypt}, // RSA_2048, ENCRYPT_DECRYPT
}

// curveInfo is what the suite needs to know about a curve.
type curveInfo struct {
	oid     asn1.ObjectIdentifier // namedCurve OID
	openssl string                // OpenSSL's curve name
	size    int                   // bytes of the order: half of a raw r||s signature
	hash    string                // the one digest AWS KMS signs with on this curve
	ssh     string                // OpenSSH key type ("" when OpenSSH has none)
}

// curves maps each EC key spec to its curve. Sources: RFC 5480 §2.1.1.1 and
// SEC 2 §2.4.1 (OIDs), AWS KMS Developer Guide "ECC key specs" (one ECDSA
// algorithm per curve), RFC 5656 §6.2 (OpenSSH key types).
var curves = map[kmsbackend.KeySpec]curveInfo{
	kmsbackend.SpecECCNISTP256:   {asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, "prime256v1", 32, "sha256", "ecdsa-sha2-nistp256"},
	kmsbackend.SpecECCNISTP384:   {asn1.ObjectIdentifier{1, 3, 132, 0, 34}, "secp384r1", 48, "sha384", "ecdsa-sha2-nistp384"},
	kmsbackend.SpecECCNISTP521:   {asn1.ObjectIdentifier{1, 3, 132, 0, 35}, "secp521r1", 66, "sha512", "ecdsa-sha2-nistp521"},
	kmsbackend.SpecECCSECGP256K1: {asn1.ObjectIdentifier{1, 3, 132, 0, 10}, "secp256k1", 32, "sha256", ""},
}

// oidECPublicKey is id-ecPublicKey (RFC 5480 §2.1.1).
var oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

// confKey is one seeded key as the suite knows it.
type confKey struct {
	Name  string // short name, e.g. "rsa2048"
	Label string // CKA_LABEL: the alias without "alias/", e.g. "conf-rsa2048"
	KeyID string // the KMS key id (a UUID)
	ID    []byte // CKA_ID: the 16 bytes of the UUID (token/objectid.go)
	Spec  kmsbackend.KeySpec
	Usage kmsbackend.KeyUsage
	// Public is *rsa.PublicKey or *ecdsa.PublicKey (secp256k1: the decred curve).
	Public crypto.PublicKey
	PubDER []byte // SubjectPublicKeyInfo
	PubPEM string // path of the public key in PEM, for openssl
	// private is the seeded private key: the suite hands it only to the
	// reference module (SoftHSM), never to a client under test.
	private crypto.Signer
}

// IDHex returns CKA_ID in hex, as pkcs11-tool --id takes it.
func (k *confKey) IDHex() string { return hex.EncodeToString(k.ID) }

// IsRSA reports whether the key is an RSA key.
func (k *confKey) IsRSA() bool { _, ok := k.Public.(*rsa.PublicKey); return ok }

// Bits returns the RSA modulus size or the curve size in bits.
func (k *confKey) Bits() int {
	if r, ok := k.Public.(*rsa.PublicKey); ok {
		return r.N.BitLen()
	}
	return k.Public.(*ecdsa.PublicKey).Params().BitSize
}

// Curve returns the key's curve (zero curveInfo for RSA).
func (k *confKey) Curve() curveInfo { return curves[k.Spec] }

// CanSign reports whether the key is a SIGN_VERIFY key.
func (k *confKey) CanSign() bool { return k.Usage == kmsbackend.UsageSignVerify }

// URI returns the PKCS#11 URI (RFC 7512) of one of the key's objects, typ
// being "private", "public" or "cert".
func (k *confKey) URI(typ string) string {
	return fmt.Sprintf("pkcs11:token=%s;object=%s;type=%s", env.Token, k.Label, typ)
}

// newConfKeys generates fresh key material for every confKeySpecs row.
func newConfKeys() ([]*confKey, []devkms.SeedKey, error) {
	specs := make([]devkms.StandardKey, len(confKeySpecs))
	for i, s := range confKeySpecs {
		specs[i] = devkms.StandardKey{Spec: s.spec, Usage: s.usage, Alias: "conf-" + s.name}
	}
	seed, err := devkms.GenerateSeed(specs)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]*confKey, len(seed))
	for i, sk := range seed {
		id, err := hex.DecodeString(stripDashes(sk.ID))
		if err != nil || len(id) != 16 {
			return nil, nil, fmt.Errorf("seed key id %q is not a UUID", sk.ID)
		}
		k := &confKey{Name: confKeySpecs[i].name, Label: "conf-" + confKeySpecs[i].name, KeyID: sk.ID, ID: id,
			Spec: sk.Spec, Usage: sk.Usage, Public: sk.Private.Public(), private: sk.Private}
		if k.PubDER, err = marshalSPKI(k.Public, k.Spec); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", k.Name, err)
		}
		keys[i] = k
	}
	return keys, seed, nil
}

// writePublicPEM writes each key's public key as PEM under dir.
func writePublicPEM(dir string, keys []*confKey) error {
	for _, k := range keys {
		k.PubPEM = filepath.Join(dir, k.Name+".pub.pem")
		b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.PubDER})
		if err := os.WriteFile(k.PubPEM, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// stripDashes removes the dashes of a UUID.
func stripDashes(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// marshalSPKI encodes a public key as SubjectPublicKeyInfo. EC keys are
// encoded by hand (RFC 5480 §2): Go's x509 refuses secp256k1.
func marshalSPKI(pub crypto.PublicKey, spec kmsbackend.KeySpec) ([]byte, error) {
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return x509.MarshalPKIXPublicKey(pub)
	}
	c, ok := curves[spec]
	if !ok {
		return nil, fmt.Errorf("no curve for key spec %s", spec)
	}
	params, err := asn1.Marshal(c.oid)
	if err != nil {
		return nil, err
	}
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	type spki struct {
		Algorithm algID
		PublicKey asn1.BitString
	}
	point := ecPoint(ec, c.size)
	return asn1.Marshal(spki{algID{oidECPublicKey, asn1.RawValue{FullBytes: params}}, asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
}

// ecPoint returns the uncompressed point 04||X||Y (SEC 1 §2.3.3).
func ecPoint(ec *ecdsa.PublicKey, size int) []byte {
	out := make([]byte, 1+2*size)
	out[0] = 4
	ec.X.FillBytes(out[1 : 1+size])
	ec.Y.FillBytes(out[1+size:])
	return out
}

// marshalPKCS8 encodes a private key as PKCS#8 (RFC 5208; EC keys per RFC
// 5915 by hand, because Go's x509 refuses secp256k1). Only the reference
// module (SoftHSM) is given this.
func marshalPKCS8(k *confKey) ([]byte, error) {
	ec, ok := k.private.(*ecdsa.PrivateKey)
	if !ok {
		return x509.MarshalPKCS8PrivateKey(k.private)
	}
	c := k.Curve()
	params, err := asn1.Marshal(c.oid)
	if err != nil {
		return nil, err
	}
	type ecPriv struct {
		Version    int
		PrivateKey []byte
		PublicKey  asn1.BitString `asn1:"optional,explicit,tag:1"`
	}
	point := ecPoint(&ec.PublicKey, c.size)
	inner, err := asn1.Marshal(ecPriv{1, ec.D.FillBytes(make([]byte, c.size)), asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
	if err != nil {
		return nil, err
	}
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	type pkcs8 struct {
		Version    int
		Algorithm  algID
		PrivateKey []byte
	}
	return asn1.Marshal(pkcs8{0, algID{oidECPublicKey, asn1.RawValue{FullBytes: params}}, inner})
}

// ecRawToDER converts a raw r||s ECDSA signature (PKCS#11 format) to the DER
// Ecdsa-Sig-Value openssl verifies (RFC 3279 §2.2.3).
func ecRawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("raw ECDSA signature of odd length %d", len(raw))
	}
	h := len(raw) / 2
	return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:h]), new(big.Int).SetBytes(raw[h:])})
}
