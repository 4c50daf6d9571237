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

// maxEdDSAContext bounds the EdDSA context copied out of C memory: RFC 8032
// §5.1 allows at most 255 bytes, and KMS takes none at all (the token
// refuses any), so the bound only keeps a garbage ulContextDataLen from
// making the module allocate gigabytes.
const maxEdDSAContext = 255

// goSignMechanism copies a C_SignInit/C_VerifyInit mechanism. For CKM_EDDSA,
// CK_EDDSA_PARAMS holds a pointer (pContextData), so its fields and context
// are read here and flattened as mechanisms.ParseEdDSAParams expects (see
// mechanisms.EdDSAParams); no C pointer reaches Go. A parameter that is not
// exactly one C structure, a phFlag other than CK_TRUE/CK_FALSE, or a context
// that is NULL with a length or longer than maxEdDSAContext, is
// CKR_MECHANISM_PARAM_INVALID (Current Mechanisms 3.0 §2.3.14).
// CKM_ML_DSA and CKM_ML_DSA_EXTERNAL_MU with a parameter are copied by
// goMLDSAMechanism (mldsa.go). Other mechanisms, and CKM_EDDSA without a
// parameter, are copied as goMechanism does.
func goSignMechanism(p *C.CK_MECHANISM) (token.Mechanism, error) {
	if p != nil && (p.mechanism == C.CKM_ML_DSA || p.mechanism == C.CKM_ML_DSA_EXTERNAL_MU) && p.pParameter != nil {
		return goMLDSAMechanism(p) // CK_SIGN_ADDITIONAL_CONTEXT (mldsa.go)
	}
	if p == nil || p.mechanism != C.CKM_EDDSA || p.pParameter == nil {
		return goMechanism(p)
	}
	if p.ulParameterLen != C.sizeof_CK_EDDSA_PARAMS {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"CKM_EDDSA parameter is %d bytes, sizeof(CK_EDDSA_PARAMS) is %d", uint(p.ulParameterLen), C.sizeof_CK_EDDSA_PARAMS)
	}
	cp := (*C.CK_EDDSA_PARAMS)(p.pParameter)
	if cp.phFlag != C.CK_TRUE && cp.phFlag != C.CK_FALSE {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID, "CK_EDDSA_PARAMS phFlag is %d", uint(cp.phFlag))
	}
	ctx, err := paramField(unsafe.Pointer(cp.pContextData), cp.ulContextDataLen, maxEdDSAContext, "CK_EDDSA_PARAMS", "pContextData")
	if err != nil {
		return token.Mechanism{}, err
	}
	param := mechanisms.EncodeEdDSAParams(mechanisms.EdDSAParams{PH: cp.phFlag == C.CK_TRUE, Context: ctx})
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, nil
}
