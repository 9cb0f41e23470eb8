/* arena.h - one mmap'ed region of ARENA_SIZE bytes, aligned to its size.
 *
 *   base + 0     struct arena (this header)
 *   base + 120   prologue: a 16-byte allocated block, never freed
 *   base + 136   the first real block ... blocks tile the arena ...
 *   end - 8      epilogue: a header of size 0, allocated
 *
 * The prologue and epilogue are allocated sentinels, so coalescing never
 * runs off either end.  The payload of the first block is 16-byte aligned
 * because 136 + 8 is a multiple of 16.
 */
#ifndef HAWK_ARENA_H
#define HAWK_ARENA_H

#include "block.h"
#include "registry.h"

struct heap;

struct arena {
  uint64_t magic;     /* ARENA_MAGIC while mapped */
  struct heap *heap;  /* owner; NULL while the arena waits in the empty cache */
  struct arena *next; /* the owner's arena list */
  struct arena *prev;
  char *frontier;        /* bytes at or past here were never handed out since the
                            kernel zeroed them (but for the last block's footer) */
  uint64_t cached_epoch; /* the decay's epoch when it entered the empty cache */
  /* When the block of DECAY_OLD_MIN bytes or more that starts in each slot
   * of 2^DECAY_BORN_SHIFT bytes began its life (decay_eighths; heap_old.c) */
  uint8_t born[ARENA_SIZE >> DECAY_BORN_SHIFT];
  uint32_t cached_ms; /* the coarse clock (ms) when it entered the empty cache */
};

#define ARENA_MAGIC           0x6177686b6172656eull
#define ARENA_PROLOGUE_OFFSET ((size_t)120)
#define ARENA_FIRST_OFFSET    ((size_t)136)
#define ARENA_EPILOGUE_OFFSET (ARENA_SIZE - BLOCK_HEADER)
/* The size of the one free block of an empty arena. */
#define ARENA_SPAN (ARENA_EPILOGUE_OFFSET - ARENA_FIRST_OFFSET)

static inline struct arena *arena_of(const void *p) {
  return (struct arena *)((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1));
}
static inline block *arena_prologue(const struct arena *a) {
  return (block *)((char *)a + ARENA_PROLOGUE_OFFSET);
}
static inline block *arena_first(const struct arena *a) {
  return (block *)((char *)a + ARENA_FIRST_OFFSET);
}
static inline block *arena_epilogue(const struct arena *a) {
  return (block *)((char *)a + ARENA_EPILOGUE_OFFSET);
}
/* The index of the slot of its arena's born that block b starts in. */
static inline size_t arena_born_slot(const block *b) {
  return ((uintptr_t)b & (ARENA_SIZE - 1)) >> DECAY_BORN_SHIFT;
}

/* Whether p could be the payload of a block of a (bounds only). */
static inline int arena_holds_payload(const struct arena *a, const void *p) {
  return (const char *)p >= (const char *)arena_first(a) + BLOCK_HEADER &&
         (const char *)p < (const char *)arena_epilogue(a);
}

/* Whether payload address p lies past an arena's head, where a payload
 * can: its header, 8 bytes before it, is then inside the arena too. */
static inline int arena_past_head(const void *p) {
  return ((uintptr_t)p & (ARENA_SIZE - 1)) >= ARENA_FIRST_OFFSET + BLOCK_HEADER;
}

/* The fast half of a payload link's check: next is a payload address
 * (16-byte aligned, as p is) in the arena of the payload p it was read
 * from, past the arena's head (an arena is mapped whole, so no registry
 * lookup).  NULL and links to other arenas take arena_link_ok. */
static inline int arena_link_near(const void *p, const void *next) {
  return (((uintptr_t)next ^ (uintptr_t)p) & ~(uintptr_t)(ARENA_SIZE - HAWK_ALIGN)) == 0 &&
         arena_past_head(next);
}

/* Whether p, an address read from memory, may be the payload of an arena
 * block: 16-byte aligned, past the head of an arena the registry vouches
 * for. */
static inline int arena_payload_at(const void *p) {
  return arena_past_head(p) && registry_arena_at(p, 0);
}

/* Whether a payload link next, read from the payload at p (a thread
 * cache's list, a heap's remote list), may be followed: NULL, near
 * (arena_link_near), or a payload of another arena (arena_payload_at). */
static inline int arena_link_ok(const void *p, const void *next) {
  return next == NULL || likely(arena_link_near(p, next)) || arena_payload_at(next);
}

/* The arena after a in its heap's list, or NULL when a's header is not
 * sound: an overflow past the last block of the arena just below a in
 * memory (a new arena is usually mapped right below the last) runs over
 * a's header, its magic first, and no walk follows the link it may have
 * overwritten (hawk_check reports the header). */
static inline struct arena *arena_next(const struct arena *a) {
  return a->magic == ARENA_MAGIC ? a->next : NULL;
}

static inline struct heap *arena_heap(const struct arena *a) {
  return __atomic_load_n(&a->heap, __ATOMIC_ACQUIRE);
}

/* Gives heap an arena laid out as one free block (not yet listed), its
 * chunk marked kind: a CHUNK_ARENA from the cache of empty arenas, or
 * freshly mapped; a CHUNK_HEAP_ARENA (a created heap's) always freshly
 * mapped.  Returns 0 or an errno value. */
HAWK_INTERNAL int arena_create_kind(struct heap *heap, enum chunk_kind kind, struct arena **out);

/* arena_create_kind for a default heap (CHUNK_ARENA). */
HAWK_INTERNAL int arena_create(struct heap *heap, struct arena **out);

/* Takes back an arena that became empty and was detached from its heap:
 * keeps it in the cache, or unmaps it (a created heap's always).  Call with
 * no lock held. */
HAWK_INTERNAL void arena_release(struct arena *a);

/* Unmaps every cached empty arena; returns how many. */
HAWK_INTERNAL size_t arena_cache_flush(void);

/* Unmaps the cached empty arenas that have waited for a whole period by
 * the decay's epoch e (decay.h); returns how many. */
HAWK_INTERNAL size_t arena_cache_decay(uint64_t e);

/* Number of arenas in the cache. */
HAWK_INTERNAL size_t arena_cache_count(void);

/* Whether the cache's lock could be taken now (taken and given at once):
 * not while this thread holds it (stats_lockable). */
HAWK_INTERNAL int arena_cache_lockable(void);

/* For arena a, just taken from the cache of empty arenas: if it waited
 * there ARENA_CACHE_CLEAN_EIGHTHS of the decay's period and takes the
 * footprint past its peak, gives its pages past the first back, clears the
 * rest of that page and puts its frontier where a new arena's is; returns
 * 1 then, else 0 with a as it was (arena_clean.c). */
HAWK_INTERNAL int arena_take_clean(struct arena *a);

/* Sets how many empty arenas the cache keeps (ARENA_CACHE_MAX at start;
 * SIZE_MAX: every one) and unmaps those over the new limit at once. */
HAWK_INTERNAL void arena_cache_set_limit(size_t limit);

/* How many empty arenas the cache keeps. */
HAWK_INTERNAL size_t arena_cache_limit(void);

/* Where the frontier must be once a block of size bytes at b is handed out:
 * past the block and the header and links that a split may write right
 * after it, at most the epilogue. */
static inline char *arena_used_end(const struct arena *a, const block *b, size_t size) {
  char *end = (char *)b + size + BLOCK_MIN, *limit = (char *)arena_epilogue(a);
  return end < limit ? end : limit;
}

/* Whether size bytes at block b end below its arena's frontier: memory the
 * heap has used already, whose pages were touched. */
static inline int arena_below_frontier(const block *b, size_t size) {
  return arena_used_end(arena_of(b), b, size) <= arena_of(b)->frontier;
}

/* Moves the frontier to arena_used_end of a block handed out at b with size
 * bytes. */
HAWK_INTERNAL void arena_mark_used(struct arena *a, const block *b, size_t size);

/* Visits every block from the first to the epilogue, checking the layout
 * invariants of block.h as it goes; each problem is written to stderr.
 * Returns the number of problems. */
HAWK_INTERNAL int arena_walk(const struct arena *a, void (*visit)(void *ctx, const block *b),
                             void *ctx);

/* Checks the cached arenas (each must be empty); returns problems found. */
HAWK_INTERNAL int arena_cache_check(void);

/* Locks taken around fork (see api.c). */
HAWK_INTERNAL void arena_cache_lock(void);
HAWK_INTERNAL void arena_cache_unlock(void);
HAWK_INTERNAL void arena_cache_reset_lock(void);

#endif /* HAWK_ARENA_H */
