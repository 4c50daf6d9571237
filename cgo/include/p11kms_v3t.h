/* p11kms_v3t.h: the PKCS#11 3.0 types and constants p11kms needs that the
 * vendored OASIS 2.40 headers (include/oasis/) lack. Written by the p11kms
 * project from the OASIS "PKCS #11 Cryptographic Token Interface Base
 * Specification Version 3.0" (sections 3.1 CK_INTERFACE, 3.4 CK_FUNCTION_LIST_3_0,
 * 5.1.x) and the Current Mechanisms Specification 3.0 (2.3 EdDSA). Values
 * are those of the specification; names are the specification's.
 * Include after pkcs11.h. */
#ifndef P11KMS_V3T_H
#define P11KMS_V3T_H 1

/* Base 3.0 §3.1: interface flags. */
#define CKF_INTERFACE_FORK_SAFE        0x00000001UL

/* Base 3.0 §3.1: CK_INTERFACE. */
typedef struct CK_INTERFACE {
  CK_CHAR *pInterfaceName;
  CK_VOID_PTR pFunctionList;
  CK_FLAGS flags;
} CK_INTERFACE;
typedef CK_INTERFACE CK_PTR CK_INTERFACE_PTR;
typedef CK_INTERFACE_PTR CK_PTR CK_INTERFACE_PTR_PTR;

/* Base 3.0 §3.6: CK_FUNCTION_LIST_3_0 (declared here as pkcs11t.h declares
 * CK_FUNCTION_LIST; the structure itself is defined by X-macro from pkcs11f.h
 * and p11kms_v3f.h, in cgo/p11kms.h). */
typedef struct CK_FUNCTION_LIST_3_0 CK_FUNCTION_LIST_3_0;
typedef CK_FUNCTION_LIST_3_0 CK_PTR CK_FUNCTION_LIST_3_0_PTR;
typedef CK_FUNCTION_LIST_3_0_PTR CK_PTR CK_FUNCTION_LIST_3_0_PTR_PTR;

/* Base 3.0 §5.x: message-based functions' types. */
typedef CK_ULONG CK_FLAGS_3_0_UNUSED;
typedef CK_VOID_PTR CK_MESSAGE_PARAM_PTR_UNUSED;

/* Base 3.0 §4: object classes, key types, attributes added in 3.0. */
#define CKO_PROFILE                    0x00000009UL
#define CKK_EC_EDWARDS                 0x00000040UL
#define CKK_EC_MONTGOMERY              0x00000041UL
#define CKA_UNIQUE_ID                  0x00000004UL
#define CKA_PROFILE_ID                 0x00000601UL

/* Mechanisms 3.0 §2.3: EdDSA. */
#define CKM_EC_EDWARDS_KEY_PAIR_GEN    0x00001055UL
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN 0x00001056UL
#define CKM_EDDSA                      0x00001057UL

/* Mechanisms 3.0 §2.3.14 (EdDSA, table "CK_EDDSA_PARAMS"): parameters of
 * CKM_EDDSA. phFlag selects the pre-hash variant (Ed25519ph); the context
 * is ulContextDataLen bytes at pContextData. */
typedef struct CK_EDDSA_PARAMS {
  CK_BBOOL phFlag;
  CK_ULONG ulContextDataLen;
  CK_BYTE_PTR pContextData;
} CK_EDDSA_PARAMS;
typedef CK_EDDSA_PARAMS CK_PTR CK_EDDSA_PARAMS_PTR;

/* Base 3.0 §5.1: return values added in 3.0. */
#define CKR_FUNCTION_REJECTED          0x00000200UL
#define CKR_TOKEN_RESOURCE_EXCEEDED    0x00000201UL
#define CKR_OPERATION_CANCEL_FAILED    0x00000202UL
#define CKR_PIN_TOO_WEAK               0x000001B8UL
#define CKR_PUBLIC_KEY_INVALID         0x000001B9UL

/* Base 3.0 §5.2: user types added in 3.0 (C_LoginUser uses CKU_USER etc.). */

#endif
