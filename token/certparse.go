package token

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// certView is what a CKO_CERTIFICATE object needs from an X.509 certificate
// (RFC 5280 §4.1). It is parsed with encoding/asn1 rather than crypto/x509,
// which refuses certificates for curves it does not implement (secp256k1).
type certView struct {
	der      []byte
	spki     []byte // SubjectPublicKeyInfo, DER
	subject  []byte // Name, DER
	issuer   []byte // Name, DER
	serial   []byte // CertificateSerialNumber as a DER INTEGER
	notAfter time.Time
	notBefor time.Time
	name     string // the subject, for log lines
}

// tbsCertificate is RFC 5280 §4.1's TBSCertificate up to subjectPublicKeyInfo;
// the optional fields after it are not needed.
type tbsCertificate struct {
	Version   int `asn1:"optional,explicit,default:0,tag:0"`
	Serial    asn1.RawValue
	Signature asn1.RawValue
	Issuer    asn1.RawValue
	Validity  struct{ NotBefore, NotAfter time.Time }
	Subject   asn1.RawValue
	SPKI      asn1.RawValue
}

// parseCertView parses a DER certificate.
func parseCertView(der []byte) (*certView, error) {
	var outer struct {
		TBS    asn1.RawValue
		SigAlg asn1.RawValue
		Sig    asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &outer)
	if err != nil {
		return nil, fmt.Errorf("not an X.509 certificate: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes after the certificate")
	}
	var tbs tbsCertificate
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("certificate body: %w", err)
	}
	if tbs.Serial.Tag != asn1.TagInteger || tbs.Serial.Class != asn1.ClassUniversal {
		return nil, errors.New("certificate serial number is not an INTEGER")
	}
	var subject pkix.RDNSequence
	if _, err := asn1.Unmarshal(tbs.Subject.FullBytes, &subject); err != nil {
		return nil, fmt.Errorf("certificate subject: %w", err)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&subject)
	return &certView{
		der: der, spki: tbs.SPKI.FullBytes, subject: tbs.Subject.FullBytes, issuer: tbs.Issuer.FullBytes,
		serial: tbs.Serial.FullBytes, notBefor: tbs.Validity.NotBefore, notAfter: tbs.Validity.NotAfter,
		name: name.String(),
	}, nil
}
