/* ops_sign.c: signing and verification (PKCS#11 2.40 §5.11, §5.12) driven
 * by the fuzz input, with the §5.2 output conventions checked. */
#include <string.h>
#include "fuzz.h"

/* mechs are the mechanisms an input picks by index: those the module offers
 * and some it refuses. Other indexes read a raw mechanism type. */
static const CK_MECHANISM_TYPE mechs[] = {
  CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
  CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS, CKM_ECDSA,
  CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512, CKM_SHA1_RSA_PKCS, CKM_ECDSA_SHA1,
  CKM_RSA_PKCS_OAEP, CKM_SHA224_RSA_PKCS, CKM_SHA256_HMAC, CKM_SHA384_HMAC, CKM_SHA512_HMAC,
  CKM_SHA224_HMAC, CKM_SHA256_HMAC_GENERAL, CKM_EDDSA, CKM_ML_DSA, CKM_ML_DSA_EXTERNAL_MU,
  CKM_P11KMS_SM2DSA, CKM_P11KMS_SM3_SM2DSA,
};
#define N_MECHS (sizeof mechs / sizeof mechs[0])

/* PSS choices, index by index: hash, MGF and the salt KMS uses (= hash length). */
static const CK_MECHANISM_TYPE hashes[] = {CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1, CKM_SHA224};
static const CK_RSA_PKCS_MGF_TYPE mgfs[] = {CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKG_MGF1_SHA1, CKG_MGF1_SHA224};
static const CK_ULONG salts[] = {32, 48, 64, 20, 28};

/* DigestInfo prefixes of SHA-256/384/512 (RFC 8017 §9.2, note 1). */
static const uint8_t di_prefix[3][19] = {
  {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
  {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
  {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
};

/* pointer_params fills the parameter of a mechanism whose structure holds a
 * pointer (CK_EDDSA_PARAMS, CK_SIGN_ADDITIONAL_CONTEXT) with fuzzed fields and
 * a pointer to real bytes, or NULL: a garbage pointer is the caller's undefined
 * behaviour, which no module can detect, so the harness never passes one.
 * Returns 0 for other mechanisms. */
static int pointer_params(fz_reader *r, CK_MECHANISM *m, CK_EDDSA_PARAMS *ed, CK_SIGN_ADDITIONAL_CONTEXT *ml, uint8_t *ctx, size_t cap) {
  CK_BYTE_PTR p = (fz_u8(r) & 1) ? ctx : NULL;
  CK_ULONG n = fz_u8(r) % (cap + 1);
  if (p == NULL && (fz_u8(r) & 1)) n = 0;
  switch (m->mechanism) {
  case CKM_EDDSA:
    ed->phFlag = fz_u8(r) % 3; /* CK_TRUE, CK_FALSE or an invalid value */
    ed->ulContextDataLen = n;
    ed->pContextData = p;
    m->pParameter = ed;
    m->ulParameterLen = (fz_u8(r) & 7) ? sizeof *ed : fz_u8(r) % (sizeof *ed + 1);
    return 1;
  case CKM_ML_DSA:
  case CKM_ML_DSA_EXTERNAL_MU:
    ml->hedgeVariant = fz_u8(r) % 4; /* the three CKH_ values or an invalid one */
    ml->pContext = p;
    ml->ulContextLen = n;
    m->pParameter = ml;
    m->ulParameterLen = (fz_u8(r) & 7) ? sizeof *ml : fz_u8(r) % (sizeof *ml + 1);
    return 1;
  }
  return 0;
}

/* mech_init calls C_SignInit or C_VerifyInit with a fuzzed mechanism. */
static void mech_init(fz_reader *r, int verify) {
  int op = verify ? OP_VERIFYINIT : OP_SIGNINIT;
  const char *fn = verify ? "C_VerifyInit" : "C_SignInit";
  CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) = verify ? fz.f->C_VerifyInit : fz.f->C_SignInit;
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_OBJECT_HANDLE key = fz_object(r);
  uint8_t c = fz_u8(r), p = fz_u8(r);
  CK_MECHANISM m = {c < N_MECHS ? mechs[c] : (CK_MECHANISM_TYPE)fz_u32(r), NULL, 0};
  CK_RSA_PKCS_PSS_PARAMS pss;
  CK_EDDSA_PARAMS ed;
  CK_SIGN_ADDITIONAL_CONTEXT ml;
  uint8_t raw[64];
  if (p % 8 >= 3 && p % 8 <= 6 && pointer_params(r, &m, &ed, &ml, raw, sizeof raw)) {
    fz_check(op, fn, init(sh, &m, key));
    return;
  }
  switch (p % 8) {
  case 2: /* NULL with a length */
    m.ulParameterLen = fz_u64(r) | 1;
    fz_expect(op, fn, init(sh, &m, key), CKR_ARGUMENTS_BAD);
    return;
  case 3:
    m.ulParameterLen = fz_take(r, raw, fz_u8(r) % (sizeof raw + 1));
    m.pParameter = raw;
    break;
  case 4:
  case 5:
  case 6: {
    uint8_t h = fz_u8(r);
    pss.hashAlg = hashes[h % 5];
    pss.mgf = (h & 0x10) ? mgfs[fz_u8(r) % 5] : mgfs[h % 5];
    pss.sLen = (h & 0x20) ? fz_u8(r) : salts[h % 5];
    if (h & 0x40) pss.hashAlg = fz_u32(r);
    m.pParameter = &pss;
    m.ulParameterLen = sizeof pss;
    if (p % 8 == 6) m.ulParameterLen = fz_u8(r) % (sizeof pss + 1); /* a truncated structure */
    break;
  }
  case 7:
    fz_expect(op, fn, init(sh, NULL, key), CKR_ARGUMENTS_BAD);
    return;
  }
  fz_check(op, fn, init(sh, &m, key));
}

void op_sign_init(fz_reader *r) { mech_init(r, 0); }
void op_verify_init(fz_reader *r) { mech_init(r, 1); }

CK_ULONG fz_data(fz_reader *r, uint8_t *buf, uint8_t **ptr, int *bad) {
  uint8_t d = fz_u8(r);
  static const CK_ULONG bare[] = {32, 48, 64, 20};
  *ptr = buf;
  switch (d % 8) {
  case 0:
    *ptr = NULL;
    return 0;
  case 1:
    *ptr = NULL;
    *bad = 1;
    return fz_u64(r) | 1;
  case 3:
  case 4:
  case 5: { /* a DigestInfo, as libp11 and OpenSSH send with CKM_RSA_PKCS */
    int i = d % 8 - 3;
    memcpy(buf, di_prefix[i], 19);
    memset(buf + 19, 0, 64);
    fz_take(r, buf + 19, 32 + 16 * i);
    return 19 + 32 + 16 * i;
  }
  case 6: { /* a bare digest, as CKM_ECDSA and CKM_RSA_PKCS_PSS take */
    CK_ULONG n = bare[fz_u8(r) % 4];
    memset(buf, 0, n);
    fz_take(r, buf, n);
    return n;
  }
  }
  size_t want = fz_u8(r) | (d & 0x80 ? 256 : 0) | (d & 0x40 ? 128 : 0);
  return fz_take(r, buf, want % (FZ_DATA + 1));
}

void fz_output(fz_reader *r, int op, const char *fn, int bad, fz_out_call call, void *ctx) {
  uint8_t o = fz_u8(r);
  CK_ULONG len;
  if (bad) { /* NULL data with a length */
    len = 0;
    fz_expect(op, fn, call(ctx, NULL, &len), CKR_ARGUMENTS_BAD);
    return;
  }
  if (o % 4 == 1) { /* NULL pulSignatureLen */
    fz_expect(op, fn, call(ctx, NULL, NULL), CKR_ARGUMENTS_BAD);
    return;
  }
  if (o % 4 == 0) { /* size query: *pulLen on entry is ignored */
    len = fz_u64(r);
    CK_RV rv = call(ctx, NULL, &len);
    fz_check(op, fn, rv);
    if (rv == CKR_OK && len > 1024) fz_fail(fn, "implausible output length", len, 0);
    return;
  }
  size_t k = o % 4 == 3 ? 1024 : (fz_u8(r) | (size_t)fz_u8(r) << 8) % (FZ_BUF + 1);
  uint8_t *buf = fz_out_alloc(k);
  len = k;
  CK_RV rv = call(ctx, buf, &len);
  fz_check(op, fn, rv);
  if (rv == CKR_OK && len > k) fz_fail(fn, "output longer than the buffer", len, k);
  if (rv == CKR_BUFFER_TOO_SMALL && len <= k) fz_fail(fn, "CKR_BUFFER_TOO_SMALL for a buffer that was big enough", len, k);
  fz_out_done(buf, k, fn);
}

struct sign_ctx {
  CK_SESSION_HANDLE sh;
  uint8_t *data;
  CK_ULONG len;
};

static CK_RV call_sign(void *v, CK_BYTE_PTR out, CK_ULONG_PTR len) {
  struct sign_ctx *c = v;
  return fz.f->C_Sign(c->sh, c->data, c->len, out, len);
}

static CK_RV call_sign_final(void *v, CK_BYTE_PTR out, CK_ULONG_PTR len) {
  return fz.f->C_SignFinal(((struct sign_ctx *)v)->sh, out, len);
}

void op_sign(fz_reader *r) {
  uint8_t buf[FZ_DATA];
  int bad = 0;
  struct sign_ctx c = {fz_session(r), NULL, 0};
  c.len = fz_data(r, buf, &c.data, &bad);
  fz_output(r, OP_SIGN, "C_Sign", bad, call_sign, &c);
}

void op_sign_update(fz_reader *r) {
  uint8_t buf[FZ_DATA], *p;
  int bad = 0;
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_ULONG n = fz_data(r, buf, &p, &bad);
  CK_RV rv = fz.f->C_SignUpdate(sh, p, n);
  if (bad) fz_expect(OP_SIGNUPDATE, "C_SignUpdate(pPart=NULL, ulPartLen>0)", rv, CKR_ARGUMENTS_BAD);
  else fz_check(OP_SIGNUPDATE, "C_SignUpdate", rv);
}

void op_sign_final(fz_reader *r) {
  struct sign_ctx c = {fz_session(r), NULL, 0};
  fz_output(r, OP_SIGNFINAL, "C_SignFinal", 0, call_sign_final, &c);
}

void op_verify(fz_reader *r) {
  uint8_t buf[FZ_DATA], sig[FZ_DATA], *pd, *ps;
  int bad = 0;
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_ULONG n = fz_data(r, buf, &pd, &bad);
  CK_ULONG m = fz_data(r, sig, &ps, &bad);
  CK_RV rv = fz.f->C_Verify(sh, pd, n, ps, m);
  if (bad) fz_expect(OP_VERIFY, "C_Verify(NULL with a length)", rv, CKR_ARGUMENTS_BAD);
  else fz_check(OP_VERIFY, "C_Verify", rv);
}

void op_verify_multi(fz_reader *r) {
  uint8_t buf[FZ_DATA], *p;
  CK_SESSION_HANDLE sh = fz_session(r);
  for (int parts = fz_u8(r) % 4; parts > 0; parts--) {
    int bad = 0;
    CK_ULONG n = fz_data(r, buf, &p, &bad);
    CK_RV rv = fz.f->C_VerifyUpdate(sh, p, n);
    if (bad) fz_expect(OP_VERIFYMULTI, "C_VerifyUpdate(pPart=NULL, ulPartLen>0)", rv, CKR_ARGUMENTS_BAD);
    else fz_check(OP_VERIFYMULTI, "C_VerifyUpdate", rv);
  }
  int bad = 0;
  CK_ULONG n = fz_data(r, buf, &p, &bad);
  CK_RV rv = fz.f->C_VerifyFinal(sh, p, n);
  if (bad) fz_expect(OP_VERIFYMULTI, "C_VerifyFinal(pSignature=NULL, ulSignatureLen>0)", rv, CKR_ARGUMENTS_BAD);
  else fz_check(OP_VERIFYMULTI, "C_VerifyFinal", rv);
}
