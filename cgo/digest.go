package main

/*
#include "p11kms.h"
*/
import "C"

import "unsafe"

// endDigest ends the session's digest operation after err, a cgo-decided failure.
func endDigest(sh uint, err error) error {
	mod.EndDigest(sh)
	return err
}

// p11kms_C_DigestInit implements C_DigestInit (PKCS#11 2.40 §5.10).
//
//export p11kms_C_DigestInit
func p11kms_C_DigestInit(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM) (rv C.CK_RV) {
	defer recoverPanic("C_DigestInit", &rv)
	mech, err := goMechanism(pMechanism)
	if err != nil {
		return done("C_DigestInit", err)
	}
	return done("C_DigestInit", mod.DigestInit(uint(hSession), mech))
}

// p11kms_C_Digest implements C_Digest (PKCS#11 2.40 §5.10) with the §5.2
// output conventions (see p11kms_C_Sign). Input and output may overlap: the
// input is copied first.
//
//export p11kms_C_Digest
func p11kms_C_Digest(hSession C.CK_SESSION_HANDLE, pData *C.CK_BYTE, ulDataLen C.CK_ULONG, pDigest *C.CK_BYTE, pulDigestLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Digest", &rv)
	sh := uint(hSession)
	if pulDigestLen == nil {
		return done("C_Digest", endDigest(sh, argsBad("pulDigestLen is NULL")))
	}
	data, err := goBytes(unsafe.Pointer(pData), ulDataLen, "pData")
	if err != nil {
		return done("C_Digest", endDigest(sh, err))
	}
	query, bufLen := pDigest == nil, uint(*pulDigestLen)
	sum, n, err := mod.Digest(sh, data, query, bufLen)
	return done("C_Digest", putOutput(unsafe.Pointer(pDigest), pulDigestLen, bufLen, sum, n, err))
}

// p11kms_C_DigestUpdate implements C_DigestUpdate (PKCS#11 2.40 §5.10).
//
//export p11kms_C_DigestUpdate
func p11kms_C_DigestUpdate(hSession C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_DigestUpdate", &rv)
	part, err := goBytes(unsafe.Pointer(pPart), ulPartLen, "pPart")
	if err != nil {
		return done("C_DigestUpdate", endDigest(uint(hSession), err))
	}
	return done("C_DigestUpdate", mod.DigestUpdate(uint(hSession), part))
}

// p11kms_C_DigestKey implements C_DigestKey (PKCS#11 2.40 §5.10):
// CKR_FUNCTION_NOT_SUPPORTED, as key values never reach the module.
//
//export p11kms_C_DigestKey
func p11kms_C_DigestKey(hSession C.CK_SESSION_HANDLE, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_DigestKey", &rv)
	return done("C_DigestKey", mod.DigestKey(uint(hSession), uint(hKey)))
}

// p11kms_C_DigestFinal implements C_DigestFinal (PKCS#11 2.40 §5.10), with
// C_Digest's output conventions.
//
//export p11kms_C_DigestFinal
func p11kms_C_DigestFinal(hSession C.CK_SESSION_HANDLE, pDigest *C.CK_BYTE, pulDigestLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_DigestFinal", &rv)
	sh := uint(hSession)
	if pulDigestLen == nil {
		return done("C_DigestFinal", endDigest(sh, argsBad("pulDigestLen is NULL")))
	}
	query, bufLen := pDigest == nil, uint(*pulDigestLen)
	sum, n, err := mod.DigestFinal(sh, query, bufLen)
	return done("C_DigestFinal", putOutput(unsafe.Pointer(pDigest), pulDigestLen, bufLen, sum, n, err))
}
