/* placement_segregated.c - the default policy: good fit over size classes.
 *
 * Free blocks are kept in one list per size class; a bitmap marks the
 * non-empty lists.  Classes below 1 KiB are exact (one per 16 bytes), so any
 * block of the request's own class fits; above 1 KiB each power of two is
 * cut in four ranges, and the request's own list is searched before the
 * bitmap gives the next non-empty class, whose blocks all fit.  In either
 * list the smallest of the first few fitting blocks wins (good_fit).
 */
#include "placement_segregated.h"
#include "events.h"

#include "report.h"

static void seg_insert_listed(struct freelists *fl, block *b) { seg_insert(fl, b); }
static HAWK_HOT void seg_remove_listed(struct freelists *fl, block *b) { seg_remove(fl, b); }

/* The first non-empty class at or after c, or SIZE_CLASSES. */
static unsigned next_nonempty(const struct freelists *fl, unsigned c) {
  for (unsigned w = c / 64; w < SIZE_CLASSES / 64; w++) {
    uint64_t m = fl->bitmap[w];
    if (w == c / 64) m &= ~(uint64_t)0 << (c % 64);
    if (m) return w * 64 + (unsigned)__builtin_ctzll(m);
  }
  return SIZE_CLASSES;
}

/* Good fit: of the first SEG_FIT_CANDIDATES blocks (config.h) of a list
 * that are big enough, the smallest (an exact fit at once).  Looking at a
 * few more than the first cuts the holes that splits leave behind on traces
 * of many sizes (docs/design.md has the measurements), and the walk stays
 * short. */

static inline __attribute__((always_inline)) block *good_fit(const struct freelists *fl, block *b,
                                                             size_t size, int observed) {
  b = list_first(fl, b);
  block *best = NULL;
  size_t best_size = SIZE_MAX, steps = 0;
  for (unsigned seen = 0; b && seen < SEG_FIT_CANDIDATES; b = list_next(fl, b, &steps)) {
    if (observed) EVENTS_TELL(examined, fl, b, size);
    size_t s = block_size(b);
    if (s < size) continue;
    if (s == size) return b;
    seen++;
    if (s < best_size) best = b, best_size = s;
  }
  return best;
}

/* The head of exact class c (all its blocks fit), told as examined. */
static inline __attribute__((always_inline)) block *
exact_head(const struct freelists *fl, unsigned c, size_t size, int observed) {
  block *b = list_first(fl, fl->heads[c]);
  if (observed && b) EVENTS_TELL(examined, fl, b, size);
  return b;
}

/* good_fit in the request's own range class c, which may hold blocks too
 * small for it: not walked when its fit bound says none fits, and the
 * bound lowered when a walk finds none (seg_fit_bound).  The same block
 * is found either way; the search a recorder observes walks as it always
 * did, telling of every block it looks at. */
static inline __attribute__((always_inline)) block *own_range_fit(struct freelists *fl, unsigned c,
                                                                  size_t size, int observed) {
  if (observed) return good_fit(fl, fl->heads[c], size, observed);
  if (*seg_fit_bound(fl, c) < size) return NULL;
  block *b = good_fit(fl, fl->heads[c], size, observed);
  if (b == NULL) *seg_fit_bound(fl, c) = (uint32_t)(size - HAWK_ALIGN);
  return b;
}

static inline __attribute__((always_inline)) block *seg_search(struct freelists *fl, size_t size,
                                                               int observed) {
  unsigned c = seg_class(size);
  /* The blocks of an exact class all have its size: the head will do. */
  block *b = c < SEG_EXACT_LIMIT / HAWK_ALIGN ? exact_head(fl, c, size, observed)
                                              : own_range_fit(fl, c, size, observed);
  if (b || c + 1 >= SIZE_CLASSES) return b;
  unsigned n = next_nonempty(fl, c + 1);
  if (n >= SIZE_CLASSES) return NULL;
  return n < SEG_EXACT_LIMIT / HAWK_ALIGN ? exact_head(fl, n, size, observed)
                                          : good_fit(fl, fl->heads[n], size, observed);
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

PLACEMENT_POLICY(placement_segregated, "segregated", seg_insert_listed, seg_remove_listed,
                 seg_search, seg_verify);
