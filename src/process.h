/* process.h - the process's allocator state: the heap table, the one-time
 * initialisation, the mode every call tests, and what runs at fork and at
 * exit.  Defined in process.c, the one file that knows every layer's start,
 * fork and exit hooks and the order they run in. */
#ifndef HAWK_PROCESS_H
#define HAWK_PROCESS_H

#include "heap.h"

#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define HAWK_HAVE_SINGLE_THREADED 1
#endif
#endif
#ifndef HAWK_HAVE_SINGLE_THREADED
#define HAWK_HAVE_SINGLE_THREADED 0
#endif

/* The heaps: threads are spread over hawk_heap_count of them (a heap is
 * chosen when a thread sets up its cache; threads without a cache use the
 * first).  A block always goes back to the heap that owns its arena. */
HAWK_INTERNAL extern struct heap hawk_heaps[HEAP_MAX];
HAWK_INTERNAL extern unsigned hawk_heap_count;

/* Set when every call must take the slow path: tracing, debug mode,
 * periodic checks, Valgrind or M_PERTURB.  The fast paths test this one
 * flag; mallopt may change it while other threads run, so it is read and
 * written atomically (plain loads and stores on common machines). */
HAWK_INTERNAL extern int slow_mode;

/* slow_mode as the fast paths see it, set with it, so that neither loads
 * slow_mode: malloc's pop compares a cached block's mark with fast_pop_key
 * (tcache_key; in slow mode a value no mark matches, so every malloc
 * misses the cache and takes the slow path), and free's fast path takes a
 * pointer whose registry byte is fast_free_kind (CHUNK_ARENA; in slow mode
 * a kind no chunk has).  The same flag folded into tests the checks make
 * anyway. */
HAWK_INTERNAL extern uint64_t fast_pop_key;
HAWK_INTERNAL extern unsigned char fast_free_kind;

/* Set when running under Valgrind's memcheck (vg.h); not under callgrind. */
HAWK_INTERNAL extern int under_valgrind;

/* Set, with release order, once the initialisation has run to its end. */
HAWK_INTERNAL extern int process_initialised;

/* Runs the one-time initialisation, or waits for the thread running it. */
HAWK_INTERNAL void process_init(void);

/* Runs the one-time initialisation if it has not run yet.  Inline: the
 * API's paths test the flag on every call that is not served by the
 * thread cache. */
static inline void hawk_ensure_init(void) {
  if (unlikely(!__atomic_load_n(&process_initialised, __ATOMIC_ACQUIRE))) process_init();
}

/* The fork handlers (process.c) are registered once the process may have a
 * second thread, not at start-up: registering the first handler makes the
 * C library fault in a page of its read-only data (and 64 KiB around it)
 * that a program with one thread never touches (docs/performance.md,
 * "Fixed memory of a process").  Every path by which a thread may take an
 * allocator lock calls hawk_fork_guard first, with no lock held: the
 * thread-cache set-up, the paths that take a heap, large-block or created
 * heap's lock without the cache, and the observers (hawk_ensure_ready).
 * With one thread nothing can hold a lock when it forks; pthread_create
 * marks the process as threaded (__libc_single_threaded) before the new
 * thread runs, so the first thread that takes a lock after that registers
 * the handlers before it.  Tracing and HAWKALLOC_MAP, whose children need
 * the handlers with one thread too, register them at start-up. */
HAWK_INTERNAL extern int fork_handlers_state; /* 2 once registered */

/* The fork handlers (process_fork.c), registered by process.c. */
HAWK_INTERNAL void process_fork_prepare(void);
HAWK_INTERNAL void process_fork_parent(void);
HAWK_INTERNAL void process_fork_child(void);

/* Registers the handlers if no thread has, or waits for the thread doing
 * it; returns at once in a process with one thread. */
HAWK_INTERNAL void process_fork_guard_slow(void);

/* Whether the process may have more than one thread: pthread_create
 * clears the C library's flag before it starts the thread; without the
 * flag (a C library older than glibc 2.32), always. */
static inline int process_may_be_threaded(void) {
#if HAWK_HAVE_SINGLE_THREADED
  return !__atomic_load_n(&__libc_single_threaded, __ATOMIC_RELAXED);
#else
  return 1;
#endif
}

static inline void hawk_fork_guard(void) {
  /* The flag first: a process with one thread, which never registers the
   * handlers, then passes with one test instead of two (the medium sizes
   * pass here on every malloc and free), where one with threads makes both. */
  if (process_may_be_threaded() &&
      unlikely(__atomic_load_n(&fork_handlers_state, __ATOMIC_ACQUIRE) != 2))
    process_fork_guard_slow();
}

/* hawk_ensure_init and hawk_fork_guard: what an entry point of the API
 * calls before it takes a lock (never with a lock held). */
static inline void hawk_ensure_ready(void) {
  hawk_ensure_init();
  hawk_fork_guard();
}

/* heaps_each's flags. */
#define HEAPS_DRAIN 1u /* free each heap's remote list first (heap_drain) */
#define HEAPS_TRY                                                                                  \
  2u /* never wait for a lock: each is tried a few times                                           \
        and a heap whose lock stays busy ends the walk                                             \
        (a signal handler: the interrupted thread may hold                                         \
        it, and pthread_mutex_lock is not async-signal-safe                                        \
        where trylock cannot block) */

/* Takes a heap lock without ever blocking (a few tries, then 0): what
 * HEAPS_TRY uses, for the signal-time walk of the created heaps too. */
HAWK_INTERNAL int heap_lock_try(struct hawk_lock *m);

/* The one lock-walk-unlock of the heap table: calls fn(h, i, ctx) for each
 * heap h = &hawk_heaps[i] in turn, with its lock held (taken and released
 * here).  Returns 0, or -1 with HEAPS_TRY when a lock stayed busy (the
 * heaps before it were visited). */
HAWK_INTERNAL int heaps_each(void (*fn)(struct heap *h, unsigned i, void *ctx), void *ctx,
                             unsigned flags);

/* Picks the heap for a new thread and attaches the thread to it: of the
 * heaps threads are spread over, the one with the fewest threads attached,
 * the first of them on a tie.  Threads that run at the same time get heaps
 * of their own; a thread that starts after others exited takes a heap they
 * left, with its free memory, rather than a heap never used (which would
 * map arenas of its own: docs/design.md). */
HAWK_INTERNAL struct heap *hawk_heap_for_new_thread(void);

/* Detaches a thread from the heap hawk_heap_for_new_thread gave it (a
 * thread whose cache moved to another heap stays on this one: tcache.c,
 * move_maybe). */
HAWK_INTERNAL void hawk_heap_thread_leaves(const struct heap *h);

/* Spreads the threads that start from now on over the first n heaps (n is
 * taken between 1 and hawk_heap_count): mallopt(M_ARENA_MAX).  Threads
 * already on a heap keep it. */
HAWK_INTERNAL void hawk_set_heap_spread(unsigned n);

/* How many heaps new threads are spread over. */
HAWK_INTERNAL unsigned hawk_heap_spread(void);

/* Sets M_PERTURB's value (debug.h) and puts every call on the slow path
 * while it is not 0. */
HAWK_INTERNAL void hawk_set_perturb(int value);

#endif /* HAWK_PROCESS_H */
