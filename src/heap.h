/* heap.h - malloc, free and resize on a set of arenas under one lock.
 *
 * The heap is where the seed's design lives: it asks the placement policy
 * for a free block (first fit), splits off what it does not need, maps a new
 * arena when nothing fits, and on free coalesces with both neighbours through
 * the boundary tags before handing the block back to the free lists.
 */
#ifndef HAWK_HEAP_H
#define HAWK_HEAP_H

#include "arena.h"
#include "lock.h"
#include "placement.h"

struct heap {
  struct hawk_lock lock;
  const struct placement *policy; /* how free blocks are kept and found */
  enum chunk_kind arena_kind;     /* its arenas' registry kind: CHUNK_ARENA, or
                                     CHUNK_HEAP_ARENA for a created heap */
  int id;                         /* a created heap's hawk_heap_id (0 in a default
                                     heap: its index in hawk_heaps names it) */
  struct freelists free;          /* the policy's lists */
  struct arena *arenas;           /* every arena this heap owns */
  size_t arena_count;
  size_t arena_peak;    /* the most arenas it has owned at once */
  uint64_t in_use;      /* bytes in allocated blocks of this heap */
  uint64_t in_use_told; /* the part of in_use added to counters.heaps_in_use */
  uint64_t mallocs;     /* blocks handed out to the program (not to caches) */
  uint64_t frees;       /* blocks the program freed (not flushed from caches) */
  uint64_t splits;      /* free blocks cut in two */
  uint64_t coalesces;   /* merges with a free neighbour */
  void *remote;         /* blocks other threads gave back while the lock was
                           busy, linked through their first word; freed by the
                           next thread that takes the lock */
  /* The decay (decay.h): */
  uint32_t decay_ops;    /* locked operations since the clock was last read */
  int decay_more;        /* the last pass stopped at its bound */
  uint64_t decay_newest; /* the newest epoch a free block was stamped with */
  uint64_t decay_done;   /* every block stamped with this epoch or an older
                            one was given back (or reused) */
  /* Old blocks given back as they are freed (heap_old.c): */
  uint64_t old_epoch; /* the timed epoch of the last give-back */
  size_t old_bytes;   /* the bytes given back in it */
  uintptr_t old_lo;   /* where the period's give-backs lie */
  uintptr_t old_hi;
  size_t old_reused;      /* bytes handed out again there */
  uint64_t old_pause;     /* none before this timed epoch */
  uint64_t old_pause_len; /* the next pause's periods */
} __attribute__((aligned(128)));

/* Prepares an empty heap using policy. */
HAWK_INTERNAL void heap_init(struct heap *h, const struct placement *policy);

/* Where heap_alloc may take memory: anywhere, growing by an arena if it
 * must; only below a frontier (memory used already), from the free block
 * the policy chooses; only below a frontier, looking past the policy's
 * choice when it is an arena's untouched tail (heap_find_used). */
#define HEAP_USED          0
#define HEAP_GROW          1
#define HEAP_USED_SEARCHED 2

/* Allocates n bytes (n < LARGE_THRESHOLD_MAX) with the payload aligned to align
 * (a power of two, at least 16).  When dirty is not NULL it receives how
 * many leading payload bytes may be non-zero (the rest are known zero).
 * room says where (above): with HEAP_USED or HEAP_USED_SEARCHED the heap
 * takes no new memory, NULL when it finds no free block below a frontier.
 * Returns NULL when the OS refuses memory. */
HAWK_INTERNAL void *heap_alloc(struct heap *h, size_t n, size_t align, size_t *dirty, int room);

/* Hands out up to count blocks of size bytes (a block size, not a request)
 * under one lock; returns how many.  Every block but the first is exactly
 * size bytes (a thread cache lists them: tcache.h); the first may keep a
 * remainder too small to be a block.  With grow 0, none when the first
 * would take new memory. */
HAWK_INTERNAL size_t heap_alloc_batch(struct heap *h, size_t size, void **out, size_t count,
                                      int grow);

/* A listed free block of h of want bytes or more that ends below its
 * arena's frontier (memory the heap has used already: its pages were
 * touched), or NULL; under h's lock (heap_used.c).  Only the free block that
 * holds an arena's frontier reaches past it, the arena's untouched tail,
 * and the policy's search may stop there while such a block waits further
 * on: each non-empty size class from want's up is walked, at most 8 blocks
 * of each.  The segregated policy's lists only (a one-list policy's own
 * choice stands: alloc_in_used_locked). */
HAWK_INTERNAL block *heap_find_used(struct heap *h, size_t want);

/* Gives back the whole pages of the n bytes at from that lie inside the
 * free block of size bytes at b (its header need not be written yet): its
 * first BLOCK_MIN bytes (header, links, stamp) and its footer stay; the
 * one page rule of the decay's pass, malloc_trim and old blocks.  Returns
 * the bytes given back (0 if madvise failed). */
HAWK_INTERNAL size_t heap_discard_inside(const block *b, size_t size, const void *from, size_t n);

/* Old blocks (heap_old.c; docs/design.md, "The decay"): a block of
 * DECAY_OLD_MIN bytes or more that stayed in use for half a period gives
 * its pages back as it is freed.  heap_old_born notes when the block of h
 * whose payload is at p began its life (handed out, or grown in place), if
 * it is that big; when h hands out again, within a period, a quarter of
 * the budget's bytes where it gave back at once, it stops giving back at
 * once for a while.  heap_old_give_back, as the block of n bytes at from is
 * freed into the free block of size bytes at b (from itself, or its merge
 * with free neighbours), under h's lock: if it was in use that long, h is
 * not pausing, and h's budget for the period (DECAY_OLD_BUDGET) holds it,
 * gives back the whole pages of its bytes inside b (b's header, links,
 * stamp and footer stay) and returns 1; else 0, with nothing done. */
HAWK_INTERNAL void heap_old_born(struct heap *h, const void *p);
HAWK_INTERNAL int heap_old_give_back(struct heap *h, const block *b, size_t size, const block *from,
                                     size_t n);

/* Frees the arena block at p.  call names the API function in messages. */
HAWK_INTERNAL void heap_free(void *p, const char *call);

/* heap_free for a block the program did not free itself (a thread cache's
 * own memory, a cached block taken back for a resize): not counted as a
 * free of the program. */
HAWK_INTERNAL void heap_free_internal(void *p, const char *call);

/* Gives blocks that come out of a thread cache (still marked as cached)
 * back to the heaps that own them, without waiting for a busy lock: the
 * blocks of a heap whose lock is taken go onto its remote list.  The array
 * is reordered. */
HAWK_INTERNAL void heap_release_cached(void **ps, size_t count);

/* Frees what waits on the heap's remote list. */
HAWK_INTERNAL void heap_drain(struct heap *h);

/* Resizes the arena block at p to n bytes without moving it; returns 0 when
 * it cannot (the block is then unchanged and *usable, if usable is not
 * NULL, is its usable size: the bytes a move must copy).  The caller passes
 * the large-block threshold (large.h) as limit: a block grows to n bytes
 * at or above it, a size that belongs in a mapping of its own, only below
 * LARGE_THRESHOLD_MAX and into memory the heap has used already (below its
 * arena's frontier), as a new request of that size would take it. */
HAWK_INTERNAL int heap_resize(void *p, size_t n, size_t limit, const char *call, size_t *usable);

/* heap_resize after freeing, under the same lock, the arena block next
 * (NULL: none): the block after p, just taken out of this thread's cache
 * (still allocated in the heap's eyes, its mark erased), so that p can
 * grow into it.  One lock where a free and a resize took two. */
HAWK_INTERNAL int heap_resize_into(void *p, void *next, size_t n, size_t limit, const char *call,
                                   size_t *usable);

/* The usable size of the arena block at p. */
HAWK_INTERNAL size_t heap_usable(void *p, const char *call);

/* Detaches every empty arena of the heap, its last one too, and hands it
 * to arena_release (after the remote list is freed); returns how many.  For
 * the retry after the OS refused memory (api.c). */
HAWK_INTERNAL size_t heap_release_empty(struct heap *h);

/* Releases the pages inside free blocks; returns the bytes released. */
HAWK_INTERNAL size_t heap_trim(struct heap *h);

/* The decay's pass over heap h, if its lock is free and a pass is due
 * (decay.h): frees its remote list and gives back the pages of the free
 * blocks that stayed free for a period. */
HAWK_INTERNAL void heap_decay_try(struct heap *h);

/* What runs, with no lock held, after an operation on heap self moved the
 * decay's epoch on: the decay of what no operation on that heap reaches
 * (the other heaps, the cached arenas and large mappings: decay.h), which
 * the heap layer does not know.  Set once by the initialisation
 * (process.c); none by default.  Kept mangled like a free-list link, so
 * that a stray write cannot aim it. */
HAWK_INTERNAL void heap_set_epoch_hook(void (*hook)(const struct heap *self));

/* Verifies one heap: its arenas, its free lists and its counters, under
 * its lock (heap_check.c).  Returns the number of problems, each written to
 * stderr. */
HAWK_INTERNAL int heap_check(struct heap *h);

/* heap_check for a caller that holds the heap's lock (the expensive
 * assertion of heap_trim, report.h). */
HAWK_INTERNAL int heap_check_locked(struct heap *h);

#endif /* HAWK_HEAP_H */
