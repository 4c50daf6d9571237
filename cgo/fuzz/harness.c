/* harness.c: the libFuzzer entry points of the native harness (README.md):
 * load and initialize the module once, then run each input as a sequence of
 * at most FZ_STEPS operations and close every session after it. */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"

#define FZ_STEPS 48

fz_state fz;

typedef void (*fz_op)(fz_reader *);

/* ops is indexed by the OP_* numbers of fuzz.h. */
static const fz_op ops[OP_COUNT] = {
  op_open, op_close, op_find, op_get_attribute, op_object_size, op_login,
  op_sign_init, op_sign, op_sign_update, op_sign_final, op_verify_init,
  op_verify, op_verify_multi, op_info, op_random, op_reinit, op_crypt_init, op_crypt,
  op_crypt_multi, op_digest, op_derive, op_destroy,
};

/* last_input, when FUZZ_LAST_INPUT names a file, is a shared mapping of it
 * holding the input being run (8-byte length, then the bytes): if the Go
 * runtime kills the process (a fatal error exits without libFuzzer's crash
 * handlers), run.sh saves that file as the crashing input. */
#define LAST_MAX (1 << 16)
static uint8_t *last_input;

static void map_last_input(void) {
  const char *path = getenv("FUZZ_LAST_INPUT");
  if (path == NULL || *path == 0) return;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 8 + LAST_MAX) != 0) {
    perror("fuzz: FUZZ_LAST_INPUT");
    exit(1);
  }
  void *m = mmap(NULL, 8 + LAST_MAX, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    perror("fuzz: mmap FUZZ_LAST_INPUT");
    exit(1);
  }
  last_input = m;
}

static void record_input(const uint8_t *data, size_t size) {
  uint64_t n = size < LAST_MAX ? size : LAST_MAX;
  if (last_input == NULL) return;
  memset(last_input, 0, 8);
  memcpy(last_input + 8, data, n);
  memcpy(last_input, &n, 8);
}

/* LLVMFuzzerInitialize loads the module named by P11KMS_FUZZ_LIB (default
 * build/libp11kms.so), initializes it with its usual configuration
 * (P11KMS_CONFIG) and discovers the objects of its first slot. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *path = getenv("P11KMS_FUZZ_LIB");
  if (path == NULL || *path == 0) path = "build/libp11kms.so";
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "fuzz: dlopen %s: %s\n", path, dlerror());
    exit(1);
  }
  CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  if (gfl == NULL || gfl(&fz.f) != CKR_OK || fz.f == NULL) {
    fprintf(stderr, "fuzz: C_GetFunctionList failed\n");
    exit(1);
  }
  CK_RV rv = fz.f->C_Initialize(NULL_PTR);
  CK_ULONG n = 1;
  if (rv == CKR_OK) rv = fz.f->C_GetSlotList(CK_TRUE, &fz.slot, &n);
  if (rv != CKR_OK || n == 0) {
    fprintf(stderr, "fuzz: C_Initialize/C_GetSlotList: rv 0x%lx, %lu slots (is P11KMS_CONFIG set?)\n", rv, n);
    exit(1);
  }
  fz_discover();
  if (fz.nhandles == 0) {
    fprintf(stderr, "fuzz: the token has no objects; seed the dev KMS with keys\n");
    exit(1);
  }
  map_last_input();
  fprintf(stderr, "fuzz: %s initialized, slot %lu, %zu objects\n", path, fz.slot, fz.nhandles);
  return 0;
}

/* onstack_fixup adds SA_ONSTACK to the signal handlers libFuzzer installed
 * after LLVMFuzzerInitialize (timeout alarm, abort, interrupt...). The Go
 * runtime's threads run on small goroutine stacks; a handler without
 * SA_ONSTACK that fires on one of them (a process signal such as libFuzzer's
 * periodic SIGALRM goes to any thread) would run on that stack and may
 * overflow it (os/signal, "Go programs that use cgo": non-Go handlers must use
 * SA_ONSTACK). With the flag the kernel switches to the thread's alternate
 * stack, which Go sets on every thread it creates. */
static void onstack_fixup(void) {
  static const int sigs[] = {SIGALRM, SIGABRT, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGXFSZ, SIGILL};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa;
    if (sigaction(sigs[i], NULL, &sa) != 0 || (sa.sa_flags & SA_ONSTACK)) continue;
    if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)) continue;
    sa.sa_flags |= SA_ONSTACK;
    sigaction(sigs[i], &sa, NULL);
  }
}

/* LLVMFuzzerTestOneInput runs one input: each step is an operation byte and
 * the operation's arguments. Afterwards every session is closed (which also
 * logs out), so inputs do not depend on each other. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fixed;
  if (!fixed) { /* libFuzzer installs its handlers after LLVMFuzzerInitialize */
    fixed = 1;
    onstack_fixup();
  }
  record_input(data, size);
  fz_reader r = {data, size};
  memset(fz.sessions, 0, sizeof fz.sessions);
  fz.nderived = 0;
  for (int step = 0; step < FZ_STEPS && r.n > 0; step++) {
    ops[fz_u8(&r) % OP_COUNT](&r);
  }
  CK_RV rv = fz.f->C_CloseAllSessions(fz.slot);
  if (rv != CKR_OK) fz_fail("C_CloseAllSessions", "rv after an input", rv, 0);
  return 0;
}

int fz_is_token_object(CK_OBJECT_HANDLE h) {
  for (size_t i = 0; i < fz.nhandles; i++) {
    if (fz.handles[i] == h) return 1;
  }
  return 0;
}

/* fz_discover remembers the handles of every object of the slot. */
void fz_discover(void) {
  CK_SESSION_HANDLE sh;
  CK_ULONG got = 0;
  fz.nhandles = 0;
  if (fz.f->C_OpenSession(fz.slot, CKF_SERIAL_SESSION, NULL, NULL, &sh) != CKR_OK) return;
  if (fz.f->C_FindObjectsInit(sh, NULL, 0) == CKR_OK &&
      fz.f->C_FindObjects(sh, fz.handles, FZ_HANDLES, &got) == CKR_OK) {
    fz.nhandles = got;
  }
  fz.f->C_FindObjectsFinal(sh);
  fz.f->C_CloseSession(sh);
}
