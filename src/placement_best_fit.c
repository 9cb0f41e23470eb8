/* placement_best_fit.c - one explicit free list, best fit.
 *
 * Every search looks at the whole list and takes the smallest block that is
 * big enough (an exact fit ends the search early): the least waste per
 * request, at the price of a full scan.
 */
#include "events.h"
#include "placement.h"

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

PLACEMENT_POLICY(placement_best_fit, "best-fit", single_list_insert, single_list_remove, bf_search,
                 single_list_verify);
