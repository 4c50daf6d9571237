/* ops_misc.c: information calls, random numbers and re-initialization
 * (PKCS#11 2.40 §5.4, §5.5, §5.6, §5.15) driven by the fuzz input. */
#include <stdlib.h>
#include "fuzz.h"

/* list calls C_GetSlotList (slots) or C_GetMechanismList with a fuzzed
 * buffer and checks the §5.2 size-query convention. */
static void list(fz_reader *r, int slots) {
  const char *fn = slots ? "C_GetSlotList" : "C_GetMechanismList";
  uint8_t m = fz_u8(r);
  CK_SLOT_ID slot = (m & 0x80) ? (CK_SLOT_ID)fz_u8(r) : fz.slot;
  CK_ULONG count = fz_u64(r);
  CK_RV rv;
  if (m % 4 == 0) {
    rv = slots ? fz.f->C_GetSlotList(m & 0x40, NULL, NULL) : fz.f->C_GetMechanismList(slot, NULL, NULL);
    fz_expect(OP_INFO, fn, rv, CKR_ARGUMENTS_BAD);
    return;
  }
  if (m % 4 == 1) { /* size query: pList NULL, *pulCount anything */
    rv = slots ? fz.f->C_GetSlotList(m & 0x40, NULL, &count) : fz.f->C_GetMechanismList(slot, NULL, &count);
    fz_check(OP_INFO, fn, rv);
    return;
  }
  size_t k = fz_u8(r) % 40;
  uint8_t *buf = fz_out_alloc(k * sizeof(CK_ULONG));
  count = k;
  rv = slots ? fz.f->C_GetSlotList(m & 0x40, (CK_SLOT_ID_PTR)buf, &count)
             : fz.f->C_GetMechanismList(slot, (CK_MECHANISM_TYPE_PTR)buf, &count);
  fz_check(OP_INFO, fn, rv);
  if (rv == CKR_OK && count > k) fz_fail(fn, "more entries than the buffer holds", count, k);
  if (rv == CKR_BUFFER_TOO_SMALL && count <= k) fz_fail(fn, "CKR_BUFFER_TOO_SMALL for a big enough buffer", count, k);
  fz_out_done(buf, k * sizeof(CK_ULONG), fn);
}

void op_info(fz_reader *r) {
  uint8_t m = fz_u8(r);
  int null = m & 0x80;
  CK_SLOT_ID slot = (m & 0x40) ? (CK_SLOT_ID)fz_u8(r) : fz.slot;
  CK_INFO info;
  CK_SLOT_INFO si;
  CK_TOKEN_INFO ti;
  CK_MECHANISM_INFO mi;
  CK_SESSION_INFO ssi;
  CK_RV rv;
  switch (m % 8) {
  case 0:
    rv = fz.f->C_GetInfo(null ? NULL : &info);
    break;
  case 1:
    list(r, 1);
    return;
  case 2:
    rv = fz.f->C_GetSlotInfo(slot, null ? NULL : &si);
    break;
  case 3:
    rv = fz.f->C_GetTokenInfo(slot, null ? NULL : &ti);
    break;
  case 4:
    list(r, 0);
    return;
  case 5:
    rv = fz.f->C_GetMechanismInfo(slot, fz_u8(r) < 0x80 ? (CK_MECHANISM_TYPE)fz_u8(r) << 4 : fz_u32(r), null ? NULL : &mi);
    break;
  case 6:
    rv = fz.f->C_GetSessionInfo(fz_session(r), null ? NULL : &ssi);
    break;
  default: {
    uint8_t seed[64];
    size_t n = fz_take(r, seed, fz_u8(r) % sizeof seed);
    fz_check(OP_INFO, "C_SeedRandom", fz.f->C_SeedRandom(fz_session(r), n ? seed : NULL, n));
    return;
  }
  }
  if (null) fz_expect(OP_INFO, "C_Get*Info(NULL)", rv, CKR_ARGUMENTS_BAD);
  else fz_check(OP_INFO, "C_Get*Info", rv);
}

void op_random(fz_reader *r) {
  CK_SESSION_HANDLE sh = fz_session(r);
  uint8_t m = fz_u8(r);
  if (m & 1) {
    fz_expect(OP_RANDOM, "C_GenerateRandom(NULL, len>0)", fz.f->C_GenerateRandom(sh, NULL, fz_u64(r) | 1), CKR_ARGUMENTS_BAD);
    return;
  }
  size_t k = (fz_u8(r) | (size_t)(m & 6) << 7) % (FZ_BUF + 1);
  uint8_t *buf = fz_out_alloc(k);
  fz_check(OP_RANDOM, "C_GenerateRandom", fz.f->C_GenerateRandom(sh, buf, k));
  fz_out_done(buf, k, "C_GenerateRandom");
}

/* op_reinit (rare: it needs the byte 0x5A) finalizes and initializes the
 * module again; the handles the input still holds are then stale. */
void op_reinit(fz_reader *r) {
  static char junk;
  if (fz_u8(r) != 0x5A) return;
  if (fz_u8(r) & 1) {
    fz_expect(OP_REINIT, "C_Finalize(pReserved!=NULL)", fz.f->C_Finalize(&junk), CKR_ARGUMENTS_BAD);
  }
  CK_RV rv = fz.f->C_Finalize(NULL);
  fz_check(OP_REINIT, "C_Finalize", rv);
  if (rv != CKR_OK) fz_fail("C_Finalize", "failed", rv, 0);
  fz_expect(OP_REINIT, "C_Finalize twice", fz.f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
  rv = fz.f->C_Initialize(NULL);
  fz_check(OP_REINIT, "C_Initialize", rv);
  if (rv != CKR_OK) fz_fail("C_Initialize", "failed after C_Finalize", rv, 0);
  fz_expect(OP_REINIT, "C_Initialize twice", fz.f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
  fz.stale = fz.nhandles ? fz.handles[0] : 0;
  fz_discover();
}
