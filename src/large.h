/* large.h - blocks that get a mapping of their own.
 *
 *   base (aligned to ARENA_SIZE or more)
 *   +---------------------+ ... +--------+--------------------------+
 *   | struct large_header |     | header | payload ...              |
 *   +---------------------+ ... +--------+--------------------------+
 *                                        ^ base + payload_off
 *
 * The block header before the payload carries BLOCK_LARGE | BLOCK_ALLOC, so
 * every payload has the same 8-byte header whatever its origin.  Mappings
 * start on a chunk boundary so the registry can mark their chunks.
 */
#ifndef HAWK_LARGE_H
#define HAWK_LARGE_H

#include "block.h"

struct large_header {
  uint64_t magic;
  size_t map_len;                   /* bytes mapped, a multiple of the page size */
  size_t payload_off;               /* payload - base */
  struct large_header *next, *prev; /* the list of live large blocks */
};

#define LARGE_MAGIC 0x6877616b6c617267ull

/* Requests of at least this many bytes get a mapping of their own:
 * LARGE_THRESHOLD at start, moved by mallopt(M_MMAP_THRESHOLD) within
 * [0, LARGE_THRESHOLD_MAX].  Read without a lock on every path that
 * decides where a block goes. */
HAWK_INTERNAL extern size_t large_threshold;
static inline size_t large_threshold_now(void) {
  return __atomic_load_n(&large_threshold, __ATOMIC_RELAXED);
}

/* Sets the threshold; returns 0 (nothing changed) above LARGE_THRESHOLD_MAX. */
HAWK_INTERNAL int large_set_threshold(size_t n);

/* The freed mappings kept for reuse: how many and their bytes. */
HAWK_INTERNAL void large_spare_totals(uint64_t *count, uint64_t *bytes);

/* Maps a block of n bytes aligned to align; NULL if the OS refuses or the
 * size is impossible.  *dirty says whether the memory may be non-zero (a
 * reused mapping) rather than fresh from the kernel.  With zero set (calloc)
 * no spare is reused: a fresh mapping reads as zero without a byte written,
 * and its pages stay untouched until the program uses them, where a spare
 * would have to be cleared whole (docs/design.md). */
HAWK_INTERNAL void *large_alloc(size_t n, size_t align, int zero, int *dirty);

/* How many spare mappings are kept, read without the lock: a hint (0 when
 * there is surely nothing to unmap, for a caller that should not take the
 * lock for nothing). */
HAWK_INTERNAL extern size_t large_spares;
static inline size_t large_spares_now(void) {
  return __atomic_load_n(&large_spares, __ATOMIC_RELAXED);
}

/* large_alloc (not zeroed) from a spare mapping that holds n bytes
 * already, or NULL: no mapping grown, none made. */
HAWK_INTERNAL void *large_alloc_spare(size_t n, size_t align);

/* Unmaps the freed mappings kept for reuse; returns how many. */
HAWK_INTERNAL size_t large_spare_flush(void);

/* Unmaps the spare mappings kept for a whole period by the decay's epoch e
 * (decay.h); returns how many. */
HAWK_INTERNAL size_t large_spare_decay(uint64_t e);

/* Frees the large block at p (validated first; call names the function). */
HAWK_INTERNAL void large_free(void *p, const char *call);

/* Resizes to n bytes (n >= LARGE_THRESHOLD), with mremap: in place when the
 * address space after it is free, else by moving the pages.  Returns the new
 * payload, or NULL with the block unchanged. */
HAWK_INTERNAL void *large_resize(void *p, size_t n, const char *call);

/* Whether p, in a chunk marked CHUNK_FREED, is provably where a large
 * block's payload was: inside a spare mapping at its last payload, or
 * unmapped now and at an offset large_alloc gives payloads.  For misuse
 * reports only (takes the list lock, calls mincore). */
HAWK_INTERNAL int large_was_payload(const void *p);

/* The usable size of the large block at p. */
HAWK_INTERNAL size_t large_usable(void *p, const char *call);

/* Checks every live large block and the counters; returns the number of
 * problems. */
HAWK_INTERNAL int large_check(void);

/* Calls fn for every live large block, with the list locked. */
HAWK_INTERNAL void large_each(void (*fn)(void *ctx, const struct large_header *l), void *ctx);

HAWK_INTERNAL void large_lock(void);

/* Whether the large blocks' lock could be taken now (taken and given at
 * once): not while this thread holds it (stats_lockable). */
HAWK_INTERNAL int large_lockable(void);
HAWK_INTERNAL void large_unlock(void);
HAWK_INTERNAL void large_reset_lock(void);

#endif /* HAWK_LARGE_H */
