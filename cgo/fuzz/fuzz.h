/* fuzz.h: shared state of the native libFuzzer harness (README.md).
 *
 * The harness dlopens build/libp11kms.so and turns each fuzz input into a
 * sequence of PKCS#11 calls. It never lies about a buffer: every length it
 * passes is the real size of the memory behind the pointer (a larger one is
 * the caller's undefined behaviour, not the module's bug); lengths are only
 * huge where the pointer is NULL. Each output buffer is followed by canary
 * bytes that must survive the call. */
#ifndef P11KMS_FUZZ_H
#define P11KMS_FUZZ_H 1

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif

#include <stddef.h>
#include <stdint.h>
#include "pkcs11.h"
#include "p11kms_v3t.h" /* 3.0/3.2 types: CK_EDDSA_PARAMS, CK_SIGN_ADDITIONAL_CONTEXT */
#include "p11kms_vendor.h" /* CKM_P11KMS_SM2DSA, CKM_P11KMS_SM2PKE... (byte parameters, no pointers) */

/* Limits on what one input may ask for. */
#define FZ_SESSIONS 4      /* session slots an input works with */
#define FZ_HANDLES 64      /* object handles remembered from discovery */
#define FZ_TEMPLATE 8      /* attributes in a template */
#define FZ_VALUE 96        /* bytes of one template value */
#define FZ_BUF 1100        /* largest output buffer (RSA-4096 is 512) */
#define FZ_DATA 700        /* largest data or signature input */
#define FZ_CANARY 32       /* canary bytes after each output buffer */
#define FZ_DERIVED 16      /* derived key handles an input remembers */

/* fz_reader consumes a fuzz input; past its end every read gives zero. */
typedef struct {
  const uint8_t *p;
  size_t n;
} fz_reader;

uint8_t fz_u8(fz_reader *r);
uint32_t fz_u32(fz_reader *r);
uint64_t fz_u64(fz_reader *r);
/* fz_take copies up to want bytes into dst and returns how many it copied. */
size_t fz_take(fz_reader *r, uint8_t *dst, size_t want);

/* fz_state is what the harness knows between calls. */
typedef struct {
  CK_FUNCTION_LIST_PTR f;
  CK_SLOT_ID slot;
  CK_SESSION_HANDLE sessions[FZ_SESSIONS]; /* may be stale: that is tested too */
  CK_OBJECT_HANDLE handles[FZ_HANDLES];    /* from discovery; may be stale after re-init */
  size_t nhandles;
  CK_OBJECT_HANDLE stale; /* an object handle of before the last re-initialization */
  CK_OBJECT_HANDLE derived[FZ_DERIVED]; /* made by C_DeriveKey in this input; may be destroyed */
  size_t nderived;
} fz_state;

extern fz_state fz;

/* fz_session picks a session handle: one of the remembered ones (stale or
 * not), an object handle (the wrong kind), zero, or a raw value. */
CK_SESSION_HANDLE fz_session(fz_reader *r);
/* fz_object picks an object handle the same way (a session handle is the
 * wrong kind), or a key C_DeriveKey made in this input (live or destroyed). */
CK_OBJECT_HANDLE fz_object(fz_reader *r);

/* fz_check records rv for the call's coverage bucket and aborts (a finding
 * libFuzzer saves) on CKR_GENERAL_ERROR: the module's recovered panic. */
void fz_check(int op, const char *fn, CK_RV rv);
/* fz_expect is fz_check, and also aborts unless rv is want: for calls whose
 * outcome the C ABI fixes (a NULL pointer with a length is CKR_ARGUMENTS_BAD). */
void fz_expect(int op, const char *fn, CK_RV rv, CK_RV want);
/* fz_out_alloc returns a buffer of n bytes followed by FZ_CANARY canary bytes. */
uint8_t *fz_out_alloc(size_t n);
/* fz_out_done aborts if the canary after an n-byte buffer changed, then frees it. */
void fz_out_done(uint8_t *buf, size_t n, const char *fn);
/* fz_fail reports a broken invariant and aborts. */
void fz_fail(const char *fn, const char *what, unsigned long a, unsigned long b);

/* fz_data fills buf (FZ_DATA bytes) with a fuzzed input (raw bytes, a
 * DigestInfo, a bare digest, or NULL) and returns its length; *ptr is buf or
 * NULL, and *bad is set for NULL with a non-zero length. */
CK_ULONG fz_data(fz_reader *r, uint8_t *buf, uint8_t **ptr, int *bad);
/* fz_out_call makes a call with output arguments (C_Sign, C_Encrypt...). */
typedef CK_RV (*fz_out_call)(void *ctx, CK_BYTE_PTR out, CK_ULONG_PTR len);
/* fz_output calls call with a fuzzed output buffer (or a size query, or a
 * NULL length pointer) and checks the PKCS#11 2.40 §5.2 conventions; bad says
 * the input data was NULL with a length, which must be CKR_ARGUMENTS_BAD. */
void fz_output(fz_reader *r, int op, const char *fn, int bad, fz_out_call call, void *ctx);

/* fz_discover refreshes fz.handles with every object of the slot. */
void fz_discover(void);
/* fz_is_token_object reports whether h is one of fz.handles (a KMS-backed object). */
int fz_is_token_object(CK_OBJECT_HANDLE h);

/* fz_template is a fuzzed object template (derive_template.c). */
typedef struct {
  CK_ATTRIBUTE a[FZ_TEMPLATE];
  uint8_t values[FZ_TEMPLATE][FZ_VALUE];
  CK_ATTRIBUTE_PTR ptr; /* a, or NULL */
  CK_ULONG count;
  int bad;              /* a NULL pointer with a length: must be CKR_ARGUMENTS_BAD */
  int has_len;          /* CKA_VALUE_LEN given as a CK_ULONG: */
  CK_ULONG value_len;   /* its (last) value */
} fz_template;
/* fz_key_template fills t with a fuzzed C_DeriveKey template. */
void fz_key_template(fz_reader *r, fz_template *t);

/* fz_point is a valid uncompressed EC point (derive_points.c). */
typedef struct {
  size_t len;
  uint8_t b[133]; /* P-521: 1 + 2*66 */
} fz_point;
#define FZ_NPOINTS 5
extern const fz_point fz_points[FZ_NPOINTS];

/* The operations an input byte selects. Each reads its arguments from r. */
void op_open(fz_reader *r);
void op_close(fz_reader *r);
void op_find(fz_reader *r);
void op_get_attribute(fz_reader *r);
void op_object_size(fz_reader *r);
void op_login(fz_reader *r);
void op_sign_init(fz_reader *r);
void op_sign(fz_reader *r);
void op_sign_update(fz_reader *r);
void op_sign_final(fz_reader *r);
void op_verify_init(fz_reader *r);
void op_verify(fz_reader *r);
void op_verify_multi(fz_reader *r);
void op_info(fz_reader *r);
void op_random(fz_reader *r);
void op_reinit(fz_reader *r);
void op_crypt_init(fz_reader *r);
void op_crypt(fz_reader *r);
void op_crypt_multi(fz_reader *r);
void op_digest(fz_reader *r);
void op_derive(fz_reader *r);
void op_destroy(fz_reader *r);

/* Operation numbers, for fz_check's coverage buckets. */
enum {
  OP_OPEN, OP_CLOSE, OP_FIND, OP_GETATTR, OP_OBJSIZE, OP_LOGIN, OP_SIGNINIT, OP_SIGN,
  OP_SIGNUPDATE, OP_SIGNFINAL, OP_VERIFYINIT, OP_VERIFY, OP_VERIFYMULTI, OP_INFO,
  OP_RANDOM, OP_REINIT, OP_CRYPTINIT, OP_CRYPT, OP_CRYPTMULTI, OP_DIGEST, OP_DERIVE, OP_DESTROY,
  OP_COUNT
};

#endif
