/* placement_best_fit.c - one explicit free list, best fit.
 *
 * Every search looks at the whole list and takes the smallest block that is
 * big enough (an exact fit ends the search early): the least waste per
 * request, at the price of a full scan.
 */
#include "events.h"
#include "placement.h"

static void bf_insert(struct freelists *fl, block *b) { list_push(fl, &fl->heads[0], b); }

static void bf_remove(struct freelists *fl, block *b) { list_unlink(fl, &fl->heads[0], b); }

static inline __attribute__((always_inline)) block *bf_search(struct freelists *fl, size_t size,
                                                              int seen) {
  block *best = NULL;
  size_t steps = 0;
  for (block *b = list_first(fl, fl->heads[0]); b; b = list_next(fl, b, &steps)) {
    if (seen) EVENTS_TELL(examined, fl, b, size);
    size_t s = block_size(b);
    if (s < size || (best && s >= block_size(best))) continue;
    best = b;
    if (s == size) break;
  }
  return best;
}

static block *bf_find(struct freelists *fl, size_t size) { return bf_search(fl, size, 0); }
static block *bf_find_seen(struct freelists *fl, size_t size) { return bf_search(fl, size, 1); }

static int bf_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                     void *ctx) {
  return list_verify(&fl->heads[0], fl->count, seen, ctx);
}

const struct placement placement_best_fit = {
    .name = "best-fit",
    .insert = bf_insert,
    .remove = bf_remove,
    .find = bf_find,
    .find_seen = bf_find_seen,
    .verify = bf_verify,
};
