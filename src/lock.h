/* lock.h - the heaps' lock: one word, taken and given with one atomic
 * instruction each when nobody waits, and with plain stores while the
 * process has one thread (lock_alone).
 *
 * The word is 0 when free, 1 when held, 2 when held and a thread may be
 * asleep on it (a futex).  Taking it is a compare-and-swap of 0 to 1; a
 * thread that finds it held spins a short while (the locked sections are
 * short), then marks it 2 and sleeps until the holder's give wakes it.
 * Giving it is an exchange with 0 that wakes one sleeper if the old value
 * was 2.  A glibc mutex does the same work behind a call, a type test and
 * an owner field: about 55 instructions a take and give here against about
 * 10 (docs/design.md, decisions).
 *
 * Nothing here allocates, and lock_try is one atomic instruction, safe in a
 * signal handler.  The word has no owner: fork's child gives the locks its
 * parent's handlers took like any holder.
 */
#ifndef HAWK_LOCK_H
#define HAWK_LOCK_H

#include <pthread.h>

#include "config.h"

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define LOCK_KNOWS_THREADS 1
#endif
#endif
#ifndef LOCK_KNOWS_THREADS
#define LOCK_KNOWS_THREADS 0
#endif

struct hawk_lock {
  uint32_t word; /* 0 free, 1 held, 2 held with possible sleepers */
};

#define HAWK_LOCK_INIT                                                                             \
  { 0 }

static inline void lock_init(struct hawk_lock *l) {
  __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
}

/* Whether the process has one thread, so that no other thread can take
 * or hold a lock: the C library's flag, which pthread_create clears
 * before the new thread runs (always 0 without it).  A lock is then taken
 * and given with plain stores of the same word: on this machine (AMD
 * EPYC, virtual) a compare-and-swap and an exchange cost about 20 ns a
 * pair against 1 for the plain pair, and every medium block takes and
 * gives a heap's lock on its malloc and its free (docs/design.md).  The
 * word still says "held", so a signal handler's lock_try on the same
 * thread fails as before, and a thread started while the lock is held
 * (a callback of the program's) finds it held and waits: the give, which
 * tests the flag again, then wakes it.  A thread made with clone
 * directly, not pthread_create, leaves the flag set: such a thread must
 * not call malloc (glibc's own malloc skips its locks the same way). */
static inline int lock_alone(void) {
#if LOCK_KNOWS_THREADS
  return __atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED) != 0;
#else
  return 0;
#endif
}

/* Takes l if it is free; 1 if taken. */
static inline int lock_try(struct hawk_lock *l) {
  if (likely(lock_alone())) {
    if (__atomic_load_n(&l->word, __ATOMIC_RELAXED) != 0) return 0;
    __atomic_store_n(&l->word, 1, __ATOMIC_RELAXED);
    /* A signal handler on this thread sees the word held before the
     * locked section's accesses, and the compiler moves none above it. */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    return 1;
  }
  uint32_t free_word = 0;
  return __atomic_compare_exchange_n(&l->word, &free_word, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

/* The public call (hawk_walk, hawk_events) whose callback of the
 * program's this thread runs with a lock held, or NULL.  The callback must
 * not call into the library: one that does and waits for a lock waits for
 * its own thread, for ever; lock_wait_check reports it instead. */
HAWK_INTERNAL extern __thread const char *lock_callback __attribute__((tls_model("initial-exec")));

/* lock_wait_check's report: one line naming lock_callback, then abort. */
HAWK_INTERNAL _Noreturn void lock_callback_misuse(void);

/* Called before a thread waits for any of the library's locks. */
static inline void lock_wait_check(void) {
  if (unlikely(lock_callback != NULL)) lock_callback_misuse();
}

/* lock_take's path when l is held: spin, then sleep (lock.c). */
HAWK_INTERNAL void lock_wait(struct hawk_lock *l);

/* lock_give's path when a thread may sleep on l: wakes one (lock.c). */
HAWK_INTERNAL void lock_wake(struct hawk_lock *l);

static inline void lock_take(struct hawk_lock *l) {
  if (unlikely(!lock_try(l))) lock_wait(l);
}

/* --- the other locks malloc and free take ---------------------------------
 * The large blocks' list, the empty arenas' cache, the thread caches' list
 * and the trace's buffers are taken once per large mapping, arena, thread
 * or trace chunk, not per call: glibc's error-checking mutexes.  Their take
 * by the thread that holds them fails (EDEADLK) where a plain mutex sleeps
 * for ever: a signal handler's malloc that interrupted the allocator, with
 * any number of threads, or a hawk_walk visitor's call.  mutex_take then
 * reports it in one line and aborts (lock_mutex_misuse).  Each file calls
 * mutex_take from one out-of-line function of its own (HAWK_NOINLINE), so
 * that the code every process runs stays within its 64 KiB. */
#ifdef PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP
#define HAWK_MUTEX_INIT PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP
#else
#define HAWK_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#endif

/* mutex_take's report of a take that failed, err its result: EDEADLK, the
 * line of lock_callback_misuse or lock_wait's; else the mutex is damaged. */
HAWK_INTERNAL HAWK_COLD _Noreturn void lock_mutex_misuse(int err);

static inline void mutex_take(pthread_mutex_t *m) {
  int err = pthread_mutex_lock(m);
  if (unlikely(err != 0)) lock_mutex_misuse(err);
}

/* fork's child: the mutex free again, of the same kind. */
static inline void mutex_reset(pthread_mutex_t *m) {
  static const pthread_mutex_t fresh = HAWK_MUTEX_INIT;
  *m = fresh;
}

static inline void lock_give(struct hawk_lock *l) {
  if (likely(lock_alone())) { /* no other thread: none can sleep on it */
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(&l->word, 0, __ATOMIC_RELAXED);
    return;
  }
  if (unlikely(__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2)) lock_wake(l);
}

#endif
