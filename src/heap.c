/* heap.c - allocate, split, coalesce, grow and shrink; free pages going
 * back to the OS are heap_give.c's.  See heap.h. */
#include "heap_locked.h"

#include <string.h>

#include "counters.h"
#include "debug.h"
#include "decay.h"
#include "dlist.h"
#include "events.h"
#include "large.h"
#include "placement_segregated.h"
#include "registry.h"
#include "report.h"

void heap_init(struct heap *h, const struct placement *policy) {
  memset(h, 0, sizeof *h);
  lock_init(&h->lock);
  h->policy = policy;
  h->arena_kind = CHUNK_ARENA;
  h->free.lock = &h->lock; /* released before a corruption report (placement.h) */
}

/* Adds what heap h's count has moved since it last told to the
 * process-wide count, and follows the peak. */
static __attribute__((noinline)) void in_use_tell(struct heap *h, uint64_t now) {
  int64_t untold = (int64_t)(now - h->in_use_told);
  h->in_use_told = now;
  uint64_t sum = __atomic_add_fetch(&counters.heaps_in_use, (uint64_t)untold, __ATOMIC_RELAXED);
  if (untold > 0)
    counters_in_use_seen(sum + __atomic_load_n(&counters.large_in_use, __ATOMIC_RELAXED));
}

/* Changes the bytes in use; other threads read it (statistics) without the
 * lock, so it is stored atomically (a plain store on common machines). */
static inline void in_use_add(struct heap *h, int64_t delta) {
  uint64_t now = h->in_use + (uint64_t)delta;
  __atomic_store_n(&h->in_use, now, __ATOMIC_RELAXED);
  /* The process-wide count, from which the peak is taken, hears of a
   * heap's count only once it has moved by IN_USE_STEP either way (the
   * unsigned sum is out of range exactly then), so that no allocation
   * touches a cache line that other heaps write (config.h). */
  if (now - h->in_use_told + IN_USE_STEP >= 2 * IN_USE_STEP) in_use_tell(h, now);
}

/* Puts an arena on the heap's list. */
static void attach_locked(struct heap *h, struct arena *a) {
  DLIST_PUSH(h->arenas, a);
  h->arena_count++;
  if (h->arena_count > h->arena_peak) h->arena_peak = h->arena_count;
}

/* The stamp of listed free block b, to be passed on to what remains of it
 * after a split (0 when it has none: too small to be watched). */
static inline uint64_t stamp_of(const block *b) {
  return decay_on && block_size(b) >= DECAY_BLOCK_MIN ? free_stamp(b) : 0;
}

/* Adds a fresh arena to the heap and lists its one free block. */
static int grow_locked(struct heap *h) {
  struct arena *a;
  if (arena_create_kind(h, h->arena_kind, &a) != 0) return 0;
  attach_locked(h, a);
  EVENTS_TELL(arena, h, a, 1);
  if (debug_enabled) /* free memory carries the free pattern (debug.h) */
    debug_fill_free((char *)arena_first(a) + BLOCK_HEADER + 16, ARENA_SPAN - BLOCK_HEADER - 16 - 8);
  /* A new mapping is all zero pages the kernel has not given us yet; one
   * from the cache of empty arenas may hold resident pages. */
  int fresh = a->frontier == (char *)arena_first(a) + BLOCK_MIN;
  /* At a new peak of the footprint, before the heap fills fresh pages, the
   * spare large mappings go: they hold resident pages of freed large blocks
   * the program would else keep beside the new ones (docs/design.md). */
  if (fresh && large_spares_now() && counters_footprint_now() >= counters_footprint_peak())
    large_spare_flush();
  stamp_locked(h, arena_first(a), ARENA_SPAN, fresh ? DECAY_CLEAN : decay_epoch());
  placement_insert(h->policy, &h->free, arena_first(a));
  return 1;
}

/* Takes an empty arena out of the heap so that it can be released. */
void detach_locked(struct heap *h, struct arena *a) {
  EVENTS_TELL(arena, h, a, 0);
  DLIST_REMOVE(h->arenas, a);
  h->arena_count--;
}

/* Cuts the tail of allocated block b beyond size bytes off as a free block,
 * merging it with the next block if that is free; the bytes in use are the
 * caller's to count.  Returns the bytes cut off. */
static HAWK_HOT size_t cut_tail_locked(struct heap *h, block *b, size_t size) {
  size_t total = block_size(b);
  if (total - size < BLOCK_MIN) return 0;
  block *tail = (block *)((char *)b + size);
  block *next = block_next(b);
  size_t tail_size = total - size;
  if (!block_is_alloc(next)) {
    placement_remove(h->policy, &h->free, next);
    tail_size += block_size(next);
    HAWK_STAT_ADD(h->coalesces, 1);
  }
  block_set_alloc(b, size, block_flags(b));
  block_set_free(tail, tail_size, BLOCK_PREV_ALLOC);
  block_set_prev_alloc(block_next(tail), 0);
  stamp_locked(h, tail, tail_size, decay_epoch());
  placement_insert(h->policy, &h->free, tail);
  HAWK_STAT_ADD(h->splits, 1);
  return total - size;
}

/* cut_tail_locked, counted. */
static void release_tail_locked(struct heap *h, block *b, size_t size) {
  size_t cut = cut_tail_locked(h, b, size);
  if (cut) in_use_add(h, -(int64_t)cut);
}

/* Hands out the first size bytes of free block b (already unlisted); what
 * remains keeps stamp, the decay's stamp of the free block b was cut from
 * (its pages were free as long, or given back already). */
static inline __attribute__((always_inline)) void take_locked(struct heap *h, block *b, size_t size,
                                                              uint64_t stamp) {
  size_t total = block_size(b);
  HAWK_ASSERT(size >= BLOCK_MIN && size % HAWK_ALIGN == 0 && size <= total);
  uint64_t prev_flag = block_flags(b) & BLOCK_PREV_ALLOC;
  if (total - size >= BLOCK_MIN) {
    block *rest = (block *)((char *)b + size);
    block_set_free(rest, total - size, BLOCK_PREV_ALLOC);
    stamp_locked(h, rest, total - size, stamp);
    placement_insert(h->policy, &h->free, rest);
    HAWK_STAT_ADD(h->splits, 1);
  } else {
    size = total;
    /* Taken whole, b tells the block after it: whose header a write past
     * the end of b while it was free may have changed (its size is where
     * a free block's footer would be written). */
    block *next = block_next(b);
    if (unlikely(!block_header_ok(next)))
      fail_locked(h, NULL, "malloc", block_payload(b),
                  "heap corruption (next block's header overwritten)");
    block_set_prev_alloc(next, 1);
  }
  block_set_alloc(b, size, prev_flag);
  in_use_add(h, (int64_t)size);
}

/* Splits a leading pad off free block b (unlisted) so that the payload of
 * what remains is aligned to align; lists the pad and returns the rest. */
static block *carve_aligned_locked(struct heap *h, block *b, size_t align) {
  uintptr_t payload = (uintptr_t)block_payload(b);
  uintptr_t want = align_up(payload, align);
  if (want == payload) return b;
  while (want - payload < BLOCK_MIN) want += align;
  size_t pad = want - payload, total = block_size(b);
  block *rest = (block *)((char *)b + pad);
  block_set_free(b, pad, BLOCK_PREV_ALLOC);
  placement_insert(h->policy, &h->free, b);
  block_set_free(rest, total - pad, 0);
  HAWK_STAT_ADD(h->splits, 1);
  return rest;
}

/* How many leading bytes of a payload at p of n bytes may be non-zero. */
static size_t dirty_bytes(const struct arena *a, const char *p, size_t n) {
  /* The last word of an arena's top free block is its footer, written past
   * the frontier: an allocation reaching it is zeroed in full. */
  if (p + n > (char *)arena_epilogue(a) - sizeof(uint64_t)) return n;
  /* A frontier outside the arena is an overwritten one (an overflow past
   * the arena below it): nothing is trusted to be zero. */
  if (a->frontier <= p && a->frontier > (const char *)a) return 0;
  size_t d = (size_t)(a->frontier - p);
  return d < n ? d : n;
}

/* Moves arena a's frontier past the size bytes handed out at b if they
 * reach beyond it: the test inline, the move (rare once an arena has been
 * used) in arena.c. */
static inline __attribute__((always_inline)) void mark_used(struct arena *a, const block *b,
                                                            size_t size) {
  if (unlikely(arena_used_end(a, b, size) > a->frontier)) arena_mark_used(a, b, size);
}

/* Unlists free block b, which placement_find has just found in class cls
 * (SIZE_CLASSES: not known, the policy's own find found it), and hands out
 * size bytes of it whose payload is aligned to align.  When
 * dirty is not NULL it receives how many of the first n payload bytes may
 * be non-zero, read before the frontier moves past the block. */
static inline __attribute__((always_inline)) block *take_aligned_locked(struct heap *h, block *b,
                                                                        unsigned cls, size_t size,
                                                                        size_t align, size_t n,
                                                                        size_t *dirty) {
  if (cls < SIZE_CLASSES)
    placement_remove_found(h->policy, &h->free, b, cls);
  else
    placement_remove(h->policy, &h->free, b);
  uint64_t stamp = stamp_of(b); /* a leading pad keeps it where it is */
  block *from = b;
  if (align > HAWK_ALIGN) b = carve_aligned_locked(h, b, align);
  take_locked(h, b, size, stamp);
  EVENTS_TELL(taken, h, from, b);
  struct arena *a = arena_of(b);
  if (dirty) *dirty = debug_enabled ? n : dirty_bytes(a, block_payload(b), n);
  mark_used(a, b, block_size(b));
  return b;
}

/* The search after the inline one found nothing: a new arena, then the
 * policy's find (out of line: one inline copy of the search a path, so
 * that the code of every call stays small, tests/levels); *cls becomes
 * SIZE_CLASSES (take_aligned_locked).  NULL when the OS refuses memory. */
static __attribute__((noinline)) block *find_after_growth_locked(struct heap *h, size_t size,
                                                                 unsigned *cls) {
  *cls = SIZE_CLASSES;
  return grow_locked(h) ? h->policy->find(&h->free, size) : NULL;
}

/* The bytes of free block a request of size bytes aligned to align needs. */
static size_t wanted(size_t size, size_t align) {
  return align > HAWK_ALIGN ? size + align + BLOCK_MIN : size;
}

/* Finds, unlists and hands out a block for a request of n bytes (a block
 * of size bytes) whose payload is aligned to align; NULL when the OS
 * refuses another arena.  dirty as for take_aligned_locked. */
static block *alloc_locked(struct heap *h, size_t n, size_t size, size_t align, size_t *dirty) {
  size_t want = wanted(size, align);
  unsigned cls;
  block *b = placement_find(h->policy, &h->free, want, &cls);
  if (unlikely(b == NULL)) b = find_after_growth_locked(h, want, &cls);
  if (b == NULL) return NULL;
  return take_aligned_locked(h, b, cls, size, align, n, dirty);
}

/* alloc_locked from memory the heap has used already (below a frontier):
 * NULL when that would take new memory.  A rare path (a thread cache at a
 * peak of the footprint: tcache.h; a request for a mapping of its own:
 * api.c), out of line, so that the code of every call stays small
 * (tests/levels).  The policy's own choice, or with room HEAP_USED_SEARCHED,
 * when that choice is an arena's untouched tail, heap_find_used's (outside
 * the code every process runs: a thread cache at a peak meets such a tail
 * in every small program). */
static HAWK_COLD block *alloc_in_used_locked(struct heap *h, size_t n, size_t size, size_t align,
                                             size_t *dirty, int room) {
  size_t want = wanted(size, align);
  block *b = h->policy->find(&h->free, want);
  if (b && !arena_below_frontier(b, want))
    b = room == HEAP_USED_SEARCHED && h->policy == &placement_segregated ? heap_find_used(h, want)
                                                                         : NULL;
  if (b == NULL) return NULL;
  return take_aligned_locked(h, b, SIZE_CLASSES, size, align, n, dirty);
}

/* Why the block at p cannot be freed or resized, or NULL if it can.
 * cached: b comes out of a thread cache, its mark checked and erased by
 * the caller (free_cached_locked), so the test of a mark is left out.
 * known: the caller has just tested b's header under this lock as
 * block_word_alloc_ok does (a tag that matches b, allocated, not large, at
 * least BLOCK_MIN bytes: drain_locked's remote_entry_ok), so those tests
 * are not made a second time on the same word. */
static inline __attribute__((always_inline)) const char *
block_problem_known_locked(const struct arena *a, const block *b, int cached, int known) {
  if (!HAWK_CHECKS) return NULL;
  if (!known) {
    if (!block_header_ok(b) || block_is_large(b)) return "invalid pointer or corrupted header";
    if (!block_is_alloc(b)) return "double free";
  }
  size_t size = block_size(b);
  if ((!known && size < BLOCK_MIN) || (char *)b + size > (char *)arena_epilogue(a))
    return "heap corruption (block size out of range)";
  if (!cached && tcache_marked(block_payload(b)))
    return "double free (the block is in a thread cache)";
  const block *next = block_next(b);
  if (!block_header_ok(next) || !block_prev_alloc(next))
    return "heap corruption (next block's header overwritten)";
  /* A free neighbour is merged (by a free or a growing realloc), and the
   * header after it is then written: a write past the end of that free
   * block may have changed it. */
  if (!block_is_alloc(next) && !block_header_ok(block_next(next)))
    return "heap corruption (the header after the next free block overwritten)";
  /* The footer's size is compared with b's distance from the arena's first
   * block before it is subtracted: a footer overwritten with a large value
   * must lead neither below the arena nor around the address space. */
  if (!block_prev_alloc(b)) {
    uint64_t footer = block_prev_footer(b), back = footer & BLOCK_SIZE_MASK;
    const char *bad = "heap corruption (previous free block's boundary tag overwritten)";
    if (back > (uint64_t)((const char *)b - (const char *)arena_first(a))) return bad;
    const block *prev = (const block *)((const char *)b - back);
    if (!block_header_ok(prev) || block_is_alloc(prev) || *block_word(prev) != footer) return bad;
  }
  return NULL;
}

static inline __attribute__((always_inline)) const char *
block_problem_cached_locked(const struct arena *a, const block *b, int cached) {
  return block_problem_known_locked(a, b, cached, 0);
}

static inline __attribute__((always_inline)) const char *block_problem_locked(const struct arena *a,
                                                                              const block *b) {
  return block_problem_cached_locked(a, b, 0);
}

/* The heap that owns the arena block at p, after checking that p lies where
 * a payload can.  Reads only the arena header, which the registry vouched
 * for.  A header without its magic was overwritten (an overflow past the
 * last block of the chunk below runs into it): that is all that is known
 * of p, so the line says that, not what the damaged heap field suggests. */
static inline __attribute__((always_inline)) struct heap *owner_of(void *p, const char *call) {
  struct arena *a = arena_of(p);
  if (a->magic != ARENA_MAGIC)
    report_misuse(call, p, "heap corruption (the block's arena header overwritten)");
  struct heap *h = arena_heap(a);
  if (h == NULL) report_misuse(call, p, "double free (the block's arena is empty)");
  if (!arena_holds_payload(a, p)) report_misuse(call, p, "invalid pointer (not a block)");
  return h;
}

/* Ends a locked operation that found a problem with the block at p: the
 * lock released (and the arenas r holds, if r is not NULL), then one line
 * naming call and the problem, and abort. */
_Noreturn __attribute__((noinline, cold)) void fail_locked(struct heap *h, struct releases *r,
                                                           const char *call, const void *p,
                                                           const char *problem) {
  if (r)
    unlock_and_release(h, r);
  else
    lock_give(&h->lock);
  report_misuse(call, p, problem);
}

/* heap_set_epoch_hook's hook, XORed with the links' key (block.h); 0: none. */
static uintptr_t epoch_hook;

void heap_set_epoch_hook(void (*hook)(const struct heap *self)) {
  epoch_hook = (uintptr_t)hook ^ link_secret;
}

/* Runs the epoch hook, if one is set. */
static __attribute__((noinline)) void epoch_moved(const struct heap *h) {
  if (epoch_hook == 0) return;
  ((void (*)(const struct heap *))(epoch_hook ^ link_secret))(h);
}

/* Ends a locked heap operation: the decay's clock check when it is due,
 * the unlock, the release of emptied arenas, and after the epoch moved on,
 * the decay of what no operation on this heap reaches (the epoch hook). */
static inline void finish(struct heap *h, struct releases *r) {
  int moved = decay_on && unlikely(++h->decay_ops >= DECAY_CHECK_OPS) && decay_tick_locked(h);
  unlock_and_release(h, r);
  if (unlikely(moved)) epoch_moved(h);
}

/* Stamps the free block of size bytes at b that free_locked is making, just
 * before it writes b's header: b's header is still the freed block's
 * (allocated) or, when the freed block merged into the free block before
 * it, that block's; freed is the bytes just freed (one block, or a run of
 * neighbouring blocks freed as one); the stamps of merged free neighbours
 * are still in place.  Mostly memory
 * that was free already (at least 8 times the bytes just freed, counting
 * only bytes below the arena's frontier: the pages past it were never
 * touched) keeps the older neighbour's stamp: a small block cut from the
 * front of a big free one and given back, again and again, would else keep
 * the big one's pages from ever going back to the OS.  Mostly fresh memory,
 * or memory next to pages given back already, is free since now. */
static HAWK_HOT __attribute__((noinline)) void
stamp_merged_locked(struct heap *h, const struct arena *a, block *b, size_t size, size_t freed) {
  int single = freed & 1; /* one block, whose pages may go back at once */
  freed &= ~(size_t)1;
  uint64_t old = DECAY_CLEAN, s;
  const block *freed_block = b;
  if (!block_is_alloc(b)) { /* merged backward: the stamp of the block before */
    if (block_size(b) >= DECAY_BLOCK_MIN) old = free_stamp(b);
    freed_block = (const block *)((const char *)b + block_size(b));
  }
  const char *end = (const char *)b + size, *after = (const char *)freed_block + freed;
  if ((size_t)(end - after) >= DECAY_BLOCK_MIN && (s = free_stamp((const block *)after)) < old)
    old = s; /* merged forward */
  uint64_t stamp = decay_epoch();
  if (single && freed >= DECAY_OLD_MIN && heap_old_give_back(h, b, size, freed_block, freed)) {
    /* The freed bytes' pages went back.  Alone, the block is clean; merged,
     * it holds its neighbours' pages and one astride each boundary: their
     * older stamp, or now. */
    if (old != DECAY_CLEAN || size == freed) stamp = old;
  } else if (old != DECAY_CLEAN) {
    const char *used = end < a->frontier ? end : a->frontier;
    size_t touched = used > (const char *)b ? (size_t)(used - (const char *)b) : 0;
    if (freed * 8 < touched) stamp = old;
  }
  stamp_locked(h, b, size, stamp);
}

/* Frees the size bytes at b: allocated block b alone, or a run of
 * neighbouring allocated blocks starting at b whose later headers were
 * already marked free (free_cached_locked), coalescing with both
 * neighbours of the whole; returns the arena if it became empty and
 * may_detach allowed taking it out of the heap for release.  The bytes in
 * use are the caller's to count (a batch counts them once).  Inlined into
 * the batch's loop: a call's saved registers and arguments were about 30
 * of the 150 instructions a span cost there.  policy, debug (debug mode),
 * decay (the decay watches free blocks) and events (a recorder may listen)
 * are h->policy, debug_enabled, decay_on and 1, read by the caller: a
 * batch reads them once, and its usual case (the segregated policy, no
 * debug mode, no recorder) passes constants, so that every test of them
 * is compiled away.  The sizes of the merged neighbours come from the
 * headers (or the footer) the checks have just read, and go to the lists
 * with them (placement_remove_sized, placement_insert_sized).  one: b is a
 * single block the program freed (not a cache's run), whose pages go back
 * at once if it was in use long enough (heap_old_give_back). */
static inline __attribute__((always_inline)) struct arena *
free_span_locked(struct heap *h, struct arena *a, block *b, size_t size, int may_detach,
                 const struct placement *policy, int debug, int decay, int events, int one) {
  size_t own = size;
  block *freed = b;
  if (debug) debug_fill_free(block_payload(b), size - BLOCK_HEADER);
  block *next = (block *)((char *)b + size);
  if (!block_is_alloc(next)) { /* forward */
    size_t next_size = block_size(next);
    placement_remove_sized(policy, &h->free, next, next_size);
    size += next_size;
    if (debug) debug_fill_free(next, BLOCK_HEADER + 16); /* its header and links */
    HAWK_STAT_ADD(h->coalesces, 1);
  }
  if (!block_prev_alloc(b)) { /* backward, through the previous block's footer */
    /* Mark b itself free although it vanishes into its predecessor, so
     * that a second free of it is recognised as a double free. */
    block_store(b, block_make_word(b, block_size(b), block_flags(b) & ~BLOCK_ALLOC));
    /* The footer, which the checks found equal to the header before it. */
    size_t prev_size = block_prev_footer(b) & BLOCK_SIZE_MASK;
    block *prev = (block *)((char *)b - prev_size);
    placement_remove_sized(policy, &h->free, prev, prev_size);
    if (debug) debug_fill_free((char *)b - 8, 8 + BLOCK_HEADER); /* footer, header */
    size += prev_size;
    b = prev;
    HAWK_STAT_ADD(h->coalesces, 1);
  }
  /* A single block's size with its low bit set: stamp_merged_locked may
   * give its pages back (sizes are multiples of 16). */
  if (decay && size >= DECAY_BLOCK_MIN) stamp_merged_locked(h, a, b, size, own | (size_t)one);
  block_set_free(b, size, BLOCK_PREV_ALLOC);
  block *after = (block *)((char *)b + size); /* not read back from the header just written */
  /* No two free blocks touch: what follows the merged block is in use (its
   * header passed the checks), so its PREV_ALLOC is cleared as an
   * allocated block's, with no test of its state and no footer. */
  HAWK_ASSERT(block_is_alloc(after));
  uint64_t after_word = *block_word(after);
  block_set_alloc(after, after_word & BLOCK_SIZE_MASK,
                  after_word & BLOCK_FLAGS & ~BLOCK_PREV_ALLOC);
  if (events) EVENTS_TELL(freed, h, freed, own, b, size);
  if (size == ARENA_SPAN && h->arena_count > 1 && may_detach) {
    detach_locked(h, a);
    return a;
  }
  placement_insert_sized(policy, &h->free, b, size);
  return NULL;
}

/* free_span_locked for any policy, debug mode and recorder: out of line,
 * so that the paths that free (a batch, a single free) inline only the
 * usual case's copy, and the library's code every process runs stays in
 * one 64 KiB window (the Makefile's LIB_FIRST). */
static __attribute__((noinline)) struct arena *free_span_any_locked(struct heap *h, struct arena *a,
                                                                    block *b, size_t size,
                                                                    int may_detach, int one) {
  return free_span_locked(h, a, b, size, may_detach, h->policy, debug_enabled, decay_on, 1, one);
}

/* Whether heap h frees in the usual case: the segregated policy, no debug
 * mode, no recorder listening (free_span_locked's constants). */
static inline int frees_as_usual(const struct heap *h) {
  return h->policy == &placement_segregated && !debug_enabled && !EVENTS_ON();
}

/* Frees b, coalescing with both neighbours (free_span_locked).  Inline
 * into a single free (free_one) and into free_sound_locked, which the other
 * paths call. */
static inline __attribute__((always_inline)) struct arena *
free_locked(struct heap *h, struct arena *a, block *b, int may_detach) {
  size_t size = block_size(b);
  in_use_add(h, -(int64_t)size);
  /* The usual case with constants, as a cache batch does (free_cached_locked). */
  if (likely(frees_as_usual(h)))
    return free_span_locked(h, a, b, size, may_detach, &placement_segregated, 0, decay_on, 0, 1);
  return free_span_any_locked(h, a, b, size, may_detach, 1);
}

/* What is wrong with freeing the block at p into heap h (a block of
 * another heap, or block_problem_cached_locked's problems), or NULL;
 * cached: p comes out of a thread cache, its mark already checked. */
static inline __attribute__((always_inline)) const char *free_problem_locked(const struct heap *h,
                                                                             void *p, int cached) {
  struct arena *a = arena_of(p);
  return arena_heap(a) == h ? block_problem_cached_locked(a, block_of_payload(p), cached)
                            : "invalid pointer (block of another heap)";
}

/* Frees the block at p, already checked (free_problem_locked); an emptied
 * arena goes into r. */
static inline __attribute__((always_inline)) void free_sound_in_locked(struct heap *h, void *p,
                                                                       struct releases *r) {
  int room = releases_room(r);
  struct arena *e = free_locked(h, arena_of(p), block_of_payload(p), room);
  releases_keep(r, e);
}

/* free_sound_in_locked for the remote list's blocks and a resize's cached
 * neighbour, through free_span_any_locked: the usual case's copy of
 * free_span_locked is inline in a single free (free_one) and in a cache
 * batch's loop, and a third would push the code every process runs out of
 * its 64 KiB window (the Makefile's LIB_FIRST, tests/levels). */
static __attribute__((noinline)) void free_sound_locked(struct heap *h, void *p,
                                                        struct releases *r) {
  int room = releases_room(r);
  block *b = block_of_payload(p);
  size_t size = block_size(b);
  in_use_add(h, -(int64_t)size);
  struct arena *e = free_span_any_locked(h, arena_of(p), b, size, room, 0);
  releases_keep(r, e);
}

/* Checks and frees the block at p; an emptied arena goes into r.  Returns
 * the problem found instead, with nothing changed. */
static inline __attribute__((always_inline)) const char *
free_checked_locked(struct heap *h, void *p, struct releases *r) {
  const char *problem = free_problem_locked(h, p, 0);
  if (problem) return problem;
  free_sound_in_locked(h, p, r);
  return NULL;
}

/* The one free-and-report step: checks and frees the block at p
 * (free_checked_locked), or ends in fail_locked naming call. */
static inline __attribute__((always_inline)) void
free_or_report_locked(struct heap *h, void *p, struct releases *r, const char *call) {
  const char *problem = free_checked_locked(h, p, r);
  if (unlikely(problem != NULL)) fail_locked(h, r, call, p, problem);
}

/* Whether p, an entry of a remote list, is a sound block that came out of
 * a thread cache: a good header tag, allocated, not large, of a cacheable
 * size, its payload still carrying a cache mark. */
static int remote_entry_ok(void *const *p) {
  const block *b = block_of_payload(p);
  uint64_t w = block_load(b);
  return block_word_alloc_ok(b, w, TCACHE_MAX_BLOCK + BLOCK_MIN) && tcache_marked(p);
}

/* Frees the blocks other threads left on the heap's remote list, which is
 * not empty (drain_locked). */
__attribute__((noinline)) void drain_remote_locked(struct heap *h, struct releases *r) {
  void **p = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
  while (p) {
    /* The entry must be a sound block still marked as cached before its
     * link is read, and the link NULL or a payload in an arena (its own
     * needs no registry lookup) before it is followed. */
    if (HAWK_CHECKS && !remote_entry_ok(p))
      fail_locked(h, r, "free", p,
                  "heap corruption (a freed block waiting to be given back was overwritten: "
                  "a write after free?)");
    void **next = (void **)link_decode(p[0]);
    if (HAWK_CHECKS && !arena_link_ok(p, next))
      fail_locked(h, r, "free", p, "heap corruption (a freed block's link was overwritten)");
    p[1] = NULL; /* no longer marked as cached */
    /* Checked as free checks a block, less what remote_entry_ok has just
     * tested of the same header word (its tag, state and least size) and
     * the cache mark it found (the block is not in a cache list: it
     * waited here, and its mark is erased). */
    struct arena *a = arena_of(p);
    const char *problem = arena_heap(a) == h
                              ? block_problem_known_locked(a, block_of_payload(p), 1, HAWK_CHECKS)
                              : "invalid pointer (block of another heap)";
    if (unlikely(problem != NULL)) fail_locked(h, r, "free", p, problem);
    free_sound_locked(h, p, r);
    p = next;
  }
}

void heap_drain(struct heap *h) {
  struct releases r;
  r.count = 0;
  lock_take(&h->lock);
  drain_locked(h, &r);
  unlock_and_release(h, &r);
}

/* heap_free, counted as a free of the program (by_user) or not. */
static HAWK_HOT void free_one(void *p, const char *call, int by_user) {
  struct heap *h = owner_of(p, call);
  struct releases r;
  r.count = 0;
  lock_take(&h->lock);
  drain_locked(h, &r);
  free_or_report_locked(h, p, &r, call);
  if (by_user) HAWK_STAT_ADD(h->frees, 1);
  finish(h, &r);
}

void heap_free(void *p, const char *call) { free_one(p, call, 1); }

void heap_free_internal(void *p, const char *call) { free_one(p, call, 0); }

/* Checks cached block p of heap h as free checks it
 * (block_problem_cached_locked) and erases its cache mark; a problem ends
 * in fail_locked.  Returns the block.  Its mark was checked as it left its
 * list (tcache_next).  A block the batch holds twice (a cache list bent
 * into a cycle by a write after free) was freed at its first copy before
 * its second is checked, so the second has a free header: a double free.
 * (While the checks had a pass of their own, before any block was freed,
 * a test of the mark, erased at the first copy, caught it.) */
static inline __attribute__((always_inline)) block *cached_checked_locked(struct heap *h, void *p,
                                                                          struct releases *r) {
  ((void **)p)[1] = NULL; /* no longer marked as cached */
  /* Of heap h: the batch's loop tested the first block of each run, and
   * the others lie next to it in its arena. */
  HAWK_ASSERT(arena_heap(arena_of(p)) == h);
  const char *problem = block_problem_cached_locked(arena_of(p), block_of_payload(p), 1);
  if (problem) fail_locked(h, r, "free", p, problem);
  return block_of_payload(p);
}

/* Frees n blocks of heap h that come out of a thread cache (still marked
 * as cached), under its lock, in one pass: each run of blocks that are
 * neighbours in memory and next to each other in the batch (a thread
 * cache's list gives back blocks freed one after the other, in one address
 * order or the other) is freed as one span, coalesced once with the
 * neighbours of the whole run rather than block by block (each merge a
 * list removal and insertion).  Every block is checked as free checks it
 * (cached_checked_locked) when it joins its run, so before its run is
 * freed; a block that fails ends in fail_locked, which aborts (the runs
 * before it were freed: they were sound).  The later blocks of a run get a
 * free header of their own size first, so that a second free of one is a
 * double free. */
static inline __attribute__((always_inline)) size_t
free_cached_in_locked(struct heap *h, void *const *ps, size_t n, struct releases *r, int usual,
                      int decay, int events) {
  size_t freed = 0, i = 0; /* bytes, counted out of use once */
  while (i < n) {
    /* A run begins with a block of h; the blocks that join it are its
     * neighbours in memory, in its arena. */
    if (arena_heap(arena_of(ps[i])) != h) break;
    block *lo = cached_checked_locked(h, ps[i], r), *hi = lo; /* the run's first and last */
    size_t span = block_size(lo);
    /* Block by block while the explorer listens: it is told of each free. */
    for (i++; i < n && !events; i++) {
      block *b = block_of_payload(ps[i]), *inner; /* inner: no longer an end of the run */
      if ((char *)b == (char *)hi + block_size(hi)) inner = hi = b;
      /* b's header is read only once b is known to lie in lo's arena, so
       * h's (another heap's headers change under its own lock). */
      else if (((uintptr_t)b ^ (uintptr_t)lo) < ARENA_SIZE &&
               (char *)b + block_size(b) == (char *)lo)
        inner = lo, lo = b;
      else
        break;
      cached_checked_locked(h, ps[i], r);
      span += block_size(b);
      /* Every block of the run but its first in memory gets a free header
       * of its own size as it joins, once checked (and once b is: its
       * check reads inner's header), so that a second free of one is a
       * double free.  (A loop over the run after it ended cost a second
       * walk and a mispredicted exit a run.) */
      block_store(inner, block_make_word(inner, block_size(inner), BLOCK_PREV_ALLOC));
      HAWK_STAT_ADD(h->coalesces, 1);
    }
    int room = releases_room(r);
    struct arena *e = likely(usual) ? free_span_locked(h, arena_of(lo), lo, span, room,
                                                       &placement_segregated, 0, decay, 0, 0)
                                    : free_span_any_locked(h, arena_of(lo), lo, span, room, 0);
    releases_keep(r, e);
    freed += span;
  }
  in_use_add(h, -(int64_t)freed);
  return i;
}

/* free_cached_in_locked with what it reads once per batch: in the usual
 * case (the segregated policy, no debug mode, no recorder listening) as
 * constants, so that its loop tests none of them.  Frees the blocks of ps
 * up to the first that is not h's (untouched: still marked as cached);
 * returns how many. */
static HAWK_HOT size_t free_cached_locked(struct heap *h, void *const *ps, size_t n,
                                          struct releases *r) {
  return free_cached_in_locked(h, ps, n, r, frees_as_usual(h), decay_on, EVENTS_ON());
}

/* Brings the blocks of heap h among the n at ps to the front (the order of
 * h's blocks kept); returns how many. */
static size_t group_front(void **ps, size_t n, const struct heap *h) {
  size_t k = 0; /* the blocks before k are h's */
  while (k < n && arena_heap(arena_of(ps[k])) == h) k++;
  for (size_t i = k; i < n; i++) {
    if (arena_heap(arena_of(ps[i])) != h) continue;
    void *t = ps[k];
    ps[k++] = ps[i];
    ps[i] = t;
  }
  return k;
}

/* Puts n cached blocks of heap h onto its remote list in one atomic step,
 * for its next user to free. */
static void give_back_later(struct heap *h, void **ps, size_t n) {
  /* Still marked as cached while they wait: a second free is caught. */
  for (size_t i = 0; i + 1 < n; i++) tcache_relink(ps[i], ps[i + 1]);
  void **last = ps[n - 1];
  void *head = __atomic_load_n(&h->remote, __ATOMIC_RELAXED);
  do {
    tcache_relink(last, head);
  } while (!__atomic_compare_exchange_n(&h->remote, &head, ps[0], 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

/* The blocks of the first block's heap go back to it together: at once if
 * its lock is free (up to the first block of another heap as they come,
 * the heap tested once a run; then its others, brought forward), else onto
 * its remote list (give_back_later); then the next heap's. */
HAWK_HOT void heap_release_cached(void **ps, size_t count) {
  while (count > 0) {
    struct heap *h = owner_of(ps[0], "free");
    size_t k;
    if (lock_try(&h->lock)) {
      struct releases r;
      r.count = 0;
      drain_locked(h, &r);
      k = free_cached_locked(h, ps, count, &r);
      if (k < count) k += free_cached_locked(h, ps + k, group_front(ps + k, count - k, h), &r);
      finish(h, &r);
    } else {
      k = group_front(ps, count, h);
      give_back_later(h, ps, k);
    }
    ps += k;
    count -= k;
  }
}

/* Debug mode: the block b just taken must still hold the free pattern
 * past its header and links, else a write after free is reported. */
static HAWK_COLD void debug_check_taken_locked(struct heap *h, struct releases *r, block *b) {
  char *p = block_payload(b);
  size_t span = block_size(b) - BLOCK_HEADER - 16 - 8;
  size_t at = debug_find_write(p + 16, span);
  if (at < span) {
    struct line l = {.len = 0};
    line_str(&l, "write after free (freed memory changed at offset ");
    line_dec(&l, 16 + at);
    line_str(&l, " of this block before it was handed out again)");
    l.buf[l.len] = 0;
    fail_locked(h, r, "malloc", p, l.buf);
  }
}

HAWK_HOT void *heap_alloc(struct heap *h, size_t n, size_t align, size_t *dirty, int room) {
  struct releases r;
  r.count = 0;
  lock_take(&h->lock);
  drain_locked(h, &r);
  block *b = room == HEAP_GROW ? alloc_locked(h, n, block_size_for(n), align, dirty)
                               : alloc_in_used_locked(h, n, block_size_for(n), align, dirty, room);
  char *p = NULL;
  if (b) {
    HAWK_STAT_ADD(h->mallocs, 1);
    p = block_payload(b);
    /* The request may be an old block's when it is freed (heap_old_give_back). */
    if (unlikely(n >= DECAY_OLD_MIN - BLOCK_MIN - BLOCK_HEADER)) heap_old_born(h, p);
  }
  if (b && debug_enabled) debug_check_taken_locked(h, &r, b);
  finish(h, &r);
  return p;
}

/* Hands out up to count blocks of size bytes cut one after the other from
 * the front of the free block the policy finds for one: the first goes where
 * a single allocation would, the others follow it, so a refill costs one
 * search and one split rather than one of each per block.  batch is the
 * batch's first slot, and *big says whether it holds a block bigger than
 * size (heap_alloc_batch).  Returns how many (0 when the OS refuses another
 * arena). */
static size_t alloc_run_locked(struct heap *h, size_t size, void **out, size_t count, void **batch,
                               int *big) {
  /* The policy's own find: one search a batch, and the code of every call
   * stays small (tests/levels). */
  block *b = h->policy->find(&h->free, size);
  if (b == NULL && grow_locked(h)) b = h->policy->find(&h->free, size);
  if (b == NULL) return 0;
  /* How many: no division for one, nor for a block that holds all count
   * (an arena's tail, mostly): a 64-bit division takes tens of cycles. */
  size_t total = block_size(b), n = total < 2 * size        ? 1
                                    : total >= count * size ? count
                                                            : total / size;
  /* A run's last block keeps a remainder too small to be a block (16
   * bytes); only the batch's first block, which the refill hands to its
   * caller, may be that big: every block a cache list holds is exactly the
   * list's size (tcache.h), so that free's test for a cached block is one
   * comparison.  Such a block takes the batch's first place (what the heap
   * hands out is the same).  When the first is big already, a run of more
   * stops one block short (the rest, size + 16 bytes, stays free) and a run
   * of one is not taken. */
  size_t rest = total - n * size;
  int last_big = rest != 0 && rest < BLOCK_MIN;
  if (last_big && *big) {
    if (n == 1) return 0;
    n--;
    last_big = 0;
  }
  placement_remove(h->policy, &h->free, b);
  uint64_t stamp = stamp_of(b);
  block *first = b;
  uint64_t flag = block_flags(b) & BLOCK_PREV_ALLOC;
  for (size_t i = 0; i + 1 < n; i++) {
    block_set_alloc(b, size, flag);
    out[i] = block_payload(b);
    b = (block *)((char *)b + size);
    flag = BLOCK_PREV_ALLOC;
  }
  /* The last one splits off what is left, or keeps a remainder too small
   * to be a block; the only one of a run of one is the free block as it
   * was listed, whose header and footer say so already. */
  if (n > 1) block_set_free(b, total - (n - 1) * size, flag);
  take_locked(h, b, size, stamp);
  out[n - 1] = block_payload(b);
  if (last_big) {
    out[n - 1] = batch[0];
    batch[0] = block_payload(b);
    *big = 1;
  }
  in_use_add(h, (int64_t)((n - 1) * size));
  HAWK_STAT_ADD(h->splits, n - 1);
  EVENTS_TELL(run, h, first, b, size, n);
  mark_used(arena_of(b), b, block_size(b));
  return n;
}

/* Hands out whole, up to count, the blocks at the head of the segregated
 * policy's exact class of size-byte blocks (below SEG_EXACT_LIMIT): what
 * alloc_run_locked would take one at a time (its search finds that head,
 * a block of exactly size bytes, so its run is that one block), with the
 * same checks (the head's header as the search checks it, the safe unlink,
 * the next header) and without the search, the split's free header written
 * and rewritten, or a count of the bytes in use per block.  Returns how
 * many; 0 for another policy, another size, or while the explorer listens
 * (it is told of each run). */
static size_t take_exact_locked(struct heap *h, size_t size, void **out, size_t count) {
  if (h->policy != &placement_segregated || size >= SEG_EXACT_LIMIT || EVENTS_ON()) return 0;
  block **head = &h->free.heads[seg_class(size)];
  size_t n = 0;
  while (n < count && *head != NULL) {
    block *b = list_first(&h->free, *head);
    seg_remove(&h->free, b);
    block *after = (block *)((char *)b + size);
    if (unlikely(!block_header_ok(after)))
      fail_locked(h, NULL, "malloc", block_payload(b),
                  "heap corruption (next block's header overwritten)");
    block_set_prev_alloc(after, 1);
    block_set_alloc(b, size, block_flags(b) & BLOCK_PREV_ALLOC);
    struct arena *a = arena_of(b);
    if (unlikely(arena_used_end(a, b, size) > a->frontier)) arena_mark_used(a, b, size);
    out[n++] = block_payload(b);
  }
  if (n) in_use_add(h, (int64_t)(n * size));
  return n;
}

HAWK_HOT size_t heap_alloc_batch(struct heap *h, size_t size, void **out, size_t count, int grow) {
  size_t got = 0;
  struct releases r;
  r.count = 0;
  lock_take(&h->lock);
  drain_locked(h, &r);
  block *b =
      grow ? NULL : alloc_in_used_locked(h, size - BLOCK_HEADER, size, HAWK_ALIGN, NULL, HEAP_USED);
  int big = 0; /* out[0] is bigger than size (heap.h) */
  if (b) {
    out[got++] = block_payload(b);
    big = block_size(b) != size;
  }
  if (grow || b) {
    size_t n;
    got += take_exact_locked(h, size, out + got, count - got);
    while (got < count && (n = alloc_run_locked(h, size, out + got, count - got, out, &big)) != 0)
      got += n;
  }
  finish(h, &r);
  return got;
}

/* Makes allocated block b, followed by merged - block_size(b) bytes it
 * takes whole (taken off the lists already), size bytes, or up to roomy
 * bytes if there is room, and cuts off the rest; cur is the bytes of it
 * counted in use so far. */
static HAWK_HOT void grow_over_locked(struct heap *h, block *b, size_t merged, size_t size,
                                      size_t roomy, size_t cur) {
  if (roomy > merged) roomy = merged;
  /* The headroom takes no new memory: it stays below the frontier. */
  const char *frontier = arena_of(b)->frontier;
  if (roomy > size && arena_used_end(arena_of(b), b, roomy) > frontier)
    roomy =
        frontier > (char *)b + size + BLOCK_MIN ? (size_t)(frontier - (char *)b) - BLOCK_MIN : size;
  size = roomy & ~(HAWK_ALIGN - 1);
  block_set_alloc(b, merged, block_flags(b));
  block_set_prev_alloc(block_next(b), 1);
  cut_tail_locked(h, b, size);
  /* Counted once, as it ends: the free neighbour taken whole for a moment
   * (up to an arena's tail) was never in use, and must not reach the peak. */
  in_use_add(h, (int64_t)(block_size(b) - cur));
  arena_mark_used(arena_of(b), b, block_size(b));
  if (unlikely(block_size(b) >= DECAY_OLD_MIN))
    heap_old_born(h, block_payload(b)); /* its life counts from its last growth */
}

/* Grows allocated block b in place to size bytes, or up to roomy bytes if
 * there is room, by taking the free block after it; returns 0 if that is
 * not possible. */
static int grow_in_place_locked(struct heap *h, block *b, size_t size, size_t roomy) {
  size_t cur = block_size(b);
  block *next = block_next(b);
  if (block_is_alloc(next) || cur + block_size(next) < size) return 0;
  size_t merged = cur + block_size(next);
  placement_remove(h->policy, &h->free, next);
  grow_over_locked(h, b, merged, size, roomy, cur);
  return 1;
}

/* heap_resize_into's growth into next, the block after p that this
 * thread's cache gave back (allocated in the heap's eyes, its mark
 * erased, checked by the caller as a free checks a block), when no
 * recorder listens (p checked by the caller as a resize checks it): p grown over
 * next and over the free block after next if there is one, in one step.
 * The same blocks end where freeing
 * next (which merges that free block into it and lists the whole) and
 * growing into the whole (which unlists it at once) put them, without the
 * listing and unlisting.  Returns 0, with nothing changed, when that is not
 * the resize asked for (a shrink, a size for a mapping of its own, not
 * enough room): the caller then frees next and resizes. */
static int grow_into_cached_locked(struct heap *h, void *p, void *next, size_t n, size_t limit) {
  if (EVENTS_ON()) return 0; /* the explorer is told of next's free */
  block *b = block_of_payload(p), *nb = block_of_payload(next);
  size_t size = block_size_for(n), cur = block_size(b), taken = cur + block_size(nb);
  if (size <= cur || n >= limit || nb != block_next(b)) return 0;
  block *after = block_next(nb);
  size_t merged = block_is_alloc(after) ? taken : taken + block_size(after);
  if (merged < size) return 0;
  if (merged != taken) { /* what next's free would have merged forward */
    placement_remove(h->policy, &h->free, after);
    HAWK_STAT_ADD(h->coalesces, 1);
  }
  /* next's header stays inside p's block, as free marks a block that
   * vanishes into its neighbour: a second free of next is a double free,
   * not a block handed out again inside p. */
  block_store(nb, block_make_word(nb, block_size(nb), block_flags(nb) & ~BLOCK_ALLOC));
  grow_over_locked(h, b, merged, size, block_size_for(n + n / REALLOC_HEADROOM), taken);
  return 1;
}

HAWK_HOT int heap_resize_into(void *p, void *next, size_t n, size_t limit, const char *call,
                              size_t *usable) {
  struct heap *h = owner_of(p, call);
  block *b = block_of_payload(p);
  size_t size = block_size_for(n);
  struct releases r; /* p stays in its arena: none empties */
  r.count = 0;
  lock_take(&h->lock);
  if (next) { /* checked once, as free checks a block, whichever way it goes */
    const char *problem = free_problem_locked(h, next, 0);
    if (problem) fail_locked(h, &r, call, next, problem);
  }
  const char *problem = block_problem_locked(arena_of(p), b); /* once, too */
  if (problem) fail_locked(h, &r, call, p, problem);
  if (next) {
    if (grow_into_cached_locked(h, p, next, n, limit)) {
      unlock_and_release(h, &r);
      return 1;
    }
    free_sound_locked(h, next, &r);
  }
  int done = 1;
  size_t old_size = block_size(b);
  if (size <= old_size)
    release_tail_locked(h, b, size);
  else if (n < limit) /* with the headroom of a move (config.h) */
    done = grow_in_place_locked(h, b, size, block_size_for(n + n / REALLOC_HEADROOM));
  else if (n < LARGE_THRESHOLD_MAX && arena_below_frontier(b, size))
    done = grow_in_place_locked(h, b, size, size); /* memory used already (heap.h) */
  else
    done = 0; /* becomes a large block: the caller moves it */
  if (!done && usable) *usable = block_usable(b);
  if (done) EVENTS_TELL(resized, h, b, old_size);
  unlock_and_release(h, &r);
  return done;
}

int heap_resize(void *p, size_t n, size_t limit, const char *call, size_t *usable) {
  return heap_resize_into(p, NULL, n, limit, call, usable);
}

size_t heap_usable(void *p, const char *call) {
  struct heap *h = owner_of(p, call);
  block *b = block_of_payload(p);
  lock_take(&h->lock);
  const char *problem = block_problem_locked(arena_of(p), b);
  size_t usable = problem ? 0 : block_usable(b);
  lock_give(&h->lock);
  if (problem) report_misuse(call, p, problem);
  return usable;
}
