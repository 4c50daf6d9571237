/* common.c: input reading, handle choice, result checks and the coverage
 * signal of the native harness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

uint8_t fz_u8(fz_reader *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

size_t fz_take(fz_reader *r, uint8_t *dst, size_t want) {
  size_t n = want < r->n ? want : r->n;
  memcpy(dst, r->p, n);
  r->p += n;
  r->n -= n;
  return n;
}

uint32_t fz_u32(fz_reader *r) {
  uint8_t b[4] = {0};
  fz_take(r, b, 4);
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t fz_u64(fz_reader *r) {
  uint64_t lo = fz_u32(r);
  return lo | (uint64_t)fz_u32(r) << 32;
}

CK_SESSION_HANDLE fz_session(fz_reader *r) {
  uint8_t c = fz_u8(r);
  switch (c >> 6) {
  case 0:
  case 1:
    return fz.sessions[c % FZ_SESSIONS];
  case 2:
    return fz.nhandles ? fz.handles[c % fz.nhandles] : 0; /* an object handle: wrong kind */
  }
  return c == 0xFF ? (CK_SESSION_HANDLE)fz_u64(r) : 0;
}

CK_OBJECT_HANDLE fz_object(fz_reader *r) {
  uint8_t c = fz_u8(r);
  switch (c >> 6) {
  case 0:
  case 1:
  case 2:
    return fz.nhandles ? fz.handles[c % fz.nhandles] : 0;
  }
  if (c < 0xE0) return fz.nderived ? fz.derived[c % fz.nderived] : 0; /* a derived key */
  if (c == 0xFE) return fz.sessions[0]; /* a session handle: wrong kind */
  if (c == 0xFD) return fz.stale;
  return c == 0xFF ? (CK_OBJECT_HANDLE)fz_u64(r) : 0;
}

/* counters are libFuzzer "extra counters" (its coverage map also reads this
 * section): one per operation and CK_RV bucket. libFuzzer instruments only
 * the harness, not the Go module, so the outcomes of the calls are what tell
 * it that an input reached somewhere new. */
#define RV_BUCKETS 64
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t counters[OP_COUNT * RV_BUCKETS];

/* seen counts calls per operation and CK_RV, for the summary at exit. */
#define SEEN_MAX 512
static struct {
  int op;
  CK_RV rv;
  unsigned long n;
} seen[SEEN_MAX];
static int nseen;

static void count(int op, CK_RV rv) {
  for (int i = 0; i < nseen; i++) {
    if (seen[i].op == op && seen[i].rv == rv) {
      seen[i].n++;
      return;
    }
  }
  if (nseen < SEEN_MAX) seen[nseen++] = (typeof(seen[0])){op, rv, 1};
}

static void summary(void) {
  static const char *names[OP_COUNT] = {"open", "close", "find", "getattr", "objsize", "login",
    "signinit", "sign", "signupdate", "signfinal", "verifyinit", "verify", "verifymulti",
    "info", "random", "reinit", "cryptinit", "crypt", "cryptmulti", "digest", "derive", "destroy"};
  fprintf(stderr, "fuzz: calls by operation and CK_RV:\n");
  for (int i = 0; i < nseen; i++) {
    fprintf(stderr, "fuzz:   %-12s rv=0x%04lx %lu\n", names[seen[i].op], seen[i].rv, seen[i].n);
  }
}

void fz_check(int op, const char *fn, CK_RV rv) {
  static int registered;
  if (!registered) {
    registered = 1;
    atexit(summary);
  }
  counters[op * RV_BUCKETS + (unsigned)((rv ^ (rv >> 6) ^ (rv >> 12)) % RV_BUCKETS)]++;
  count(op, rv);
  if (rv == CKR_GENERAL_ERROR) fz_fail(fn, "CKR_GENERAL_ERROR (a recovered panic; see the module log)", rv, 0);
}

void fz_expect(int op, const char *fn, CK_RV rv, CK_RV want) {
  fz_check(op, fn, rv);
  if (rv != want) fz_fail(fn, "CK_RV other than the one the C ABI fixes (got, want)", rv, want);
}

void fz_fail(const char *fn, const char *what, unsigned long a, unsigned long b) {
  fprintf(stderr, "fuzz: FINDING in %s: %s (0x%lx, 0x%lx)\n", fn, what, a, b);
  abort();
}

static const uint8_t canary = 0xA5;

uint8_t *fz_out_alloc(size_t n) {
  uint8_t *b = malloc(n + FZ_CANARY);
  if (b == NULL) abort();
  memset(b, 0, n);
  memset(b + n, canary, FZ_CANARY);
  return b;
}

void fz_out_done(uint8_t *buf, size_t n, const char *fn) {
  for (size_t i = 0; i < FZ_CANARY; i++) {
    if (buf[n + i] != canary) fz_fail(fn, "wrote past the end of the caller's buffer", n, i);
  }
  free(buf);
}
