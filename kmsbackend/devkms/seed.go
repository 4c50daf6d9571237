package devkms

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/nsmithuk/local-kms/src/cmk"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/syndtr/goleveldb/leveldb"
	"gopkg.in/yaml.v2"
)

// seedFile is local-kms's seed format (its README, "Seeding file format").
// AES, HMAC and RSA entries are decoded by local-kms's own types; ECC entries
// are decoded here, so that secp256k1 keys (which Go's crypto/x509, and so
// local-kms's seeder, cannot parse) can be seeded too.
type seedFile struct {
	Keys struct {
		Symmetric struct {
			Aes  []cmk.AesKey  `yaml:"Aes"`
			Hmac []cmk.HmacKey `yaml:"Hmac"`
		} `yaml:"Symmetric"`
		Asymmetric struct {
			Rsa []cmk.RsaKey `yaml:"Rsa"`
			Ecc []eccSeed    `yaml:"Ecc"`
		} `yaml:"Asymmetric"`
	} `yaml:"Keys"`
	Aliases []data.Alias `yaml:"Aliases"`
}

// eccSeed is one Keys.Asymmetric.Ecc entry: metadata and a SEC1 PEM key.
type eccSeed struct {
	Metadata      cmk.KeyMetadata `yaml:"Metadata"`
	PrivateKeyPem string          `yaml:"PrivateKeyPem"`
}

// seedCounts reports what a seed file added.
type seedCounts struct{ Keys, Aliases int }

// eccCurves maps a SEC1 named-curve OID to the KMS key spec and its one
// signing algorithm. Sources: RFC 5480 §2.1.1.1 (P-256/384/521 OIDs), SEC 2
// v2 §A.2 (secp256k1 OID); AWS KMS Developer Guide, "Key spec reference",
// ECC key specs (one ECDSA algorithm per curve).
var eccCurves = []struct {
	oid  asn1.ObjectIdentifier
	spec cmk.KeySpec
	alg  cmk.SigningAlgorithm
}{
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, cmk.SpecEccNistP256, cmk.SigningAlgorithmEcdsaSha256},
	{asn1.ObjectIdentifier{1, 3, 132, 0, 34}, cmk.SpecEccNistP384, cmk.SigningAlgorithmEcdsaSha384},
	{asn1.ObjectIdentifier{1, 3, 132, 0, 35}, cmk.SpecEccNistP521, cmk.SigningAlgorithmEcdsaSha512},
	{asn1.ObjectIdentifier{1, 3, 132, 0, 10}, cmk.SpecEccSecp256k1, cmk.SigningAlgorithmEcdsaSha256},
}

// loadSeedFile adds the keys and aliases of a seed file to db. Keys and
// aliases that already exist are kept as they are (local-kms's rule), so a
// persistent data directory can be restarted with the same seed.
func loadSeedFile(path string, db *data.Database) (seedCounts, error) {
	var n seedCounts
	raw, err := os.ReadFile(path)
	if err != nil {
		return n, fmt.Errorf("devkms: seed: %w", err)
	}
	var sf seedFile
	if err := yaml.UnmarshalStrict(raw, &sf); err != nil {
		return n, fmt.Errorf("devkms: seed %s: %w", path, err)
	}
	var keys []cmk.Key
	for i := range sf.Keys.Symmetric.Aes {
		keys = append(keys, &sf.Keys.Symmetric.Aes[i])
	}
	for i := range sf.Keys.Symmetric.Hmac {
		keys = append(keys, &sf.Keys.Symmetric.Hmac[i])
	}
	for i := range sf.Keys.Asymmetric.Rsa {
		keys = append(keys, &sf.Keys.Asymmetric.Rsa[i])
	}
	for _, e := range sf.Keys.Asymmetric.Ecc {
		k, err := e.key()
		if err != nil {
			return n, fmt.Errorf("devkms: seed %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		if k.GetMetadata().KeyId == "" {
			return n, fmt.Errorf("devkms: seed %s: a key has no Metadata.KeyId", path)
		}
		if _, err := db.LoadKey(k.GetArn()); !errors.As(err, &data.KeyNotFoundError) {
			continue // exists (or unreadable): keep what is stored
		}
		if err := db.SaveKey(k); err != nil {
			return n, fmt.Errorf("devkms: seed %s: save key %s: %w", path, k.GetMetadata().KeyId, err)
		}
		n.Keys++
	}
	for _, a := range sf.Aliases {
		a.AliasArn = config.ArnPrefix() + a.AliasName
		if _, err := db.LoadAlias(a.AliasArn); !errors.Is(err, leveldb.ErrNotFound) {
			continue
		}
		if err := db.SaveAlias(&a); err != nil {
			return n, fmt.Errorf("devkms: seed %s: save alias %s: %w", path, a.AliasName, err)
		}
		n.Aliases++
	}
	return n, nil
}

// sec1Key is the ECPrivateKey structure of RFC 5915 §3 (SEC1).
type sec1Key struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// key builds local-kms's EccKey from the entry, with the metadata local-kms
// gives every seeded key (cmk.defaultSeededKeyMetadata).
func (e eccSeed) key() (*cmk.EccKey, error) {
	md := e.Metadata
	block, _ := pem.Decode([]byte(e.PrivateKeyPem))
	if block == nil {
		return nil, fmt.Errorf("ECC key %s: no PEM block", md.KeyId)
	}
	var sk sec1Key
	if _, err := asn1.Unmarshal(block.Bytes, &sk); err != nil {
		return nil, fmt.Errorf("ECC key %s: SEC1: %w", md.KeyId, err)
	}
	var priv *ecdsa.PrivateKey
	for _, c := range eccCurves {
		if !c.oid.Equal(sk.NamedCurveOID) {
			continue
		}
		md.KeySpec, md.SigningAlgorithms = c.spec, []cmk.SigningAlgorithm{c.alg}
		if c.spec == cmk.SpecEccSecp256k1 {
			priv = secp256k1.PrivKeyFromBytes(sk.PrivateKey).ToECDSA()
			if priv.D.Cmp(new(big.Int).SetBytes(sk.PrivateKey)) != 0 || priv.D.Sign() == 0 {
				return nil, fmt.Errorf("ECC key %s: secp256k1 scalar out of range", md.KeyId)
			}
		} else {
			p, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("ECC key %s: %w", md.KeyId, err)
			}
			priv = p
		}
	}
	if priv == nil {
		return nil, fmt.Errorf("ECC key %s: unsupported curve %v", md.KeyId, sk.NamedCurveOID)
	}
	switch md.KeyUsage {
	case "":
		md.KeyUsage = cmk.UsageSignVerify
	case cmk.UsageSignVerify:
	default:
		return nil, fmt.Errorf("ECC key %s: KeyUsage %s: ECC keys only SIGN_VERIFY", md.KeyId, md.KeyUsage)
	}
	if md.Origin == "" {
		md.Origin = cmk.KeyOriginAwsKms
	}
	md.CustomerMasterKeySpec = md.KeySpec
	md.Arn = config.ArnPrefix() + "key/" + md.KeyId
	md.AWSAccountId = config.AWSAccountId
	md.CreationDate = time.Now().Unix()
	md.Enabled = true
	md.KeyManager = "CUSTOMER"
	md.KeyState = cmk.KeyStateEnabled
	k := &cmk.EccKey{PrivateKey: cmk.EcdsaPrivateKey(*priv)}
	k.Type = cmk.TypeEcc
	k.Metadata = md
	return k, nil
}
