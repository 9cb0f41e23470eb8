/* heap_used.c - heap_find_used: a free block in memory a heap has used
 * already, for a request that should add no new pages.  See heap.h.
 *
 * A rare path (a request for a mapping of its own that used memory may
 * hold: api.c, alloc_large), in a file of its own so that its code lies
 * outside the 64 KiB window of the code every process runs (the
 * Makefile's LIB_FIRST, tests/levels). */
#include "heap.h"
#include "placement_segregated.h"

/* Blocks looked at in each size class. */
#define USED_FIT_WALK 8

/* Whether free block b holds want bytes below its arena's frontier. */
static int used_fits(const block *b, size_t want) {
  return block_size(b) >= want && arena_below_frontier(b, want);
}

block *heap_find_used(struct heap *h, size_t want) {
  struct freelists *fl = &h->free;
  for (unsigned c = next_nonempty(fl, seg_class(want)); c < SIZE_CLASSES;
       c = next_nonempty(fl, c + 1)) {
    size_t steps = 0;
    block *b = list_first(fl, fl->heads[c]);
    for (unsigned seen = 0; b && seen < USED_FIT_WALK; b = list_next(fl, b, &steps), seen++)
      if (used_fits(b, want)) return b;
  }
  return NULL;
}
