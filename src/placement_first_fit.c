/* placement_first_fit.c - the seed's policy: one explicit free list, first fit.
 *
 * Freed blocks go to the front of a single list (LIFO); a request takes the
 * first block in the list that is big enough.
 */
#include "events.h"
#include "placement.h"

static void ff_insert(struct freelists *fl, block *b) { list_push(fl, &fl->heads[0], b); }

static void ff_remove(struct freelists *fl, block *b) { list_unlink(fl, &fl->heads[0], b); }

static inline __attribute__((always_inline)) block *ff_search(struct freelists *fl, size_t size,
                                                              int seen) {
  size_t steps = 0;
  for (block *b = list_first(fl, fl->heads[0]); b; b = list_next(fl, b, &steps)) {
    if (seen) EVENTS_TELL(examined, fl, b, size);
    if (block_size(b) >= size) return b;
  }
  return NULL;
}

static block *ff_find(struct freelists *fl, size_t size) { return ff_search(fl, size, 0); }
static block *ff_find_seen(struct freelists *fl, size_t size) { return ff_search(fl, size, 1); }

static int ff_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                     void *ctx) {
  return list_verify(&fl->heads[0], fl->count, seen, ctx);
}

const struct placement placement_first_fit = {
    .name = "first-fit",
    .insert = ff_insert,
    .remove = ff_remove,
    .find = ff_find,
    .find_seen = ff_find_seen,
    .verify = ff_verify,
};
