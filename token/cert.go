package token

import (
	"bytes"
	"crypto/sha1"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/kmsbackend"
)

// CertificateConfig attaches a certificate file to a key: the token serves it
// as a CKO_CERTIFICATE object with the key's CKA_ID and CKA_LABEL (Java
// SunPKCS11 lists only keys that have one; osslsigncode -pkcs11cert reads it).
type CertificateConfig struct {
	// Key names the key: an alias (with or without "alias/"), a key id or a key ARN.
	Key string `yaml:"key"`
	// File is a PEM or DER X.509 certificate whose public key is the key's.
	File string `yaml:"file"`
}

// loadedCert is a parsed certificate from the configuration.
type loadedCert struct {
	key  string
	cert *certView
}

// loadCertificates reads and parses every configured certificate file.
func loadCertificates(field string, cs []CertificateConfig) ([]loadedCert, error) {
	out := make([]loadedCert, 0, len(cs))
	for i, c := range cs {
		f := fmt.Sprintf("%s.certificates[%d]", field, i)
		if c.Key == "" || c.File == "" {
			return nil, fmt.Errorf("%s: key and file are both required", f)
		}
		data, err := os.ReadFile(c.File)
		if err != nil {
			return nil, fmt.Errorf("%s.file: %w", f, err)
		}
		der := data
		if b, _ := pem.Decode(data); b != nil {
			if b.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("%s.file: PEM block %q, want CERTIFICATE", f, b.Type)
			}
			der = b.Bytes
		}
		cert, err := parseCertView(der)
		if err != nil {
			return nil, fmt.Errorf("%s.file: %w", f, err)
		}
		out = append(out, loadedCert{key: c.Key, cert: cert})
	}
	return out, nil
}

// names reports whether the configured key reference names this key.
func (c loadedCert) names(info *kmsbackend.KeyInfo) bool {
	if c.key == info.ID || c.key == info.ARN {
		return true
	}
	for _, a := range info.Aliases {
		if aliasName(c.key) == a {
			return true
		}
	}
	return false
}

// newCertObject builds the CKO_CERTIFICATE object (PKCS#11 2.40 §4.6.3, X.509
// public key certificate) for a key whose public key the certificate carries.
func newCertObject(c loadedCert, info *kmsbackend.KeyInfo) (*object, error) {
	if !bytes.Equal(c.cert.spki, info.PublicKeyDER) {
		return nil, fmt.Errorf("certificate %q does not carry the public key of %s", c.cert.name, info.ARN)
	}
	check := sha1.Sum(c.cert.der)
	spkiHash := sha1.Sum(c.cert.spki)
	attrs := map[uint][]byte{
		ck.CKA_CLASS:                      encodeULong(ck.CKO_CERTIFICATE),
		ck.CKA_TOKEN:                      encodeBool(true),
		ck.CKA_PRIVATE:                    encodeBool(false),
		ck.CKA_MODIFIABLE:                 encodeBool(false),
		ck.CKA_COPYABLE:                   encodeBool(false),
		ck.CKA_DESTROYABLE:                encodeBool(false),
		ck.CKA_LABEL:                      []byte(keyObjectLabel(info)),
		ck.CKA_ID:                         keyObjectID(info),
		ck.CKA_CERTIFICATE_TYPE:           encodeULong(ck.CKC_X_509),
		ck.CKA_TRUSTED:                    encodeBool(false),
		ck.CKA_CERTIFICATE_CATEGORY:       encodeULong(ck.CertificateCategoryTokenUser),
		ck.CKA_CHECK_VALUE:                check[:3],
		ck.CKA_START_DATE:                 encodeDate(c.cert.notBefor),
		ck.CKA_END_DATE:                   encodeDate(c.cert.notAfter),
		ck.CKA_PUBLIC_KEY_INFO:            c.cert.spki,
		ck.CKA_SUBJECT:                    c.cert.subject,
		ck.CKA_ISSUER:                     c.cert.issuer,
		ck.CKA_SERIAL_NUMBER:              c.cert.serial, // the DER INTEGER (§4.6.3)
		ck.CKA_VALUE:                      c.cert.der,
		ck.CKA_URL:                        {},
		ck.CKA_HASH_OF_SUBJECT_PUBLIC_KEY: spkiHash[:],
		ck.CKA_HASH_OF_ISSUER_PUBLIC_KEY:  {},
		ck.CKA_JAVA_MIDP_SECURITY_DOMAIN:  encodeULong(ck.SecurityDomainUnspecified),
		ck.CKA_NAME_HASH_ALGORITHM:        encodeULong(ck.CKM_SHA_1),
	}
	return &object{class: ck.CKO_CERTIFICATE, keyARN: info.ARN, attrs: attrs, sensitive: map[uint]bool{}}, nil
}

// certSummary is how a certificate is named in log lines.
func certSummary(c loadedCert) string {
	return strings.TrimSpace(c.cert.name)
}
