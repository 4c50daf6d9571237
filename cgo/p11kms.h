/* p11kms.h: the C side of the module's ABI. Included by every C file of
 * package main (cgo/) and by the cgo preamble of its Go files.
 *
 * It sets the five platform macros the OASIS pkcs11.h requires (PKCS#11 2.40
 * §2, "UNIX environment" forms), includes the vendored 2.40 headers and the
 * project's 3.0 supplement, and declares, from p11kms_v3f.h, the 3.0 entry
 * points, their CK_C_xxx pointer types and the CK_FUNCTION_LIST_3_0 structure
 * (PKCS#11 3.0 §3.6) the same way pkcs11.h does for 2.40, so that the order of
 * the structure's fields is the headers' order and cannot drift. */
#ifndef P11KMS_H
#define P11KMS_H 1

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif

#include "pkcs11.h"
#include "p11kms_v3t.h"
#include "p11kms_vendor.h"

/* The "extern" form of the 3.0 entry points. */
#define CK_NEED_ARG_LIST 1
#define CK_PKCS11_FUNCTION_INFO(name) extern CK_DECLARE_FUNCTION(CK_RV, name)
#include "p11kms_v3f.h"
#undef CK_NEED_ARG_LIST
#undef CK_PKCS11_FUNCTION_INFO

/* The CK_C_xxx pointer types of the 3.0 entry points. */
#define CK_NEED_ARG_LIST 1
#define CK_PKCS11_FUNCTION_INFO(name) typedef CK_DECLARE_FUNCTION_POINTER(CK_RV, CK_##name)
#include "p11kms_v3f.h"
#undef CK_NEED_ARG_LIST
#undef CK_PKCS11_FUNCTION_INFO

/* CK_FUNCTION_LIST_3_0 (PKCS#11 3.0 §3.6): the version, then one pointer per
 * function, 2.40 functions first, in header order. */
#define CK_PKCS11_FUNCTION_INFO(name) CK_##name name;
struct CK_FUNCTION_LIST_3_0 {
  CK_VERSION version;
#include "pkcs11f.h"
#include "p11kms_v3f.h"
};
#undef CK_PKCS11_FUNCTION_INFO

/* p11kms_forked_child reports whether this process is a child forked (without
 * exec) after the library was loaded; the first time it is true it writes one
 * line to stderr. Every generated entry point except the three pure-C ones
 * calls it first and returns CKR_GENERAL_ERROR when it is true, without
 * entering Go (forkguard.c; DESIGN.md "fork()"). */
int p11kms_forked_child(void);

/* The pure-C implementations behind C_GetFunctionList, C_GetInterfaceList and
 * C_GetInterface (tables.c), which answer from static data and never enter Go,
 * so they also work in a forked child. */
CK_RV p11kms_c_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);
CK_RV p11kms_c_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount);
CK_RV p11kms_c_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                            CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags);

#endif
