/* placement_segregated.c - the default policy: first fit over size classes.
 *
 * Free blocks are kept in one list per size class; a bitmap marks the
 * non-empty lists.  Classes below 1 KiB are exact (one per 16 bytes), so any
 * block of the request's own class fits; above 1 KiB each power of two is
 * cut in four ranges, and the request's own list is searched first fit
 * before the bitmap gives the next non-empty class, whose blocks all fit.
 */
#include "placement.h"

#include "report.h"

#define EXACT_LIMIT ((size_t)1024)

/* The class of a block of size bytes. */
static unsigned size_class(size_t size) {
  if (size < EXACT_LIMIT) return (unsigned)(size >> 4);
  unsigned log2 = 63u - (unsigned)__builtin_clzll(size);
  unsigned c = 64 + (log2 - 10) * 4 + (unsigned)((size >> (log2 - 2)) & 3);
  return c < SIZE_CLASSES ? c : SIZE_CLASSES - 1;
}

static void seg_insert(struct freelists *fl, block *b) {
  unsigned c = size_class(block_size(b));
  list_push(fl, &fl->heads[c], b);
  fl->bitmap[c / 64] |= (uint64_t)1 << (c % 64);
}

static void seg_remove(struct freelists *fl, block *b) {
  unsigned c = size_class(block_size(b));
  list_unlink(fl, &fl->heads[c], b);
  if (fl->heads[c] == NULL) fl->bitmap[c / 64] &= ~((uint64_t)1 << (c % 64));
}

/* The first non-empty class at or after c, or SIZE_CLASSES. */
static unsigned next_nonempty(const struct freelists *fl, unsigned c) {
  for (unsigned w = c / 64; w < SIZE_CLASSES / 64; w++) {
    uint64_t m = fl->bitmap[w];
    if (w == c / 64) m &= ~(uint64_t)0 << (c % 64);
    if (m) return w * 64 + (unsigned)__builtin_ctzll(m);
  }
  return SIZE_CLASSES;
}

static block *seg_find(struct freelists *fl, size_t size) {
  unsigned c = size_class(size);
  for (block *b = fl->heads[c]; b; b = free_next(b))
    if (block_size(b) >= size) return b;
  if (c + 1 >= SIZE_CLASSES) return NULL;
  unsigned n = next_nonempty(fl, c + 1);
  return n < SIZE_CLASSES ? fl->heads[n] : NULL;
}

struct seg_verify_ctx {
  void (*seen)(void *ctx, const block *b);
  void *ctx;
  unsigned cls;
  int problems;
};

/* Checks that a listed block sits in its own class, then passes it on. */
static void seg_seen(void *ctx, const block *b) {
  struct seg_verify_ctx *v = ctx;
  if (size_class(block_size(b)) != v->cls) {
    report_problem("check: listed block", b, "is in the wrong size-class list");
    v->problems++;
  }
  v->seen(v->ctx, b);
}

static int seg_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                      void *ctx) {
  struct seg_verify_ctx v = {seen, ctx, 0, 0};
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

const struct placement placement_segregated = {
    .name = "segregated",
    .insert = seg_insert,
    .remove = seg_remove,
    .find = seg_find,
    .verify = seg_verify,
};
