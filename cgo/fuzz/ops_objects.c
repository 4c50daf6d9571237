/* ops_objects.c: sessions, login, searches and attributes (PKCS#11 2.40
 * §5.6, §5.7) driven by the fuzz input. */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

/* attr_types are the types an input picks by index: what key objects have
 * (derived secret keys included), what is sensitive, what they lack. Other
 * indexes read a raw type. */
static const CK_ATTRIBUTE_TYPE attr_types[] = {
  CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_ID, CKA_KEY_TYPE, CKA_SIGN, CKA_VERIFY,
  CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_MODULUS_BITS, CKA_EC_PARAMS, CKA_EC_POINT,
  CKA_PRIVATE_EXPONENT, CKA_VALUE, CKA_SUBJECT, CKA_ALLOWED_MECHANISMS, CKA_PUBLIC_KEY_INFO,
  CKA_START_DATE, CKA_END_DATE, CKA_CERTIFICATE_TYPE, CKA_SENSITIVE, CKA_EXTRACTABLE,
  CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_AUTHENTICATE, CKA_VALUE_LEN, CKA_DERIVE,
  CKA_DESTROYABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
};
#define N_ATTR_TYPES (sizeof attr_types / sizeof attr_types[0])

static CK_ATTRIBUTE_TYPE pick_type(fz_reader *r) {
  uint8_t c = fz_u8(r);
  if (c < N_ATTR_TYPES) return attr_types[c];
  return c == 0xFF ? (CK_ATTRIBUTE_TYPE)fz_u64(r) : (CK_ATTRIBUTE_TYPE)fz_u32(r);
}

void op_open(fz_reader *r) {
  uint8_t m = fz_u8(r);
  CK_SLOT_ID slot = (m & 0x80) ? (CK_SLOT_ID)fz_u8(r) : fz.slot;
  CK_FLAGS flags = CKF_SERIAL_SESSION;
  switch (m & 3) {
  case 1: flags |= CKF_RW_SESSION; break;
  case 2: flags = 0; break; /* no CKF_SERIAL_SESSION */
  case 3: flags = fz_u32(r); break;
  }
  if (m & 0x40) {
    fz_expect(OP_OPEN, "C_OpenSession(phSession=NULL)", fz.f->C_OpenSession(slot, flags, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    return;
  }
  CK_SESSION_HANDLE h = 0;
  CK_RV rv = fz.f->C_OpenSession(slot, flags, NULL, NULL, &h);
  fz_check(OP_OPEN, "C_OpenSession", rv);
  if (rv == CKR_OK) fz.sessions[(m >> 2) % FZ_SESSIONS] = h;
}

void op_close(fz_reader *r) {
  uint8_t m = fz_u8(r);
  if (m & 1) {
    CK_SLOT_ID slot = (m & 2) ? (CK_SLOT_ID)fz_u8(r) : fz.slot;
    fz_check(OP_CLOSE, "C_CloseAllSessions", fz.f->C_CloseAllSessions(slot));
    return;
  }
  fz_check(OP_CLOSE, "C_CloseSession", fz.f->C_CloseSession(fz_session(r)));
}

/* object_value copies the value of attribute t of object oh into dst (at
 * most cap bytes) and returns its length, or 0 when it cannot be read. */
static CK_ULONG object_value(CK_SESSION_HANDLE sh, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_TYPE t, uint8_t *dst, CK_ULONG cap) {
  CK_ATTRIBUTE a = {t, NULL, 0};
  if (fz.f->C_GetAttributeValue(sh, oh, &a, 1) != CKR_OK || a.ulValueLen > cap) return 0;
  a.pValue = dst;
  return fz.f->C_GetAttributeValue(sh, oh, &a, 1) == CKR_OK ? a.ulValueLen : 0;
}

void op_find(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  uint8_t m = fz_u8(r);
  if (m % 8 == 0) {
    CK_ULONG n = fz_u64(r) | 1;
    fz_expect(OP_FIND, "C_FindObjectsInit(pTemplate=NULL, ulCount>0)", fz.f->C_FindObjectsInit(sh, NULL, n), CKR_ARGUMENTS_BAD);
    return;
  }
  CK_ATTRIBUTE tmpl[FZ_TEMPLATE];
  uint8_t values[FZ_TEMPLATE][FZ_VALUE];
  size_t n = fz_u8(r) % (FZ_TEMPLATE + 1);
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    tmpl[i].type = pick_type(r);
    uint8_t v = fz_u8(r);
    if (v == 0xFF) { /* the real value of an object: reach matches */
      tmpl[i].ulValueLen = object_value(sh, fz_object(r), tmpl[i].type, values[i], FZ_VALUE);
    } else if (v == 0xFE) { /* NULL with a length: the module must refuse before reading */
      tmpl[i].ulValueLen = fz_u64(r) | 1;
      bad = 1;
    } else {
      tmpl[i].ulValueLen = fz_take(r, values[i], v % (FZ_VALUE + 1));
    }
    tmpl[i].pValue = (v == 0xFE || (tmpl[i].ulValueLen == 0 && (v & 1))) ? NULL : values[i];
  }
  CK_RV rv = fz.f->C_FindObjectsInit(sh, n ? tmpl : NULL, n);
  if (bad) {
    fz_expect(OP_FIND, "C_FindObjectsInit(pValue=NULL, ulValueLen>0)", rv, CKR_ARGUMENTS_BAD);
    return;
  }
  fz_check(OP_FIND, "C_FindObjectsInit", rv);
  for (int round = fz_u8(r) % 4; round > 0; round--) {
    uint8_t f = fz_u8(r);
    CK_ULONG max = f % 9, count = 0xDEAD;
    if (f & 0x80) {
      fz_expect(OP_FIND, "C_FindObjects(pulObjectCount=NULL)", fz.f->C_FindObjects(sh, NULL, max, NULL), CKR_ARGUMENTS_BAD);
      continue;
    }
    if ((f & 0x40) && max > 0) {
      fz_expect(OP_FIND, "C_FindObjects(phObject=NULL, max>0)", fz.f->C_FindObjects(sh, NULL, fz_u64(r) | 1, &count), CKR_ARGUMENTS_BAD);
      continue;
    }
    uint8_t *buf = fz_out_alloc(max * sizeof(CK_OBJECT_HANDLE) + 1);
    rv = fz.f->C_FindObjects(sh, (CK_OBJECT_HANDLE_PTR)buf, max, &count);
    fz_check(OP_FIND, "C_FindObjects", rv);
    if (rv == CKR_OK && count > max) fz_fail("C_FindObjects", "more handles than ulMaxObjectCount", count, max);
    fz_out_done(buf, max * sizeof(CK_OBJECT_HANDLE) + 1, "C_FindObjects");
  }
  if (fz_u8(r) & 1) fz_check(OP_FIND, "C_FindObjectsFinal", fz.f->C_FindObjectsFinal(sh));
}

/* result_rv reports the CK_RVs after which C_GetAttributeValue has written
 * every ulValueLen (PKCS#11 2.40 §5.7). */
static int result_rv(CK_RV rv) {
  return rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL;
}

void op_get_attribute(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_OBJECT_HANDLE oh = fz_object(r);
  uint8_t m = fz_u8(r);
  if (m % 8 == 0) {
    CK_ULONG n = fz_u64(r) | 1;
    fz_expect(OP_GETATTR, "C_GetAttributeValue(pTemplate=NULL, ulCount>0)", fz.f->C_GetAttributeValue(sh, oh, NULL, n), CKR_ARGUMENTS_BAD);
    return;
  }
  CK_ATTRIBUTE tmpl[FZ_TEMPLATE];
  CK_ULONG asked[FZ_TEMPLATE];
  size_t n = fz_u8(r) % (FZ_TEMPLATE + 1);
  for (size_t i = 0; i < n; i++) {
    tmpl[i].type = pick_type(r);
    uint8_t e = fz_u8(r);
    tmpl[i].pValue = NULL;
    if (e & 1) { /* NULL pValue: ulValueLen may be anything */
      tmpl[i].ulValueLen = fz_u64(r);
    } else {
      size_t k = fz_u8(r) | (size_t)fz_u8(r) << 8;
      if (e & 2) { /* near the value's real length */
        CK_ATTRIBUTE q = {tmpl[i].type, NULL, 0};
        long near = 0;
        if (fz.f->C_GetAttributeValue(sh, oh, &q, 1) == CKR_OK && q.ulValueLen <= FZ_BUF) near = (long)q.ulValueLen;
        near += (int8_t)fz_u8(r);
        k = near < 0 ? 0 : (size_t)near;
      }
      k %= FZ_BUF + 1;
      tmpl[i].pValue = fz_out_alloc(k);
      tmpl[i].ulValueLen = k;
    }
    asked[i] = tmpl[i].ulValueLen;
  }
  CK_RV rv = fz.f->C_GetAttributeValue(sh, oh, n ? tmpl : NULL, n);
  fz_check(OP_GETATTR, "C_GetAttributeValue", rv);
  for (size_t i = 0; i < n; i++) {
    CK_ULONG got = tmpl[i].ulValueLen;
    if (!result_rv(rv) && got != asked[i]) fz_fail("C_GetAttributeValue", "ulValueLen changed by a failed call", got, asked[i]);
    if (tmpl[i].pValue == NULL) continue;
    if (result_rv(rv) && got != CK_UNAVAILABLE_INFORMATION && got > asked[i]) {
      fz_fail("C_GetAttributeValue", "value length beyond the buffer", got, asked[i]);
    }
    fz_out_done(tmpl[i].pValue, asked[i], "C_GetAttributeValue");
  }
}

void op_object_size(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  CK_OBJECT_HANDLE oh = fz_object(r);
  if (fz_u8(r) & 1) {
    fz_expect(OP_OBJSIZE, "C_GetObjectSize(NULL)", fz.f->C_GetObjectSize(sh, oh, NULL), CKR_ARGUMENTS_BAD);
    return;
  }
  CK_ULONG size = 0;
  fz_check(OP_OBJSIZE, "C_GetObjectSize", fz.f->C_GetObjectSize(sh, oh, &size));
}

void op_login(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  uint8_t m = fz_u8(r);
  if (m % 4 == 0) {
    fz_check(OP_LOGIN, "C_Logout", fz.f->C_Logout(sh));
    return;
  }
  static const CK_USER_TYPE users[] = {CKU_USER, CKU_SO, CKU_CONTEXT_SPECIFIC};
  CK_USER_TYPE user = (m >> 2) % 4 < 3 ? users[(m >> 2) % 4] : fz_u32(r);
  if (m & 0x80) {
    fz_expect(OP_LOGIN, "C_Login(pPin=NULL, ulPinLen>0)", fz.f->C_Login(sh, user, NULL, fz_u64(r) | 1), CKR_ARGUMENTS_BAD);
    return;
  }
  uint8_t pin[300];
  size_t n = fz_take(r, pin, fz_u8(r) + (m & 0x40 ? 45 : 0));
  fz_check(OP_LOGIN, "C_Login", fz.f->C_Login(sh, user, n ? pin : NULL, n));
}
