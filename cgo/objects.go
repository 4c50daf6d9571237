package main

/*
#include "p11kms.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/token"
)

// attrResultRVs are the outcomes of C_GetAttributeValue after which every
// ulValueLen of the template has been decided and is written back (PKCS#11
// 2.40 §5.7 C_GetAttributeValue).
var attrResultRVs = map[uint]bool{
	ck.CKR_OK:                     true, // all values given
	ck.CKR_ATTRIBUTE_SENSITIVE:    true, // some CK_UNAVAILABLE_INFORMATION
	ck.CKR_ATTRIBUTE_TYPE_INVALID: true, // some CK_UNAVAILABLE_INFORMATION
	ck.CKR_BUFFER_TOO_SMALL:       true, // some CK_UNAVAILABLE_INFORMATION
}

// p11kms_C_GetAttributeValue implements C_GetAttributeValue (PKCS#11 2.40
// §5.7): the token decides each entry (token.AttrRequest); this copies the
// values into the caller's buffers and writes every ulValueLen back.
//
//export p11kms_C_GetAttributeValue
func p11kms_C_GetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate *C.CK_ATTRIBUTE, ulCount C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_GetAttributeValue", &rv)
	tmpl, err := cTemplate(pTemplate, ulCount)
	if err != nil {
		return done("C_GetAttributeValue", err)
	}
	reqs := make([]token.AttrRequest, len(tmpl))
	for i, a := range tmpl {
		reqs[i] = token.AttrRequest{Type: uint(a._type), HasBuf: a.pValue != nil, BufLen: uint(a.ulValueLen)}
	}
	err = mod.GetAttributeValue(uint(hSession), uint(hObject), reqs)
	if !attrResultRVs[token.RV(err)] {
		return done("C_GetAttributeValue", err)
	}
	for i, r := range reqs {
		if r.Value != nil && r.HasBuf {
			if uint(len(r.Value)) > r.BufLen {
				// The token promised never to do this; refuse rather than overflow.
				tmpl[i].ulValueLen = C.CK_ULONG(ck.UnavailableInformation)
				err = ck.Errorf(ck.CKR_GENERAL_ERROR, "token returned %d bytes of attribute 0x%x for a %d-byte buffer", len(r.Value), r.Type, r.BufLen)
				continue
			}
			putBytes(unsafe.Pointer(tmpl[i].pValue), r.Value)
		}
		tmpl[i].ulValueLen = C.CK_ULONG(r.Len)
	}
	return done("C_GetAttributeValue", err)
}

// p11kms_C_GetObjectSize implements C_GetObjectSize (PKCS#11 2.40 §5.7).
//
//export p11kms_C_GetObjectSize
func p11kms_C_GetObjectSize(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pulSize *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_GetObjectSize", &rv)
	if pulSize == nil {
		return done("C_GetObjectSize", argsBad("pulSize is NULL"))
	}
	n, err := mod.GetObjectSize(uint(hSession), uint(hObject))
	if err == nil {
		*pulSize = C.CK_ULONG(n)
	}
	return done("C_GetObjectSize", err)
}

// p11kms_C_FindObjectsInit implements C_FindObjectsInit (PKCS#11 2.40 §5.7).
//
//export p11kms_C_FindObjectsInit
func p11kms_C_FindObjectsInit(hSession C.CK_SESSION_HANDLE, pTemplate *C.CK_ATTRIBUTE, ulCount C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_FindObjectsInit", &rv)
	tmpl, err := goTemplate(pTemplate, ulCount)
	if err != nil {
		return done("C_FindObjectsInit", err)
	}
	return done("C_FindObjectsInit", mod.FindObjectsInit(uint(hSession), tmpl))
}

// p11kms_C_FindObjects implements C_FindObjects (PKCS#11 2.40 §5.7): up to
// ulMaxObjectCount handles into phObject, their number into *pulObjectCount.
//
//export p11kms_C_FindObjects
func p11kms_C_FindObjects(hSession C.CK_SESSION_HANDLE, phObject *C.CK_OBJECT_HANDLE, ulMaxObjectCount C.CK_ULONG, pulObjectCount *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_FindObjects", &rv)
	if pulObjectCount == nil {
		return done("C_FindObjects", argsBad("pulObjectCount is NULL"))
	}
	if phObject == nil && ulMaxObjectCount > 0 {
		return done("C_FindObjects", argsBad("phObject is NULL with ulMaxObjectCount %d", uint(ulMaxObjectCount)))
	}
	max := int(min(uint64(ulMaxObjectCount), math.MaxInt32))
	list, err := mod.FindObjects(uint(hSession), max)
	if err != nil {
		return done("C_FindObjects", err)
	}
	if len(list) > max {
		return done("C_FindObjects", ck.Errorf(ck.CKR_GENERAL_ERROR, "token returned %d handles for %d", len(list), max))
	}
	if len(list) > 0 {
		dst := unsafe.Slice(phObject, len(list))
		for i, h := range list {
			dst[i] = C.CK_OBJECT_HANDLE(h)
		}
	}
	*pulObjectCount = C.CK_ULONG(len(list))
	return done("C_FindObjects", nil)
}

// p11kms_C_FindObjectsFinal implements C_FindObjectsFinal (PKCS#11 2.40 §5.7).
//
//export p11kms_C_FindObjectsFinal
func p11kms_C_FindObjectsFinal(hSession C.CK_SESSION_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_FindObjectsFinal", &rv)
	return done("C_FindObjectsFinal", mod.FindObjectsFinal(uint(hSession)))
}
