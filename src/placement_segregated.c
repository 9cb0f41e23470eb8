/* placement_segregated.c - the default policy: good fit over size classes.
 *
 * Free blocks are kept in one list per size class; a bitmap marks the
 * non-empty lists.  The classes, the list updates and the search are inline
 * in placement_segregated.h, which the heap calls directly; this file holds
 * the policy's table (for the heap's other paths and the recorder's twin)
 * and its checker.
 */
#include "placement_segregated.h"
#include "report.h"

static void seg_insert_listed(struct freelists *fl, block *b) { seg_insert(fl, b); }
static HAWK_HOT void seg_remove_listed(struct freelists *fl, block *b) { seg_remove(fl, b); }

/* The search of placement_segregated.h, as the policy table's find (the
 * class it found the block in is the heap's business only). */
HAWK_HOT block *seg_find(struct freelists *fl, size_t size, unsigned *cls) {
  return seg_search_in(fl, size, 0, cls);
}

static inline __attribute__((always_inline)) block *seg_search(struct freelists *fl, size_t size,
                                                               int observed) {
  unsigned c;
  return observed ? seg_search_in(fl, size, 1, &c) : seg_find(fl, size, &c);
}

struct seg_verify_ctx {
  void (*seen)(void *ctx, const block *b);
  void *ctx;
  unsigned cls;
  int problems;
  const struct freelists *fl;
};

/* Checks that a listed block sits in its own class, and not above its
 * class's fit bound, then passes it on. */
static void seg_seen(void *ctx, const block *b) {
  struct seg_verify_ctx *v = ctx;
  if (seg_class(block_size(b)) != v->cls) {
    report_problem("check: listed block", b, "is in the wrong size-class list");
    v->problems++;
  } else if (v->cls >= SEG_RANGE_FIRST &&
             block_size(b) > v->fl->fit_bound[v->cls - SEG_RANGE_FIRST]) {
    report_problem("check: listed block", b, "is bigger than its size class's fit bound");
    v->problems++;
  }
  v->seen(v->ctx, b);
}

static int seg_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                      void *ctx) {
  struct seg_verify_ctx v = {seen, ctx, 0, 0, fl};
  for (unsigned c = 0; c < SIZE_CLASSES; c++) {
    int bit = (fl->bitmap[c / 64] >> (c % 64)) & 1;
    if (bit != (fl->heads[c] != NULL)) {
      report_problem("check: size class bitmap", &fl->bitmap[c / 64], "disagrees with a list");
      v.problems++;
    }
    v.cls = c;
    v.problems += list_verify(&fl->heads[c], fl->count, seg_seen, &v);
  }
  return v.problems;
}

/* The search runs on every refill and every medium-sized malloc: with the
 * code of every call, in .text.hot (config.h). */
static HAWK_HOT block *placement_segregated_find(struct freelists *fl, size_t size);
/* The recorder's twin only: compiled for size, out of the way of the code
 * every process runs (the Makefile's LIB_FIRST, tests/levels). */
static HAWK_COLD block *placement_segregated_find_seen(struct freelists *fl, size_t size);

PLACEMENT_POLICY(placement_segregated, "segregated", seg_insert_listed, seg_remove_listed,
                 seg_search, seg_verify);
