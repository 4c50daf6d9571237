/* rawc.c: see rawc.h. */
#include <dlfcn.h>
#include <stddef.h>
#include "rawc.h"

/* Mutex callbacks that do nothing: the module must never need them
 * (DESIGN.md: it uses OS locking), they only have to be non-NULL. */
static CK_RV rawc_create_mutex(CK_VOID_PTR_PTR m) { if (m) *m = (CK_VOID_PTR)1; return CKR_OK; }
static CK_RV rawc_destroy_mutex(CK_VOID_PTR m) { (void)m; return CKR_OK; }
static CK_RV rawc_lock_mutex(CK_VOID_PTR m) { (void)m; return CKR_OK; }
static CK_RV rawc_unlock_mutex(CK_VOID_PTR m) { (void)m; return CKR_OK; }

const char *rawc_open(const char *path, rawc_lib *lib) {
  lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib->handle == NULL) return dlerror();
  lib->get_function_list = (CK_C_GetFunctionList)dlsym(lib->handle, "C_GetFunctionList");
  if (lib->get_function_list == NULL) return "C_GetFunctionList not exported";
  lib->get_interface_list = (rawc_fn_get_interface_list)dlsym(lib->handle, "C_GetInterfaceList");
  lib->get_interface = (rawc_fn_get_interface)dlsym(lib->handle, "C_GetInterface");
  if (lib->get_function_list(&lib->fl) != CKR_OK || lib->fl == NULL) return "C_GetFunctionList failed";
  return NULL;
}

/* rawc_initialize calls C_Initialize with NULL (null_args) or with a
 * CK_C_INITIALIZE_ARGS whose first mutex_funcs callbacks are set. */
CK_RV rawc_initialize(CK_FUNCTION_LIST_PTR fl, int null_args, int mutex_funcs, CK_FLAGS flags, const char *reserved) {
  CK_C_INITIALIZE_ARGS a = {0};
  if (null_args) return fl->C_Initialize(NULL_PTR);
  if (mutex_funcs > 0) a.CreateMutex = rawc_create_mutex;
  if (mutex_funcs > 1) a.DestroyMutex = rawc_destroy_mutex;
  if (mutex_funcs > 2) a.LockMutex = rawc_lock_mutex;
  if (mutex_funcs > 3) a.UnlockMutex = rawc_unlock_mutex;
  a.flags = flags;
  a.pReserved = (CK_VOID_PTR)reserved;
  return fl->C_Initialize(&a);
}

/* rawc_finalize calls C_Finalize with NULL or, when reserved, a non-NULL pointer. */
CK_RV rawc_finalize(CK_FUNCTION_LIST_PTR fl, int reserved) {
  static char junk[8];
  return fl->C_Finalize(reserved ? (CK_VOID_PTR)junk : NULL_PTR);
}

CK_RV rawc_get_info(CK_FUNCTION_LIST_PTR fl, CK_INFO_PTR info) { return fl->C_GetInfo(info); }

CK_RV rawc_get_function_list_null(rawc_lib *lib) { return lib->get_function_list(NULL_PTR); }

CK_RV rawc_get_slot_list(CK_FUNCTION_LIST_PTR fl, CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  return fl->C_GetSlotList(present, list, count);
}
CK_RV rawc_get_slot_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  return fl->C_GetSlotInfo(slot, info);
}
CK_RV rawc_get_token_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  return fl->C_GetTokenInfo(slot, info);
}
CK_RV rawc_get_mechanism_list(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  return fl->C_GetMechanismList(slot, list, count);
}
CK_RV rawc_get_mechanism_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech, CK_MECHANISM_INFO_PTR info) {
  return fl->C_GetMechanismInfo(slot, mech, info);
}
CK_RV rawc_open_session(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR ph) {
  return fl->C_OpenSession(slot, flags, NULL_PTR, NULL_PTR, ph);
}
CK_RV rawc_get_session_info(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_SESSION_INFO_PTR info) {
  return fl->C_GetSessionInfo(sh, info);
}
CK_RV rawc_login(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  return fl->C_Login(sh, user, pin, len);
}
CK_RV rawc_generate_random(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR buf, CK_ULONG len) {
  return fl->C_GenerateRandom(sh, buf, len);
}

CK_RV rawc_get_attribute_value(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n) {
  return fl->C_GetAttributeValue(sh, oh, tmpl, n);
}
CK_RV rawc_find_objects_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n) {
  return fl->C_FindObjectsInit(sh, tmpl, n);
}
CK_RV rawc_find_objects(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE_PTR list, CK_ULONG max, CK_ULONG_PTR count) {
  return fl->C_FindObjects(sh, list, max, count);
}

CK_RV rawc_sign_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key) {
  return fl->C_SignInit(sh, mech, key);
}
CK_RV rawc_sign(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR siglen) {
  return fl->C_Sign(sh, data, len, sig, siglen);
}
CK_RV rawc_sign_update(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR part, CK_ULONG len) {
  return fl->C_SignUpdate(sh, part, len);
}
CK_RV rawc_sign_final(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR sig, CK_ULONG_PTR siglen) {
  return fl->C_SignFinal(sh, sig, siglen);
}

CK_RV rawc_get_interface_list(rawc_lib *lib, CK_INTERFACE_PTR list, CK_ULONG_PTR count) {
  if (lib->get_interface_list == NULL) return CKR_FUNCTION_NOT_SUPPORTED;
  return lib->get_interface_list(list, count);
}
CK_RV rawc_get_interface(rawc_lib *lib, CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR pp, CK_FLAGS flags) {
  if (lib->get_interface == NULL) return CKR_FUNCTION_NOT_SUPPORTED;
  return lib->get_interface(name, version, pp, flags);
}
/* Every CK_FUNCTION_LIST* starts with CK_VERSION and the 2.40 entry points in
 * the same order (PKCS#11 3.0 §3.4), so the 2.40 view reads both. */
CK_VERSION rawc_interface_version(CK_INTERFACE_PTR iface) {
  return ((CK_FUNCTION_LIST_PTR)iface->pFunctionList)->version;
}
CK_RV rawc_interface_get_info(CK_INTERFACE_PTR iface, CK_INFO_PTR info) {
  return ((CK_FUNCTION_LIST_PTR)iface->pFunctionList)->C_GetInfo(info);
}
