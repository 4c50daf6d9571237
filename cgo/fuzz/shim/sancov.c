/* sancov.c: linked into the coverage-instrumented build of the module
 * (run.sh, FUZZ_GO_COVERAGE=1; README.md "Go coverage"), not into the
 * shipped library.
 *
 * Go built with -tags=libfuzzer -gcflags=...=-d=libfuzzer calls libFuzzer's
 * __sanitizer_cov_* hooks through PC-relative references, which a shared
 * object cannot make to a symbol it does not define. These local definitions
 * satisfy the link (the version script keeps them out of the dynamic symbol
 * table) and forward, by tail call so that libFuzzer still sees Go's fake
 * caller PCs, to the hooks the fuzzer executable exports (-rdynamic). Where
 * no executable provides them they do nothing. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE(name, type)                                   \
  static __typeof__(type) fn;                                   \
  static int done;                                            \
  if (!done) {                                                \
    fn = (__typeof__(type))dlsym(RTLD_DEFAULT, name);              \
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);             \
  }

#define CMP(name, T)                                          \
  void name(T a, T b) {                                       \
    RESOLVE(#name, void (*)(T, T))                            \
    if (fn) fn(a, b);                                         \
  }

CMP(__sanitizer_cov_trace_cmp1, uint8_t)
CMP(__sanitizer_cov_trace_cmp2, uint16_t)
CMP(__sanitizer_cov_trace_cmp4, uint32_t)
CMP(__sanitizer_cov_trace_cmp8, uint64_t)
CMP(__sanitizer_cov_trace_const_cmp1, uint8_t)
CMP(__sanitizer_cov_trace_const_cmp2, uint16_t)
CMP(__sanitizer_cov_trace_const_cmp4, uint32_t)
CMP(__sanitizer_cov_trace_const_cmp8, uint64_t)

void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop) {
  RESOLVE("__sanitizer_cov_8bit_counters_init", void (*)(uint8_t *, uint8_t *))
  if (fn) fn(start, stop);
}

void __sanitizer_cov_pcs_init(const uintptr_t *start, const uintptr_t *stop) {
  RESOLVE("__sanitizer_cov_pcs_init", void (*)(const uintptr_t *, const uintptr_t *))
  if (fn) fn(start, stop);
}

void __sanitizer_weak_hook_strcmp(void *pc, const char *s1, const char *s2, int result) {
  RESOLVE("__sanitizer_weak_hook_strcmp", void (*)(void *, const char *, const char *, int))
  if (fn) fn(pc, s1, s2, result);
}
