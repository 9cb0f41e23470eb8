/* tcache.c - setting up, refilling, flushing and checking thread caches.
 * The fast paths are the inlines of tcache.h. */
#include "tcache.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "debug.h"
#include "decay.h"
#include "dlist.h"
#include "lock.h"
#include "process.h"
#include "registry.h"
#include "remote.h"
#include "report.h"

_Static_assert(TCACHE_LIST_MIN <= TCACHE_LIST_MAX && TCACHE_LIST_MAX <= TCACHE_GROWN_MAX &&
                   TCACHE_GROWN_MAX <= UINT16_MAX,
               "a list's limit is computed in uint16_t (list_cap), and grows from the first");
_Static_assert(TCACHE_GROWN_BUDGET <= TCACHE_GROWN_MOST && TCACHE_GROWN_SHARE >= 1,
               "the growth budget's floor is below its ceiling (growth_budget)");
_Static_assert(TCACHE_GROWN_MAX <= REMOTE_LIST_MAX,
               "a grown list handed back must pass remote.c's check");

int tcache_disabled;

/* What a thread uses before its cache exists, and after its exit cleanup:
 * no list may hold anything, so every call takes the slow path. */
static struct tcache tcache_unset = {
    .heap = &hawk_heaps[0], .home = &hawk_heaps[0], .flush_footprint = UINT64_MAX};
static struct tcache tcache_gone = {
    .heap = &hawk_heaps[0], .home = &hawk_heaps[0], .flush_footprint = UINT64_MAX};

/* The first thread to want a cache (nearly always the main thread) gets
 * this one, in the library's own data: a program with one thread then keeps
 * no bookkeeping block of the allocator in its heap, where it would pin an
 * arena and take space from the program.  Later threads' caches are heap
 * blocks.  The cache is free again when its thread exits. */
static struct tcache first_cache;
static int first_cache_taken;

__thread struct tcache *tcache_self __attribute__((tls_model("initial-exec"))) = &tcache_unset;

static pthread_key_t exit_key;
static int exit_key_ready;

static struct {
  pthread_mutex_t lock;
  struct tcache *head;
  uint64_t retired_allocs, retired_frees; /* of caches whose thread exited */
} caches = {HAWK_MUTEX_INIT, NULL, 0, 0};

/* Takes caches.lock (lock.h: a take by the thread that holds it, a signal
 * handler's malloc, is one line and abort). */
static HAWK_NOINLINE void list_lock_take(void) { mutex_take(&caches.lock); }

static void thread_exit(void *arg);

void tcache_init(void) { exit_key_ready = pthread_key_create(&exit_key, thread_exit) == 0; }

/* The most blocks a list of size-byte blocks may hold. */
static uint16_t list_limit(size_t size) {
  if (size < BLOCK_MIN) return 0;
  size_t n = TCACHE_LIST_BYTES / size;
  return (uint16_t)(n < TCACHE_LIST_MIN   ? TCACHE_LIST_MIN
                    : n > TCACHE_LIST_MAX ? TCACHE_LIST_MAX
                                          : n);
}

/* The most a list of size-byte blocks may grow to (TCACHE_GROWN_BYTES). */
static __attribute__((noinline)) uint16_t list_cap(size_t size) {
  size_t n = TCACHE_GROWN_BYTES / size, base = list_limit(size);
  return (uint16_t)(n < base ? base : n > TCACHE_GROWN_MAX ? TCACHE_GROWN_MAX : n);
}

/* Gives this thread a cache of its own; NULL if it cannot have one. */
static struct tcache *setup(void) {
  hawk_fork_guard(); /* a thread's first call that may take a lock comes here */
  /* Debug mode and Valgrind send every call through the heap. */
  if (tcache_self != &tcache_unset || !exit_key_ready || tcache_disabled) return NULL;
  /* A cache other than the first is a heap block, not counted as one of the
   * program's. */
  struct heap *heap = hawk_heap_for_new_thread();
  struct tcache *tc = &first_cache;
  if (__atomic_exchange_n(&first_cache_taken, 1, __ATOMIC_ACQUIRE)) {
    void *mem;
    if (heap_alloc_batch(heap, block_size_for(sizeof(struct tcache)), &mem, 1, 1) != 1) {
      hawk_heap_thread_leaves(heap);
      return NULL;
    }
    tc = mem;
  }
  memset(tc, 0, sizeof *tc);
  tc->heap = tc->home = heap;
  for (size_t bin = 0; bin < TCACHE_BINS; bin++)
    tc->lists[bin].limit = list_limit(bin * HAWK_ALIGN);
  list_lock_take();
  DLIST_PUSH(caches.head, tc);
  pthread_mutex_unlock(&caches.lock);
  remote_thread_joins(heap);
  tcache_self = tc;
  pthread_setspecific(exit_key, tc);
  return tc;
}

/* Bytes held in tc's lists and the mallocs it served, from its counters
 * (relaxed reads: another thread's figures may be a moment old). */
static void cache_figures(const struct tcache *tc, uint64_t *bytes, uint64_t *allocs) {
  uint64_t held = 0;
  *bytes = 0;
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) {
    uint64_t n = __atomic_load_n(&tc->lists[bin].count, __ATOMIC_RELAXED);
    held += n;
    *bytes += n * bin * HAWK_ALIGN;
  }
  /* Every block that entered the lists left them, or is still there. */
  *allocs = __atomic_load_n(&tc->served, __ATOMIC_RELAXED) +
            __atomic_load_n(&tc->moved_in, __ATOMIC_RELAXED) +
            __atomic_load_n(&tc->frees, __ATOMIC_RELAXED) -
            __atomic_load_n(&tc->moved_out, __ATOMIC_RELAXED) - held;
}

/* Takes a cache off the list of live caches, keeping its counts. */
static void unregister(struct tcache *tc) {
  uint64_t bytes, allocs;
  list_lock_take();
  cache_figures(tc, &bytes, &allocs);
  caches.retired_allocs += allocs;
  caches.retired_frees += tc->frees;
  DLIST_REMOVE(caches.head, tc);
  pthread_mutex_unlock(&caches.lock);
}

/* Returns up to max blocks from the front of one list to the heap. */
static HAWK_HOT void flush_list(struct tcache *tc, size_t bin, size_t max) {
  void *batch[TCACHE_LIST_MAX];
  struct tcache_list *l = &tc->lists[bin];
  size_t size = bin * HAWK_ALIGN;
  while (max > 0 && l->head) {
    size_t n = 0, most = max < TCACHE_LIST_MAX ? max : TCACHE_LIST_MAX;
    /* tcache_next's test and link, with the key, the list's mark and the
     * head in registers (the stores into the batch might change them, for
     * the compiler) and the head stored once: 19 instructions a block
     * before, 14 now (perl's run gives back 283,521 so). */
    uintptr_t key = link_key();
    uint64_t mark = tcache_mark(size);
    void *p = l->head;
    while (n < most && p != NULL) {
      void *next = (void *)(*(uintptr_t *)p ^ key);
      batch[n++] = p; /* still marked: the heap erases the mark */
      /* The report reads the entry back from the batch: p then needs no
       * register of its own for the call (a copy a block). */
      if (HAWK_CHECKS && unlikely(tcache_mark_of(p) != mark))
        tcache_report_damaged(batch[n - 1], "free");
      p = next;
    }
    l->head = p;
    tcache_set_count(l, l->count - (unsigned)n);
    tcache_add(&tc->moved_out, n);
    heap_release_cached(batch, n);
    max -= n;
  }
}

/* Returns every cached block of tc to the heap. */
static void flush_all(struct tcache *tc) {
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) flush_list(tc, bin, (size_t)-1);
}

/* Gives back the memory of a cache already flushed and unregistered. */
static void discard(struct tcache *tc) {
  if (tc == &first_cache) {
    memset(tc, 0, sizeof *tc);
    __atomic_store_n(&first_cache_taken, 0, __ATOMIC_RELEASE);
  } else {
    heap_free_internal(tc, "free");
  }
}

/* Runs at thread exit (pthread key destructor). */
static void thread_exit(void *arg) {
  struct tcache *tc = arg;
  flush_all(tc);
  unregister(tc);
  tcache_self = &tcache_gone; /* later calls in this thread go to the heap */
  remote_thread_leaves(tc->heap);
  hawk_heap_thread_leaves(tc->home);
  discard(tc);
}

/* Whether tc should give its blocks back before the heap takes new memory
 * for this thread (tcache.h says why).  Called when the footprint reached
 * tc->flush_footprint; moves that mark to where the question is next worth
 * asking. */
static int flush_before_growth(struct tcache *tc) {
  uint64_t now = counters_footprint_now(), peak = counters_footprint_peak();
  if (tc == &tcache_unset || tc == &tcache_gone) return 0;
  if (now < peak) { /* below the peak: ask again there */
    tc->flush_footprint = peak;
    return 0;
  }
  return tc->frees != tc->frees_at_flush;
}

/* Gives every cached block back; the next time is when the footprint has
 * doubled. */
static void flush_before_growth_now(struct tcache *tc) {
  flush_all(tc);
  tc->frees_at_flush = tc->frees;
  tc->flush_footprint = 2 * counters_footprint_now();
}

void *tcache_heap_alloc_at_peak(size_t n, size_t align, size_t *dirty) {
  struct tcache *tc = tcache_self;
  if (flush_before_growth(tc)) {
    void *p = heap_alloc(tc->home, n, align, dirty, HEAP_USED);
    if (p) return p;
    flush_before_growth_now(tc);
  }
  return heap_alloc(tc->home, n, align, dirty, HEAP_GROW);
}

/* The decay of this thread's cache (decay.h), once per epoch on its own
 * slow path: a list whose count has not moved since the last look held its
 * blocks unused for a whole period (or was used and came back to the same
 * count: it costs a refill), and gives them back to the heap, where they
 * coalesce and their pages can go back to the OS.  Another thread's lists
 * are never touched (they are not locked): an idle thread keeps what it
 * caches, at most about 8 KiB a list. */
static __attribute__((noinline)) void tcache_decay(struct tcache *tc) {
  tc->decay_epoch = decay_timed_epoch();
  remote_decay(tc->heap);
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) {
    if (tc->lists[bin].count != 0 && tc->lists[bin].count == tc->decay_count[bin]) {
      flush_list(tc, bin, (size_t)-1);
      size_t base = list_limit(bin * HAWK_ALIGN); /* grown for a use that ended */
      tc->grown -= (tc->lists[bin].limit - base) * bin * HAWK_ALIGN;
      tc->lists[bin].limit = (uint32_t)base;
    }
    tc->decay_count[bin] = tc->lists[bin].count;
  }
}

/* Whether a period's epoch moved on since tc's lists were looked at. */
static inline int decay_due_for(const struct tcache *tc) {
  return decay_on && unlikely(tc->decay_epoch != decay_timed_epoch());
}

/* Makes a list that another thread handed back to this thread's heap
 * (remote.h) this thread's list of size-byte blocks, which is empty;
 * returns 0 if none was waiting. */
static int take_handed_back(struct tcache *tc, size_t size) {
  unsigned n;
  void *head = remote_take(tc->heap, size, &n);
  if (head == NULL) return 0;
  tc->lists[size / HAWK_ALIGN].head = head;
  tcache_set_count(&tc->lists[size / HAWK_ALIGN], n);
  tcache_add(&tc->moved_in, n);
  return 1;
}

/* What refilled[bin] records since the list last overflowed: a refill
 * from the heap, and a list taken from the heap's stacks (pass_on then
 * passes on half the list, not all of it).  How much a list may grow at
 * its next overflow is counted apart, in blocks (taken[bin]: growth). */
#define REFILLED    1
#define TOOK_A_LIST 2

/* Overflows in a row whose lists were mostly blocks of a heap this
 * thread should move to (move_maybe). */
static __thread unsigned move_votes __attribute__((tls_model("initial-exec")));

/* Moves this thread's cache to heap to (NULL: none) once
 * TCACHE_MOVE_VOTES overflows in a row found its lists mostly to's blocks
 * and to is the heap to join (remote_should_move).  Threads that free each
 * other's blocks then share a heap for the sizes their caches hold: their
 * lists pass between them through its stacks (pass_on), one heap's memory
 * serves them all, and no heap's reservoir of lists waits for a thread
 * that does not need them.  The blocks no cache holds (above
 * TCACHE_MAX_BLOCK) still come from the heap the thread started on
 * (tc->home), where it stays counted for the placement of new threads:
 * each of those takes the heap's lock, and threads that exchange blocks of
 * every size (bench/pool) would otherwise all queue on one lock.  The
 * blocks this thread still caches stay where they are: blocks of another
 * heap in a list are allowed, and go home at the next overflow. */
static void move_maybe(struct tcache *tc, struct heap *to) {
  if (to == NULL || !remote_should_move(tc->heap, to)) {
    move_votes = 0;
    return;
  }
  if (++move_votes < TCACHE_MOVE_VOTES) return;
  move_votes = 0;
  struct heap *from = tc->heap;
  tc->heap = to;
  remote_thread_moves(from, to);
}

/* When the list of size-byte blocks is full and holds blocks of other
 * heaps (a thread that frees what others allocate), those blocks go to the
 * heap of the first of them as one list, for its threads to take
 * (remote.h), and this thread's own stay; returns 0 if the list stays as it
 * was.  One walk of the list, with the checks of a pop.  The blocks leave
 * this cache before they are pushed: a fork in between loses them in the
 * child (a leak there), but no block is ever in two places.  Returns -1
 * when the list holds other heaps' blocks but stays as it was (the heap's
 * stacks are full). */
static int hand_back(struct tcache *tc, size_t size) {
  size_t bin = size / HAWK_ALIGN;
  /* Part 0 gathers this thread's heap's blocks, part 1 the others', each
   * by appending at its tail: first a stand-in for the part's head here
   * (two words, relinked as a cached block is), then its last block.
   * Which part a block joins is an index, not a branch: in a list that
   * mixes two heaps at random (larson) the branch went either way. */
  uint64_t first[2][2] = {{0, 0}, {0, 0}};
  void *tail[2] = {first[0], first[1]};
  unsigned n[2] = {0, 0};
  for (void *q = tc->lists[bin].head, *next; q != NULL; q = next) {
    /* More entries than the list holds: a write after free linked it back
     * into itself, and the walk would go round for ever. */
    if (n[0] + n[1] >= tc->lists[bin].count)
      report_misuse("free", q,
                    "heap corruption (a freed block's cache link was overwritten: a write "
                    "after free?)");
    next = tcache_next(q, size, "free"); /* read before a link is rewritten */
    unsigned k = arena_heap(arena_of(q)) != tc->heap;
    tcache_relink(tail[k], q);
    tail[k] = q;
    n[k]++;
  }
  tcache_relink(tail[0], NULL);
  tcache_relink(tail[1], NULL);
  void *own = link_decode((block *)(uintptr_t)first[0][0]);
  void *other = link_decode((block *)(uintptr_t)first[1][0]);
  void *own_last = n[0] ? tail[0] : NULL;
  unsigned own_n = n[0], other_n = n[1];
  if (other_n == 0) return 0; /* the links were written as they were */
  /* Both parts go: this thread's own blocks that went round through other
   * threads return to its heap's stacks, where its next refill takes them
   * without the heap's free path.  A part whose heap's stacks are full
   * stays in the list. */
  tc->lists[bin].head = NULL;
  tcache_set_count(&tc->lists[bin], 0);
  if (!remote_hand_off(other, size, other_n)) { /* the whole list stays */
    if (own_last) tcache_relink(own_last, other);
    tc->lists[bin].head = own_last ? own : other;
    tcache_set_count(&tc->lists[bin], own_n + other_n);
    return -1;
  }
  struct heap *to = arena_heap(arena_of(other));
  if (own_n != 0 && !remote_hand_off(own, size, own_n)) { /* this part stays */
    tc->lists[bin].head = own;
    tcache_set_count(&tc->lists[bin], own_n);
    own_n = 0;
  }
  tcache_add(&tc->moved_out, other_n + own_n);
  move_maybe(tc, other_n > own_n ? to : NULL);
  return 1;
}

/* When this thread's heap is shared by threads that free each other's
 * blocks (a thread moved there for that: move_maybe), a full list of its
 * blocks goes, still linked and marked, onto the stacks of its first
 * block's heap (remote.h), for a thread that allocates the size to take,
 * rather than through the heap's free path and back out through its
 * allocation path.  The whole list when nothing was put into it since it
 * last overflowed (this thread only frees the size: a consumer); else its
 * first half, as much as a flush gives, so that a thread that takes it and
 * frees the size too does not find its list full at once.  Returns whether
 * it did (not when the stacks are full). */
static int pass_on(struct tcache *tc, size_t size) {
  size_t bin = size / HAWK_ALIGN;
  unsigned n = tc->refilled[bin] ? tc->lists[bin].limit / 2 + 1 : tc->lists[bin].count;
  if (n == 0 || tc->lists[bin].count < n || !remote_exchanging(tc->heap)) return 0;
  void *head = tc->lists[bin].head, *last = head, *rest = NULL;
  unsigned count = tc->lists[bin].count;
  if (n < count) { /* the first n: a walk to the n-th, checked as the pops check */
    for (unsigned i = 1; i < n; i++) last = tcache_next(last, size, "free");
    rest = tcache_next(last, size, "free");
    tcache_relink(last, NULL);
  } /* else the whole list, whose last link is NULL: no walk */
  /* The blocks leave the cache before they are pushed, as in hand_back. */
  tc->lists[bin].head = rest;
  tcache_set_count(&tc->lists[bin], count - n);
  if (!remote_hand_off(head, size, n)) {
    if (rest) tcache_relink(last, rest);
    tc->lists[bin].head = head;
    tcache_set_count(&tc->lists[bin], count);
    return 0;
  }
  tcache_add(&tc->moved_out, n);
  return 1;
}

/* Overflows of this thread's lists since hand_back last found blocks of
 * other heaps (saturating). */
static __thread unsigned hand_back_idle __attribute__((tls_model("initial-exec")));

/* Whether the full list bin is worth hand_back's walk of the whole list:
 * the block being freed or the one freed just before it is another
 * heap's, or this thread met other heaps' blocks in its last few
 * overflows, or (to notice a change of pattern) every 64th overflow.  A
 * thread that frees its own blocks in bulk would else pay a walk of the
 * whole list on every overflow for nothing.  Other heaps' blocks in a
 * list flushed without the walk still go home, through their heaps' free
 * path (heap_release_cached). */
static inline int may_hold_others(const struct tcache *tc, const void *p, size_t bin) {
  const void *head = tc->lists[bin].head;
  return hand_back_idle < 8 || hand_back_idle % 64 == 0 || arena_heap(arena_of(p)) != tc->heap ||
         (head != NULL && arena_heap(arena_of(head)) != tc->heap);
}

/* When the block being freed and the full list's head, the two blocks
 * freed last, are both of one other heap (a consumer freeing what a
 * producer made: nearly every block of its lists), the whole list goes to
 * that heap's stacks as it is (remote.h), with no walk: the list's count is
 * known, its last link is NULL, and the blocks of other heaps it may hold
 * lower down are allowed in a cache and go home from the taker's cache at
 * its next overflow.  Every entry is still checked before its link is
 * followed: by the taker's pops, as in any cache list.  Returns whether it
 * handed the list off (not when the heap's stacks are full). */
static int hand_back_whole(struct tcache *tc, const void *p, size_t size) {
  size_t bin = size / HAWK_ALIGN;
  void *head = tc->lists[bin].head;
  struct heap *to = arena_heap(arena_of(p));
  if (head == NULL || to == tc->heap || arena_heap(arena_of(head)) != to) return 0;
  unsigned n = tc->lists[bin].count;
  /* The list leaves the cache before it is pushed, as in hand_back. */
  tc->lists[bin].head = NULL;
  tcache_set_count(&tc->lists[bin], 0);
  if (!remote_hand_off(head, size, n)) {
    tc->lists[bin].head = head;
    tcache_set_count(&tc->lists[bin], n);
    return 0;
  }
  tcache_add(&tc->moved_out, n);
  move_maybe(tc, to);
  return 1;
}

/* hand_back_whole or hand_back when may_hold_others says so; returns
 * whether it handed back. */
static int hand_back_maybe(struct tcache *tc, const void *p, size_t size) {
  int handed = hand_back_whole(tc, p, size);
  if (!handed) handed = may_hold_others(tc, p, size / HAWK_ALIGN) ? hand_back(tc, size) : 0;
  if (handed != 0)
    hand_back_idle = 0;
  else if (hand_back_idle < UINT_MAX)
    hand_back_idle++;
  return handed > 0;
}

/* Pushes batch[got - 1] down to batch[1], blocks of size bytes a refill
 * took, onto list l, which has room for them (a refill comes when the list
 * is empty, and takes at most half its limit): each with its mangled link
 * and its mark, as tcache_list_push_at writes them, with the key, the
 * secret and the head in registers and the count stored once.  Pushed
 * block by block, each push read the thread's cache, the list's room and
 * both keys again: 19 instructions a block where this takes 9 (291,116
 * blocks in perl's run: docs/performance.md). */
static inline void push_batch(struct tcache_list *l, void *const *batch, size_t got, size_t size) {
  HAWK_ASSERT(l->count + (got - 1) <= l->limit);
  uintptr_t key = link_key();
  uint64_t mark = HAWK_CHECKS ? tcache_mark(size) : 0;
  void *head = l->head;
  for (size_t i = got - 1; i >= 1; i--) {
    void *p = batch[i];
    block *link = (block *)((uintptr_t)head ^ key);
    *(block **)p = link;
    if (HAWK_CHECKS) tcache_mark_store(p, link, tcache_mark_at(p, mark));
    head = p;
  }
  l->head = head;
  tcache_set_count(l, l->count + (uint32_t)(got - 1));
}

HAWK_HOT void *tcache_refill(size_t size) {
  hawk_ensure_init();
  struct tcache *tc = tcache_self;
  if (tc == &tcache_unset) tc = setup();
  if (tc == NULL || tc == &tcache_gone || tc == &tcache_unset)
    return heap_alloc(tcache_self->heap, size - BLOCK_HEADER, HAWK_ALIGN, NULL, HEAP_GROW);
  if (decay_due_for(tc)) tcache_decay(tc);
  size_t bin = size / HAWK_ALIGN;
  if (remote_waiting(tc->heap, size) && tc->lists[bin].head == NULL && take_handed_back(tc, size)) {
    tc->refilled[bin] |= TOOK_A_LIST;
    return tcache_pop(size);
  }
  void *batch[TCACHE_LIST_MAX];
  /* A size used once costs one block; a size used again and again is
   * fetched in ever bigger batches, up to half a list.  A refill that comes
   * more than TCACHE_REFILL_RARE frees after the last one of the size asks
   * for half as many, and the next one no more: the list ran out because
   * the program once needed more of the size than it held, not because it
   * keeps taking them, and a whole batch would wait in the list for the
   * next such moment (docs/performance.md, "Peak RSS of the small
   * programs"). */
  uint16_t now = (uint16_t)tc->frees;
  int rare = (uint16_t)(now - tc->refill_at[bin]) > TCACHE_REFILL_RARE;
  tc->refill_at[bin] = now;
  size_t want = tc->fill[bin] ? tc->fill[bin] : 1, most = tc->lists[bin].limit / 2;
  if (most > TCACHE_LIST_MAX) most = TCACHE_LIST_MAX; /* the batch's room */
  if (rare) want = (want + 1) / 2;
  if (want > most) want = most ? most : 1;
  tc->fill[bin] = (uint16_t)(rare ? want : want * 2 <= most ? want * 2 : most ? most : 1);
  tc->refilled[bin] |= REFILLED;
  size_t got = 0;
  if (tcache_at_peak(tc) && flush_before_growth(tc)) {
    got = heap_alloc_batch(tc->heap, size, batch, want, 0);
    if (got == 0) flush_before_growth_now(tc);
  }
  if (got == 0) got = heap_alloc_batch(tc->heap, size, batch, want, 1);
  if (got == 0) return NULL;
  tc->taken[bin] += (uint16_t)got; /* for the list's growth (growth; wraps only after
                                      65,536 blocks without an overflow) */
  /* The batch lies in address order: pushed last first, the list hands
   * it out in that order, and blocks freed in the order they were handed
   * out come back to the heap as runs of neighbours (heap.h). */
  push_batch(tcache_list(tc, size), batch, got, size);
  tcache_add(&tc->moved_in, got - 1);
  tcache_add(&tc->served, 1);
  return batch[0];
}

/* The most bytes tc's lists may grow beyond their first limits: a
 * TCACHE_GROWN_SHARE-th of the bytes in use in the heap its refills come
 * from (cached blocks included), at least TCACHE_GROWN_BUDGET and at most
 * TCACHE_GROWN_MOST.  A program with little live data keeps about what it
 * kept with a fixed budget; one that cycles rounds of blocks next to more
 * live data may keep a whole round in front of the heap, at a cost in
 * memory bounded by a share of what it uses anyway.  (A relaxed read of a figure the heap's lock
 * guards: a moment old at worst.) */
static uint64_t growth_budget(const struct tcache *tc) {
  uint64_t share = __atomic_load_n(&tc->heap->in_use, __ATOMIC_RELAXED) / TCACHE_GROWN_SHARE;
  if (share > TCACHE_GROWN_MOST) share = TCACHE_GROWN_MOST;
  return share > TCACHE_GROWN_BUDGET ? share : TCACHE_GROWN_BUDGET;
}

/* How many blocks the full list of size-byte blocks grows by as p is freed
 * into it: as many as refills brought into it since it last overflowed
 * (what the last round took beyond the list, so that the next round like
 * it stays in the cache; doubling overshot, and held up to twice a round),
 * up to the list's cap and within the thread's growth budget.  None when p
 * is another heap's block, or the thread shares its heap with threads that
 * free each other's blocks: a list that fills with blocks other threads
 * allocated (bench/prodcons) would keep them from going home (hand_back,
 * pass_on), and grew on every list of every such thread.  Not inlined,
 * as list_cap: what every process runs stays in one 64 KiB window of code
 * (the Makefile's LIB_FIRST; tests/levels). */
static __attribute__((noinline)) size_t growth(const struct tcache *tc, const void *p,
                                               size_t size) {
  size_t bin = size / HAWK_ALIGN, limit = tc->lists[bin].limit, cap = list_cap(size);
  size_t more = tc->taken[bin] < cap - limit ? tc->taken[bin] : cap - limit;
  if (more == 0 || arena_heap(arena_of(p)) != tc->heap || remote_exchanging(tc->heap)) return 0;
  uint64_t budget = growth_budget(tc);
  size_t left = budget > tc->grown ? (size_t)((budget - tc->grown) / size) : 0;
  return more < left ? more : left;
}

HAWK_HOT void tcache_overflow(void *p, size_t size) {
  struct tcache *tc = tcache_self;
  if (tc == &tcache_unset) tc = setup();
  if (tc == NULL || tc == &tcache_gone || tc == &tcache_unset) {
    heap_free(p, "free");
    return;
  }
  if (decay_due_for(tc)) tcache_decay(tc);
  size_t bin = size / HAWK_ALIGN, more = growth(tc, p, size);
  tc->taken[bin] = 0;
  if (more > 0) { /* a round: room for what it took from the heap */
    tc->lists[bin].limit += (uint32_t)more;
    tc->grown += more * size;
  } else if (!hand_back_maybe(tc, p, size) && !pass_on(tc, size)) {
    /* other heaps' blocks go home first, then the heap's other threads */
    flush_list(tc, bin, (size_t)tc->lists[bin].limit / 2 + 1);
  }
  tc->refilled[bin] = 0;
  if (!tcache_free(p, size)) heap_free(p, "free");
}

void tcache_flush_self(void) {
  struct tcache *tc = tcache_self;
  if (tc != &tcache_unset && tc != &tcache_gone) flush_all(tc);
  remote_flush_all();
}

void tcache_totals(struct tcache_totals *t) {
  list_lock_take();
  t->bytes = 0;
  t->allocs = caches.retired_allocs;
  t->frees = caches.retired_frees;
  for (struct tcache *tc = caches.head; tc; tc = tc->next) {
    uint64_t bytes, allocs;
    cache_figures(tc, &bytes, &allocs);
    t->bytes += bytes;
    t->allocs += allocs;
    t->frees += __atomic_load_n(&tc->frees, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&caches.lock);
  t->bytes += remote_bytes();
}

HAWK_HOT int tcache_take_back(void *p, size_t size) {
  struct tcache *tc = tcache_self;
  size_t bin = size / HAWK_ALIGN;
  if (size > TCACHE_MAX_BLOCK) return 0;
  void **prev = NULL;
  size_t looked = 0;
  for (void **q = tc->lists[bin].head; q && looked < TCACHE_TAKE_BACK_LOOK;
       prev = q, q = tcache_next(q, size, "realloc"), looked++) {
    if (q != p) continue;
    void *next = tcache_next(q, size, "realloc");
    if (prev)
      tcache_relink(prev, next);
    else
      tc->lists[bin].head = next;
    q[1] = NULL;
    tcache_set_count(&tc->lists[bin], tc->lists[bin].count - 1u);
    tcache_add(&tc->moved_out, 1);
    return 1;
  }
  return 0;
}

/* Checks one list of this thread's cache; returns problems (0 or 1). */
static int check_list(const struct tcache *tc, size_t bin) {
  size_t n = 0;
  /* A list another thread handed back (take_handed_back) may be longer
   * than this thread's limit, never than the longest a list can grow. */
  size_t most = bin * HAWK_ALIGN >= BLOCK_MIN ? list_cap(bin * HAWK_ALIGN) : 0;
  if (most < tc->lists[bin].limit) most = tc->lists[bin].limit;
  for (void **q = tc->lists[bin].head; q; q = (void **)link_decode(q[0]), n++) {
    const block *b = block_of_payload(q);
    if (n >= most || !arena_payload_at(q) || !block_header_ok(b) || !block_is_alloc(b) ||
        block_size(b) != bin * HAWK_ALIGN ||
        (HAWK_CHECKS && tcache_mark_of(q) != tcache_mark(bin * HAWK_ALIGN))) {
      report_problem("check: thread-cached block", q, "is not a sound cached block");
      return 1;
    }
  }
  if (n != tc->lists[bin].count) {
    report_problem("check: thread cache list", &tc->lists[bin].head,
                   "count disagrees with the list");
    return 1;
  }
  return 0;
}

/* hawk_check's: compiled for size (HAWK_COLD), out of the way of the code
 * every process runs (tests/levels). */
HAWK_COLD int tcache_check(void) {
  struct tcache *tc = tcache_self;
  int problems = 0;
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) problems += check_list(tc, bin);
  return problems;
}

HAWK_COLD void tcache_report_damaged(const void *p, const char *call) {
  report_misuse(call, p,
                "heap corruption (a thread-cached block's header or mark was overwritten: a "
                "write after free?)");
}

void tcache_lock_all(void) { list_lock_take(); }
void tcache_unlock_all(void) { pthread_mutex_unlock(&caches.lock); }

int tcache_lockable(void) {
  if (pthread_mutex_trylock(&caches.lock) != 0) return 0;
  pthread_mutex_unlock(&caches.lock);
  return 1;
}

void tcache_after_fork_child(void) {
  mutex_reset(&caches.lock);
  remote_after_fork_child();
  /* The other threads are gone in the child: their cached blocks go back
   * to the heap rather than stay allocated for ever. */
  struct tcache *tc = caches.head, *self = tcache_self;
  while (tc) {
    struct tcache *next = tc->next;
    if (tc != self) {
      flush_all(tc);
      unregister(tc);
      remote_thread_leaves(tc->heap);
      hawk_heap_thread_leaves(tc->home);
      discard(tc);
    }
    tc = next;
  }
}
