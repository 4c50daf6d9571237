/* forkprobe.c: the fork test's probe (cgo/cabitest/fork_test.go).
 *
 * usage: forkprobe LIBRARY KEY-LABEL DIGEST-HEX PIN CHILDREN
 *
 * It dlopens the library, calls C_Initialize, logs in, finds the private key
 * labelled KEY-LABEL and signs the 32-byte DIGEST 3 times (CKM_ECDSA over the
 * digest, or CKM_RSA_PKCS over the SHA-256 DigestInfo of it). Then it forks
 * CHILDREN children one after the other. Each child calls C_Initialize,
 * C_GetSlotList, C_OpenSession, C_Sign and C_Finalize, each of which must
 * return CKR_GENERAL_ERROR (the fork guard), and exits at once. While the
 * children run the parent keeps signing (20 signatures with one child, one per
 * child with several, each checked CKR_OK) and reaps them; a child still
 * running 1 s after its fork is killed and fails the probe.
 *
 * stdout, one line each: "sig HEX" per parent signature; "child I us=N rvs=..."
 * per child (written by the child: N = microseconds its five calls took);
 * "done". Exit status: 0 all well; 1 usage or setup; 2 a parent call failed;
 * 3 a child returned a wrong CK_RV; 4 a child hung and was killed; 5 a child
 * died. The fork guard's stderr line comes from the children. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (* name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (* name)
#define NULL_PTR 0
#include "pkcs11.h"

#define MAX_CHILDREN 1000

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE session;
static CK_OBJECT_HANDLE key;
static CK_MECHANISM mech;
static CK_BYTE input[19 + 32];
static CK_ULONG input_len;

/* SHA-256 DigestInfo prefix (RFC 8017 §9.2 note 1). */
static const CK_BYTE sha256_prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                          0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fail(int code, const char *what, CK_RV rv) {
  fprintf(stderr, "forkprobe: %s: CK_RV 0x%lx\n", what, (unsigned long)rv);
  return code;
}

/* sign_once signs input and prints "sig HEX"; returns the CK_RV. */
static CK_RV sign_once(void) {
  CK_BYTE sig[1024];
  CK_ULONG len = sizeof sig, i;
  CK_RV rv = f->C_SignInit(session, &mech, key);
  if (rv != CKR_OK) return rv;
  rv = f->C_Sign(session, input, input_len, sig, &len);
  if (rv != CKR_OK) return rv;
  printf("sig ");
  for (i = 0; i < len; i++) printf("%02x", sig[i]);
  printf("\n");
  fflush(stdout);
  return CKR_OK;
}

/* child_run is all a child does: five calls, one report line, _exit. */
static void child_run(int index) {
  static const char *names[5] = {"C_Initialize", "C_GetSlotList", "C_OpenSession", "C_Sign", "C_Finalize"};
  CK_RV rvs[5];
  CK_ULONG count = 0, siglen = 0;
  CK_SESSION_HANDLE sh = 0;
  CK_BYTE sig[8];
  char line[256];
  int i, n, bad = -1;
  long long t0 = now_us();
  rvs[0] = f->C_Initialize(NULL_PTR);
  rvs[1] = f->C_GetSlotList(CK_FALSE, NULL_PTR, &count);
  rvs[2] = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &sh);
  siglen = sizeof sig;
  rvs[3] = f->C_Sign(session, input, input_len, sig, &siglen);
  rvs[4] = f->C_Finalize(NULL_PTR);
  long long us = now_us() - t0;
  for (i = 0; i < 5; i++)
    if (rvs[i] != CKR_GENERAL_ERROR && bad < 0) bad = i;
  n = snprintf(line, sizeof line, "child %d us=%lld rvs=0x%lx,0x%lx,0x%lx,0x%lx,0x%lx%s%s\n", index, us,
               (unsigned long)rvs[0], (unsigned long)rvs[1], (unsigned long)rvs[2], (unsigned long)rvs[3],
               (unsigned long)rvs[4], bad >= 0 ? " wrong=" : "", bad >= 0 ? names[bad] : "");
  if (n > 0 && write(STDOUT_FILENO, line, (size_t)n) < 0) _exit(9);
  _exit(bad < 0 ? 0 : 10 + bad);
}

/* reap waits (without blocking) for finished children; a child still running
 * past its deadline is killed. Returns 0, or the probe's failure code. */
static int reap(pid_t *pids, long long *deadlines, int n, int *alive, int block) {
  int i, status, result = 0;
  do {
    for (i = 0; i < n; i++) {
      if (pids[i] == 0) continue;
      pid_t r = waitpid(pids[i], &status, WNOHANG);
      if (r == pids[i]) {
        pids[i] = 0;
        (*alive)--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
        if (WIFEXITED(status)) {
          fprintf(stderr, "forkprobe: child %d exited %d\n", i, WEXITSTATUS(status));
          if (result == 0) result = 3;
        } else {
          fprintf(stderr, "forkprobe: child %d died (status 0x%x)\n", i, status);
          result = 5;
        }
      } else if (now_us() > deadlines[i]) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], &status, 0);
        pids[i] = 0;
        (*alive)--;
        fprintf(stderr, "forkprobe: child %d still running 1 s after fork: killed\n", i);
        result = 4;
      }
    }
    if (block && *alive > 0) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  } while (block && *alive > 0);
  return result;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int main(int argc, char **argv) {
  static pid_t pids[MAX_CHILDREN];
  static long long deadlines[MAX_CHILDREN];
  CK_C_GetFunctionList get_list;
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_KEY_TYPE kt = 0;
  CK_ULONG n = 0, count = 1;
  CK_RV rv;
  CK_BYTE digest[32];
  int i, children, alive = 0, result = 0, signs_per_child;
  void *h;

  if (argc != 6 || strlen(argv[3]) != 64) {
    fprintf(stderr, "usage: forkprobe LIBRARY KEY-LABEL DIGEST-HEX(32 bytes) PIN CHILDREN\n");
    return 1;
  }
  for (i = 0; i < 32; i++) {
    int hi = hexval(argv[3][2 * i]), lo = hexval(argv[3][2 * i + 1]);
    if (hi < 0 || lo < 0) return fail(1, "digest is not lower-case hex", 0);
    digest[i] = (CK_BYTE)(hi << 4 | lo);
  }
  children = atoi(argv[5]);
  if (children < 1 || children > MAX_CHILDREN) return fail(1, "CHILDREN out of range", 0);
  signs_per_child = children == 1 ? 20 : 1;

  h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "forkprobe: %s\n", dlerror());
    return 1;
  }
  get_list = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
  if (get_list == NULL) return fail(1, "no C_GetFunctionList", 0);
  if ((rv = get_list(&f)) != CKR_OK) return fail(1, "C_GetFunctionList", rv);
  if ((rv = f->C_Initialize(NULL_PTR)) != CKR_OK) return fail(2, "C_Initialize", rv);
  if ((rv = f->C_GetSlotList(CK_TRUE, &slot, &count)) != CKR_OK || count < 1)
    return fail(2, "C_GetSlotList (first slot with a token)", rv);
  if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &session)) != CKR_OK)
    return fail(2, "C_OpenSession", rv);
  rv = f->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)argv[4], strlen(argv[4]));
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return fail(2, "C_Login", rv);

  CK_ATTRIBUTE find[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, argv[2], strlen(argv[2])}};
  if ((rv = f->C_FindObjectsInit(session, find, 2)) != CKR_OK) return fail(2, "C_FindObjectsInit", rv);
  if ((rv = f->C_FindObjects(session, &key, 1, &n)) != CKR_OK) return fail(2, "C_FindObjects", rv);
  if ((rv = f->C_FindObjectsFinal(session)) != CKR_OK) return fail(2, "C_FindObjectsFinal", rv);
  if (n != 1) return fail(2, "no private key with that label", 0);
  CK_ATTRIBUTE kta = {CKA_KEY_TYPE, &kt, sizeof kt};
  if ((rv = f->C_GetAttributeValue(session, key, &kta, 1)) != CKR_OK) return fail(2, "CKA_KEY_TYPE", rv);
  if (kt == CKK_EC) {
    mech.mechanism = CKM_ECDSA; /* bare digest */
    memcpy(input, digest, 32);
    input_len = 32;
  } else if (kt == CKK_RSA) {
    mech.mechanism = CKM_RSA_PKCS; /* DigestInfo || digest */
    memcpy(input, sha256_prefix, sizeof sha256_prefix);
    memcpy(input + sizeof sha256_prefix, digest, 32);
    input_len = sizeof sha256_prefix + 32;
  } else {
    return fail(2, "key type is neither CKK_EC nor CKK_RSA", kt);
  }

  for (i = 0; i < 3; i++)
    if ((rv = sign_once()) != CKR_OK) return fail(2, "C_Sign before fork", rv);

  for (i = 0; i < children; i++) {
    int s;
    fflush(stdout); /* the child must not inherit buffered output */
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return fail(1, "fork", (CK_RV)errno);
    if (pid == 0) child_run(i);
    pids[i] = pid;
    deadlines[i] = now_us() + 1000000;
    alive++;
    for (s = 0; s < signs_per_child; s++)
      if ((rv = sign_once()) != CKR_OK) {
        fail(2, "C_Sign in the parent while a child runs", rv);
        for (i = 0; i < children; i++)
          if (pids[i] != 0) kill(pids[i], SIGKILL);
        return 2;
      }
    int r = reap(pids, deadlines, i + 1, &alive, 0);
    if (r != 0 && result == 0) result = r;
  }
  int r = reap(pids, deadlines, children, &alive, 1);
  if (r != 0 && result == 0) result = r;

  if ((rv = f->C_Finalize(NULL_PTR)) != CKR_OK) return fail(2, "C_Finalize in the parent", rv);
  printf("done\n");
  return result;
}
