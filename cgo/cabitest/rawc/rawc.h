/* rawc.h: C helpers for package rawc (test-only). They call a PKCS#11
 * library's entry points through its function list with the NULL pointers,
 * bad lengths and mutex callbacks that Go wrappers cannot express. */
#ifndef P11KMS_RAWC_H
#define P11KMS_RAWC_H 1

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif

#include "pkcs11.h"
#include "p11kms_v3t.h"

/* C_GetInterfaceList and C_GetInterface (PKCS#11 3.0 §5.4.5, §5.4.6). */
typedef CK_RV (*rawc_fn_get_interface_list)(CK_INTERFACE_PTR, CK_ULONG_PTR);
typedef CK_RV (*rawc_fn_get_interface)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);

/* rawc_lib is one dlopen'ed library and its symbols. */
typedef struct rawc_lib {
  void *handle;
  CK_C_GetFunctionList get_function_list;
  rawc_fn_get_interface_list get_interface_list; /* NULL if not exported */
  rawc_fn_get_interface get_interface;           /* NULL if not exported */
  CK_FUNCTION_LIST_PTR fl;
} rawc_lib;

const char *rawc_open(const char *path, rawc_lib *lib);
CK_RV rawc_initialize(CK_FUNCTION_LIST_PTR fl, int null_args, int mutex_funcs, CK_FLAGS flags, const char *reserved);
CK_RV rawc_finalize(CK_FUNCTION_LIST_PTR fl, int reserved);
CK_RV rawc_get_info(CK_FUNCTION_LIST_PTR fl, CK_INFO_PTR info);
CK_RV rawc_get_function_list_null(rawc_lib *lib);

/* Slots, tokens, mechanisms, sessions. */
CK_RV rawc_get_slot_list(CK_FUNCTION_LIST_PTR fl, CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count);
CK_RV rawc_get_slot_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_SLOT_INFO_PTR info);
CK_RV rawc_get_token_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info);
CK_RV rawc_get_mechanism_list(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV rawc_get_mechanism_info(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech, CK_MECHANISM_INFO_PTR info);
CK_RV rawc_open_session(CK_FUNCTION_LIST_PTR fl, CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR ph);
CK_RV rawc_get_session_info(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_SESSION_INFO_PTR info);
CK_RV rawc_login(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len);
CK_RV rawc_generate_random(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR buf, CK_ULONG len);

/* Objects. */
CK_RV rawc_get_attribute_value(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV rawc_find_objects_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV rawc_find_objects(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE_PTR list, CK_ULONG max, CK_ULONG_PTR count);

/* Signing. */
CK_RV rawc_sign_init(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key);
CK_RV rawc_sign(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR siglen);
CK_RV rawc_sign_update(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR part, CK_ULONG len);
CK_RV rawc_sign_final(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE sh, CK_BYTE_PTR sig, CK_ULONG_PTR siglen);

/* Interfaces (PKCS#11 3.0 §5.4.5, §5.4.6). */
CK_RV rawc_get_interface_list(rawc_lib *lib, CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CK_RV rawc_get_interface(rawc_lib *lib, CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR pp, CK_FLAGS flags);
CK_VERSION rawc_interface_version(CK_INTERFACE_PTR iface);
CK_RV rawc_interface_get_info(CK_INTERFACE_PTR iface, CK_INFO_PTR info);

#endif
