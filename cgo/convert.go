package main

/*
#include "p11kms.h"
*/
import "C"

import (
	"math"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/token"
)

// maxTemplate bounds the attribute count of a template: no object has that
// many attributes, and the bound keeps a garbage count from making the module
// allocate gigabytes.
const maxTemplate = 1 << 16

// goBytes copies the n bytes at p into Go memory; the C pointer is not kept.
// NULL with n > 0 is CKR_ARGUMENTS_BAD; NULL with n == 0 gives nil, a non-NULL
// pointer with n == 0 an empty slice.
func goBytes(p unsafe.Pointer, n C.CK_ULONG, what string) ([]byte, error) {
	switch {
	case n == 0 && p == nil:
		return nil, nil
	case n == 0:
		return []byte{}, nil
	case p == nil:
		return nil, argsBad("%s is NULL with length %d", what, uint(n))
	case uint64(n) > math.MaxInt:
		return nil, argsBad("%s length %d is out of range", what, uint(n))
	}
	out := make([]byte, int(n))
	copy(out, unsafe.Slice((*byte)(p), int(n)))
	return out, nil
}

// putBytes copies b into the C buffer at p, which the caller has checked holds len(b) bytes.
func putBytes(p unsafe.Pointer, b []byte) {
	if len(b) > 0 {
		copy(unsafe.Slice((*byte)(p), len(b)), b)
	}
}

// goMechanism copies a CK_MECHANISM; its parameter is copied as the raw bytes
// of the C structure (token.Mechanism).
func goMechanism(p *C.CK_MECHANISM) (token.Mechanism, error) {
	if p == nil {
		return token.Mechanism{}, argsBad("pMechanism is NULL")
	}
	param, err := goBytes(unsafe.Pointer(p.pParameter), p.ulParameterLen, "pMechanism->pParameter")
	if err != nil {
		return token.Mechanism{}, err
	}
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, nil
}

// cTemplate returns the C template as a slice of C memory, after the NULL and
// count checks; it must not outlive the call.
func cTemplate(p *C.CK_ATTRIBUTE, n C.CK_ULONG) ([]C.CK_ATTRIBUTE, error) {
	switch {
	case n == 0:
		return nil, nil
	case p == nil:
		return nil, argsBad("pTemplate is NULL with ulCount %d", uint(n))
	case n > maxTemplate:
		return nil, argsBad("ulCount %d exceeds %d", uint(n), maxTemplate)
	}
	return unsafe.Slice(p, int(n)), nil
}

// goTemplate copies a search template (values included) into Go memory.
func goTemplate(p *C.CK_ATTRIBUTE, n C.CK_ULONG) ([]token.Attribute, error) {
	tmpl, err := cTemplate(p, n)
	if err != nil {
		return nil, err
	}
	out := make([]token.Attribute, len(tmpl))
	for i, a := range tmpl {
		v, err := goBytes(unsafe.Pointer(a.pValue), a.ulValueLen, "pTemplate[].pValue")
		if err != nil {
			return nil, err
		}
		out[i] = token.Attribute{Type: uint(a._type), Value: v}
	}
	return out, nil
}

// putULongs implements the PKCS#11 2.40 §5.2 convention for a list of
// CK_ULONG-sized values (CK_SLOT_ID, CK_MECHANISM_TYPE): with p NULL only the
// count is returned; a buffer shorter than the list gets CKR_BUFFER_TOO_SMALL
// and the count; otherwise the list is copied.
func putULongs(list []uint, p *C.CK_ULONG, pulCount *C.CK_ULONG) error {
	n := C.CK_ULONG(len(list))
	if p == nil {
		*pulCount = n
		return nil
	}
	if *pulCount < n {
		have := uint(*pulCount)
		*pulCount = n
		return ck.Errorf(ck.CKR_BUFFER_TOO_SMALL, "buffer holds %d, list has %d", have, len(list))
	}
	dst := unsafe.Slice(p, len(list))
	for i, v := range list {
		dst[i] = C.CK_ULONG(v)
	}
	*pulCount = n
	return nil
}

// putOutput writes the result of an operation with output (C_Sign, C_SignFinal)
// under the PKCS#11 2.40 §5.2 conventions: the length on success or
// CKR_BUFFER_TOO_SMALL, the bytes only on success with a buffer of bufLen bytes.
func putOutput(p unsafe.Pointer, pulLen *C.CK_ULONG, bufLen uint, out []byte, n uint, err error) error {
	switch token.RV(err) {
	case ck.CKR_OK:
	case ck.CKR_BUFFER_TOO_SMALL:
		*pulLen = C.CK_ULONG(n)
		return err
	default:
		return err
	}
	*pulLen = C.CK_ULONG(n)
	if p == nil {
		return nil
	}
	if uint(len(out)) > bufLen {
		// The token promised never to do this; refuse rather than overflow.
		*pulLen = C.CK_ULONG(len(out))
		return ck.Errorf(ck.CKR_GENERAL_ERROR, "token returned %d bytes for a %d-byte buffer", len(out), bufLen)
	}
	putBytes(p, out)
	*pulLen = C.CK_ULONG(len(out))
	return nil
}

// padded returns s as exactly n bytes of UTF-8 blank-padded on the right, as
// CK_INFO, CK_SLOT_INFO and CK_TOKEN_INFO want (PKCS#11 2.40 §3.1/§3.2: not
// NUL-terminated). Invalid UTF-8 becomes U+FFFD; a too-long string is cut at a
// character boundary.
func padded(s string, n int) []byte {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	b := make([]byte, n)
	copy(b, s)
	for i := len(s); i < n; i++ {
		b[i] = ' '
	}
	return b
}

// putPaddedUTF8 fills a CK_UTF8CHAR array field of a C structure.
func putPaddedUTF8(dst []C.CK_UTF8CHAR, s string) {
	for i, c := range padded(s, len(dst)) {
		dst[i] = C.CK_UTF8CHAR(c)
	}
}

// putPaddedChar fills a CK_CHAR array field of a C structure.
func putPaddedChar(dst []C.CK_CHAR, s string) {
	for i, c := range padded(s, len(dst)) {
		dst[i] = C.CK_CHAR(c)
	}
}

// ckVersion converts a token.Version.
func ckVersion(v token.Version) C.CK_VERSION {
	return C.CK_VERSION{major: C.CK_BYTE(v.Major), minor: C.CK_BYTE(v.Minor)}
}

// paramField copies one pointer-and-length field of a mechanism parameter
// structure (the EdDSA and ML-DSA context, the ECDH shared and public
// data): more than max bytes, or a NULL pointer with a length, is
// CKR_MECHANISM_PARAM_INVALID, named by its structure and field.
func paramField(ptr unsafe.Pointer, n C.CK_ULONG, max uint, structure, field string) ([]byte, error) {
	if uint64(n) > uint64(max) || (ptr == nil && n > 0) {
		return nil, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "%s %s: %d bytes at %s (at most %d)",
			structure, field, uint64(n), map[bool]string{true: "NULL", false: "a pointer"}[ptr == nil], max)
	}
	return goBytes(ptr, n, field)
}
