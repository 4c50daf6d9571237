package main

/*
#include "p11kms.h"
*/
import "C"

import (
	"unsafe"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
	"github.com/p11kms/p11kms/token"
)

// maxOAEPLabel bounds the OAEP label copied out of C memory: KMS takes no
// label at all, so the copy only serves the refusal's message, and the bound
// keeps a garbage ulSourceDataLen from making the module allocate gigabytes.
const maxOAEPLabel = 1 << 16

// goCryptMechanism copies a C_EncryptInit/C_DecryptInit mechanism. For
// CKM_RSA_PKCS_OAEP, CK_RSA_PKCS_OAEP_PARAMS holds a pointer (pSourceData),
// so its fields and label are read here and flattened as
// mechanisms.ParseOAEPParams expects (see mechanisms.OAEPParamsHeaderLen); no
// C pointer reaches Go. A parameter that is not exactly one C structure, or
// whose label is NULL with a length or longer than maxOAEPLabel, is
// CKR_MECHANISM_PARAM_INVALID (Current Mechanisms 2.40 §2.1.7). Other
// mechanisms are copied as goMechanism does (the token refuses them).
func goCryptMechanism(p *C.CK_MECHANISM) (token.Mechanism, error) {
	if p == nil || p.mechanism != C.CKM_RSA_PKCS_OAEP || p.pParameter == nil {
		return goMechanism(p)
	}
	if p.ulParameterLen != C.sizeof_CK_RSA_PKCS_OAEP_PARAMS {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_RSA_PKCS_OAEP parameter is %d bytes, sizeof(CK_RSA_PKCS_OAEP_PARAMS) is %d", uint(p.ulParameterLen), C.sizeof_CK_RSA_PKCS_OAEP_PARAMS)
	}
	cp := (*C.CK_RSA_PKCS_OAEP_PARAMS)(p.pParameter)
	n := cp.ulSourceDataLen
	if n > maxOAEPLabel || (cp.pSourceData == nil && n > 0) {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CK_RSA_PKCS_OAEP_PARAMS label of %d bytes at %s", uint(n), map[bool]string{true: "NULL", false: "a pointer"}[cp.pSourceData == nil])
	}
	label, err := goBytes(unsafe.Pointer(cp.pSourceData), n, "pSourceData")
	if err != nil {
		return token.Mechanism{}, err
	}
	param := mechanisms.EncodeOAEPParams(mechanisms.OAEPParams{
		Hash: uint(cp.hashAlg), MGF: uint(cp.mgf), Source: uint(cp.source), Label: label,
	})
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, nil
}

// endEncrypt ends the session's encryption after err, a cgo-decided failure.
func endEncrypt(sh uint, err error) error {
	mod.EndEncrypt(sh)
	return err
}

// endDecrypt ends the session's decryption after err, a cgo-decided failure.
func endDecrypt(sh uint, err error) error {
	mod.EndDecrypt(sh)
	return err
}

// p11kms_C_EncryptInit implements C_EncryptInit (PKCS#11 2.40 §5.8).
//
//export p11kms_C_EncryptInit
func p11kms_C_EncryptInit(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_EncryptInit", &rv)
	mech, err := goCryptMechanism(pMechanism)
	if err != nil {
		return done("C_EncryptInit", err)
	}
	return done("C_EncryptInit", mod.EncryptInit(uint(hSession), mech, uint(hKey)))
}

// p11kms_C_Encrypt implements C_Encrypt (PKCS#11 2.40 §5.8) with the §5.2
// output conventions (see p11kms_C_Sign).
//
//export p11kms_C_Encrypt
func p11kms_C_Encrypt(hSession C.CK_SESSION_HANDLE, pData *C.CK_BYTE, ulDataLen C.CK_ULONG, pEncryptedData *C.CK_BYTE, pulEncryptedDataLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Encrypt", &rv)
	sh := uint(hSession)
	if pulEncryptedDataLen == nil {
		return done("C_Encrypt", endEncrypt(sh, argsBad("pulEncryptedDataLen is NULL")))
	}
	data, err := goBytes(unsafe.Pointer(pData), ulDataLen, "pData")
	if err != nil {
		return done("C_Encrypt", endEncrypt(sh, err))
	}
	query, bufLen := pEncryptedData == nil, uint(*pulEncryptedDataLen)
	ct, n, err := mod.Encrypt(sh, data, query, bufLen)
	clear(data)
	return done("C_Encrypt", putOutput(unsafe.Pointer(pEncryptedData), pulEncryptedDataLen, bufLen, ct, n, err))
}

// p11kms_C_EncryptUpdate implements C_EncryptUpdate (PKCS#11 2.40 §5.8): the
// encryption mechanisms (CKM_RSA_PKCS_OAEP, CKM_P11KMS_KMS_BLOB, CKM_P11KMS_SM2PKE) are
// all single-part (the token refuses).
//
//export p11kms_C_EncryptUpdate
func p11kms_C_EncryptUpdate(hSession C.CK_SESSION_HANDLE, pPart *C.CK_BYTE, ulPartLen C.CK_ULONG, pEncryptedPart *C.CK_BYTE, pulEncryptedPartLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_EncryptUpdate", &rv)
	return done("C_EncryptUpdate", mod.EncryptUpdate(uint(hSession)))
}

// p11kms_C_EncryptFinal implements C_EncryptFinal (PKCS#11 2.40 §5.8); see C_EncryptUpdate.
//
//export p11kms_C_EncryptFinal
func p11kms_C_EncryptFinal(hSession C.CK_SESSION_HANDLE, pLastEncryptedPart *C.CK_BYTE, pulLastEncryptedPartLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_EncryptFinal", &rv)
	return done("C_EncryptFinal", mod.EncryptFinal(uint(hSession)))
}

// p11kms_C_DecryptInit implements C_DecryptInit (PKCS#11 2.40 §5.9).
//
//export p11kms_C_DecryptInit
func p11kms_C_DecryptInit(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM, hKey C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_DecryptInit", &rv)
	mech, err := goCryptMechanism(pMechanism)
	if err != nil {
		return done("C_DecryptInit", err)
	}
	return done("C_DecryptInit", mod.DecryptInit(uint(hSession), mech, uint(hKey)))
}

// p11kms_C_Decrypt implements C_Decrypt (PKCS#11 2.40 §5.9) with the §5.2
// output conventions: a NULL pData is a size query, answered with the modulus
// length (an upper bound) without a remote call; a short buffer gets
// CKR_BUFFER_TOO_SMALL with the exact plaintext length. The plaintext's Go
// copy is wiped once it is in the caller's buffer.
//
//export p11kms_C_Decrypt
func p11kms_C_Decrypt(hSession C.CK_SESSION_HANDLE, pEncryptedData *C.CK_BYTE, ulEncryptedDataLen C.CK_ULONG, pData *C.CK_BYTE, pulDataLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_Decrypt", &rv)
	sh := uint(hSession)
	if pulDataLen == nil {
		return done("C_Decrypt", endDecrypt(sh, argsBad("pulDataLen is NULL")))
	}
	ct, err := goBytes(unsafe.Pointer(pEncryptedData), ulEncryptedDataLen, "pEncryptedData")
	if err != nil {
		return done("C_Decrypt", endDecrypt(sh, err))
	}
	query, bufLen := pData == nil, uint(*pulDataLen)
	plain, n, err := mod.Decrypt(sh, ct, query, bufLen)
	err = putOutput(unsafe.Pointer(pData), pulDataLen, bufLen, plain, n, err)
	clear(plain)
	return done("C_Decrypt", err)
}

// p11kms_C_DecryptUpdate implements C_DecryptUpdate (PKCS#11 2.40 §5.9): the
// encryption mechanisms (CKM_RSA_PKCS_OAEP, CKM_P11KMS_KMS_BLOB, CKM_P11KMS_SM2PKE) are
// all single-part (the token refuses).
//
//export p11kms_C_DecryptUpdate
func p11kms_C_DecryptUpdate(hSession C.CK_SESSION_HANDLE, pEncryptedPart *C.CK_BYTE, ulEncryptedPartLen C.CK_ULONG, pPart *C.CK_BYTE, pulPartLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_DecryptUpdate", &rv)
	return done("C_DecryptUpdate", mod.DecryptUpdate(uint(hSession)))
}

// p11kms_C_DecryptFinal implements C_DecryptFinal (PKCS#11 2.40 §5.9); see C_DecryptUpdate.
//
//export p11kms_C_DecryptFinal
func p11kms_C_DecryptFinal(hSession C.CK_SESSION_HANDLE, pLastPart *C.CK_BYTE, pulLastPartLen *C.CK_ULONG) (rv C.CK_RV) {
	defer recoverPanic("C_DecryptFinal", &rv)
	return done("C_DecryptFinal", mod.DecryptFinal(uint(hSession)))
}
