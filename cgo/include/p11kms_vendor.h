/* p11kms vendor-defined PKCS#11 constants, for C clients of libp11kms.so.
 *
 * PKCS#11 2.40 §2.1 reserves CKK_VENDOR_DEFINED and CKM_VENDOR_DEFINED plus a
 * vendor's number; p11kms uses 0x4B4D53 ("KMS"). The README ("Vendor-defined
 * mechanisms") describes each one. Go code reads these values through the
 * generated package ck (go generate ./ck), so C and Go cannot drift. */
#ifndef P11KMS_VENDOR_H
#define P11KMS_VENDOR_H 1

/* Secret-key type of a SYMMETRIC_DEFAULT KMS key (CKK_VENDOR_DEFINED|0x4B4D53). */
#define CKK_P11KMS_KMS                 0x804B4D53UL

/* C_Encrypt/C_Decrypt of KMS ciphertext blobs with a SYMMETRIC_DEFAULT key;
 * parameter: the encryption context as a JSON object. */
#define CKM_P11KMS_KMS_BLOB            0xCB4D5301UL
/* SM2DSA over e = SM3(ZA || M), 32 bytes computed by the caller; r||s out. */
#define CKM_P11KMS_SM2DSA              0xCB4D5302UL
/* SM3 + SM2DSA over a message; optional parameter: the signer's ID bytes
 * (default "1234567812345678"); r||s out. */
#define CKM_P11KMS_SM3_SM2DSA          0xCB4D5303UL
/* SM2 public-key encryption, GM/T 0009 ASN.1 C1C3C2 ciphertext. */
#define CKM_P11KMS_SM2PKE              0xCB4D5304UL

#endif
