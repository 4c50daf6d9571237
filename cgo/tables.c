/* tables.c: the module's function tables and interfaces, all static C data
 * (DESIGN.md: "C owns the function tables"), and the three pure-C functions
 * that hand them out: C_GetFunctionList (PKCS#11 2.40 §5.4), C_GetInterfaceList
 * and C_GetInterface (PKCS#11 3.0 §5.4). These never enter Go, so they answer
 * even in a forked child; the functions in the tables then fail there.
 *
 * Each table is initialised by including the X-macro headers with
 * CK_PKCS11_FUNCTION_INFO(name) expanding to "name,": entry i is the function
 * named by header line i, with no cast, so the compiler checks every entry's
 * type against its field and no entry can point at the wrong function. */
#include <string.h>
#include "p11kms.h"
#include "zexports.h"

/* A function-pointer type mismatch in a table must stop the build. */
#pragma GCC diagnostic error "-Wincompatible-pointer-types"

static CK_RV p11kms_GetInfo_3_0(CK_INFO_PTR pInfo);

/* The 2.40 list (PKCS#11 2.40 §3.6 CK_FUNCTION_LIST), returned by
 * C_GetFunctionList and by the "PKCS 11" 2.40 interface. */
static const CK_FUNCTION_LIST list_2_40 = {
  { 2, 40 },
#define CK_PKCS11_FUNCTION_INFO(name) name,
#include "pkcs11f.h"
#undef CK_PKCS11_FUNCTION_INFO
};

/* The 3.0 list (PKCS#11 3.0 §3.6 CK_FUNCTION_LIST_3_0). Its C_GetInfo slot is
 * p11kms_GetInfo_3_0, which reports cryptokiVersion 3.0: the version a caller
 * sees is that of the interface it obtained (DESIGN.md). */
#define C_GetInfo p11kms_GetInfo_3_0
static const CK_FUNCTION_LIST_3_0 list_3_0 = {
  { 3, 0 },
#define CK_PKCS11_FUNCTION_INFO(name) name,
#include "pkcs11f.h"
#include "p11kms_v3f.h"
#undef CK_PKCS11_FUNCTION_INFO
};
#undef C_GetInfo

/* The interface name of both interfaces (PKCS#11 3.0 §3.6 CK_INTERFACE). */
static CK_CHAR interface_name[] = "PKCS 11";

/* The interfaces, default first (PKCS#11 3.0 §5.4 C_GetInterface: NULL name
 * and version select the default). flags is 0: the module is NOT fork-safe
 * (CKF_INTERFACE_FORK_SAFE is never set; DESIGN.md "fork()"). The PKCS#11 API
 * types carry no const, so the const tables are handed out through pointers
 * whose qualifier is dropped here, once; nothing ever writes through them. */
static const CK_INTERFACE interfaces[] = {
  { interface_name, (CK_VOID_PTR)&list_3_0, 0 },
  { interface_name, (CK_VOID_PTR)&list_2_40, 0 },
};

#define N_INTERFACES (sizeof interfaces / sizeof interfaces[0])

/* handed_out is the writable copy C_GetInterface returns: OpenSC's
 * pkcs11-spy (0.23) writes into the CK_INTERFACE it receives (it puts its own
 * function list there), which crashed on the const table. Each call refreshes
 * the entry from the const table. */
static CK_INTERFACE handed_out[N_INTERFACES];

/* interface_version is the version at the head of an interface's list. */
static CK_VERSION interface_version(const CK_INTERFACE *i) {
  const CK_VERSION *v = i->pFunctionList; /* both lists start with CK_VERSION */
  return *v;
}

/* name_equal compares two NUL-terminated names byte by byte. */
static int name_equal(const CK_UTF8CHAR *a, const CK_CHAR *b) {
  for (; *a == *b; a++, b++)
    if (*a == 0) return 1;
  return 0;
}

CK_RV p11kms_c_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {
  if (ppFunctionList == NULL_PTR) return CKR_ARGUMENTS_BAD;
  *ppFunctionList = (CK_FUNCTION_LIST_PTR)&list_2_40; /* const dropped: see interfaces */
  return CKR_OK;
}

/* PKCS#11 3.0 §5.4 C_GetInterfaceList, with the §5.2 size-query convention. */
CK_RV p11kms_c_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount) {
  if (pulCount == NULL_PTR) return CKR_ARGUMENTS_BAD;
  if (pInterfacesList == NULL_PTR) {
    *pulCount = N_INTERFACES;
    return CKR_OK;
  }
  if (*pulCount < N_INTERFACES) {
    *pulCount = N_INTERFACES;
    return CKR_BUFFER_TOO_SMALL;
  }
  memcpy(pInterfacesList, interfaces, sizeof interfaces);
  *pulCount = N_INTERFACES;
  return CKR_OK;
}

/* PKCS#11 3.0 §5.4 C_GetInterface: the first interface matching the name (if
 * given), the version (if given) and having every requested flag. */
CK_RV p11kms_c_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                            CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags) {
  size_t i;
  if (ppInterface == NULL_PTR) return CKR_ARGUMENTS_BAD;
  for (i = 0; i < N_INTERFACES; i++) {
    const CK_INTERFACE *it = &interfaces[i];
    CK_VERSION v = interface_version(it);
    if (pInterfaceName != NULL_PTR && !name_equal(pInterfaceName, it->pInterfaceName))
      continue;
    if (pVersion != NULL_PTR && (pVersion->major != v.major || pVersion->minor != v.minor))
      continue;
    if ((it->flags & flags) != flags) continue;
    handed_out[i] = *it;
    *ppInterface = &handed_out[i];
    return CKR_OK;
  }
  /* No match (NSS asks for CKF_INTERFACE_FORK_SAFE first, which this module
   * never offers). The output is undefined after an error, but OpenSC 0.23's
   * pkcs11-spy dereferences *ppInterface even then (a NULL crashes it too), so
   * it points at valid data: a copy of the default interface, whose flags
   * still say it is not fork-safe. */
  handed_out[0] = interfaces[0];
  *ppInterface = &handed_out[0];
  return CKR_ARGUMENTS_BAD;
}

/* p11kms_GetInfo_3_0 is C_GetInfo in the 3.0 list: the same Go code as the
 * 2.40 C_GetInfo, then cryptokiVersion 3.0 (PKCS#11 3.0 §5.4 C_GetInfo). */
static CK_RV p11kms_GetInfo_3_0(CK_INFO_PTR pInfo) {
  CK_RV rv;
  if (p11kms_forked_child()) return CKR_GENERAL_ERROR;
  rv = p11kms_C_GetInfo(pInfo);
  if (rv == CKR_OK) {
    pInfo->cryptokiVersion.major = 3;
    pInfo->cryptokiVersion.minor = 0;
  }
  return rv;
}
