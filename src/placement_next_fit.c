/* placement_next_fit.c - one explicit free list, next fit.
 *
 * Like first fit, but each search starts where the previous one stopped
 * (the rover) and wraps around, so the small blocks left at the front of
 * the list are not searched over and over.
 */
#include "events.h"
#include "placement.h"

#include "report.h"

static void nf_remove(struct freelists *fl, block *b) {
  if (fl->rover == b) fl->rover = free_next(b);
  single_list_remove(fl, b);
}

static inline __attribute__((always_inline)) block *nf_search(struct freelists *fl, size_t size,
                                                              int seen) {
  block *start = list_first(fl, fl->rover ? fl->rover : fl->heads[0]);
  size_t steps = 0; /* the two walks together visit each block once */
  for (block *b = start; b; b = list_next(fl, b, &steps)) {
    if (seen) EVENTS_TELL(examined, fl, b, size);
    if (block_size(b) >= size) return fl->rover = b;
  }
  for (block *b = list_first(fl, fl->heads[0]); b && b != start; b = list_next(fl, b, &steps)) {
    if (seen) EVENTS_TELL(examined, fl, b, size);
    if (block_size(b) >= size) return fl->rover = b;
  }
  return NULL;
}

struct nf_verify_ctx {
  void (*seen)(void *ctx, const block *b);
  void *ctx;
  const block *rover;
  int rover_seen;
};

static void nf_seen(void *ctx, const block *b) {
  struct nf_verify_ctx *v = ctx;
  if (b == v->rover) v->rover_seen = 1;
  v->seen(v->ctx, b);
}

static int nf_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                     void *ctx) {
  struct nf_verify_ctx v = {seen, ctx, fl->rover, 0};
  int problems = list_verify(&fl->heads[0], fl->count, nf_seen, &v);
  if (fl->rover && !v.rover_seen) {
    report_problem("check: next-fit rover", fl->rover, "is not on the free list");
    problems++;
  }
  return problems;
}

PLACEMENT_POLICY(placement_next_fit, "next-fit", single_list_insert, nf_remove, nf_search,
                 nf_verify);
