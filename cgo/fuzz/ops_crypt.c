/* ops_crypt.c: encryption, decryption and digests (PKCS#11 2.40 §5.8-§5.10)
 * driven by the fuzz input, with the §5.2 output conventions checked. */
#include <string.h>
#include "fuzz.h"

/* crypt_mechs are picked by index; others read a raw type (never OAEP with a
 * raw parameter: see crypt_init). */
static const CK_MECHANISM_TYPE crypt_mechs[] = {
  CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS_OAEP, CKM_RSA_PKCS, CKM_AES_GCM, CKM_RSA_X_509,
  CKM_P11KMS_SM2PKE, CKM_P11KMS_KMS_BLOB,
};
#define N_CRYPT_MECHS (sizeof crypt_mechs / sizeof crypt_mechs[0])
static const CK_MECHANISM_TYPE oaep_hashes[] = {CKM_SHA_1, CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA224};
static const CK_RSA_PKCS_MGF_TYPE oaep_mgfs[] = {CKG_MGF1_SHA1, CKG_MGF1_SHA256, CKG_MGF1_SHA384, CKG_MGF1_SHA512, CKG_MGF1_SHA224};
static const CK_MECHANISM_TYPE digest_mechs[] = {CKM_SHA256, CKM_SHA384, CKM_SHA512, CKM_SHA_1, CKM_SHA224, CKM_MD5};
#define N_DIGEST_MECHS (sizeof digest_mechs / sizeof digest_mechs[0])

/* crypt_init calls C_EncryptInit or C_DecryptInit. CK_RSA_PKCS_OAEP_PARAMS
 * holds a pointer (the label): the harness always builds that structure
 * itself, with a real label buffer or NULL, and never passes raw bytes of its
 * size for CKM_RSA_PKCS_OAEP (a fuzzed pointer would be the caller's bug). */
void op_crypt_init(fz_reader *r) {
  uint8_t c = fz_u8(r), p = fz_u8(r);
  int dec = c & 0x80;
  const char *fn = dec ? "C_DecryptInit" : "C_EncryptInit";
  CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) = dec ? fz.f->C_DecryptInit : fz.f->C_EncryptInit;
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_OBJECT_HANDLE key = fz_object(r);
  CK_MECHANISM m = {(c & 0x7F) < N_CRYPT_MECHS ? crypt_mechs[c & 0x7F] : (CK_MECHANISM_TYPE)fz_u32(r), NULL, 0};
  CK_RSA_PKCS_OAEP_PARAMS oaep;
  uint8_t label[32], raw[64];
  CK_RV want = CKR_OK; /* CKR_OK: no fixed outcome */
  switch (p % 6) {
  case 1:
    fz_expect(OP_CRYPTINIT, fn, init(sh, NULL, key), CKR_ARGUMENTS_BAD);
    return;
  case 2: /* NULL with a length */
    m.ulParameterLen = fz_u64(r) | 1;
    want = CKR_ARGUMENTS_BAD;
    break;
  case 3: /* raw bytes, never exactly an OAEP structure */
    m.ulParameterLen = fz_take(r, raw, fz_u8(r) % (sizeof raw + 1));
    if (m.mechanism == CKM_RSA_PKCS_OAEP && m.ulParameterLen == sizeof oaep) m.ulParameterLen--;
    m.pParameter = raw;
    if (m.mechanism == CKM_RSA_PKCS_OAEP) want = CKR_MECHANISM_PARAM_INVALID; /* not one structure */
    break;
  case 4:
  case 5: {
    uint8_t h = fz_u8(r), l = fz_u8(r);
    memset(&oaep, 0, sizeof oaep);
    oaep.hashAlg = oaep_hashes[h % 5];
    oaep.mgf = (h & 0x10) ? oaep_mgfs[fz_u8(r) % 5] : oaep_mgfs[h % 5];
    oaep.source = (h & 0x20) ? fz_u32(r) : CKZ_DATA_SPECIFIED;
    if (l & 1) { /* a real label */
      oaep.ulSourceDataLen = fz_take(r, label, l % (sizeof label + 1));
      oaep.pSourceData = label;
    } else if (l & 2) { /* NULL with a length: refused before reading */
      oaep.ulSourceDataLen = fz_u64(r) | 1;
      if (m.mechanism == CKM_RSA_PKCS_OAEP) want = CKR_MECHANISM_PARAM_INVALID;
    }
    m.pParameter = &oaep;
    m.ulParameterLen = sizeof oaep;
    if (m.mechanism != CKM_RSA_PKCS_OAEP && oaep.pSourceData == NULL && oaep.ulSourceDataLen > 0) {
      oaep.ulSourceDataLen = 0; /* other mechanisms take the bytes as they are */
    }
    break;
  }
  }
  CK_RV rv = init(sh, &m, key);
  if (want != CKR_OK) fz_expect(OP_CRYPTINIT, fn, rv, want);
  else fz_check(OP_CRYPTINIT, fn, rv);
}

struct crypt_ctx {
  CK_SESSION_HANDLE sh;
  uint8_t *in;
  CK_ULONG len;
  int dec;
};

static CK_RV call_crypt(void *v, CK_BYTE_PTR out, CK_ULONG_PTR len) {
  struct crypt_ctx *c = v;
  return c->dec ? fz.f->C_Decrypt(c->sh, c->in, c->len, out, len) : fz.f->C_Encrypt(c->sh, c->in, c->len, out, len);
}

void op_crypt(fz_reader *r) {
  uint8_t buf[FZ_DATA];
  int bad = 0;
  struct crypt_ctx c = {fz_session(r), NULL, 0, fz_u8(r) & 1};
  c.len = fz_data(r, buf, &c.in, &bad);
  fz_output(r, OP_CRYPT, c.dec ? "C_Decrypt" : "C_Encrypt", bad, call_crypt, &c);
}

/* op_crypt_multi calls the Update and Final functions of encryption or
 * decryption with real buffers (the module's only mechanisms are single-part). */
void op_crypt_multi(fz_reader *r) {
  uint8_t in[64], *out = fz_out_alloc(FZ_BUF);
  CK_SESSION_HANDLE sh = fz_session(r);
  uint8_t m = fz_u8(r);
  CK_ULONG n = fz_take(r, in, fz_u8(r) % sizeof in), len = FZ_BUF;
  CK_RV rv;
  switch (m % 4) {
  case 0: rv = fz.f->C_EncryptUpdate(sh, in, n, out, &len); break;
  case 1: rv = fz.f->C_EncryptFinal(sh, out, &len); break;
  case 2: rv = fz.f->C_DecryptUpdate(sh, in, n, out, &len); break;
  default: rv = fz.f->C_DecryptFinal(sh, out, &len); break;
  }
  fz_check(OP_CRYPTMULTI, "C_{En,De}crypt{Update,Final}", rv);
  if (rv == CKR_OK && len > FZ_BUF) fz_fail("C_{En,De}crypt{Update,Final}", "output longer than the buffer", len, FZ_BUF);
  fz_out_done(out, FZ_BUF, "C_{En,De}crypt{Update,Final}");
}

struct digest_ctx {
  CK_SESSION_HANDLE sh;
  uint8_t *in;
  CK_ULONG len;
};

static CK_RV call_digest(void *v, CK_BYTE_PTR out, CK_ULONG_PTR len) {
  struct digest_ctx *c = v;
  return fz.f->C_Digest(c->sh, c->in, c->len, out, len);
}

static CK_RV call_digest_final(void *v, CK_BYTE_PTR out, CK_ULONG_PTR len) {
  return fz.f->C_DigestFinal(((struct digest_ctx *)v)->sh, out, len);
}

void op_digest(fz_reader *r) {
  uint8_t buf[FZ_DATA];
  int bad = 0;
  struct digest_ctx c = {fz_session(r), NULL, 0};
  uint8_t m = fz_u8(r);
  switch (m % 5) {
  case 0: {
    uint8_t d = fz_u8(r);
    CK_MECHANISM mech = {d < N_DIGEST_MECHS ? digest_mechs[d] : (CK_MECHANISM_TYPE)fz_u32(r), NULL, 0};
    if (m & 0x80) fz_expect(OP_DIGEST, "C_DigestInit(NULL)", fz.f->C_DigestInit(c.sh, NULL), CKR_ARGUMENTS_BAD);
    else fz_check(OP_DIGEST, "C_DigestInit", fz.f->C_DigestInit(c.sh, &mech));
    return;
  }
  case 1:
    c.len = fz_data(r, buf, &c.in, &bad);
    fz_output(r, OP_DIGEST, "C_Digest", bad, call_digest, &c);
    return;
  case 2: {
    c.len = fz_data(r, buf, &c.in, &bad);
    CK_RV rv = fz.f->C_DigestUpdate(c.sh, c.in, c.len);
    if (bad) fz_expect(OP_DIGEST, "C_DigestUpdate(NULL, len>0)", rv, CKR_ARGUMENTS_BAD);
    else fz_check(OP_DIGEST, "C_DigestUpdate", rv);
    return;
  }
  case 3:
    fz_check(OP_DIGEST, "C_DigestKey", fz.f->C_DigestKey(c.sh, fz_object(r)));
    return;
  }
  fz_output(r, OP_DIGEST, "C_DigestFinal", 0, call_digest_final, &c);
}
