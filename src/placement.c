/* placement.c - the policy table and the list operations all policies share. */
#include "placement.h"

#include <string.h>

#include "registry.h"
#include "report.h"

static const struct placement *const policies[] = {
    &placement_segregated,
    &placement_first_fit,
    &placement_next_fit,
    &placement_best_fit,
};

const struct placement *placement_by_name(const char *name) {
  for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
    if (strcmp(policies[i]->name, name) == 0) return policies[i];
  return NULL;
}

void list_corrupt(const struct freelists *fl, const block *b) {
  if (fl->lock) lock_give(fl->lock); /* report_misuse holds no lock */
  report_misuse("unlink", block_payload(b),
                "heap corruption (free-list links overwritten: a write after free?)");
}

/* hawk_check's: compiled for size (HAWK_COLD), out of the way of the code
 * every process runs (tests/levels). */
HAWK_COLD int list_verify(block *const *head, size_t limit, void (*seen)(void *ctx, const block *b),
                          void *ctx) {
  int problems = 0;
  block *prev = NULL;
  size_t n = 0;
  for (block *b = *head; b; prev = b, b = free_next(b)) {
    if (!link_plausible(b)) {
      report_problem("check: free-list link", b, "points outside every arena");
      return problems + 1;
    }
    if (++n > limit) {
      report_problem("check: free list", head, "longer than the free block count (a cycle?)");
      return problems + 1;
    }
    if (!block_header_ok(b) || block_is_alloc(b) || block_is_large(b)) {
      report_problem("check: listed block", b, "is not a sound free block");
      return problems + 1; /* its links cannot be trusted */
    }
    if (free_prev(b) != prev) {
      report_problem("check: listed block", b, "prev link does not point at its predecessor");
      problems++;
    }
    seen(ctx, b);
  }
  return problems;
}

void single_list_insert(struct freelists *fl, block *b) { list_push(fl, &fl->heads[0], b); }

void single_list_remove(struct freelists *fl, block *b) { list_unlink(fl, &fl->heads[0], b); }

int single_list_verify(const struct freelists *fl, void (*seen)(void *ctx, const block *b),
                       void *ctx) {
  return list_verify(&fl->heads[0], fl->count, seen, ctx);
}
