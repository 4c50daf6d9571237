package rawc

/*
#cgo LDFLAGS: -lpthread
#include <pthread.h>
#include <stdlib.h>
#include "rawc.h"

// Mutex callbacks backed by real pthread mutexes that count their calls, so
// a test can see whether (and how) a module uses the application's locking
// (PKCS#11 2.40 §5.4 C_Initialize, §3.7 CK_CREATEMUTEX and friends).
static unsigned long rawc_mutex_calls[4]; // create, destroy, lock, unlock

static CK_RV rawc_counting_create(CK_VOID_PTR_PTR m) {
  __atomic_add_fetch(&rawc_mutex_calls[0], 1, __ATOMIC_SEQ_CST);
  if (m == NULL) return CKR_ARGUMENTS_BAD;
  pthread_mutex_t *mu = malloc(sizeof *mu);
  if (mu == NULL) return CKR_HOST_MEMORY;
  pthread_mutex_init(mu, NULL);
  *m = mu;
  return CKR_OK;
}
static CK_RV rawc_counting_destroy(CK_VOID_PTR m) {
  __atomic_add_fetch(&rawc_mutex_calls[1], 1, __ATOMIC_SEQ_CST);
  if (m == NULL) return CKR_MUTEX_BAD;
  pthread_mutex_destroy((pthread_mutex_t *)m);
  free(m);
  return CKR_OK;
}
static CK_RV rawc_counting_lock(CK_VOID_PTR m) {
  __atomic_add_fetch(&rawc_mutex_calls[2], 1, __ATOMIC_SEQ_CST);
  if (m == NULL) return CKR_MUTEX_BAD;
  return pthread_mutex_lock((pthread_mutex_t *)m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV rawc_counting_unlock(CK_VOID_PTR m) {
  __atomic_add_fetch(&rawc_mutex_calls[3], 1, __ATOMIC_SEQ_CST);
  if (m == NULL) return CKR_MUTEX_BAD;
  return pthread_mutex_unlock((pthread_mutex_t *)m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

static unsigned long rawc_mutex_count(int i) { return __atomic_load_n(&rawc_mutex_calls[i], __ATOMIC_SEQ_CST); }
static void rawc_mutex_reset(void) {
  for (int i = 0; i < 4; i++) __atomic_store_n(&rawc_mutex_calls[i], 0, __ATOMIC_SEQ_CST);
}

// rawc_initialize_counting calls C_Initialize with the first n counting callbacks.
static CK_RV rawc_initialize_counting(CK_FUNCTION_LIST_PTR fl, int n, CK_FLAGS flags) {
  CK_C_INITIALIZE_ARGS a = {0};
  if (n > 0) a.CreateMutex = rawc_counting_create;
  if (n > 1) a.DestroyMutex = rawc_counting_destroy;
  if (n > 2) a.LockMutex = rawc_counting_lock;
  if (n > 3) a.UnlockMutex = rawc_counting_unlock;
  a.flags = flags;
  return fl->C_Initialize(&a);
}

// A race: n POSIX threads wait for a start signal, then each makes one call.
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int go, waiting;
} rawc_start;

typedef struct {
  CK_FUNCTION_LIST_PTR fl;
  rawc_start *start;
  int finalize; // 0: C_Initialize(CKF_OS_LOCKING_OK), 1: C_Finalize(NULL)
  CK_RV rv;
} rawc_racer;

static void *rawc_race_thread(void *p) {
  rawc_racer *r = p;
  CK_C_INITIALIZE_ARGS a = {0};
  a.flags = CKF_OS_LOCKING_OK;
  pthread_mutex_lock(&r->start->mu);
  r->start->waiting++;
  pthread_cond_broadcast(&r->start->cond);
  while (!r->start->go) pthread_cond_wait(&r->start->cond, &r->start->mu);
  pthread_mutex_unlock(&r->start->mu);
  r->rv = r->finalize ? r->fl->C_Finalize(NULL_PTR) : r->fl->C_Initialize(&a);
  return NULL;
}

// rawc_race starts n threads, releases them together once all wait, and
// joins them; rvs receives each thread's CK_RV. Returns 0, or -1 if a thread
// could not be created (the started ones still run and are joined).
static int rawc_race(CK_FUNCTION_LIST_PTR fl, int n, int finalize, CK_RV *rvs) {
  rawc_start start = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  pthread_t *threads = calloc((size_t)n, sizeof *threads);
  rawc_racer *racers = calloc((size_t)n, sizeof *racers);
  int i, started = 0;
  if (threads == NULL || racers == NULL) {
    free(threads);
    free(racers);
    return -1;
  }
  for (i = 0; i < n; i++) {
    racers[i] = (rawc_racer){fl, &start, finalize, CKR_GENERAL_ERROR};
    if (pthread_create(&threads[i], NULL, rawc_race_thread, &racers[i]) != 0) break;
    started++;
  }
  pthread_mutex_lock(&start.mu);
  while (start.waiting < started) pthread_cond_wait(&start.cond, &start.mu);
  start.go = 1;
  pthread_cond_broadcast(&start.cond);
  pthread_mutex_unlock(&start.mu);
  for (i = 0; i < started; i++) {
    pthread_join(threads[i], NULL);
    rvs[i] = racers[i].rv;
  }
  free(threads);
  free(racers);
  return started == n ? 0 : -1;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// MutexCalls counts the calls a module made to the counting mutex callbacks
// that InitializeCounting passes (CK_CREATEMUTEX, CK_DESTROYMUTEX,
// CK_LOCKMUTEX, CK_UNLOCKMUTEX).
type MutexCalls struct {
	Create, Destroy, Lock, Unlock uint64
}

// InitializeCounting calls C_Initialize with flags and the first n (0..4) of
// four mutex callbacks that really lock (pthread mutexes) and count their
// calls; CountedMutexCalls reports the counts. It resets the counts first.
func (l *Lib) InitializeCounting(n int, flags uint) uint {
	C.rawc_mutex_reset()
	return uint(C.rawc_initialize_counting(l.c.fl, C.int(n), C.CK_FLAGS(flags)))
}

// CountedMutexCalls returns how often the module called the counting
// callbacks since the last InitializeCounting.
func (l *Lib) CountedMutexCalls() MutexCalls {
	return MutexCalls{
		Create:  uint64(C.rawc_mutex_count(0)),
		Destroy: uint64(C.rawc_mutex_count(1)),
		Lock:    uint64(C.rawc_mutex_count(2)),
		Unlock:  uint64(C.rawc_mutex_count(3)),
	}
}

// RaceInitialize starts n POSIX threads that, released together once all
// of them wait, each call C_Initialize (CKF_OS_LOCKING_OK); it returns their
// CK_RVs in thread order.
func (l *Lib) RaceInitialize(n int) ([]uint, error) { return l.race(n, 0) }

// RaceFinalize is RaceInitialize with C_Finalize(NULL).
func (l *Lib) RaceFinalize(n int) ([]uint, error) { return l.race(n, 1) }

func (l *Lib) race(n, finalize int) ([]uint, error) {
	if n < 1 {
		return nil, errors.New("rawc: a race needs at least one thread")
	}
	rvs := (*C.CK_RV)(C.calloc(C.size_t(n), C.sizeof_CK_RV))
	defer C.free(unsafe.Pointer(rvs))
	if C.rawc_race(l.c.fl, C.int(n), C.int(finalize), rvs) != 0 {
		return nil, errors.New("rawc: could not start the racing threads")
	}
	out := make([]uint, n)
	for i, rv := range unsafe.Slice(rvs, n) {
		out[i] = uint(rv)
	}
	return out, nil
}
