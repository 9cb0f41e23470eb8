/* api.c - the hawk_* functions: errno, overflow and alignment rules in one
 * place, over three primitives (allocate aligned, free, resize-or-move),
 * which take a created heap too (the hawk_heap_* functions are in
 * api_heap.c, over the same primitives, so that tracing, debug mode and
 * Valgrind cover their blocks as well).  The process state,
 * initialisation and fork handlers are in process.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "debug.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "large.h"
#include "os.h"
#include "process.h"
#include "registry.h"
#include "report.h"
#include "tcache.h"
#include "trace.h"
#include "userheap.h"
#include "vg.h"

/* Records a call on block blk (free, realloc) with the id of its heap, if
 * tracing is on. */
static inline void trace_block(enum trace_op op, const void *result, size_t size, uintptr_t aux,
                               const void *blk) {
  if (unlikely(trace_enabled)) trace_record(op, result, size, aux, userheap_id_of(blk));
}

/* --- the three primitives ------------------------------------------------ */

/* Whether a request goes to its own mapping: at the threshold (large.h)
 * or above, or aligned to more than a fixed LARGE_THRESHOLD, so that an
 * arena can hold any block below the threshold (config.h).  Below
 * LARGE_THRESHOLD_MAX a spare mapping that holds it, or a free block in
 * memory the heap has used already, serves it first (alloc_large). */
static int is_large(size_t n, size_t align) {
  return n >= large_threshold_now() || align > LARGE_THRESHOLD;
}

/* A request at or above the large-block threshold (is_large): below
 * LARGE_THRESHOLD_MAX, which an arena always holds, memory whose pages are
 * resident already serves it if it holds it: a spare large mapping, else a
 * free block in memory this thread's heap has used already, as glibc
 * serves a request above its mmap threshold from its free lists when it
 * can.  A new mapping would add as many pages beside them (docs/design.md,
 * "Large requests take used memory first").  Else a mapping of its own
 * (a spare grown, or a new one).  NULL on failure.  Out of line: each
 * entry point's copy of alloc_try stays small (tests/levels). */
static HAWK_COLD void *alloc_large(size_t n, size_t align, int zero) {
  if (n < LARGE_THRESHOLD_MAX && align <= LARGE_THRESHOLD) {
    void *s = zero || !large_spares_now() ? NULL : large_alloc_spare(n, align);
    if (s) return s;
    size_t used_dirty = 0;
    void *p = tcache_heap_alloc_used(n, align, zero ? &used_dirty : NULL);
    if (p && used_dirty) memset(p, 0, used_dirty);
    if (p) return p;
  }
  int dirty;
  void *p = large_alloc(n, align, zero, &dirty);
  if (p && zero && dirty) memset(p, 0, n); /* fresh pages are zero already */
  return p;
}

/* n bytes aligned to align (a power of two, at least 16), zeroed if asked.
 * NULL on failure; errno is left to the caller. */
static inline __attribute__((always_inline)) void *alloc_try(size_t n, size_t align, int zero) {
  if (likely(align == HAWK_ALIGN && n <= TCACHE_MAX_BLOCK - BLOCK_HEADER)) {
    size_t size = block_size_for(n);
    void *p = tcache_pop(size);
    if (unlikely(p == NULL)) p = tcache_refill(size);
    if (p && zero) memset(p, 0, n);
    return p;
  }
  hawk_ensure_ready();
  if (unlikely(n > PTRDIFF_MAX)) return NULL;
  if (unlikely(is_large(n, align))) {
    void *p = alloc_large(n, align, zero);
    /* Under the fixed threshold (mallopt lowered it) an arena can hold the
     * block: a refused mapping falls back to the heap, as glibc's does. */
    if (p || n >= LARGE_THRESHOLD || align > LARGE_THRESHOLD) return p;
  }
  size_t dirty = 0;
  void *p = tcache_heap_alloc(n, align, zero ? &dirty : NULL);
  if (p && dirty) memset(p, 0, dirty);
  return p;
}

/* Aborts for a pointer into memory HawkAlloc gave back.  Only a pointer
 * that can be shown to be one it handed out is called a double free: the
 * range may since have been mapped by the program or another allocator. */
static _Noreturn HAWK_COLD void released_misuse(void *p, enum chunk_kind kind, const char *call) {
  int ours;
  if (kind == CHUNK_FREED) {
    ours = large_was_payload(p);
  } else { /* an unmapped arena: nobody mapped the page since, and p lies
            * where a payload could */
    ours = !os_is_mapped(p) && arena_holds_payload(arena_of(p), p);
  }
  if (ours) report_misuse(call, p, "double free (its memory was already released)");
  report_misuse(call, p, "invalid pointer (not from hawkalloc)");
}

/* When the OS refuses memory, what HawkAlloc holds only as a cache goes
 * back to it before the request fails: this thread's cache (its blocks
 * may pin otherwise empty arenas), the heaps' remote lists, every empty
 * arena (a heap's last one too), the cache of empty arenas and the spare
 * large mappings.  Other threads' caches cannot be reached safely.  Call
 * with no lock held. */
static __attribute__((noinline)) void release_cached(void) {
  tcache_flush_self();
  for (unsigned i = 0; i < hawk_heap_count; i++) heap_release_empty(&hawk_heaps[i]);
  arena_cache_flush();
  large_spare_flush();
}

/* alloc_try again after release_cached (docs/design.md: the retry-on-OOM
 * rule). */
static __attribute__((noinline)) void *alloc_retry(size_t n, size_t align, int zero) {
  if (n > PTRDIFF_MAX) return NULL;
  release_cached();
  return alloc_try(n, align, zero);
}

/* alloc_try, and alloc_retry when it fails: inline into malloc_slow, whose
 * align and zero are constants (a medium malloc tests neither), and into
 * alloc_core for the other calls. */
static inline __attribute__((always_inline)) void *alloc_core_in(size_t n, size_t align, int zero) {
  void *p = alloc_try(n, align, zero);
  if (unlikely(p == NULL)) p = alloc_retry(n, align, zero);
  return p;
}

static HAWK_HOT void *alloc_core(size_t n, size_t align, int zero) {
  return alloc_core_in(n, align, zero);
}

/* alloc_core in heap h: NULL for the default heaps, else a live created
 * heap (which sets errno when it fails). */
static void *alloc_in(struct hawk_heap *h, size_t n, size_t align, int zero) {
  return h ? userheap_alloc(h, n, align, zero) : alloc_core(n, align, zero);
}

/* What kind of memory p is in; aborts with a message if it is not ours. */
static HAWK_HOT enum chunk_kind owner_kind(void *p, const char *call) {
  if ((uintptr_t)p & (HAWK_ALIGN - 1)) report_misuse(call, p, "invalid pointer (misaligned)");
  enum chunk_kind kind = registry_lookup(p);
  if (kind == CHUNK_FREED || kind == CHUNK_ARENA_FREED) released_misuse(p, kind, call);
  if (kind == CHUNK_NONE) report_misuse(call, p, "invalid pointer (not from hawkalloc)");
  return kind;
}

/* Not inlined: free's fast path reaches it with a tail call and keeps no
 * stack frame of its own. */
static HAWK_HOT __attribute__((noinline)) void free_core(void *p, const char *call) {
  hawk_fork_guard();
  enum chunk_kind kind = owner_kind(p, call);
  if (kind == CHUNK_ARENA)
    heap_free(p, call);
  else if (kind >= CHUNK_HEAP_ARENA) /* a created heap's (userheap.h) */
    userheap_free(p, kind, call);
  else
    large_free(p, call);
}

/* The usable size of arena block p without the heap's lock, or 0 to take
 * the locked path (heap_usable), which checks the same and reports.  The
 * block is the caller's, so its size cannot change, nor can the start of
 * the block after it (only a free of p could merge it away); headers are
 * read whole (block_load), each one carrying its own tag.  p must be a
 * 16-byte aligned address whose header (p - 8) lies in a chunk the
 * registry says is a default heap's arena (registry_payload_is).  Checked:
 * what free's fast path checks (a sound header of an allocated arena
 * block, which a word of the arena's head is not: the tag), no cache mark,
 * that the block ends inside its arena, and
 * that the next header is sound and says its predecessor is in use, as
 * the heap checks on free.  Whether the block before p is free does not
 * matter: p's size does not depend on it, and that block's footer, which
 * the heap's free follows to coalesce, is left alone (another thread may
 * rewrite it under the lock, or own that memory by now).  Before
 * 2026-12-05 such a block took the locked path: 155,532 of redis-server's
 * 1,056,968 calls in `make bench-real`'s load, 236 instructions each. */
static inline __attribute__((always_inline)) size_t usable_in_arena(void *p) {
  const block *b = block_of_payload(p);
  uint64_t w = block_load(b);
  size_t size = w & BLOCK_SIZE_MASK;
  if ((w & (BLOCK_ALLOC | BLOCK_LARGE)) != BLOCK_ALLOC || size < BLOCK_MIN ||
      size > (size_t)((char *)arena_epilogue(arena_of(p)) - (char *)b) || !block_word_ok(b, w) ||
      tcache_marked(p))
    return 0;
  const block *next = (const block *)((const char *)b + size);
  uint64_t wn = block_load(next);
  if (!(wn & BLOCK_PREV_ALLOC) || !block_word_ok(next, wn)) return 0;
  return size - BLOCK_HEADER;
}

/* usable_in_arena for any pointer: the registry asked first, about p's
 * own chunk, so p must lie past the arena's head for its header to be in
 * the arena too. */
static inline size_t usable_fast(void *p) {
  return registry_lookup_payload(p) == CHUNK_ARENA && arena_past_head(p) ? usable_in_arena(p) : 0;
}

static size_t usable_core(void *p, const char *call) {
  size_t fast = usable_fast(p);
  if (likely(fast != 0)) return fast;
  hawk_fork_guard();
  enum chunk_kind kind = owner_kind(p, call);
  if (kind == CHUNK_ARENA) return heap_usable(p, call);
  if (kind >= CHUNK_HEAP_ARENA) return userheap_usable(p, kind, call);
  return large_usable(p, call);
}

/* If the block after arena block p is in this thread's cache, takes it out
 * and returns it, for heap_resize_into to free so that p can grow into it;
 * else NULL. */
static void *reclaim_next(void *p) {
  const block *b = block_of_payload(p);
  block *next = (block *)((char *)b + (block_load(b) & BLOCK_SIZE_MASK));
  uint64_t w = block_load(next);
  size_t size = w & BLOCK_SIZE_MASK;
  /* Only this thread's own lists are searched: the neighbour's payload may
   * belong to another thread and is not read. */
  void *q = block_payload(next);
  return block_word_alloc_ok(next, w, TCACHE_MAX_BLOCK) && tcache_may_take_back(q, size) &&
                 tcache_take_back(q, size)
             ? q
             : NULL;
}

/* Whether the block after arena block p (of have bytes, its header read
 * sound) is in use, read without the lock: a sound header, allocated (or
 * cached: the heap cannot tell), saying that p is in use.  A hint only, as
 * another thread may free or take that block at any moment; when it holds,
 * growing p in place would fail under the lock, so a growing realloc moves
 * at once.  Anything else (a free neighbour, a damaged header) takes the
 * locked path, which grows in place or reports. */
static int next_in_use(void *p, size_t have) {
  const struct arena *a = arena_of(p);
  const block *b = block_of_payload(p);
  if (!arena_holds_payload(a, p) || have > (size_t)((char *)arena_epilogue(a) - (char *)b))
    return 0;
  const block *next = (const block *)((const char *)b + have);
  uint64_t w = block_load(next);
  return (w & (BLOCK_ALLOC | BLOCK_PREV_ALLOC)) == (BLOCK_ALLOC | BLOCK_PREV_ALLOC) &&
         block_word_ok(next, w);
}

static inline void free_fast(void *ptr);

/* Moves p, whose first old bytes are in use, to a new block of n bytes: q
 * if it is not NULL (a block of n bytes taken from the thread cache), else
 * one allocated here; a block that grows gets REALLOC_HEADROOM more.  With
 * M_PERTURB the bytes added and the old block are filled as malloc and free
 * fill them. */
static HAWK_HOT void *move(void *p, size_t old, size_t n, void *q) {
  size_t limit = large_threshold_now();
  size_t ask = n > old && n < limit ? n + n / REALLOC_HEADROOM : n;
  if (q == NULL) q = alloc_core(ask < limit ? ask : n, HAWK_ALIGN, 0);
  if (q == NULL) return NULL;
  memcpy(q, p, old < n ? old : n);
  if (unlikely(debug_perturb_now())) {
    if (n > old) debug_perturb_alloc((char *)q + old, n - old);
    debug_perturb_free(p, old);
  }
  free_fast(p); /* p was checked: the fast path may cache it */
  return q;
}

/* A block of this thread's cache for a growth to n bytes, with the
 * headroom a move gives, when the cache holds that size and its list has
 * one; else NULL.  A move to it is a pop, a copy and a cached free, where
 * taking a cached neighbour back and growing over it under the heap's lock
 * cost about four times as much (docs/design.md).  A damaged head of the
 * list: with call NULL (realloc's fast path) the pop fails and leaves it to
 * the named path, which pops with call and reports it naming call.
 * roomy_cached: whether the cache holds such a block (its payload at most
 * TCACHE_MAX_BLOCK - BLOCK_HEADER bytes), which realloc tests first. */
static inline int roomy_cached(size_t n) {
  return n + n / REALLOC_HEADROOM <= TCACHE_MAX_BLOCK - BLOCK_HEADER;
}

static inline __attribute__((always_inline)) void *pop_roomy(size_t n, const char *call) {
  if (!roomy_cached(n)) return NULL;
  size_t roomy = block_size_for(n + n / REALLOC_HEADROOM);
  return call ? tcache_pop_named(roomy, call)
              : tcache_pop_fast(roomy, __atomic_load_n(&fast_pop_key, __ATOMIC_RELAXED));
}

/* The most spare room a resized block keeps rather than giving its tail
 * back: under BLOCK_MIN nothing can be split off, and up to the headroom a
 * growing realloc adds (config.h) the room is kept, so that the next small
 * step of a buffer grown by small steps finds its headroom still there. */
static size_t realloc_spare_kept(size_t want) {
  return want / REALLOC_HEADROOM > BLOCK_MIN ? want / REALLOC_HEADROOM : BLOCK_MIN;
}

/* A shrink that moves (resize_core) gives back a half of its block, a third,
 * ...: REALLOC_SHRINK_MOVE 0 would divide by zero, 1 turn the rule off. */
_Static_assert(REALLOC_SHRINK_MOVE >= 2, "REALLOC_SHRINK_MOVE: 2 or more (a half, a third...)");

/* Resizes p (not NULL) to n bytes (0 < n <= PTRDIFF_MAX): in place if it
 * can, else by moving.  NULL on failure, with p untouched. */
static void *resize_core(void *p, size_t n, const char *call) {
  hawk_fork_guard();
  enum chunk_kind kind = owner_kind(p, call);
  if (kind >= CHUNK_HEAP_ARENA) return userheap_resize(p, n, kind, call);
  if (kind != CHUNK_ARENA) {
    if (is_large(n, HAWK_ALIGN)) {
      void *q = large_resize(p, n, call);
      if (q == NULL) { /* the retry-on-OOM rule, as for alloc_core */
        release_cached();
        q = large_resize(p, n, call);
      }
      return q;
    }
    return move(p, usable_core(p, call), n, NULL);
  }
  /* The block is the caller's, so its size cannot change under us; read
   * without the lock, it is trusted only with a sound header.  A pointer
   * at the arena's start, whose header would lie before the arena, takes
   * the locked path, which reports it (elsewhere in the arena's head the
   * word read is no sound header: one test where arena_past_head takes
   * two). */
  const block *b = block_of_payload(p);
  uint64_t w = (uintptr_t)p & (ARENA_SIZE - 1) ? block_load(b) : 0;
  size_t have = w & BLOCK_SIZE_MASK, want = block_size_for(n);
  void *next = NULL; /* the neighbour taken out of this thread's cache */
  if (block_word_alloc_ok(b, w, SIZE_MAX) && !tcache_marked(p)) {
    /* Room already, and what is spare no more than the headroom a growing
     * realloc leaves (config.h): nothing to do, so that a buffer grown by
     * small steps keeps its headroom. */
    if (want <= have && have - want < realloc_spare_kept(want)) return p;
    /* A shrink that gives a tail back takes a neighbour this thread just
     * freed out of its cache too, so that the tail merges with it rather
     * than staying a small hole next to a cached block; a growth takes it
     * to grow into it (docs/design.md). */
    int shrink = want <= have;
    /* A growth to a size the thread cache holds moves to a cached block
     * (pop_roomy): realloc's own fast path has tried it already outside
     * slow mode; reallocarray and slow mode try it here. */
    if (!shrink) {
      void *q = pop_roomy(n, call);
      if (q) return move(p, have - BLOCK_HEADER, n, q);
    }
    if (shrink || n < large_threshold_now()) {
      next = reclaim_next(p);
      /* With a neighbour in use (a hint), a growth in place would fail
       * under the lock: it moves at once (its cache list being empty, the
       * move's own allocation takes the lock, once).  A shrink's tail
       * would stay a hole of its own: to a size the thread cache holds, by
       * a sixth of the block or more (config.h), it moves too, to a block
       * of the new size from this thread's cache (refilled if empty,
       * without the retry of a failing malloc), and the old block is freed
       * as free frees it (to the cache for the next request of its size
       * when it is small enough); with the caches off (textbook mode), or
       * no block to be had, it shrinks in place. */
      if (next == NULL &&
          (!shrink || (want <= TCACHE_MAX_BLOCK && want <= have - have / REALLOC_SHRINK_MOVE)) &&
          next_in_use(p, have)) {
        void *q = NULL;
        if (shrink && !tcache_disabled && (q = tcache_pop_named(want, "realloc")) == NULL)
          q = tcache_refill(want);
        if (q || !shrink) return move(p, have - BLOCK_HEADER, n, q);
      }
    }
  }
  size_t old = 0;
  if (heap_resize_into(p, next, n, large_threshold_now(), call, &old)) return p;
  return move(p, old, n, NULL);
}

/* --- debug mode (debug.h): the same primitives with canaries -------------- */

static void *debug_alloc(struct hawk_heap *h, size_t n, size_t align, int zero) {
  size_t total;
  if (__builtin_add_overflow(n, DEBUG_EXTRA, &total)) {
    errno = ENOMEM; /* a created heap's caller keeps errno as it is set */
    return NULL;
  }
  void *p = alloc_in(h, total, align, zero);
  if (p) debug_mark(p, n, usable_core(p, "malloc"), zero);
  return p;
}

static void debug_free(void *p, const char *call) {
  debug_requested(p, usable_core(p, call), call);
  free_core(p, call);
}

/* Always moves (within p's heap), so that every resize passes the checks
 * of free and malloc. */
static void *debug_resize(void *p, size_t n, const char *call) {
  size_t old = debug_requested(p, usable_core(p, call), call);
  void *q = debug_alloc(userheap_owner(p), n, HAWK_ALIGN, 0);
  if (q == NULL) return NULL;
  memcpy(q, p, old < n ? old : n);
  free_core(p, call);
  return q;
}

/* --- under Valgrind (vg.h): blocks announced to memcheck ------------------ */

/* Only under memcheck: compiled for size (HAWK_COLD), so that the code every
 * process runs keeps its 64 KiB window (tests/levels). */
static HAWK_COLD void *vg_alloc(struct hawk_heap *h, size_t n, size_t align, int zero) {
  VALGRIND_DISABLE_ERROR_REPORTING;
  void *p = alloc_in(h, n, align, zero);
  size_t usable = p ? usable_core(p, "malloc") : 0;
  VALGRIND_ENABLE_ERROR_REPORTING;
  if (p) VALGRIND_MALLOCLIKE_BLOCK(p, usable, 0, zero);
  return p;
}

static HAWK_COLD void vg_free(void *p, const char *call) {
  VALGRIND_DISABLE_ERROR_REPORTING;
  usable_core(p, call); /* a misuse is reported before memcheck hears of it */
  VALGRIND_ENABLE_ERROR_REPORTING;
  VALGRIND_FREELIKE_BLOCK(p, 0);
  VALGRIND_DISABLE_ERROR_REPORTING;
  free_core(p, call);
  VALGRIND_ENABLE_ERROR_REPORTING;
}

/* Always moves (within p's heap), so that memcheck sees a free and a new
 * block. */
static void *vg_resize(void *p, size_t n, const char *call) {
  VALGRIND_DISABLE_ERROR_REPORTING;
  size_t old = usable_core(p, call);
  struct hawk_heap *h = userheap_owner(p);
  VALGRIND_ENABLE_ERROR_REPORTING;
  void *q = vg_alloc(h, n, HAWK_ALIGN, 0);
  if (q == NULL) return NULL;
  memcpy(q, p, old < n ? old : n);
  vg_free(p, call);
  return q;
}

/* The primitives as the API uses them: plain, or checked in debug mode, or
 * announced to Valgrind. */
HAWK_HOT void *alloc_api(size_t n, size_t align, int zero, const char *call) {
  hawk_ensure_init(); /* the first block, too, must see the mode */
  if (unlikely(slow())) {
    hawk_fork_guard(); /* debug mode and Valgrind go to the heap */
    debug_tick(call);
    if (debug_enabled) return debug_alloc(NULL, n, align, zero);
    void *p = under_valgrind ? vg_alloc(NULL, n, align, zero) : alloc_core(n, align, zero);
    if (p && !zero) debug_perturb_alloc(p, n);
    return p;
  }
  return alloc_core(n, align, zero);
}

/* api.h: a created heap's allocation in slow mode. */
void *heap_alloc_api(struct hawk_heap *h, size_t n, size_t align, int zero, const char *call) {
  debug_tick(call);
  if (debug_enabled) return debug_alloc(h, n, align, zero);
  void *p = under_valgrind ? vg_alloc(h, n, align, zero) : userheap_alloc(h, n, align, zero);
  if (p && !zero) debug_perturb_alloc(p, n);
  return p;
}

void free_api(void *p, const char *call) {
  if (unlikely(slow())) {
    hawk_fork_guard();
    debug_tick(call);
    if (debug_enabled) {
      debug_free(p, call);
      return;
    }
    if (under_valgrind) {
      vg_free(p, call);
      return;
    }
  }
  free_core(p, call);
}

/* resize_api's work in slow mode, out of line so that realloc's own code
 * keeps only the test: 1 with *q set when debug mode or Valgrind resized,
 * 0 when resize_core is to. */
static HAWK_COLD int resize_slow_mode(void *p, size_t n, const char *call, void **q) {
  hawk_fork_guard();
  debug_tick(call);
  if (debug_enabled) {
    *q = debug_resize(p, n, call);
    return 1;
  }
  if (under_valgrind) {
    *q = vg_resize(p, n, call);
    return 1;
  }
  return 0;
}

static void *resize_api(void *p, size_t n, const char *call) {
  void *q;
  if (unlikely(slow()) && resize_slow_mode(p, n, call, &q)) return q;
  return resize_core(p, n, call);
}

size_t usable_api(void *p, const char *call) {
  VALGRIND_DISABLE_ERROR_REPORTING;
  size_t usable = usable_core(p, call);
  VALGRIND_ENABLE_ERROR_REPORTING;
  return unlikely(debug_enabled) ? debug_requested(p, usable, call) : usable;
}

/* M_PERTURB (debug.h): fills the block at p, about to be freed, once it is
 * known to be a block in use (a misuse is reported before anything is
 * written).  Debug mode keeps its own patterns.  Not inlined: free's fast
 * path keeps its short prologue. */
__attribute__((noinline)) void perturb_free(void *p, const char *call) {
  if (likely(debug_perturb_now() == 0) || debug_enabled) return;
  debug_perturb_free(p, usable_api(p, call));
}

/* --- the standard family ------------------------------------------------- */

/* malloc when this thread's cache had nothing of the size, or in slow mode
 * (p is then the block the cache gave, if any: only without the checks,
 * whose pops miss in slow mode). */
HAWK_HOT __attribute__((noinline)) static void *malloc_slow(size_t size, void *p) {
  if (p == NULL) {
    /* alloc_api with the slow-mode flag tested once, here: outside slow
     * mode, alloc_core's work inline (a medium size goes from here to the
     * heap's lock with one call, tcache_heap_alloc's heap_alloc). */
    hawk_ensure_init();
    p = likely(!slow()) ? alloc_core_in(size, HAWK_ALIGN, 0)
                        : alloc_api(size, HAWK_ALIGN, 0, "malloc");
  } else {
    debug_tick("malloc");
    debug_perturb_alloc(p, size);
  }
  trace_note(TRACE_MALLOC, p, size, 0);
  return p ? p : fail(ENOMEM);
}

/* The fast path: the head of this thread's list of that size.  With the
 * checks, slow mode is in the key the pop compares marks with
 * (fast_pop_key, process.h): no test of its own. */
HAWK_HOT void *hawk_malloc(size_t size) {
  void *p = NULL;
  if (likely(size <= TCACHE_MAX_BLOCK - BLOCK_HEADER)) {
    /* NULL also when its checks failed, and with the checks in slow mode */
    p = tcache_pop_fast(block_size_for(size),
                        HAWK_CHECKS ? __atomic_load_n(&fast_pop_key, __ATOMIC_RELAXED) : 0);
    if (likely(p != NULL && (HAWK_CHECKS || !slow()))) return p;
  }
  return malloc_slow(size, p);
}

/* free when the block does not go straight into this thread's cache.  The
 * header is read again (the fast path keeps no copy of it).  With the
 * checks, the registry said p's header lies in a default heap's arena
 * (registry_payload_is), and so does p unless it is the arena's first
 * byte: the heap's free then needs no second lookup (owner_kind's). */
HAWK_HOT __attribute__((noinline)) static void free_slow(void *ptr) {
  uint64_t w = block_load(block_of_payload(ptr));
  size_t size = w & BLOCK_SIZE_MASK;
  if (block_word_alloc_ok(block_of_payload(ptr), w, TCACHE_MAX_BLOCK)) {
    if (tcache_marked(ptr)) report_misuse("free", ptr, "double free");
    tcache_overflow(ptr, size);
    return;
  }
  if (HAWK_CHECKS && ((uintptr_t)ptr & (ARENA_SIZE - 1)) != 0) {
    hawk_fork_guard();
    heap_free(ptr, "free");
    return;
  }
  free_core(ptr, "free");
}

/* free in slow mode (tracing, debug mode, periodic checks, Valgrind,
 * M_PERTURB).  Not inlined: free's fast path keeps its short prologue. */
static __attribute__((noinline)) void free_slow_mode(void *ptr) {
  /* Recorded before the block can be reused by another thread. */
  trace_block(TRACE_FREE, ptr, 0, 0, ptr);
  perturb_free(ptr, "free");
  if (debug_enabled || under_valgrind) {
    free_api(ptr, "free");
    return;
  }
  debug_tick("free");
  free_fast(ptr);
}

/* free of a pointer whose registry byte is not fast_free_kind: NULL, slow
 * mode, or anything but an arena's block (which free_core tells apart). */
static __attribute__((noinline)) void free_miss(void *ptr) {
  if (ptr == NULL) return;
  if (unlikely(slow())) {
    free_slow_mode(ptr);
    return;
  }
  free_core(ptr, "free");
}

/* free after the slow-mode work: a sound small arena block goes to this
 * thread's cache.  Nothing near the pointer is read before the registry
 * vouched for it.  From free itself (entry set), NULL and slow mode are
 * told by the registry's test too: NULL is in no chunk, and in slow mode
 * fast_free_kind is a kind no chunk has. */
static inline __attribute__((always_inline)) void free_fast_from(void *ptr, int entry) {
  if (HAWK_CHECKS) {
    enum chunk_kind want =
        entry ? (enum chunk_kind)__atomic_load_n(&fast_free_kind, __ATOMIC_RELAXED) : CHUNK_ARENA;
    if (unlikely(!registry_payload_is(ptr, want))) {
      if (entry)
        free_miss(ptr);
      else
        free_core(ptr, "free");
      return;
    }
  } else if (entry) {
    if (ptr == NULL) return;
    if (unlikely(slow())) {
      free_slow_mode(ptr);
      return;
    }
  }
  block *b = block_of_payload(ptr);
  uint64_t w = block_load(b), size8 = block_word_size8(w);
  if (likely(size8 <= TCACHE_MAX_BLOCK / 8 && block_word_ok(b, w) && tcache_free(ptr, size8 * 8)))
    return;
  free_slow(ptr);
}

HAWK_HOT void hawk_free(void *ptr) { free_fast_from(ptr, 1); }

/* free of a block already checked, or after the slow-mode work. */
static inline __attribute__((always_inline)) void free_fast(void *ptr) { free_fast_from(ptr, 0); }

/* calloc when this thread's cache had nothing of the size, or in slow
 * mode (p as for malloc_slow). */
__attribute__((noinline)) static void *calloc_slow(size_t total, void *p) {
  if (p == NULL) {
    p = alloc_api(total, HAWK_ALIGN, 1, "calloc");
  } else {
    debug_tick("calloc");
    memset(p, 0, total);
  }
  trace_note(TRACE_CALLOC, p, total, 0);
  return p ? p : fail(ENOMEM);
}

/* The fast path: malloc's, and the block cleared (a cached block holds
 * what it held when it was freed).  The fork guard first, even on a cached
 * block: the first pthread_create callocs the new thread's TLS vector in
 * the creating thread after it marked the process threaded, before the new
 * thread exists, so the handlers are registered there, when no other
 * thread can be inside fork (glibc runs only the handlers registered when
 * a fork started: a new thread's registration misses a fork that another
 * thread began; docs/design.md's decisions). */
HAWK_HOT void *hawk_calloc(size_t count, size_t size) {
  hawk_fork_guard();
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return fail(ENOMEM);
  void *p = NULL;
  if (likely(total <= TCACHE_MAX_BLOCK - BLOCK_HEADER)) {
    p = tcache_pop_fast(block_size_for(total),
                        HAWK_CHECKS ? __atomic_load_n(&fast_pop_key, __ATOMIC_RELAXED) : 0);
    if (likely(p != NULL && (HAWK_CHECKS || !slow()))) return memset(p, 0, total);
  }
  return calloc_slow(total, p);
}

/* realloc and reallocarray: p resized to size bytes, a misuse reported
 * under the name of call.  realloc(p, 0) frees p and returns NULL, as
 * glibc does (docs/design.md).  One copy, which both call: resize_core,
 * called once, stays inlined in it (a copy in each cost realloc the call
 * to an outlined resize_core, +1.6% of realloc 1's instructions). */
static HAWK_HOT __attribute__((noinline)) void *resize_named(void *ptr, size_t size,
                                                             const char *call) {
  if (ptr == NULL) return hawk_malloc(size);
  if (size == 0) {
    trace_block(TRACE_FREE, ptr, 0, 0, ptr);
    perturb_free(ptr, call);
    free_api(ptr, call);
    return NULL;
  }
  if (size > PTRDIFF_MAX) {
    usable_api(ptr, call); /* still refuse a pointer that is not ours */
    trace_block(TRACE_REALLOC, NULL, size, (uintptr_t)ptr, ptr);
    return fail(ENOMEM);
  }
  void *q = resize_api(ptr, size, call);
  trace_block(TRACE_REALLOC, q, size, (uintptr_t)ptr, q ? q : ptr);
  return q ? q : fail(ENOMEM);
}

/* realloc's growth of ptr, a sound allocated block of have bytes of a
 * default heap's arena with no cache mark (hawk_realloc's tests), outside
 * slow mode: to a block of this thread's cache (pop_roomy) when it has one,
 * ptr then freed as free frees it; else the named path (resize_core).  It
 * skips resize_named's call and tests and owner_kind's lookup: 40,845 of
 * perl's 105,431 reallocs, 106.05 -> 102.2 M instructions of its allocator,
 * sqlite3 115.4 -> 99.4 M (docs/performance.md).  Out of line, so that
 * realloc's own code stays a leaf that saves no register: inline, its
 * calls cost every realloc a frame (bench/realloc +14%). */
static HAWK_HOT __attribute__((noinline)) void *grow_fast(void *ptr, size_t size, size_t have) {
  void *q = pop_roomy(size, NULL);
  if (q == NULL) return resize_named(ptr, size, "realloc");
  memcpy(q, ptr, have - BLOCK_HEADER);
  /* ptr was checked by the caller: its free is the end of free's fast
   * path, the full list's way out included. */
  if (unlikely(!tcache_free(ptr, have))) free_slow(ptr);
  return q;
}

/* The fast answers, outside slow mode, for a ptr that passes the
 * registry's test as free's fast path makes it (NULL and slow mode fail
 * it) and is a sound allocated block of a default heap's arena with no
 * cache mark: ptr itself when size fits with no more spare than
 * resize_core keeps (programs that grow buffers by steps call realloc
 * mostly for sizes that fit: sqlite3, 198,500 of its 343,423 calls), and a
 * growth through grow_fast.  Anything else takes the named path
 * (resize_core), which decides, checks and reports. */
HAWK_HOT void *hawk_realloc(void *ptr, size_t size) {
  if (likely(size - 1 < PTRDIFF_MAX) &&
      registry_payload_is(ptr,
                          (enum chunk_kind)__atomic_load_n(&fast_free_kind, __ATOMIC_RELAXED))) {
    const block *b = block_of_payload(ptr);
    uint64_t w = block_load(b);
    size_t have = w & BLOCK_SIZE_MASK, want = block_size_for(size);
    /* The sizes first: a growth past what the cache holds is the named
     * path's, which checks the header itself (bench/realloc's buffers). */
    int fits = want <= have && have - want < realloc_spare_kept(want);
    int grows = want > have && roomy_cached(size);
    if ((fits || grows) && block_word_alloc_ok(b, w, SIZE_MAX) && !tcache_marked(ptr))
      return fits ? ptr : grow_fast(ptr, size, have);
  }
  return resize_named(ptr, size, "realloc");
}

/* A product that overflows fails before p is looked at, as in glibc.
 * Without realloc's fast answers (hawk_realloc): resize_core gives the same
 * answers, and reallocarray is rare where realloc is hot. */
void *hawk_reallocarray(void *ptr, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return fail(ENOMEM);
  return resize_named(ptr, total, "reallocarray");
}

/* malloc_usable_size when the fast test below fails: NULL, slow mode,
 * anything but a sound block in use of a default heap's arena. */
static __attribute__((noinline)) size_t usable_size_slow(void *ptr) {
  return ptr ? usable_api(ptr, "malloc_usable_size") : 0;
}

/* The registry's test as free's fast path makes it (NULL is in no chunk;
 * in slow mode, debug mode's and Valgrind's included, fast_free_kind is a
 * kind no chunk has), then usable_in_arena's checks, with no call and no
 * Valgrind request on the way (programs that count their memory call this
 * on every malloc and free).  Anything else takes the slow path, which
 * checks the same and reports. */
HAWK_HOT size_t hawk_usable_size(void *ptr) {
  if (likely(registry_payload_is(
          ptr, (enum chunk_kind)__atomic_load_n(&fast_free_kind, __ATOMIC_RELAXED)))) {
    size_t n = usable_in_arena(ptr);
    if (likely(n != 0)) return n;
  }
  return usable_size_slow(ptr);
}

int hawk_posix_memalign(void **out, size_t alignment, size_t size) {
  if (!is_power_of_two(alignment) || alignment < sizeof(void *)) return EINVAL;
  /* Checked before the block is made: a store through NULL faulted here. */
  if (out == NULL) report_misuse("posix_memalign", out, "invalid pointer (NULL to store into)");
  void *p = alloc_api(size, alignment < HAWK_ALIGN ? HAWK_ALIGN : alignment, 0, "posix_memalign");
  trace_note(TRACE_ALIGNED, p, size, alignment);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

/* aligned_alloc: any size (C17, DR 460), a power-of-two alignment; any
 * other alignment is one this implementation does not support: NULL and
 * EINVAL, as glibc since 2.38 (docs/design.md). */
void *hawk_aligned_alloc(size_t alignment, size_t size) {
  if (!is_power_of_two(alignment)) return fail(EINVAL);
  void *p = alloc_api(size, alignment < HAWK_ALIGN ? HAWK_ALIGN : alignment, 0, "aligned_alloc");
  trace_note(TRACE_ALIGNED, p, size, alignment);
  return p ? p : fail(ENOMEM);
}

/* memalign, valloc and pvalloc follow glibc, which old programs rely on
 * (docs/design.md): an alignment that is not a power of two is rounded up
 * to the next one (0 and anything up to 16 is malloc's own), and only one
 * above SIZE_MAX / 2 + 1, which no power of two is, fails with EINVAL. */
static void *memalign_core(size_t alignment, size_t size, const char *call) {
  if (alignment > SIZE_MAX / 2 + 1) return fail(EINVAL);
  size_t a = HAWK_ALIGN;
  while (a < alignment) a <<= 1;
  void *p = alloc_api(size, a, 0, call);
  trace_note(TRACE_ALIGNED, p, size, a);
  return p ? p : fail(ENOMEM);
}

void *hawk_memalign(size_t alignment, size_t size) {
  return memalign_core(alignment, size, "memalign");
}

void *hawk_valloc(size_t size) { return memalign_core(os_page_size(), size, "valloc"); }

void *hawk_pvalloc(size_t size) {
  size_t page = os_page_size(), rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) return fail(ENOMEM);
  rounded &= ~(page - 1);
  return memalign_core(page, rounded ? rounded : page, "pvalloc");
}

int hawk_trim(void) {
  hawk_ensure_ready();
  tcache_flush_self();
  size_t released = 0;
  for (unsigned i = 0; i < hawk_heap_count; i++) {
    heap_drain(&hawk_heaps[i]);
    released += heap_trim(&hawk_heaps[i]);
  }
  released += arena_cache_flush();
  released += large_spare_flush();
  return released > 0;
}

/* Hidden names of the calls programs make most, for override.c: its
 * malloc, free and the rest jump straight here, not through the PLT and a
 * second jump (a call of a default-visibility function inside a shared
 * library goes through the PLT, so that another object could interpose it). */
HAWK_INTERNAL HAWK_HOT void *hawk_malloc_direct(size_t size) __attribute__((alias("hawk_malloc")));
HAWK_INTERNAL HAWK_HOT void hawk_free_direct(void *ptr) __attribute__((alias("hawk_free")));
HAWK_INTERNAL HAWK_HOT void *hawk_calloc_direct(size_t count, size_t size)
    __attribute__((alias("hawk_calloc")));
HAWK_INTERNAL HAWK_HOT void *hawk_realloc_direct(void *ptr, size_t size)
    __attribute__((alias("hawk_realloc")));
HAWK_INTERNAL HAWK_HOT size_t hawk_usable_size_direct(void *ptr)
    __attribute__((alias("hawk_usable_size")));

const char *hawk_policy_name(void) {
  hawk_ensure_init();
  return hawk_heaps[0].policy->name;
}
