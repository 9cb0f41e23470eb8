/* lock.c - the heaps' lock when it is held: spin, then sleep on a futex.
 * lock.h has the fast paths and the meaning of the word. */
#include "lock.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Tries the spin makes before sleeping (glibc's adaptive mutex spins as
 * many by default): a locked section is a few hundred instructions, so a
 * holder on another CPU is usually done within it; a holder that was
 * descheduled is not, and then sleeping frees the CPU. */
#ifndef LOCK_SPINS
#define LOCK_SPINS 100
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

__thread const char *lock_callback __attribute__((tls_model("initial-exec")));

/* Before the line of a report that aborts here: SIGPIPE and SIGXFSZ
 * blocked with the raw call, so that a stderr that is a pipe nobody reads
 * or a file past the size limit loses the line but the program still ends
 * by abort(), not by the signal its write raised (report.c's lines block
 * them in line_write). */
static HAWK_COLD void abort_line_quiet(void) {
  uint64_t block = (1ull << (SIGPIPE - 1)) | (1ull << (SIGXFSZ - 1));
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, NULL, sizeof block);
}

/* Writes line (n bytes) to descriptor 2 as report.h's misuse reports are
 * (that layer is above this one), then aborts. */
static HAWK_COLD _Noreturn void say_and_abort(const char *line, size_t n) {
  abort_line_quiet();
  ssize_t w = write(2, line, n);
  (void)w;
  abort();
}

/* The line is put together here as report.h's are. */
void lock_callback_misuse(void) {
  static const char tail[] = ": its callback called into the library, which waits for a lock "
                             "the call holds (misuse)\n";
  char line[192] = "hawkalloc: ";
  size_t n = 11;
  for (const char *s = lock_callback; *s && n < 40; s++) line[n++] = *s;
  for (const char *s = tail; *s && n < sizeof line; s++) line[n++] = *s;
  say_and_abort(line, n);
}

/* A wait for a lock held while the process has one thread (or for an
 * error-checking mutex its own thread holds): only a frame of this thread
 * below the wait can hold it, a call into the allocator that the program's
 * signal handler interrupted (malloc is not async-signal-safe), and nobody
 * would ever give it.  One line, as lock_callback_misuse's, then abort. */
static HAWK_COLD _Noreturn void lock_own_misuse(void) {
  static const char line[] = "hawkalloc: called from a signal handler that interrupted the "
                             "allocator: it waits for a lock its own thread holds (misuse)\n";
  say_and_abort(line, sizeof line - 1);
}

void lock_mutex_misuse(int err) {
  if (err == EDEADLK && lock_callback != NULL) lock_callback_misuse();
  if (err == EDEADLK) lock_own_misuse();
  static const char line[] = "hawkalloc: a lock of the library failed: its memory was "
                             "overwritten (heap corruption)\n";
  say_and_abort(line, sizeof line - 1);
}

void lock_wait(struct hawk_lock *l) {
  lock_wait_check();
  for (int i = 0; i < LOCK_SPINS; i++) {
    cpu_relax();
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) == 0 && lock_try(l)) return;
  }
  if (lock_alone()) lock_own_misuse();
  int saved = errno; /* a malloc that waited leaves errno as it was */
  /* From here the word says 2: whoever gives it wakes a sleeper.  Taking
   * it with 2 rather than 1 may cost one needless wake later, never a
   * lost one. */
  while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE) != 0)
    syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
  errno = saved;
}

void lock_wake(struct hawk_lock *l) {
  int saved = errno;
  syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}
