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

// p11kms_C_DeriveKey implements C_DeriveKey (PKCS#11 2.40 §5.14) with
// CKM_ECDH1_DERIVE: the new key's handle goes to *phKey on success.
//
//export p11kms_C_DeriveKey
func p11kms_C_DeriveKey(hSession C.CK_SESSION_HANDLE, pMechanism *C.CK_MECHANISM, hBaseKey C.CK_OBJECT_HANDLE, pTemplate *C.CK_ATTRIBUTE, ulAttributeCount C.CK_ULONG, phKey *C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_DeriveKey", &rv)
	if phKey == nil {
		return done("C_DeriveKey", argsBad("phKey is NULL"))
	}
	mech, err := goDeriveMechanism(pMechanism)
	if err != nil {
		return done("C_DeriveKey", err)
	}
	tmpl, err := goTemplate(pTemplate, ulAttributeCount)
	if err != nil {
		return done("C_DeriveKey", err)
	}
	h, err := mod.DeriveKey(uint(hSession), mech, uint(hBaseKey), tmpl)
	if err == nil {
		*phKey = C.CK_OBJECT_HANDLE(h)
	}
	return done("C_DeriveKey", err)
}

// goDeriveMechanism copies a C_DeriveKey mechanism. CK_ECDH1_DERIVE_PARAMS
// (Current Mechanisms 2.40 §2.3.15) holds two pointers, so its fields and
// data are read here and flattened as mechanisms.ParseECDH1Params expects;
// no C pointer reaches Go. A parameter that is not exactly one C
// structure, a pointer that is NULL with a length, or data longer than
// mechanisms.MaxECDHSharedData / MaxECDHPublicData is
// CKR_MECHANISM_PARAM_INVALID. Other mechanisms, and CKM_ECDH1_DERIVE
// without a parameter (the token refuses it), are copied as goMechanism does.
func goDeriveMechanism(p *C.CK_MECHANISM) (token.Mechanism, error) {
	if p == nil || p.mechanism != C.CKM_ECDH1_DERIVE || p.pParameter == nil {
		return goMechanism(p)
	}
	if p.ulParameterLen != C.sizeof_CK_ECDH1_DERIVE_PARAMS {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_ECDH1_DERIVE parameter is %d bytes, sizeof(CK_ECDH1_DERIVE_PARAMS) is %d", uint(p.ulParameterLen), C.sizeof_CK_ECDH1_DERIVE_PARAMS)
	}
	cp := (*C.CK_ECDH1_DERIVE_PARAMS)(p.pParameter)
	shared, err := paramField(unsafe.Pointer(cp.pSharedData), cp.ulSharedDataLen, mechanisms.MaxECDHSharedData, "CK_ECDH1_DERIVE_PARAMS", "pSharedData")
	if err != nil {
		return token.Mechanism{}, err
	}
	public, err := paramField(unsafe.Pointer(cp.pPublicData), cp.ulPublicDataLen, mechanisms.MaxECDHPublicData, "CK_ECDH1_DERIVE_PARAMS", "pPublicData")
	if err != nil {
		return token.Mechanism{}, err
	}
	param := mechanisms.EncodeECDH1Params(mechanisms.ECDH1Params{KDF: uint(cp.kdf), SharedData: shared, PublicData: public})
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, nil
}

// p11kms_C_DestroyObject implements C_DestroyObject (PKCS#11 2.40 §5.7)
// for session objects (derived keys); see token.Module.DestroyObject.
//
//export p11kms_C_DestroyObject
func p11kms_C_DestroyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE) (rv C.CK_RV) {
	defer recoverPanic("C_DestroyObject", &rv)
	return done("C_DestroyObject", mod.DestroyObject(uint(hSession), uint(hObject)))
}
