/* heap_check.c - heap_check: every invariant of one heap, verified by a
 * walk of its arenas and of its free lists.  See heap.h. */
#include "decay.h"
#include "heap.h"
#include "registry.h"
#include "report.h"

/* What the walk and the list verification found in one heap. */
struct tally {
  const struct heap *heap;
  uint64_t alloc_bytes, walk_free, walk_free_bytes, listed, listed_bytes;
  int problems;
};

static void tally_walk(void *ctx, const block *b) {
  struct tally *t = ctx;
  if (block_is_alloc(b)) {
    t->alloc_bytes += block_size(b);
  } else {
    t->walk_free++;
    t->walk_free_bytes += block_size(b);
  }
}

/* A listed block must lie in an arena of this heap; one the decay watches
 * carries a stamp: an epoch that has begun, or DECAY_CLEAN. */
static void tally_listed(void *ctx, const block *b) {
  struct tally *t = ctx;
  t->listed++;
  t->listed_bytes += block_size(b);
  if (registry_lookup(b) != t->heap->arena_kind || arena_heap(arena_of(b)) != t->heap) {
    report_problem("check: listed block", b, "is not in an arena of this heap");
    t->problems++;
  }
  uint64_t stamp = decay_on && block_size(b) >= DECAY_BLOCK_MIN ? free_stamp(b) : DECAY_CLEAN;
  if (stamp != DECAY_CLEAN && (stamp < 2 || stamp > decay_epoch())) {
    report_problem("check: listed block", b, "carries no decay stamp (or a damaged one)");
    t->problems++;
  }
}

/* Reports a counter that disagrees with what the walk found. */
static int mismatch(const char *what, const void *where, uint64_t kept, uint64_t found) {
  if (kept == found) return 0;
  report_problem(what, where, "counter disagrees with the walk");
  return 1;
}

int heap_check_locked(struct heap *h) {
  struct tally t = {.heap = h};
  size_t n = 0;
  for (struct arena *a = h->arenas; a; a = a->next, n++) {
    if (a->magic != ARENA_MAGIC || arena_heap(a) != h || registry_lookup(a) != h->arena_kind ||
        (a->next && a->next->prev != a)) {
      report_problem("check: arena", a, "header, owner, registry entry or links damaged");
      t.problems++;
      break;
    }
    t.problems += arena_walk(a, tally_walk, &t);
  }
  t.problems += mismatch("check: heap arena count", h, h->arena_count, n);
  t.problems += h->policy->verify(&h->free, tally_listed, &t);
  t.problems += mismatch("check: free blocks walked vs listed", h, t.walk_free, t.listed);
  t.problems += mismatch("check: free list count", h, h->free.count, t.listed);
  t.problems += mismatch("check: free list bytes", h, h->free.bytes, t.listed_bytes);
  t.problems += mismatch("check: bytes in use", h, h->in_use, t.alloc_bytes);
  return t.problems;
}

int heap_check(struct heap *h) {
  lock_take(&h->lock);
  int problems = heap_check_locked(h);
  lock_give(&h->lock);
  return problems;
}
