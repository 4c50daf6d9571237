/* forkguard.c: the fork guard (DESIGN.md "fork()").
 *
 * After fork() without exec the child has none of the Go runtime's threads, so
 * any Go code that blocks, schedules, allocates much or does I/O hangs forever.
 * A constructor registers a pthread_atfork child handler that only sets a flag
 * (no Go is ever called from it); every C_* entry point that would enter Go
 * checks the flag first and returns CKR_GENERAL_ERROR at once in a child. The
 * supported route for forking servers is out of process (p11-kit server). */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "p11kms.h"

/* forked is set in every child forked after the library was loaded, and stays
 * set in the child's own children. */
static volatile sig_atomic_t forked;

/* warned makes the message appear once per child process. */
static volatile sig_atomic_t warned;

static const char fork_message[] =
    "p11kms: this process was forked without exec; the in-process module "
    "cannot run here (use p11-kit server, see README)\n";

/* on_fork_child runs in the child right after fork(): async-signal-safe only.
 * warned is cleared so that each child (and grandchild) says it once. */
static void on_fork_child(void) {
  forked = 1;
  warned = 0;
}

__attribute__((constructor)) static void p11kms_register_fork_guard(void) {
  /* pthread_atfork fails only with ENOMEM; the guard would then be missing,
   * which nothing here can repair, and a constructor cannot report it. */
  (void)pthread_atfork(NULL, NULL, on_fork_child);
}

int p11kms_forked_child(void) {
  if (!forked) return 0;
  if (__atomic_exchange_n(&warned, 1, __ATOMIC_SEQ_CST) == 0) {
    ssize_t n = write(STDERR_FILENO, fork_message, sizeof fork_message - 1);
    (void)n; /* nothing to do if stderr is closed */
  }
  return 1;
}
