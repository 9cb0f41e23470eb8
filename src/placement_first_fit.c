/* placement_first_fit.c - the seed's policy: one explicit free list, first fit.
 *
 * Freed blocks go to the front of a single list (LIFO); a request takes the
 * first block in the list that is big enough.
 */
#include "events.h"
#include "placement.h"

static inline __attribute__((always_inline)) block *ff_search(struct freelists *fl, size_t size,
                                                              int seen) {
  size_t steps = 0;
  for (block *b = list_first(fl, fl->heads[0]); b; b = list_next(fl, b, &steps)) {
    if (seen) EVENTS_TELL(examined, fl, b, size);
    if (block_size(b) >= size) return b;
  }
  return NULL;
}

PLACEMENT_POLICY(placement_first_fit, "first-fit", single_list_insert, single_list_remove,
                 ff_search, single_list_verify);
