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

// maxMLDSAContext is the longest FIPS 204 context string (Algorithm 2:
// |ctx| ≤ 255); it also keeps a garbage ulContextLen from making the module
// allocate gigabytes.
const maxMLDSAContext = 255

// goMLDSAMechanism copies a CKM_ML_DSA or CKM_ML_DSA_EXTERNAL_MU mechanism
// whose parameter is set. CK_SIGN_ADDITIONAL_CONTEXT (PKCS#11 3.2 ml_dsa.md)
// holds a pointer (pContext), so its fields and context are read here and
// flattened as mechanisms.ParseMLDSAParams expects (see
// mechanisms.MLDSAParams); no C pointer reaches Go. A parameter that is not
// exactly one C structure, or a context that is NULL with a length or longer
// than 255 bytes, is CKR_MECHANISM_PARAM_INVALID; mechanisms/ checks
// hedgeVariant.
func goMLDSAMechanism(p *C.CK_MECHANISM) (token.Mechanism, error) {
	name := ck.MechName(uint(p.mechanism))
	if p.ulParameterLen != C.sizeof_CK_SIGN_ADDITIONAL_CONTEXT {
		return token.Mechanism{}, ck.Errorf(ck.CKR_MECHANISM_PARAM_INVALID,
			"%s parameter is %d bytes, sizeof(CK_SIGN_ADDITIONAL_CONTEXT) is %d", name, uint(p.ulParameterLen), C.sizeof_CK_SIGN_ADDITIONAL_CONTEXT)
	}
	cp := (*C.CK_SIGN_ADDITIONAL_CONTEXT)(p.pParameter)
	ctx, err := paramField(unsafe.Pointer(cp.pContext), cp.ulContextLen, maxMLDSAContext, name+" CK_SIGN_ADDITIONAL_CONTEXT", "pContext")
	if err != nil {
		return token.Mechanism{}, err
	}
	param := mechanisms.EncodeMLDSAParams(mechanisms.MLDSAParams{Hedge: uint(cp.hedgeVariant), Context: ctx})
	return token.Mechanism{Type: uint(p.mechanism), Param: param}, nil
}
