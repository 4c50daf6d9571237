/* p11kms_v3f.h: the 24 functions that PKCS#11 3.0 appends to the 2.40 function
 * list, in CK_FUNCTION_LIST_3_0 order, in the X-macro format of the OASIS
 * pkcs11f.h (CK_PKCS11_FUNCTION_INFO(name), then the argument list under
 * CK_NEED_ARG_LIST). Written by the p11kms project from the OASIS "PKCS #11
 * Cryptographic Token Interface Base Specification Version 3.0" (§3.6
 * CK_FUNCTION_LIST_3_0; the functions in §5.4 general purpose, §5.6 session
 * management, §5.9/§5.11/§5.14/§5.16 message-based encryption, decryption,
 * signing and verification), because the OASIS 3.0 header files could not be
 * obtained here. Names and argument lists are the specification's.
 *
 * Like pkcs11f.h this file has no include guard: it is included several times
 * with different definitions of CK_PKCS11_FUNCTION_INFO. Include it after
 * pkcs11.h and p11kms_v3t.h. */

/* General-purpose (3.0 §5.4) */

/* C_GetInterfaceList returns all the interfaces supported by the module. */
CK_PKCS11_FUNCTION_INFO(C_GetInterfaceList)
#ifdef CK_NEED_ARG_LIST
(
  CK_INTERFACE_PTR  pInterfacesList,  /* returned interfaces */
  CK_ULONG_PTR      pulCount          /* number of interfaces returned */
);
#endif

/* C_GetInterface returns a specific interface from the module. */
CK_PKCS11_FUNCTION_INFO(C_GetInterface)
#ifdef CK_NEED_ARG_LIST
(
  CK_UTF8CHAR_PTR       pInterfaceName, /* name of the interface */
  CK_VERSION_PTR        pVersion,       /* version of the interface */
  CK_INTERFACE_PTR_PTR  ppInterface,    /* returned interface */
  CK_FLAGS              flags           /* flags controlling the semantics
                                         * of the interface */
);
#endif

/* Session management (3.0 §5.6) */

/* C_LoginUser logs a user into a token, with a user name. */
CK_PKCS11_FUNCTION_INFO(C_LoginUser)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,      /* the session's handle */
  CK_USER_TYPE      userType,      /* the user type */
  CK_UTF8CHAR_PTR   pPin,          /* the user's PIN */
  CK_ULONG          ulPinLen,      /* the length of the PIN */
  CK_UTF8CHAR_PTR   pUsername,     /* the user's name */
  CK_ULONG          ulUsernameLen  /* the length of the user's name */
);
#endif

/* C_SessionCancel terminates active session-based operations. */
CK_PKCS11_FUNCTION_INFO(C_SessionCancel)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,  /* the session's handle */
  CK_FLAGS          flags      /* flags controlling which operations
                                * are cancelled */
);
#endif

/* Message-based encryption (3.0 §5.9) */

/* C_MessageEncryptInit initializes a message-based encryption process. */
CK_PKCS11_FUNCTION_INFO(C_MessageEncryptInit)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,    /* the session's handle */
  CK_MECHANISM_PTR  pMechanism,  /* the encryption mechanism */
  CK_OBJECT_HANDLE  hKey         /* handle of encryption key */
);
#endif

/* C_EncryptMessage encrypts a message in a single part. */
CK_PKCS11_FUNCTION_INFO(C_EncryptMessage)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,             /* the session's handle */
  CK_VOID_PTR       pParameter,           /* message specific parameter */
  CK_ULONG          ulParameterLen,       /* length of message specific
                                           * parameter */
  CK_BYTE_PTR       pAssociatedData,      /* AEAD associated data */
  CK_ULONG          ulAssociatedDataLen,  /* AEAD associated data length */
  CK_BYTE_PTR       pPlaintext,           /* plain text */
  CK_ULONG          ulPlaintextLen,       /* plain text length */
  CK_BYTE_PTR       pCiphertext,          /* gets cipher text */
  CK_ULONG_PTR      pulCiphertextLen      /* gets cipher text length */
);
#endif

/* C_EncryptMessageBegin begins a multiple-part message encryption operation. */
CK_PKCS11_FUNCTION_INFO(C_EncryptMessageBegin)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,             /* the session's handle */
  CK_VOID_PTR       pParameter,           /* message specific parameter */
  CK_ULONG          ulParameterLen,       /* length of message specific
                                           * parameter */
  CK_BYTE_PTR       pAssociatedData,      /* AEAD associated data */
  CK_ULONG          ulAssociatedDataLen   /* AEAD associated data length */
);
#endif

/* C_EncryptMessageNext continues a multiple-part message encryption
 * operation. */
CK_PKCS11_FUNCTION_INFO(C_EncryptMessageNext)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,              /* the session's handle */
  CK_VOID_PTR       pParameter,            /* message specific parameter */
  CK_ULONG          ulParameterLen,        /* length of message specific
                                            * parameter */
  CK_BYTE_PTR       pPlaintextPart,        /* plain text */
  CK_ULONG          ulPlaintextPartLen,    /* plain text length */
  CK_BYTE_PTR       pCiphertextPart,       /* gets cipher text */
  CK_ULONG_PTR      pulCiphertextPartLen,  /* gets cipher text length */
  CK_FLAGS          flags                  /* multi-part flags */
);
#endif

/* C_MessageEncryptFinal finishes a message-based encryption process. */
CK_PKCS11_FUNCTION_INFO(C_MessageEncryptFinal)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession  /* the session's handle */
);
#endif

/* Message-based decryption (3.0 §5.11) */

/* C_MessageDecryptInit initializes a message-based decryption process. */
CK_PKCS11_FUNCTION_INFO(C_MessageDecryptInit)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,    /* the session's handle */
  CK_MECHANISM_PTR  pMechanism,  /* the decryption mechanism */
  CK_OBJECT_HANDLE  hKey         /* handle of decryption key */
);
#endif

/* C_DecryptMessage decrypts a message in a single part. */
CK_PKCS11_FUNCTION_INFO(C_DecryptMessage)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,             /* the session's handle */
  CK_VOID_PTR       pParameter,           /* message specific parameter */
  CK_ULONG          ulParameterLen,       /* length of message specific
                                           * parameter */
  CK_BYTE_PTR       pAssociatedData,      /* AEAD associated data */
  CK_ULONG          ulAssociatedDataLen,  /* AEAD associated data length */
  CK_BYTE_PTR       pCiphertext,          /* cipher text */
  CK_ULONG          ulCiphertextLen,      /* cipher text length */
  CK_BYTE_PTR       pPlaintext,           /* gets plain text */
  CK_ULONG_PTR      pulPlaintextLen       /* gets plain text length */
);
#endif

/* C_DecryptMessageBegin begins a multiple-part message decryption operation. */
CK_PKCS11_FUNCTION_INFO(C_DecryptMessageBegin)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,             /* the session's handle */
  CK_VOID_PTR       pParameter,           /* message specific parameter */
  CK_ULONG          ulParameterLen,       /* length of message specific
                                           * parameter */
  CK_BYTE_PTR       pAssociatedData,      /* AEAD associated data */
  CK_ULONG          ulAssociatedDataLen   /* AEAD associated data length */
);
#endif

/* C_DecryptMessageNext continues a multiple-part message decryption
 * operation. */
CK_PKCS11_FUNCTION_INFO(C_DecryptMessageNext)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,             /* the session's handle */
  CK_VOID_PTR       pParameter,           /* message specific parameter */
  CK_ULONG          ulParameterLen,       /* length of message specific
                                           * parameter */
  CK_BYTE_PTR       pCiphertextPart,      /* cipher text */
  CK_ULONG          ulCiphertextPartLen,  /* cipher text length */
  CK_BYTE_PTR       pPlaintextPart,       /* gets plain text */
  CK_ULONG_PTR      pulPlaintextPartLen,  /* gets plain text length */
  CK_FLAGS          flags                 /* multi-part flags */
);
#endif

/* C_MessageDecryptFinal finishes a message-based decryption process. */
CK_PKCS11_FUNCTION_INFO(C_MessageDecryptFinal)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession  /* the session's handle */
);
#endif

/* Message-based signing and MACing (3.0 §5.14) */

/* C_MessageSignInit initializes a message-based signature process. */
CK_PKCS11_FUNCTION_INFO(C_MessageSignInit)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,    /* the session's handle */
  CK_MECHANISM_PTR  pMechanism,  /* the signing mechanism */
  CK_OBJECT_HANDLE  hKey         /* handle of signing key */
);
#endif

/* C_SignMessage signs a message in a single part. */
CK_PKCS11_FUNCTION_INFO(C_SignMessage)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen,  /* length of message specific
                                      * parameter */
  CK_BYTE_PTR       pData,           /* data to sign */
  CK_ULONG          ulDataLen,       /* data to sign length */
  CK_BYTE_PTR       pSignature,      /* gets signature */
  CK_ULONG_PTR      pulSignatureLen  /* gets signature length */
);
#endif

/* C_SignMessageBegin begins a multiple-part message signature operation. */
CK_PKCS11_FUNCTION_INFO(C_SignMessageBegin)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen   /* length of message specific
                                      * parameter */
);
#endif

/* C_SignMessageNext continues a multiple-part message signature operation. */
CK_PKCS11_FUNCTION_INFO(C_SignMessageNext)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen,  /* length of message specific
                                      * parameter */
  CK_BYTE_PTR       pData,           /* data to sign */
  CK_ULONG          ulDataLen,       /* data to sign length */
  CK_BYTE_PTR       pSignature,      /* gets signature */
  CK_ULONG_PTR      pulSignatureLen  /* gets signature length */
);
#endif

/* C_MessageSignFinal finishes a message-based signature process. */
CK_PKCS11_FUNCTION_INFO(C_MessageSignFinal)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession  /* the session's handle */
);
#endif

/* Message-based verification (3.0 §5.16) */

/* C_MessageVerifyInit initializes a message-based verification process. */
CK_PKCS11_FUNCTION_INFO(C_MessageVerifyInit)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,    /* the session's handle */
  CK_MECHANISM_PTR  pMechanism,  /* the verification mechanism */
  CK_OBJECT_HANDLE  hKey         /* handle of verification key */
);
#endif

/* C_VerifyMessage verifies a signature on a message in a single part. */
CK_PKCS11_FUNCTION_INFO(C_VerifyMessage)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen,  /* length of message specific
                                      * parameter */
  CK_BYTE_PTR       pData,           /* signed data */
  CK_ULONG          ulDataLen,       /* signed data length */
  CK_BYTE_PTR       pSignature,      /* signature */
  CK_ULONG          ulSignatureLen   /* signature length */
);
#endif

/* C_VerifyMessageBegin begins a multiple-part message verification
 * operation. */
CK_PKCS11_FUNCTION_INFO(C_VerifyMessageBegin)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen   /* length of message specific
                                      * parameter */
);
#endif

/* C_VerifyMessageNext continues a multiple-part message verification
 * operation. */
CK_PKCS11_FUNCTION_INFO(C_VerifyMessageNext)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession,        /* the session's handle */
  CK_VOID_PTR       pParameter,      /* message specific parameter */
  CK_ULONG          ulParameterLen,  /* length of message specific
                                      * parameter */
  CK_BYTE_PTR       pData,           /* signed data */
  CK_ULONG          ulDataLen,       /* signed data length */
  CK_BYTE_PTR       pSignature,      /* signature */
  CK_ULONG          ulSignatureLen   /* signature length */
);
#endif

/* C_MessageVerifyFinal finishes a message-based verification process. */
CK_PKCS11_FUNCTION_INFO(C_MessageVerifyFinal)
#ifdef CK_NEED_ARG_LIST
(
  CK_SESSION_HANDLE hSession  /* the session's handle */
);
#endif
