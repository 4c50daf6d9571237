package devkms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/p11kms/p11kms/kmsbackend"
	"gopkg.in/yaml.v2"
)

// SeedKey is one key of a seed file, with its key material, so that a test
// knows every key the dev KMS holds without waiting for CreateKey.
type SeedKey struct {
	// ID is the key id (a UUID).
	ID string
	// Spec is the key spec (RSA_2048, ECC_NIST_P256, SYMMETRIC_DEFAULT, HMAC_256, ...).
	Spec kmsbackend.KeySpec
	// Usage is SIGN_VERIFY, ENCRYPT_DECRYPT (RSA, AES) or GENERATE_VERIFY_MAC (HMAC).
	Usage kmsbackend.KeyUsage
	// Description is the key's description ("" for none).
	Description string
	// Aliases are full alias names ("alias/..."), each pointing at this key.
	Aliases []string
	// Private is the private key of an asymmetric key: *rsa.PrivateKey, or
	// *ecdsa.PrivateKey (secp256k1 keys use secp256k1.S256() as the curve).
	Private crypto.Signer
	// Secret is the key material of a SYMMETRIC_DEFAULT (32 bytes) or HMAC key.
	Secret []byte
}

// seedSpecs is how the dev KMS generates and stores each key spec it can
// seed. Sources: AWS KMS Developer Guide, "Key spec reference" (sizes,
// curves, usages); local-kms README "Seeding file format" (RSA as PKCS#8,
// ECC as SEC1, AES/HMAC as hex backing keys of the spec's length).
var seedSpecs = map[kmsbackend.KeySpec]struct {
	rsaBits  int            // RSA modulus length
	curve    elliptic.Curve // ECC curve
	secret   int            // symmetric key length in bytes
	defUsage kmsbackend.KeyUsage
}{
	kmsbackend.SpecRSA2048:          {rsaBits: 2048, defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecRSA3072:          {rsaBits: 3072, defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecRSA4096:          {rsaBits: 4096, defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecECCNISTP256:      {curve: elliptic.P256(), defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecECCNISTP384:      {curve: elliptic.P384(), defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecECCNISTP521:      {curve: elliptic.P521(), defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecECCSECGP256K1:    {curve: secp256k1.S256(), defUsage: kmsbackend.UsageSignVerify},
	kmsbackend.SpecSymmetricDefault: {secret: 32, defUsage: kmsbackend.UsageEncryptDecrypt},
	kmsbackend.SpecHMAC224:          {secret: 28, defUsage: kmsbackend.UsageGenerateVerifyMac},
	kmsbackend.SpecHMAC256:          {secret: 32, defUsage: kmsbackend.UsageGenerateVerifyMac},
	kmsbackend.SpecHMAC384:          {secret: 48, defUsage: kmsbackend.UsageGenerateVerifyMac},
	kmsbackend.SpecHMAC512:          {secret: 64, defUsage: kmsbackend.UsageGenerateVerifyMac},
}

// NewSeedKey generates a key of the spec with fresh material and a random
// id. usage UsageUnknown picks the spec's usual usage (SIGN_VERIFY for
// RSA/ECC); RSA keys may also be ENCRYPT_DECRYPT. Aliases without the
// "alias/" prefix get it.
func NewSeedKey(spec kmsbackend.KeySpec, usage kmsbackend.KeyUsage, aliases ...string) (SeedKey, error) {
	s, ok := seedSpecs[spec]
	if !ok {
		return SeedKey{}, fmt.Errorf("devkms: key spec %s cannot be seeded", spec)
	}
	if usage == kmsbackend.UsageUnknown {
		usage = s.defUsage
	}
	if usage != s.defUsage && (s.rsaBits == 0 || usage != kmsbackend.UsageEncryptDecrypt) {
		return SeedKey{}, fmt.Errorf("devkms: key spec %s cannot have usage %s", spec, usage)
	}
	k := SeedKey{ID: newKeyID(), Spec: spec, Usage: usage}
	for _, a := range aliases {
		k.Aliases = append(k.Aliases, AliasName(a))
	}
	var err error
	switch {
	case s.rsaBits != 0:
		k.Private, err = rsa.GenerateKey(rand.Reader, s.rsaBits)
	case s.curve == secp256k1.S256():
		var p *secp256k1.PrivateKey
		if p, err = secp256k1.GeneratePrivateKey(); err == nil {
			k.Private = p.ToECDSA()
		}
	case s.curve != nil:
		k.Private, err = ecdsa.GenerateKey(s.curve, rand.Reader)
	default:
		k.Secret = make([]byte, s.secret)
		_, err = rand.Read(k.Secret)
	}
	if err != nil {
		return SeedKey{}, fmt.Errorf("devkms: generate %s: %w", spec, err)
	}
	return k, nil
}

// AliasName returns name with the "alias/" prefix AWS requires.
func AliasName(name string) string {
	if strings.HasPrefix(name, "alias/") {
		return name
	}
	return "alias/" + name
}

// newKeyID returns a random version-4 UUID, the form of AWS key ids.
func newKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// seedMeta, seedAsym, seedSym and seedDoc are local-kms's seed format, as
// its README documents it.
type seedMeta struct {
	KeyId       string `yaml:"KeyId"`
	KeyUsage    string `yaml:"KeyUsage,omitempty"`
	KeySpec     string `yaml:"KeySpec,omitempty"`
	Description string `yaml:"Description,omitempty"`
	Origin      string `yaml:"Origin,omitempty"`
}

type seedAsym struct {
	Metadata      seedMeta `yaml:"Metadata"`
	PrivateKeyPem string   `yaml:"PrivateKeyPem"`
}

type seedSym struct {
	Metadata    seedMeta `yaml:"Metadata"`
	BackingKeys []string `yaml:"BackingKeys"`
}

type seedAlias struct {
	AliasName   string `yaml:"AliasName"`
	TargetKeyId string `yaml:"TargetKeyId"`
}

type seedDoc struct {
	Keys struct {
		Symmetric struct {
			Aes  []seedSym `yaml:"Aes,omitempty"`
			Hmac []seedSym `yaml:"Hmac,omitempty"`
		} `yaml:"Symmetric"`
		Asymmetric struct {
			Rsa []seedAsym `yaml:"Rsa,omitempty"`
			Ecc []seedAsym `yaml:"Ecc,omitempty"`
		} `yaml:"Asymmetric"`
	} `yaml:"Keys"`
	Aliases []seedAlias `yaml:"Aliases,omitempty"`
}

// MarshalSeed encodes keys in local-kms's seed format: RSA private keys as
// PKCS#8 PEM, ECC keys as SEC1 PEM (secp256k1 included, which Start loads
// itself), AES and HMAC material as hex backing keys.
func MarshalSeed(keys []SeedKey) ([]byte, error) {
	var doc seedDoc
	for _, k := range keys {
		md := seedMeta{KeyId: k.ID, Description: k.Description, Origin: "AWS_KMS"}
		switch p := k.Private.(type) {
		case *rsa.PrivateKey:
			der, err := x509.MarshalPKCS8PrivateKey(p)
			if err != nil {
				return nil, fmt.Errorf("devkms: seed key %s: %w", k.ID, err)
			}
			md.KeyUsage = k.Usage.String()
			doc.Keys.Asymmetric.Rsa = append(doc.Keys.Asymmetric.Rsa, seedAsym{md, pemString("PRIVATE KEY", der)})
		case *ecdsa.PrivateKey:
			der, err := marshalSEC1(p)
			if err != nil {
				return nil, fmt.Errorf("devkms: seed key %s: %w", k.ID, err)
			}
			md.KeyUsage = kmsbackend.UsageSignVerify.String()
			doc.Keys.Asymmetric.Ecc = append(doc.Keys.Asymmetric.Ecc, seedAsym{md, pemString("EC PRIVATE KEY", der)})
		case nil:
			sym := seedSym{md, []string{hex.EncodeToString(k.Secret)}}
			switch {
			case k.Spec == kmsbackend.SpecSymmetricDefault:
				doc.Keys.Symmetric.Aes = append(doc.Keys.Symmetric.Aes, sym)
			case seedSpecs[k.Spec].defUsage == kmsbackend.UsageGenerateVerifyMac:
				sym.Metadata.KeySpec = k.Spec.String()
				sym.Metadata.KeyUsage = kmsbackend.UsageGenerateVerifyMac.String()
				doc.Keys.Symmetric.Hmac = append(doc.Keys.Symmetric.Hmac, sym)
			default:
				return nil, fmt.Errorf("devkms: seed key %s: spec %s needs a private key", k.ID, k.Spec)
			}
		default:
			return nil, fmt.Errorf("devkms: seed key %s: unsupported private key %T", k.ID, k.Private)
		}
		for _, a := range k.Aliases {
			doc.Aliases = append(doc.Aliases, seedAlias{AliasName(a), k.ID})
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("devkms: seed: %w", err)
	}
	return append([]byte("# p11kms dev KMS seed (local-kms format). Contains private keys in cleartext: development only.\n"), out...), nil
}

// WriteSeedFile writes keys to path (mode 0600) in local-kms's seed format.
func WriteSeedFile(path string, keys []SeedKey) error {
	b, err := MarshalSeed(keys)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}

// marshalSEC1 encodes an ECDSA private key as an RFC 5915 ECPrivateKey;
// Go's x509.MarshalECPrivateKey refuses secp256k1.
func marshalSEC1(p *ecdsa.PrivateKey) ([]byte, error) {
	if p.Curve != secp256k1.S256() {
		return x509.MarshalECPrivateKey(p)
	}
	d := make([]byte, 32)
	p.D.FillBytes(d)
	pub := secp256k1.PrivKeyFromBytes(d).PubKey().SerializeUncompressed()
	return asn1.Marshal(sec1Key{
		Version:       1,
		PrivateKey:    d,
		NamedCurveOID: eccCurves[3].oid,
		PublicKey:     asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
}
