/* tcache.h - a per-thread cache of recently freed small blocks.
 *
 * A small free goes onto a list of the freeing thread, and a small malloc of
 * the same size takes it back, with no lock and no atomic read-modify-write.
 * Cached blocks stay allocated in the heap's eyes (their headers are not
 * touched), so the heap's coalescing invariants hold; they go back to the
 * heap in batches when a list is full, at thread exit, and on malloc_trim.
 *
 * A cached block's payload holds two words:
 *
 *   payload + 0   next block in the same list (mangled like free-list links)
 *   payload + 8   tcache_mark(size): a random key, with the list's block size
 *                 in its low bits, marking "freed, in this cache list";
 *                 stored XOR the first word XOR the payload's address
 *                 (block.h: tcache_mark_of), so that it vouches for the link
 *
 * A free of a block that carries a mark is a double free.
 */
#ifndef HAWK_TCACHE_H
#define HAWK_TCACHE_H

#include "block.h"
#include "counters.h"
#include "heap.h"

#define TCACHE_BINS (TCACHE_MAX_BLOCK / HAWK_ALIGN + 1)

struct heap;

/* One list: its head, how many blocks it holds and may hold, side by side
 * so that the fast paths reach all three from one address. */
struct tcache_list {
  void *head;     /* the first block's payload (NULL: empty) */
  uint32_t count; /* blocks in the list */
  uint32_t limit; /* most blocks it may hold (0: none): a base, doubled up
                     to a cap while the list keeps emptying and filling up
                     (tcache.c) */
};
_Static_assert(sizeof(struct tcache_list) == HAWK_ALIGN,
               "the list of size-byte blocks lies size bytes into a cache (tcache_list)");

struct tcache {
  struct tcache_list lists[TCACHE_BINS]; /* by block size / 16; first */
  struct heap *heap;                     /* where this thread's blocks come from */
  uint8_t refilled[TCACHE_BINS];         /* the list was refilled (from the heap,
                                            or with a list handed back: tcache.c)
                                            since it last overflowed */
  uint64_t grown;                        /* bytes by which the limits exceed the first ones */
  uint16_t taken[TCACHE_BINS];           /* blocks refills brought into the list since
                                            it last overflowed (tcache.c) */
  uint16_t fill[TCACHE_BINS];            /* blocks the next refill asks for: 1 at first,
                                            doubling with use up to half the limit */
  uint16_t refill_at[TCACHE_BINS];       /* frees (low 16 bits) at the list's last
                                            refill: far apart, fill halves (tcache.c) */
  /* Counters, written only by the owning thread, read by statistics.  The
   * mallocs a cache served are derived from them (tcache_totals), so the
   * malloc fast path counts nothing. */
  uint64_t frees;                    /* frees taken into the cache */
  uint64_t moved_in;                 /* blocks a refill put into the lists */
  uint64_t moved_out;                /* blocks given back to a heap from the lists */
  uint64_t served;                   /* mallocs a refill served directly */
  uint64_t frees_at_flush;           /* frees when the cache last gave its blocks back
                                        before the heap grew */
  uint64_t flush_footprint;          /* the footprint (stats.h) at which to ask
                                        again whether to do that (tcache_at_peak) */
  uint64_t decay_epoch;              /* the decay's epoch when the lists were
                                        last looked at (tcache_decay) */
  uint32_t decay_count[TCACHE_BINS]; /* each list's count then */
  struct tcache *next, *prev;        /* every live cache, for stats and fork */
  struct heap *home;                 /* the heap the thread started on: its blocks
                                        no cache holds come from there even after
                                        it moved (tcache.c, move_maybe) */
};

/* The list of size-byte blocks (size a multiple of 16): size bytes into the
 * cache, with no division (lists are 16 bytes, and first). */
static inline struct tcache_list *tcache_list(struct tcache *tc, size_t size) {
  return (struct tcache_list *)(void *)((char *)tc->lists + size);
}

/* Set at start-up when threads must not cache (debug mode, Valgrind). */
HAWK_INTERNAL extern int tcache_disabled;

/* This thread's cache.  It starts as a static empty cache whose limits are
 * zero, so the fast paths need no test for "not set up yet". */
HAWK_INTERNAL extern __thread struct tcache *tcache_self __attribute__((tls_model("initial-exec")));

/* Sets up the cache machinery once (the thread-exit key). */
HAWK_INTERNAL void tcache_init(void);

/* Before the heap takes new memory for a thread whose cache holds blocks
 * it freed, they go back to the heap: coalesced with their free neighbours
 * they may hold what is needed, and a freed block should not wait in a cache
 * while the program reaches a new peak of memory.  This is asked only when
 * the footprint (stats.h) is at its peak, and done again only once the
 * footprint has doubled, so that a program that keeps growing while it frees
 * pays for it a logarithmic number of times.  flush_footprint marks where
 * the question is next worth asking. */
static inline int tcache_at_peak(const struct tcache *tc) {
  return unlikely(counters_footprint_now() >= tc->flush_footprint);
}
HAWK_INTERNAL void *tcache_heap_alloc_at_peak(size_t n, size_t align, size_t *dirty);

/* heap_alloc for this thread's heap, after the flush above when it is due. */
static inline void *tcache_heap_alloc(size_t n, size_t align, size_t *dirty) {
  struct tcache *tc = tcache_self;
  if (tcache_at_peak(tc)) return tcache_heap_alloc_at_peak(n, align, dirty);
  return heap_alloc(tc->home, n, align, dirty, HEAP_GROW);
}

/* heap_alloc for this thread's heap from memory it has used already (below
 * a frontier, looking past an arena's untouched tail): NULL when that would
 * take new memory. */
static inline void *tcache_heap_alloc_used(size_t n, size_t align, size_t *dirty) {
  return heap_alloc(tcache_self->home, n, align, dirty, HEAP_USED_SEARCHED);
}

/* Whether p, an entry of a list of size-byte blocks, is a sound cached
 * block: its header has a good tag (so it is a header we wrote at that
 * address: an arena block, never a large one), says allocated, and a size
 * of exactly size (a refill caches no block with a remainder too small to
 * split off: heap_alloc_batch), and its payload carries the mark of the
 * list (tcache_mark of size, read through its link and address:
 * tcache_mark_of).  Only then
 * is its link read as one.  p must be an address in an arena; the header
 * is read only once p is shown to lie past the arena's head.  (With
 * HAWK_CHECKS 0 the mark is not kept: nothing is checked.) */
static inline int tcache_entry_ok(const void *p, size_t size) {
  if (!HAWK_CHECKS) return 1;
  if (!arena_past_head(p)) return 0;
  const block *b = block_of_payload(p);
  uint64_t w = block_load(b);
  return (w & (BLOCK_SIZE_MASK | BLOCK_ALLOC)) == (size | BLOCK_ALLOC) && block_word_ok(b, w) &&
         tcache_mark_of(p) == tcache_mark(size);
}

/* The check of the pop's fast path, a few instructions and one branch:
 * the entry carries this list's mark (tcache_mark of size, made with key),
 * read through its link and its address (tcache_mark_of).  The link is
 * then followed with no test of where it leads: the mark shows that the
 * library wrote both words at this address (the key is secret, 64 random
 * bits), so the link is the one it wrote, to a block of the list; a write
 * after free over either word, or both words copied from another cached
 * block, leaves no mark.  Before 30bbb77 the mark was stored as it is, and
 * the pop asked the registry where each link led: a lookup and a branch a
 * pop, 0.908 of the simplest loop's time without them.  The comparison is
 * exact: a mark accepted for two sizes would accept a link changed in the
 * bits where the two sizes differ.  The header is not read here: it was
 * checked when the block was freed into the cache, and is checked again
 * when the block (or its neighbour) is next freed, and the mark is cleared
 * when the block is handed out, so a stale entry cannot carry it.
 * With tcache_key, anything else is a damaged entry, reported
 * (tcache_report_damaged).  key is tcache_key, or malloc's fast-path key
 * (process.h: fast_pop_key), which no mark matches in slow mode. */
static inline int tcache_pop_ok(const void *p, size_t size, uint64_t key) {
  return tcache_mark_of(p) == tcache_mark_with(key, size);
}

/* Reports cached entry p of a list of size-byte blocks whose mark failed
 * tcache_pop_ok's test (a write after free over the entry or its link:
 * the mark vouches for both), naming call, and aborts.  Call with no lock
 * held.  (Until 2026-12-07 this was a full check, the header and the
 * link's arena too, then the link; it was called only when the mark had
 * failed, which the full check tests as well, so it always reported.) */
HAWK_INTERNAL _Noreturn HAWK_COLD void tcache_report_damaged(const void *p, const char *call);

/* The link of cached entry p (in a list of size-byte blocks), followed
 * once tcache_pop_ok's test holds; otherwise tcache_report_damaged. */
static inline void *tcache_next(const void *p, size_t size, const char *call) {
  if (HAWK_CHECKS && unlikely(!tcache_pop_ok(p, size, tcache_key))) tcache_report_damaged(p, call);
  return link_decode(*(void *const *)p);
}

/* Counters other threads read (statistics) are stored atomically: a plain
 * store on common machines. */
static inline void tcache_add(uint64_t *counter, uint64_t delta) {
  __atomic_store_n(counter, *counter + delta, __ATOMIC_RELAXED);
}
static inline void tcache_set_count(struct tcache_list *l, unsigned n) {
  __atomic_store_n(&l->count, (uint32_t)n, __ATOMIC_RELAXED);
}

/* The fast paths' updates of those counters: on x86-64 one add to memory
 * (HAWK_PLAIN_X86, config.h), where the load, add and store of the two
 * above take three instructions.  Only the owning thread writes a counter,
 * so it needs no lock prefix, and a reader sees the whole old or the whole
 * new value (an aligned store).  Elsewhere, and under ThreadSanitizer, the
 * atomic stores above. */
static inline __attribute__((always_inline)) void tcache_add_one(uint64_t *counter) {
#if HAWK_PLAIN_X86
  __asm__("addq $1, %0" : "+m"(*counter));
#else
  tcache_add(counter, 1);
#endif
}
static inline __attribute__((always_inline)) void tcache_count_up(struct tcache_list *l) {
#if HAWK_PLAIN_X86
  __asm__("addl $1, %0" : "+m"(l->count));
#else
  tcache_set_count(l, l->count + 1u);
#endif
}
static inline __attribute__((always_inline)) void tcache_count_down(struct tcache_list *l) {
#if HAWK_PLAIN_X86
  __asm__("subl $1, %0" : "+m"(l->count));
#else
  tcache_set_count(l, l->count - 1u);
#endif
}

/* Takes a cached block of exactly size bytes (a block size), or NULL when
 * the list is empty or its head or the head's link fails the checks (a
 * write after free, or slow mode's key: tcache_pop, on the slow path, then
 * pops it or reports it).  key: as for tcache_pop_ok.  Nothing stays live
 * across a call, so the fast path saves no register.  Always inlined: how
 * much else api.c holds must not decide whether malloc's fast path makes a
 * call. */
static inline __attribute__((always_inline)) void *tcache_pop_fast(size_t size, uint64_t key) {
  struct tcache_list *l = tcache_list(tcache_self, size);
  void **p = l->head;
  if (p == NULL) return NULL;
  void *next = link_decode(p[0]);
  /* The decoded link alone stays in a register: else the compiler keeps
   * the stored word too, to test NULL as "stored == secret", which costs
   * a copy and a load of the secret on the way every pop takes. */
  __asm__("" : "+r"(next));
  /* A write after free over the entry or its link: the mark, which vouches
   * for the link, checked before the link is followed. */
  if (HAWK_CHECKS && unlikely(!tcache_pop_ok(p, size, key))) return NULL;
  l->head = next;
  tcache_count_down(l);
  if (HAWK_CHECKS) p[1] = NULL; /* no longer "freed" */
  return p;
}

/* Takes a cached block of exactly size bytes (a block size), or NULL; a
 * damaged list is reported naming call (tcache_pop_fast with this key
 * fails on a list that holds a block only when the head's mark does). */
static inline void *tcache_pop_named(size_t size, const char *call) {
  void *p = tcache_pop_fast(size, tcache_key);
  if (unlikely(p == NULL) && tcache_list(tcache_self, size)->head != NULL)
    tcache_report_damaged(tcache_list(tcache_self, size)->head, call);
  return p;
}

/* tcache_pop_named for malloc. */
static inline void *tcache_pop(size_t size) { return tcache_pop_named(size, "malloc"); }

/* Whether list l, which holds n blocks, has room for one more. */
static inline int tcache_room(const struct tcache_list *l, uint32_t n) { return n < l->limit; }

/* Puts p at the head of list l with the mark at (tcache_mark_at: the mark
 * of the list's size, tcache_mark, bound to p's address). */
static inline void tcache_list_push_at(struct tcache_list *l, void *p, uint64_t at) {
  block *link = link_encode(l->head);
  *(block **)p = link;
  if (HAWK_CHECKS) tcache_mark_store(p, link, at);
  l->head = p;
  tcache_count_up(l);
}

/* Puts p at the head of list l with mark (the mark of the list's size,
 * tcache_mark). */
static inline void tcache_list_push(struct tcache_list *l, void *p, uint64_t mark) {
  tcache_list_push_at(l, p, tcache_mark_at(p, mark));
}

/* Whether the payload at p carries the mark at (tcache_mark_at), that of
 * the list its header's size names (tcache_mark) bound to p's address: a
 * block cached already, as every block in a list is exactly the list's
 * size (a refill's block too: heap_alloc_batch).  One comparison with what
 * the push computes anyway: free's test for a double free (tcache_marked
 * tests for any size).  Before the refill kept its blocks exact, the test
 * took the marks of the header's size and of 16 bytes less, a subtraction
 * and a mask more; and the address was XORed in twice, for the test and
 * for the push. */
static inline int tcache_marked_as(const void *p, uint64_t at) {
  return HAWK_CHECKS && tcache_mark_is_at(p, at);
}

/* free() of a block of size bytes (its header's size) into the cache; 0
 * if its list is full, or if the block carries a cached block's mark (a
 * double free, which the caller's slow path reports). */
static inline __attribute__((always_inline)) int tcache_free(void *p, size_t size) {
  struct tcache *tc = tcache_self;
  struct tcache_list *l = tcache_list(tc, size);
  uint64_t mark = tcache_mark(size);
  /* The mark in a register before the address joins it: else the compiler
   * XORs key and address first, with a copy of the key (one instruction
   * more). */
  if (HAWK_CHECKS) __asm__("" : "+r"(mark));
  uint64_t at = tcache_mark_at(p, mark);
  uint32_t n = l->count;
  /* The room first: the list of 0-byte blocks has none, so the payload
   * under a header of size 0 (an arena's epilogue, which free reads for a
   * pointer at the start of the chunk after it: registry_payload_is) is
   * never read. */
  if (!tcache_room(l, n) || unlikely(tcache_marked_as(p, at))) return 0;
  tcache_list_push_at(l, p, at);
  tcache_add_one(&tc->frees);
  return 1;
}

/* Slow path of malloc for a cacheable size: sets the cache up if needed,
 * refills the list from the heap, and returns one block (or NULL). */
HAWK_INTERNAL void *tcache_refill(size_t size);

/* Slow path of free for a cacheable block whose list is full (or when the
 * cache is not set up): returns blocks to the heap. */
HAWK_INTERNAL void tcache_overflow(void *p, size_t size);

/* Returns every block of this thread's cache to the heap. */
HAWK_INTERNAL void tcache_flush_self(void);

/* Bytes held in every thread's cache, and the mallocs and frees the caches
 * served (exited threads included). */
struct tcache_totals {
  uint64_t bytes, allocs, frees;
};
HAWK_INTERNAL void tcache_totals(struct tcache_totals *t);

/* Takes p (a block of size bytes) out of this thread's cache if it is
 * among the first TCACHE_TAKE_BACK_LOOK entries of its list (the most
 * recently freed: realloc asks for the neighbour of a block it grows, and
 * a walk of a whole list on every realloc would cost more than the move
 * it saves); returns 1 if it was. */
HAWK_INTERNAL int tcache_take_back(void *p, size_t size);

/* Whether tcache_take_back could find the cached block p of size bytes (at
 * most TCACHE_MAX_BLOCK): it looks only at the head of its list, so a
 * growing realloc whose neighbour is not there (most are in use) is told
 * so inline, without a call. */
static inline int tcache_may_take_back(const void *p, size_t size) {
  return TCACHE_TAKE_BACK_LOOK > 1 || tcache_list(tcache_self, size)->head == p;
}

/* Checks this thread's cache: every entry a sound allocated block, counts
 * right.  Returns the number of problems. */
HAWK_INTERNAL int tcache_check(void);

/* Fork support: the cache list lock, and in the child the return of the
 * blocks cached by threads that do not exist there. */
HAWK_INTERNAL void tcache_lock_all(void);
/* Whether the list of caches' lock could be taken now (taken and given at
 * once): not while this thread holds it (stats_lockable). */
HAWK_INTERNAL int tcache_lockable(void);
HAWK_INTERNAL void tcache_unlock_all(void);
HAWK_INTERNAL void tcache_after_fork_child(void);

#endif /* HAWK_TCACHE_H */
