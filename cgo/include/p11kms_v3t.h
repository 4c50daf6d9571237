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

/* PKCS#11 3.2 (oasis-tcs/pkcs11 working/doc/spec/ml_dsa.md, "ML-DSA"):
 * the ML-DSA key type, its parameter-set attribute and values, the pure
 * ML-DSA signature mechanism and its optional parameter. Values as the
 * 3.2 pkcs11t.h allocates them. */
#define CKK_ML_DSA                     0x0000004AUL
#define CKA_PARAMETER_SET              0x0000061DUL
/* CKA_SEED (3.2 pkcs11t.h 0x637): the ML-DSA private seed, never revealed here. */
#define CKA_SEED                       0x00000637UL
#define CKP_ML_DSA_44                  0x00000001UL
#define CKP_ML_DSA_65                  0x00000002UL
#define CKP_ML_DSA_87                  0x00000003UL
#define CKM_ML_DSA_KEY_PAIR_GEN        0x0000001CUL
#define CKM_ML_DSA                     0x0000001DUL
/* The 3.3 draft's allocation (oasis-tcs/pkcs11 identifier db, TC issue
 * #58): ML-DSA signing of a caller-computed 64-byte mu (FIPS 204 external
 * mu). Not in 3.2; documented as such in the README. */
#define CKM_ML_DSA_EXTERNAL_MU         0x0000403CUL

/* CK_HEDGE_TYPE (3.2 ml_dsa.md): hedged or deterministic signing. */
typedef CK_ULONG CK_HEDGE_TYPE;
#define CKH_HEDGE_PREFERRED            0x00000000UL
#define CKH_HEDGE_REQUIRED             0x00000001UL
#define CKH_DETERMINISTIC_REQUIRED     0x00000002UL

/* CK_SIGN_ADDITIONAL_CONTEXT (3.2 ml_dsa.md): optional parameter of
 * CKM_ML_DSA: the hedge variant and the FIPS 204 context string. */
typedef struct CK_SIGN_ADDITIONAL_CONTEXT {
  CK_HEDGE_TYPE hedgeVariant;
  CK_BYTE_PTR pContext;
  CK_ULONG ulContextLen;
} CK_SIGN_ADDITIONAL_CONTEXT;
typedef CK_SIGN_ADDITIONAL_CONTEXT CK_PTR CK_SIGN_ADDITIONAL_CONTEXT_PTR;

/* Base 3.0 §5.1: return values added in 3.0. */
#define CKR_FUNCTION_REJECTED          0x00000200UL
#define CKR_TOKEN_RESOURCE_EXCEEDED    0x00000201UL
#define CKR_OPERATION_CANCEL_FAILED    0x00000202UL
#define CKR_PIN_TOO_WEAK               0x000001B8UL
#define CKR_PUBLIC_KEY_INVALID         0x000001B9UL

/* Base 3.0 §5.2: user types added in 3.0 (C_LoginUser uses CKU_USER etc.). */

#endif
