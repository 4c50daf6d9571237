/* ops_derive.c: C_DeriveKey with CKM_ECDH1_DERIVE and C_DestroyObject
 * (PKCS#11 2.40 §5.14, §5.7; Current Mechanisms 2.40 §2.3.15-16) driven by
 * the fuzz input. CK_ECDH1_DERIVE_PARAMS holds two pointers: the harness
 * builds that structure itself, with fuzzed kdf and lengths but pointers to
 * its own buffers (as long as the lengths say) or NULL, never garbage. */
#include <string.h>
#include "fuzz.h"

/* other_mechs are the mechanisms other than CKM_ECDH1_DERIVE an input picks:
 * derivations the module does not offer, and a signing one. */
static const CK_MECHANISM_TYPE other_mechs[] = {
  CKM_ECDH1_COFACTOR_DERIVE, CKM_ECMQV_DERIVE, CKM_SHA256_KEY_DERIVATION,
  CKM_CONCATENATE_BASE_AND_KEY, CKM_DH_PKCS_DERIVE, CKM_ECDSA,
};
#define N_OTHER_MECHS (sizeof other_mechs / sizeof other_mechs[0])

/* kdfs are the CK_EC_KDF_TYPEs of Current Mechanisms 2.40 §2.3.15 the module takes. */
static const CK_EC_KDF_TYPE kdfs[] = {CKD_NULL, CKD_SHA1_KDF, CKD_SHA224_KDF, CKD_SHA256_KDF, CKD_SHA384_KDF, CKD_SHA512_KDF};

/* peer_data fills pub (160 bytes) with the peer's public data: a valid point
 * (raw or in a DER OCTET STRING), one spoiled, fuzzed bytes, or NULL.
 * Returns the length and sets *ptr; *bad is set for NULL with a length. */
static CK_ULONG peer_data(fz_reader *r, uint8_t *pub, CK_BYTE_PTR *ptr, int *bad) {
  uint8_t q = fz_u8(r);
  const fz_point *pt = &fz_points[fz_u8(r) % FZ_NPOINTS];
  size_t n = pt->len;
  *ptr = pub;
  switch (q % 8) {
  case 0:
    *ptr = NULL;
    return 0;
  case 1:
    *ptr = NULL;
    *bad = 1;
    return fz_u64(r) | 1;
  case 4: /* DER OCTET STRING, as PKCS#11 2.20 clients send it */
  case 5: {
    size_t h = n < 128 ? 2 : 3;
    pub[0] = 0x04;
    if (h == 2) pub[1] = (uint8_t)n;
    else pub[1] = 0x81, pub[2] = (uint8_t)n;
    memcpy(pub + h, pt->b, n);
    n += h;
    if (q % 8 == 5) pub[fz_u8(r) % n] ^= fz_u8(r) | 1; /* one byte spoiled */
    return n;
  }
  case 6:
    return fz_take(r, pub, fz_u8(r) % 161);
  case 7: { /* compressed (02/03||X), one byte short, or one byte long */
    memcpy(pub, pt->b, n);
    uint8_t v = fz_u8(r);
    if (v % 3 == 0) {
      pub[0] = 2 | (v >> 7);
      return 1 + (n - 1) / 2;
    }
    pub[n] = v;
    return v % 3 == 1 ? n - 1 : n + 1;
  }
  }
  memcpy(pub, pt->b, n); /* 2, 3: a valid raw point */
  return n;
}

/* record_derived remembers h for later operations (fz_object). */
static void record_derived(CK_OBJECT_HANDLE h) {
  if (fz.nderived < FZ_DERIVED) fz.derived[fz.nderived++] = h;
  else fz.derived[h % FZ_DERIVED] = h;
}

/* check_derived checks a key C_DeriveKey made: a valid handle of no token
 * object, a secret key (PKCS#11 2.40 §4.10) with the CKA_VALUE_LEN asked for. */
static void check_derived(CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE h, const fz_template *t) {
  CK_OBJECT_CLASS cls = 0xDEAD;
  CK_ULONG len = 0;
  CK_ATTRIBUTE q[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_VALUE_LEN, &len, sizeof len}};
  if (h == CK_INVALID_HANDLE) fz_fail("C_DeriveKey", "CKR_OK with CK_INVALID_HANDLE", h, 0);
  if (fz_is_token_object(h)) fz_fail("C_DeriveKey", "new key has a token object's handle", h, 0);
  CK_RV rv = fz.f->C_GetAttributeValue(sh, h, q, 2);
  if (rv != CKR_OK) fz_fail("C_DeriveKey", "C_GetAttributeValue of the new key failed", rv, h);
  if (cls != CKO_SECRET_KEY) fz_fail("C_DeriveKey", "new key is not CKO_SECRET_KEY", cls, h);
  if (t->has_len && len != t->value_len) fz_fail("C_DeriveKey", "CKA_VALUE_LEN other than the template's", len, t->value_len);
}

void op_derive(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_OBJECT_HANDLE base = fz_object(r);
  uint8_t m = fz_u8(r), p = fz_u8(r), form = fz_u8(r) % 8;
  CK_MECHANISM mech = {p < 0xC0 ? CKM_ECDH1_DERIVE : p == 0xFF ? (CK_MECHANISM_TYPE)fz_u32(r) : other_mechs[p % N_OTHER_MECHS], NULL, 0};
  int ecdh = mech.mechanism == CKM_ECDH1_DERIVE;
  int args_bad = (m & 7) == 0, param_bad = 0; /* C-level faults: their CK_RVs are the only right ones */
  union {
    CK_ECDH1_DERIVE_PARAMS s;
    uint8_t raw[sizeof(CK_ECDH1_DERIVE_PARAMS) + 16];
  } param;
  uint8_t shared[64], pub[161];
  memset(&param, 0, sizeof param);
  if (form <= 4) { /* the structure, whole or (4) with a fuzzed length */
    uint8_t k = fz_u8(r), s = fz_u8(r);
    param.s.kdf = k < 0xF0 ? kdfs[k % 6] : k == 0xFF ? (CK_EC_KDF_TYPE)fz_u64(r) : (CK_EC_KDF_TYPE)(k & 0x0F);
    if (s % 4 == 1) { /* NULL with a length */
      param.s.ulSharedDataLen = fz_u64(r) | 1;
      param_bad = 1;
    } else if (s % 4 >= 2) {
      param.s.pSharedData = shared;
      param.s.ulSharedDataLen = fz_take(r, shared, (s >> 2) % (sizeof shared + 1));
    }
    param.s.ulPublicDataLen = peer_data(r, pub, &param.s.pPublicData, &param_bad);
    mech.pParameter = &param;
    mech.ulParameterLen = form == 4 ? fz_u8(r) % (sizeof param.raw + 1) : sizeof param.s;
    if (mech.ulParameterLen != sizeof param.s) param_bad = 1;
  } else if (form == 6) { /* NULL with a length */
    mech.ulParameterLen = fz_u64(r) | 1;
    args_bad = 1;
  } else if (form == 7) { /* raw bytes, never exactly a CK_ECDH1_DERIVE_PARAMS */
    mech.ulParameterLen = fz_take(r, param.raw, fz_u8(r) % (sizeof param.raw + 1));
    if (mech.ulParameterLen == sizeof param.s) mech.ulParameterLen--;
    mech.pParameter = param.raw;
    param_bad = 1;
  }
  if (!ecdh || mech.pParameter == NULL) param_bad = 0; /* copied as bytes, not read as the structure */
  int null_mech = (m & 0x38) == 0x38;
  if (null_mech) args_bad = 1;
  fz_template t;
  fz_key_template(r, &t);
  args_bad |= t.bad;

  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  CK_RV rv = fz.f->C_DeriveKey(sh, null_mech ? NULL : &mech, base, t.ptr, t.count, (m & 7) == 0 ? NULL : &h);
  fz_check(OP_DERIVE, "C_DeriveKey", rv);
  if ((args_bad || (param_bad && !null_mech)) &&
      !(args_bad && rv == CKR_ARGUMENTS_BAD) && !(param_bad && !null_mech && rv == CKR_MECHANISM_PARAM_INVALID)) {
    fz_fail("C_DeriveKey", "a NULL pointer with a length or a malformed CK_ECDH1_DERIVE_PARAMS not refused as such (rv, args_bad)", rv, args_bad);
  }
  if (!args_bad && rv == CKR_ARGUMENTS_BAD) fz_fail("C_DeriveKey", "CKR_ARGUMENTS_BAD without a bad argument", rv, 0);
  if (rv != CKR_OK) return;
  check_derived(sh, h, &t);
  record_derived(h);
}

void op_destroy(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  uint8_t c = fz_u8(r);
  CK_OBJECT_HANDLE oh = (c & 3) == 0 && fz.nderived ? fz.derived[fz_u8(r) % fz.nderived] : fz_object(r);
  CK_RV rv = fz.f->C_DestroyObject(sh, oh);
  fz_check(OP_DESTROY, "C_DestroyObject", rv);
  if (rv == CKR_ARGUMENTS_BAD) fz_fail("C_DestroyObject", "CKR_ARGUMENTS_BAD without a pointer argument", rv, oh);
  if (rv != CKR_OK) return;
  if (fz_is_token_object(oh)) fz_fail("C_DestroyObject", "destroyed a KMS-backed object", rv, oh);
  if (c & 4) fz_expect(OP_DESTROY, "C_DestroyObject twice", fz.f->C_DestroyObject(sh, oh), CKR_OBJECT_HANDLE_INVALID);
  if (c & 8) {
    CK_OBJECT_CLASS cls;
    CK_ATTRIBUTE q = {CKA_CLASS, &cls, sizeof cls};
    fz_expect(OP_DESTROY, "C_GetAttributeValue of a destroyed object", fz.f->C_GetAttributeValue(sh, oh, &q, 1), CKR_OBJECT_HANDLE_INVALID);
  }
}
