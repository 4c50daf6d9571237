package main

/*
#include "p11kms.h"
*/
import "C"

import "unsafe"

// p11kms_C_SignInit implements C_SignInit (PKCS#11 2.40 §5.11).
//
//export p11kms_C_SignInit
func p11kms_C_SignInit(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_SignInit", &rv)
	mech, err := goSignMechanism(pMechanism)
	if err != nil {
		return done("C_SignInit", err)
	}
	return done("C_SignInit", mod.SignInit(uint(hSession), mech, uint(hKey)))
}

// p11kms_C_Sign implements C_Sign (PKCS#11 2.40 §5.11) with the §5.2
// conventions: pSignature NULL is a size query, a short buffer gets
// CKR_BUFFER_TOO_SMALL and the length (the token keeps the operation).
//
//export p11kms_C_Sign
func p11kms_C_Sign(hSession C.CK_SESSION_HANDLE, pData *C.CK_BYTE, ulDataLen C.CK_ULONG, pSignature *C.CK_BYTE, pulSignatureLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Sign", &rv)
	if pulSignatureLen == nil {
		return done("C_Sign", endSign(uint(hSession), argsBad("pulSignatureLen is NULL")))
	}
	data, err := goBytes(unsafe.Pointer(pData), ulDataLen, "pData")
	if err != nil {
		return done("C_Sign", endSign(uint(hSession), err))
	}
	query, bufLen := pSignature == nil, uint(*pulSignatureLen)
	sig, n, err := mod.Sign(uint(hSession), data, query, bufLen)
	return done("C_Sign", putOutput(unsafe.Pointer(pSignature), pulSignatureLen, bufLen, sig, n, err))
}

// p11kms_C_SignUpdate implements C_SignUpdate (PKCS#11 2.40 §5.11).
//
//export p11kms_C_SignUpdate
func p11kms_C_SignUpdate(hSession C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_SignUpdate", &rv)
	part, err := goBytes(unsafe.Pointer(pPart), ulPartLen, "pPart")
	if err != nil {
		return done("C_SignUpdate", endSign(uint(hSession), err))
	}
	return done("C_SignUpdate", mod.SignUpdate(uint(hSession), part))
}

// p11kms_C_SignFinal implements C_SignFinal (PKCS#11 2.40 §5.11), with
// C_Sign's output conventions.
//
//export p11kms_C_SignFinal
func p11kms_C_SignFinal(hSession C.CK_SESSION_HANDLE, pSignature *C.CK_BYTE, pulSignatureLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_SignFinal", &rv)
	if pulSignatureLen == nil {
		return done("C_SignFinal", endSign(uint(hSession), argsBad("pulSignatureLen is NULL")))
	}
	query, bufLen := pSignature == nil, uint(*pulSignatureLen)
	sig, n, err := mod.SignFinal(uint(hSession), query, bufLen)
	return done("C_SignFinal", putOutput(unsafe.Pointer(pSignature), pulSignatureLen, bufLen, sig, n, err))
}
