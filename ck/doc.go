// Package ck holds the PKCS#11 constants (CKR_, CKA_, CKM_, CKO_, CKK_, CKF_, ...)
// generated from the vendored OASIS headers in cgo/include, so pure-Go packages
// can use them without cgo. Regenerate with `go generate ./ck`.
package ck

import "fmt"

//go:generate go run ./internal/gen zconst.go ../cgo/include/oasis/pkcs11t.h ../cgo/include/p11kms_v3t.h ../cgo/include/p11kms_vendor.h

// UnavailableInformation is CK_UNAVAILABLE_INFORMATION (PKCS#11 2.40 §3.2): the
// length reported for an attribute value that cannot be returned.
const UnavailableInformation = ^uint(0)

// RVName returns the name of a CK_RV ("CKR_OK"), or its hex value if unknown.
func RVName(rv uint) string {
	if n, ok := rvNames[rv]; ok {
		return n
	}
	return fmt.Sprintf("CKR_0x%08X", rv)
}

// MechName returns the name of a mechanism ("CKM_ECDSA"), or its hex value if unknown.
func MechName(m uint) string {
	if n, ok := mechNames[m]; ok {
		return n
	}
	return fmt.Sprintf("CKM_0x%08X", m)
}

// EffectivelyInfinite is CK_EFFECTIVELY_INFINITE (PKCS#11 2.40 §3.2): no limit
// on the number of sessions.
const EffectivelyInfinite = 0

// InvalidHandle is CK_INVALID_HANDLE.
const InvalidHandle = 0

// CertificateCategoryTokenUser is CK_CERTIFICATE_CATEGORY_TOKEN_USER (PKCS#11 2.40 §4.6.2).
const CertificateCategoryTokenUser = 1

// SecurityDomainUnspecified is CK_SECURITY_DOMAIN_UNSPECIFIED (PKCS#11 2.40 §4.6.3).
const SecurityDomainUnspecified = 0
