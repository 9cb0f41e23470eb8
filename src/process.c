/* process.c - the process's allocator state: the heap table, the keys of
 * the block format drawn at start-up, the one-time initialisation, the
 * fork handlers and the exit hooks.  Every layer's start, fork and exit
 * hook is called from here alone, so the order they run in is written in
 * one place.  See process.h. */
#include "process.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#include "arena.h"
#include "debug.h"
#include "decay.h"
#include "large.h"
#include "options.h"
#include "os.h"
#include "remote.h"
#include "report.h"
#include "snapshot.h"
#include "stats.h"
#include "tcache.h"
#include "trace.h"
#include "userheap.h"
#include "vg.h"

struct heap hawk_heaps[HEAP_MAX];
unsigned hawk_heap_count = 1;
/* Threads attached to each heap (hawk_heap_for_new_thread). */
static unsigned heap_threads[HEAP_MAX];
static unsigned heap_spread = 1; /* heaps new threads go to (M_ARENA_MAX) */

static pthread_once_t init_control = PTHREAD_ONCE_INIT;
int process_initialised; /* process.h */
int slow_mode;           /* process.h */
uint64_t fast_pop_key;   /* process.h */
unsigned char fast_free_kind = CHUNK_ARENA;
int under_valgrind; /* process.h */

/* Picks the placement policy named by HAWKALLOC_POLICY. */
static const struct placement *policy_from_options(void) {
  const char *name = option_text(OPTION_POLICY);
  if (name == NULL) return &placement_segregated; /* the default */
  const struct placement *p = placement_by_name(name);
  if (p) return p;
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: unknown HAWKALLOC_POLICY '");
  line_quote(&l, name);
  line_str(&l, "', using segregated");
  line_write(&l, 2);
  return &placement_segregated;
}

/* HAWKALLOC_HEAPS, or two heaps per CPU this process may run on (options.c
 * checked the value and resolved 0). */
static unsigned heap_count_wanted(void) {
  long n = option_long(OPTION_HEAPS);
  return n < 1 ? 1 : n > HEAP_MAX ? HEAP_MAX : (unsigned)n;
}

struct heap *hawk_heap_for_new_thread(void) {
  unsigned spread = __atomic_load_n(&heap_spread, __ATOMIC_RELAXED);
  for (;;) {
    unsigned best = 0, fewest = UINT32_MAX;
    for (unsigned i = 0; i < spread; i++) {
      unsigned n = __atomic_load_n(&heap_threads[i], __ATOMIC_RELAXED);
      if (n < fewest) best = i, fewest = n;
    }
    /* Another thread may have joined it since: then look again. */
    if (__atomic_compare_exchange_n(&heap_threads[best], &fewest, fewest + 1, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return &hawk_heaps[best];
  }
}

void hawk_heap_thread_leaves(const struct heap *h) {
  __atomic_sub_fetch(&heap_threads[h - hawk_heaps], 1, __ATOMIC_RELAXED);
}

void hawk_set_heap_spread(unsigned n) {
  hawk_ensure_init();
  n = n < 1 ? 1 : n > hawk_heap_count ? hawk_heap_count : n;
  __atomic_store_n(&heap_spread, n, __ATOMIC_RELAXED);
}

unsigned hawk_heap_spread(void) {
  hawk_ensure_init();
  return __atomic_load_n(&heap_spread, __ATOMIC_RELAXED);
}

/* Takes a heap lock without ever blocking: another thread holds a heap
 * lock for a short while, so try a few times; a thread interrupted by a
 * signal never lets go while the handler runs, so give up after that. */
int heap_lock_try(struct hawk_lock *m) {
  for (int i = 0; i < 256; i++)
    if (lock_try(m)) return 1;
  return 0;
}

int heaps_each(void (*fn)(struct heap *h, unsigned i, void *ctx), void *ctx, unsigned flags) {
  for (unsigned i = 0; i < hawk_heap_count; i++) {
    struct heap *h = &hawk_heaps[i];
    if (flags & HEAPS_DRAIN) heap_drain(h);
    if (!(flags & HEAPS_TRY))
      lock_take(&h->lock);
    else if (!heap_lock_try(&h->lock))
      return -1;
    fn(h, i, ctx);
    lock_give(&h->lock);
  }
  return 0;
}

/* Whether every call must take the slow path (see slow_mode). */
static int slow_mode_wanted(void) {
  return trace_enabled || debug_enabled || debug_check_every > 0 || under_valgrind ||
         debug_perturb_now() != 0;
}

/* Sets slow_mode, fast_pop_key and fast_free_kind (process.h).  In slow
 * mode the pops' key has its top bit flipped: a mark is the key with a
 * size below 4096 in its low bits, so none matches. */
static void slow_mode_update(void) {
  int on = slow_mode_wanted();
  __atomic_store_n(&slow_mode, on, __ATOMIC_RELAXED);
  __atomic_store_n(&fast_pop_key, tcache_key ^ (on ? (uint64_t)1 << 63 : 0), __ATOMIC_RELAXED);
  __atomic_store_n(&fast_free_kind, (unsigned char)(on ? 0xff : CHUNK_ARENA), __ATOMIC_RELAXED);
}

/* mallopt(M_PERTURB): as glibc, only the value's low byte counts (0: off).
 * The two stores are made under one lock, so that two threads setting it
 * at once cannot leave a fill value on with the slow path off. */
void hawk_set_perturb(int value) {
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  hawk_ensure_init();
  pthread_mutex_lock(&lock);
  __atomic_store_n(&debug_perturb, value & 0xff, __ATOMIC_RELAXED);
  slow_mode_update();
  pthread_mutex_unlock(&lock);
}

/* After an operation on heap self moved the decay's epoch on (heap.h's
 * epoch hook; no lock held): the passes of every heap but self whose lock
 * is free, and the arenas and large mappings cached for longer than a
 * period (decay.h). */
static void decay_elsewhere(const struct heap *self) {
  uint64_t e = decay_epoch();
  for (unsigned i = 0; i < hawk_heap_count; i++)
    if (&hawk_heaps[i] != self) heap_decay_try(&hawk_heaps[i]);
  arena_cache_decay(e);
  large_spare_decay(e);
}

/* Everything the allocator needs before its first block; allocates nothing. */
static void init_once(void) {
  report_stderr_init();
  options_load();
  os_page_size();
  block_keys_init();
  tcache_init();
  /* The observers' files lie past the first 64 KiB of the library's code
   * (the Makefile's LIB_FIRST): called only when their option is set, a
   * program that sets none never faults their pages in. */
  if (option_text(OPTION_TRACE) != NULL) trace_init();
  if (option_text(OPTION_MAP) != NULL) map_install_signal();
  debug_init();
  /* Debug mode checks that freed memory keeps its fill pattern: nothing
   * may give its pages back behind its back. */
  decay_init(debug_enabled ? 0 : (uint64_t)option_long(OPTION_DECAY_MS));
  if (option_long(OPTION_STATS) == 1) stats_init();
  under_valgrind = vg_memcheck_running();
  /* Textbook mode (HAWKALLOC_TCACHE=0): no cache and one heap, so that every
   * malloc and free meets the placement policy, as in the seed's design.
   * The fast paths are unchanged: with no cache, a thread's lists stay the
   * static empty ones whose limits are zero, and every call falls through
   * to the heap, as in debug mode. */
  int textbook = option_long(OPTION_TCACHE) == 0;
  tcache_disabled = debug_enabled || under_valgrind || textbook;
  slow_mode_update();
  const struct placement *policy = policy_from_options();
  hawk_heap_count = textbook ? 1 : heap_count_wanted();
  __atomic_store_n(&heap_spread, hawk_heap_count, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < hawk_heap_count; i++) heap_init(&hawk_heaps[i], policy);
  remote_init();
  heap_set_epoch_hook(decay_elsewhere);
  __atomic_store_n(&process_initialised, 1, __ATOMIC_RELEASE);
}

void process_init(void) { pthread_once(&init_control, init_once); }

/* --- fork ----------------------------------------------------------------- */

/* The handlers themselves are process_fork.c's (outside the 64 KiB window:
 * only a process that forks runs them). */
int fork_handlers_state; /* process.h: 0 none, 1 being registered, 2 registered */
/* Set in the thread registering them: the C library may allocate while it
 * registers (its list of handlers grows), and that thread must not wait
 * for itself. */
static __thread int fork_handlers_registering __attribute__((tls_model("initial-exec")));

/* Registers the handlers, once; a thread that finds another registering
 * them waits until they are, so that no fork can miss them while it takes
 * a lock. */
static void fork_handlers_register(void) {
  int none = 0;
  if (__atomic_compare_exchange_n(&fork_handlers_state, &none, 1, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    fork_handlers_registering = 1;
    pthread_atfork(process_fork_prepare, process_fork_parent, process_fork_child);
    fork_handlers_registering = 0;
    __atomic_store_n(&fork_handlers_state, 2, __ATOMIC_RELEASE);
    return;
  }
  while (__atomic_load_n(&fork_handlers_state, __ATOMIC_ACQUIRE) != 2 && !fork_handlers_registering)
    sched_yield();
}

void process_fork_guard_slow(void) {
  if (process_may_be_threaded()) fork_handlers_register();
}

/* The handlers are registered here only where a child needs them with one
 * thread too (the trace stops in the child; a snapshot being written by a
 * signal's request is reset; HAWKALLOC_STATS's copy of stderr is closed) or when the process
 * already has threads (the library loaded by dlopen); else when a second thread may take a lock
 * (process.h, hawk_fork_guard). */
__attribute__((constructor)) static void hawk_constructor(void) {
  hawk_ensure_init();
  if (trace_enabled || option_text(OPTION_MAP) != NULL || option_long(OPTION_STATS) == 1 ||
      process_may_be_threaded())
    fork_handlers_register();
}

/* --- exit ------------------------------------------------------------------ */

/* Everything the library does when the program exits, in this order: the
 * trace records still in buffers, the HAWKALLOC_STATS table, then the
 * HAWKALLOC_MAP snapshot.  The one destructor of the library. */
__attribute__((destructor)) static void process_at_exit(void) {
  if (__atomic_load_n(&trace_enabled, __ATOMIC_ACQUIRE)) trace_flush_at_exit();
  if (option_long(OPTION_STATS) == 1) stats_at_exit(); /* as at start-up: only when set */
  if (option_text(OPTION_MAP) != NULL) map_on_exit();
}
