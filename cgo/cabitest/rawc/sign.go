package rawc

/*
#include <stdlib.h>
#include <string.h>
#include "rawc.h"
*/
import "C"

import "unsafe"

// Out describes the output arguments of C_Sign/C_SignFinal.
type Out struct {
	// NullBuf passes pSignature = NULL (a length query, PKCS#11 2.40 §5.2).
	NullBuf bool
	// NullLen passes pulSignatureLen = NULL.
	NullLen bool
	// Len is *pulSignatureLen on entry (the buffer's size when NullBuf is false).
	Len uint
}

// SignInit calls C_SignInit with a mechanism (and parameter bytes, copied into C memory).
func (l *Lib) SignInit(sh, mech uint, param []byte, key uint) uint {
	var m C.CK_MECHANISM
	m.mechanism = C.CK_MECHANISM_TYPE(mech)
	if len(param) > 0 {
		p := C.CBytes(param)
		defer C.free(p)
		m.pParameter = C.CK_VOID_PTR(p)
		m.ulParameterLen = C.CK_ULONG(len(param))
	}
	return uint(C.rawc_sign_init(l.c.fl, C.CK_SESSION_HANDLE(sh), &m, C.CK_OBJECT_HANDLE(key)))
}

// SignInitNull calls C_SignInit(sh, NULL, key).
func (l *Lib) SignInitNull(sh, key uint) uint {
	return uint(C.rawc_sign_init(l.c.fl, C.CK_SESSION_HANDLE(sh), nil, C.CK_OBJECT_HANDLE(key)))
}

// Sign calls C_Sign once. It returns the bytes written (min of the reported
// length and the buffer's), the reported *pulSignatureLen and the CK_RV.
func (l *Lib) Sign(sh uint, data []byte, o Out) ([]byte, uint, uint) {
	cdata := cBytes(data)
	defer C.free(unsafe.Pointer(cdata))
	return l.out(o, func(sig C.CK_BYTE_PTR, n C.CK_ULONG_PTR) C.CK_RV {
		return C.rawc_sign(l.c.fl, C.CK_SESSION_HANDLE(sh), cdata, C.CK_ULONG(len(data)), sig, n)
	})
}

// SignUpdate calls C_SignUpdate with part (NULL when part is nil and n > 0: bad).
func (l *Lib) SignUpdate(sh uint, part []byte, n uint) uint {
	var p C.CK_BYTE_PTR
	if part != nil {
		p = cBytes(part)
		defer C.free(unsafe.Pointer(p))
	}
	return uint(C.rawc_sign_update(l.c.fl, C.CK_SESSION_HANDLE(sh), p, C.CK_ULONG(n)))
}

// SignFinal calls C_SignFinal once; see Sign.
func (l *Lib) SignFinal(sh uint, o Out) ([]byte, uint, uint) {
	return l.out(o, func(sig C.CK_BYTE_PTR, n C.CK_ULONG_PTR) C.CK_RV {
		return C.rawc_sign_final(l.c.fl, C.CK_SESSION_HANDLE(sh), sig, n)
	})
}

func (l *Lib) out(o Out, call func(C.CK_BYTE_PTR, C.CK_ULONG_PTR) C.CK_RV) ([]byte, uint, uint) {
	var sig C.CK_BYTE_PTR
	if !o.NullBuf {
		sig = (C.CK_BYTE_PTR)(C.calloc(1, C.size_t(o.Len+1)))
		defer C.free(unsafe.Pointer(sig))
	}
	n := (C.CK_ULONG_PTR)(C.calloc(1, C.sizeof_CK_ULONG))
	defer C.free(unsafe.Pointer(n))
	*n = C.CK_ULONG(o.Len)
	pn := n
	if o.NullLen {
		pn = nil
	}
	rv := uint(call(sig, pn))
	var got []byte
	if sig != nil && rv == 0 {
		got = C.GoBytes(unsafe.Pointer(sig), C.int(min(uint(*n), o.Len)))
	}
	return got, uint(*n), rv
}

// cBytes copies b into C memory (at least one byte, so never NULL).
func cBytes(b []byte) C.CK_BYTE_PTR {
	p := (C.CK_BYTE_PTR)(C.calloc(1, C.size_t(len(b)+1)))
	if len(b) > 0 {
		C.memcpy(unsafe.Pointer(p), unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	return p
}
