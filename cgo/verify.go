package main

/*
#include "p11kms.h"
*/
import "C"

import "unsafe"

// p11kms_C_VerifyInit implements C_VerifyInit (PKCS#11 2.40 §5.12).
//
//export p11kms_C_VerifyInit
func p11kms_C_VerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_VerifyInit", &rv)
	mech, err := goSignMechanism(pMechanism)
	if err != nil {
		return done("C_VerifyInit", err)
	}
	return done("C_VerifyInit", mod.VerifyInit(uint(hSession), mech, uint(hKey)))
}

// p11kms_C_Verify implements C_Verify (PKCS#11 2.40 §5.12).
//
//export p11kms_C_Verify
func p11kms_C_Verify(hSession C.CK_SESSION_HANDLE, pData *C.CK_BYTE, ulDataLen C.CK_ULONG, pSignature *C.CK_BYTE, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Verify", &rv)
	data, err := goBytes(unsafe.Pointer(pData), ulDataLen, "pData")
	if err != nil {
		return done("C_Verify", endVerify(uint(hSession), err))
	}
	sig, err := goBytes(unsafe.Pointer(pSignature), ulSignatureLen, "pSignature")
	if err != nil {
		return done("C_Verify", endVerify(uint(hSession), err))
	}
	return done("C_Verify", mod.Verify(uint(hSession), data, sig))
}

// p11kms_C_VerifyUpdate implements C_VerifyUpdate (PKCS#11 2.40 §5.12).
//
//export p11kms_C_VerifyUpdate
func p11kms_C_VerifyUpdate(hSession C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, ulPartLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_VerifyUpdate", &rv)
	part, err := goBytes(unsafe.Pointer(pPart), ulPartLen, "pPart")
	if err != nil {
		return done("C_VerifyUpdate", endVerify(uint(hSession), err))
	}
	return done("C_VerifyUpdate", mod.VerifyUpdate(uint(hSession), part))
}

// p11kms_C_VerifyFinal implements C_VerifyFinal (PKCS#11 2.40 §5.12).
//
//export p11kms_C_VerifyFinal
func p11kms_C_VerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature *C.CK_BYTE, ulSignatureLen C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_VerifyFinal", &rv)
	sig, err := goBytes(unsafe.Pointer(pSignature), ulSignatureLen, "pSignature")
	if err != nil {
		return done("C_VerifyFinal", endVerify(uint(hSession), err))
	}
	return done("C_VerifyFinal", mod.VerifyFinal(uint(hSession), sig))
}
