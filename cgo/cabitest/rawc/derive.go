package rawc

/*
#include <stdlib.h>
#include "rawc.h"

static CK_RV rawc_derive_key(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_PTR m,
                             CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, int null_out) {
  CK_OBJECT_HANDLE h = 0;
  return fl->C_DeriveKey(sh, m, base, tmpl, n, null_out ? NULL : &h);
}
*/
import "C"

import "unsafe"

// DeriveKeyNull calls C_DeriveKey with CKM_ECDH1_DERIVE and a
// CK_ECDH1_DERIVE_PARAMS whose pointers are NULL and lengths zero, and
// NULL pointers where asked: phKey (nullOut) or pTemplate with
// tmplCount entries (a NULL template with a count is bad).
func (l *Lib) DeriveKeyNull(sh, base uint, nullOut bool, tmplCount uint) uint {
	p := (*C.CK_ECDH1_DERIVE_PARAMS)(C.calloc(1, C.sizeof_CK_ECDH1_DERIVE_PARAMS))
	defer C.free(unsafe.Pointer(p))
	p.kdf = C.CKD_NULL
	var m C.CK_MECHANISM
	m.mechanism = C.CKM_ECDH1_DERIVE
	m.pParameter = C.CK_VOID_PTR(p)
	m.ulParameterLen = C.sizeof_CK_ECDH1_DERIVE_PARAMS
	return uint(C.rawc_derive_key(l.c.fl, C.CK_SESSION_HANDLE(sh), &m, C.CK_OBJECT_HANDLE(base), nil, C.CK_ULONG(tmplCount), cbool(nullOut)))
}
