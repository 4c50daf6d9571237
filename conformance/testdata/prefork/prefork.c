/* prefork.c: a pre-forking server in miniature, for conformance/forking_test.go.
 *
 * usage: prefork MODULE TOKEN-LABEL KEY-LABEL PIN WORKERS SIGNS SEED-HEX OUTDIR TIMEOUT-MS MODE
 *
 * It does what nginx, Apache prefork and php-fpm do with a PKCS#11 key: the
 * master dlopens MODULE, calls C_Initialize (CKF_OS_LOCKING_OK, as libp11
 * does), logs in, finds the private key labelled KEY-LABEL and signs once;
 * then it forks WORKERS workers without exec. Each worker does what libp11 and
 * pkcs11-provider do after a fork: it calls C_Initialize again (accepting
 * CKR_CRYPTOKI_ALREADY_INITIALIZED), finds the slot, opens a session, logs in
 * (accepting CKR_USER_ALREADY_LOGGED_IN), finds the key, signs SIGNS times,
 * closes the session and calls C_Finalize. The master waits for the workers
 * (killing any still running TIMEOUT-MS after the forks) and then signs once
 * more with its own session. MODE "master-init" is that; "workers-only" is a
 * master that only dlopens MODULE (and calls C_GetFunctionList) before it
 * forks, and neither signs nor finalizes: the workers do everything.
 *
 * What is signed: a 32-byte value d (a SHA-256-sized digest): SEED with its
 * last four bytes replaced by the big-endian (who << 16 | n), who = 0 for the
 * master and I+1 for worker I, n the signature's index. CKM_ECDSA signs d;
 * CKM_RSA_PKCS signs the SHA-256 DigestInfo of d (RFC 8017 §9.2). Each
 * signature goes to OUTDIR/W-N.sig and d to OUTDIR/W-N.in, W being "master"
 * or "wI".
 *
 * stdout, one line each: "worker I ok init=0xRV us=N signs=S" or
 * "worker I fail call=NAME rv=0xRV us=N signs=S" (written by the worker; N =
 * microseconds from just before its first call to its report), "worker I
 * killed", "worker I died status=0xS" (written by the master), then "done".
 * Exit status: 0 all well; 1 usage or setup; 2 a master call failed; 3 a
 * worker reported a failed call; 4 a worker was killed; 5 a worker died. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (*name)
#define NULL_PTR 0
#include "pkcs11.h"

#define MAX_WORKERS 64

static CK_FUNCTION_LIST_PTR f;
static const char *token_label, *key_label, *pin, *outdir;
static CK_BYTE seed[32];

/* SHA-256 DigestInfo prefix (RFC 8017 §9.2 note 1). */
static const CK_BYTE sha256_prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

/* signer is one session's key, ready to sign. */
typedef struct {
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE key;
  CK_MECHANISM mech;
  int rsa;
} signer;

/* failure names the call that failed and its CK_RV. */
typedef struct {
  const char *call;
  CK_RV rv;
} failure;

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* write_file writes n bytes to OUTDIR/NAME; returns 0 or -1. */
static int write_file(const char *name, const CK_BYTE *b, CK_ULONG n) {
  char path[4096];
  int fd, ok;
  if (snprintf(path, sizeof path, "%s/%s", outdir, name) >= (int)sizeof path) return -1;
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  ok = write(fd, b, n) == (ssize_t)n;
  return close(fd) == 0 && ok ? 0 : -1;
}

/* C_Initialize with CKF_OS_LOCKING_OK and no callbacks, as libp11 calls it. */
static CK_RV initialize(void) {
  CK_C_INITIALIZE_ARGS a;
  memset(&a, 0, sizeof a);
  a.flags = CKF_OS_LOCKING_OK;
  return f->C_Initialize(&a);
}

/* open_signer finds the token, opens a session, logs in and finds the key. */
static failure open_signer(signer *s) {
  CK_SLOT_ID slots[16];
  CK_ULONG n = 16, i, found = 0;
  CK_TOKEN_INFO ti;
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_KEY_TYPE kt = 0;
  CK_RV rv;
  size_t tl = strlen(token_label);
  int slot_found = 0;
  failure none = {NULL, CKR_OK};

  if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) return (failure){"C_GetSlotList", rv};
  for (i = 0; i < n && !slot_found; i++) {
    if ((rv = f->C_GetTokenInfo(slots[i], &ti)) != CKR_OK) return (failure){"C_GetTokenInfo", rv};
    /* The label is blank-padded to 32 bytes (PKCS#11 2.40 §3.2). */
    if (tl <= sizeof ti.label && memcmp(ti.label, token_label, tl) == 0 &&
        (tl == sizeof ti.label || ti.label[tl] == ' '))
      slot_found = 1;
  }
  if (!slot_found) return (failure){"C_GetTokenInfo/no-such-token", CKR_TOKEN_NOT_PRESENT};
  rv = f->C_OpenSession(slots[i - 1], CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s->session);
  if (rv != CKR_OK) return (failure){"C_OpenSession", rv};
  rv = f->C_Login(s->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return (failure){"C_Login", rv};

  CK_ATTRIBUTE find[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (void *)key_label, strlen(key_label)}};
  if ((rv = f->C_FindObjectsInit(s->session, find, 2)) != CKR_OK) return (failure){"C_FindObjectsInit", rv};
  if ((rv = f->C_FindObjects(s->session, &s->key, 1, &found)) != CKR_OK) return (failure){"C_FindObjects", rv};
  if ((rv = f->C_FindObjectsFinal(s->session)) != CKR_OK) return (failure){"C_FindObjectsFinal", rv};
  if (found != 1) return (failure){"C_FindObjects/no-such-key", CKR_KEY_HANDLE_INVALID};
  CK_ATTRIBUTE kta = {CKA_KEY_TYPE, &kt, sizeof kt};
  if ((rv = f->C_GetAttributeValue(s->session, s->key, &kta, 1)) != CKR_OK)
    return (failure){"C_GetAttributeValue(CKA_KEY_TYPE)", rv};
  memset(&s->mech, 0, sizeof s->mech);
  if (kt == CKK_EC) {
    s->mech.mechanism = CKM_ECDSA; /* over the bare digest */
  } else if (kt == CKK_RSA) {
    s->mech.mechanism = CKM_RSA_PKCS; /* over DigestInfo || digest */
    s->rsa = 1;
  } else {
    return (failure){"CKA_KEY_TYPE/not-EC-or-RSA", CKR_KEY_TYPE_INCONSISTENT};
  }
  return none;
}

/* sign_one signs the value for (who, n) and writes NAME-n.in/.sig. */
static failure sign_one(signer *s, const char *name, unsigned who, unsigned n) {
  CK_BYTE d[32], input[19 + 32], sig[1024];
  CK_ULONG len = sizeof sig, in_len = 0;
  CK_RV rv;
  char file[64];
  unsigned v = who << 16 | n;

  memcpy(d, seed, 32);
  d[28] = (CK_BYTE)(v >> 24), d[29] = (CK_BYTE)(v >> 16), d[30] = (CK_BYTE)(v >> 8), d[31] = (CK_BYTE)v;
  if (s->rsa) memcpy(input, sha256_prefix, sizeof sha256_prefix), in_len = sizeof sha256_prefix;
  memcpy(input + in_len, d, 32);
  in_len += 32;
  if ((rv = f->C_SignInit(s->session, &s->mech, s->key)) != CKR_OK) return (failure){"C_SignInit", rv};
  if ((rv = f->C_Sign(s->session, input, in_len, sig, &len)) != CKR_OK) return (failure){"C_Sign", rv};
  snprintf(file, sizeof file, "%s-%u.in", name, n);
  if (write_file(file, d, 32) != 0) return (failure){"write-in-file", (CK_RV)errno};
  snprintf(file, sizeof file, "%s-%u.sig", name, n);
  if (write_file(file, sig, len) != 0) return (failure){"write-sig-file", (CK_RV)errno};
  return (failure){NULL, CKR_OK};
}

/* worker_run is all a forked worker does; it never returns. */
static void worker_run(int index, int signs) {
  signer s;
  failure fl = {NULL, CKR_OK};
  CK_RV init_rv, rv;
  char name[16], line[256];
  int n, done = 0;
  long long t0 = now_us();

  memset(&s, 0, sizeof s);
  snprintf(name, sizeof name, "w%d", index);
  init_rv = initialize();
  if (init_rv != CKR_OK && init_rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) fl = (failure){"C_Initialize", init_rv};
  if (fl.call == NULL) fl = open_signer(&s);
  while (fl.call == NULL && done < signs) {
    fl = sign_one(&s, name, (unsigned)index + 1, (unsigned)done);
    if (fl.call == NULL) done++;
  }
  if (fl.call == NULL && (rv = f->C_CloseSession(s.session)) != CKR_OK) fl = (failure){"C_CloseSession", rv};
  if (fl.call == NULL && (rv = f->C_Finalize(NULL_PTR)) != CKR_OK) fl = (failure){"C_Finalize", rv};
  long long us = now_us() - t0;
  if (fl.call == NULL)
    n = snprintf(line, sizeof line, "worker %d ok init=0x%lx us=%lld signs=%d\n", index, (unsigned long)init_rv, us, done);
  else
    n = snprintf(line, sizeof line, "worker %d fail call=%s rv=0x%lx us=%lld signs=%d\n", index, fl.call,
                 (unsigned long)fl.rv, us, done);
  if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0) _exit(9);
  _exit(fl.call == NULL ? 0 : 3);
}

/* reap waits for every worker until the deadline, then kills the rest.
 * Returns the exit code the workers' outcomes call for. */
static int reap(pid_t *pids, int n, long long deadline) {
  int i, status, alive = n, result = 0;
  while (alive > 0) {
    for (i = 0; i < n; i++) {
      if (pids[i] == 0) continue;
      pid_t r = waitpid(pids[i], &status, WNOHANG);
      if (r == pids[i]) {
        pids[i] = 0;
        alive--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
          if (result == 0) result = 3;
          continue;
        }
        printf("worker %d died status=0x%x\n", i, status);
        result = 5;
      } else if (now_us() > deadline) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
        pids[i] = 0;
        alive--;
        printf("worker %d killed\n", i);
        if (result != 5) result = 4;
      }
    }
    if (alive > 0) {
      struct timespec ms = {0, 2000000};
      nanosleep(&ms, NULL);
    }
  }
  fflush(stdout);
  return result;
}

static int fail(int code, const char *what, CK_RV rv) {
  fprintf(stderr, "prefork: %s: CK_RV 0x%lx\n", what, (unsigned long)rv);
  return code;
}

int main(int argc, char **argv) {
  static pid_t pids[MAX_WORKERS];
  CK_C_GetFunctionList get_list;
  signer master;
  failure fl;
  CK_RV rv;
  int i, workers, signs, result, master_init;
  long long timeout_ms;
  void *h;

  if (argc != 11 || strlen(argv[7]) != 64 || (strcmp(argv[10], "master-init") != 0 && strcmp(argv[10], "workers-only") != 0)) {
    fprintf(stderr, "usage: prefork MODULE TOKEN-LABEL KEY-LABEL PIN WORKERS SIGNS SEED-HEX(32 bytes) OUTDIR TIMEOUT-MS "
                    "master-init|workers-only\n");
    return 1;
  }
  master_init = strcmp(argv[10], "master-init") == 0;
  token_label = argv[2], key_label = argv[3], pin = argv[4], outdir = argv[8];
  workers = atoi(argv[5]);
  signs = atoi(argv[6]);
  timeout_ms = atoll(argv[9]);
  if (workers < 1 || workers > MAX_WORKERS || signs < 1 || signs > 0xffff || timeout_ms < 1)
    return fail(1, "WORKERS, SIGNS or TIMEOUT-MS out of range", 0);
  for (i = 0; i < 32; i++) {
    int hi = hexval(argv[7][2 * i]), lo = hexval(argv[7][2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(1, "SEED-HEX is not lower-case hex", 0);
    seed[i] = (CK_BYTE)(hi << 4 | lo);
  }

  h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "prefork: %s\n", dlerror());
    return 1;
  }
  get_list = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  if (get_list == NULL) return fail(1, "no C_GetFunctionList", 0);
  if ((rv = get_list(&f)) != CKR_OK) return fail(1, "C_GetFunctionList", rv);
  memset(&master, 0, sizeof master);
  if (master_init) {
    if ((rv = initialize()) != CKR_OK) return fail(2, "master C_Initialize", rv);
    if ((fl = open_signer(&master)).call != NULL) return fail(2, fl.call, fl.rv);
    if ((fl = sign_one(&master, "master", 0, 0)).call != NULL) return fail(2, fl.call, fl.rv);
  }

  fflush(stdout); /* a worker must not inherit buffered output */
  fflush(stderr);
  for (i = 0; i < workers; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      while (--i >= 0) kill(pids[i], SIGKILL);
      return fail(1, "fork", (CK_RV)errno);
    }
    if (pid == 0) worker_run(i, signs);
    pids[i] = pid;
  }
  result = reap(pids, workers, now_us() + timeout_ms * 1000);

  if (master_init) {
    /* The master's own session must still work after its workers are gone. */
    if ((fl = sign_one(&master, "master", 0, 1)).call != NULL) return fail(2, fl.call, fl.rv);
    if ((rv = f->C_Finalize(NULL_PTR)) != CKR_OK) return fail(2, "master C_Finalize", rv);
  }
  printf("done\n");
  return result;
}
