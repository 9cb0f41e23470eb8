/* heap_give.c - a heap's free pages going back to the OS: the decay's pass
 * over the blocks that stayed free for a period, malloc_trim's walk over
 * every free block, and the empty arenas a heap gives up when the OS
 * refuses memory.  See heap.h and docs/design.md, "The decay".
 *
 * Linked right after heap.c, inside the 64 KiB window of the code every
 * process runs (the Makefile's LIB_FIRST): a heap's 64th locked operation
 * reads the decay's clock here (decay_tick_locked). */
#include "heap_locked.h"

#include "counters.h"
#include "debug.h"
#include "os.h"
#include "placement_segregated.h"

/* heap_discard_inside's, counting only the pages that were resident when
 * resident_only is set. */
static size_t discard_inside(const block *b, size_t size, const void *from, size_t n,
                             int resident_only) {
  size_t page = os_page_size();
  uintptr_t lo = (uintptr_t)b + BLOCK_MIN;               /* past the header, links, stamp */
  uintptr_t hi = (uintptr_t)b + size - sizeof(uint64_t); /* before the footer */
  if ((uintptr_t)from > lo) lo = (uintptr_t)from;
  if ((uintptr_t)from + n < hi) hi = (uintptr_t)from + n;
  uintptr_t start = align_up(lo, page);
  uintptr_t end = hi & ~(uintptr_t)(page - 1);
  if (end <= start) return 0;
  size_t was = resident_only ? os_resident((void *)start, end - start) : end - start;
  return os_discard((void *)start, end - start) == 0 ? was : 0;
}

size_t heap_discard_inside(const block *b, size_t size, const void *from, size_t n) {
  return discard_inside(b, size, from, n, 0);
}

/* Releases the whole pages inside one free block (its header, links, stamp
 * and footer stay); returns the bytes released. */
static size_t discard_free_block(const block *b) {
  return heap_discard_inside(b, block_size(b), b, block_size(b));
}

/* Whether free block b's inner pages were given back already (and nothing
 * made them dirty since: any merge or cut stamps the block anew). */
static int given_back(const block *b) {
  return decay_on && block_size(b) >= DECAY_BLOCK_MIN && free_stamp(b) == DECAY_CLEAN;
}

/* The decay's pass (decay.h): gives back the inner pages of the free blocks
 * that have stayed free for a whole period by epoch e, at most
 * DECAY_PASS_MAX of them; the next clock check goes on from there.  Only
 * the lists that can hold blocks of DECAY_BLOCK_MIN bytes are walked (all
 * of a single-list policy's list). */
static void decay_pass_locked(struct heap *h, uint64_t e) {
  size_t budget = DECAY_PASS_MAX;
  uint64_t purged = 0;
  unsigned c = h->policy == &placement_segregated ? seg_class(DECAY_BLOCK_MIN) : 0;
  size_t steps = 0; /* links followed in all the lists: a cycle is reported */
  h->decay_more = 0;
  for (; c < SIZE_CLASSES && !h->decay_more; c++) {
    for (block *b = list_first(&h->free, h->free.heads[c]); b; b = list_next(&h->free, b, &steps)) {
      if (block_size(b) < DECAY_BLOCK_MIN || !decay_due(free_stamp(b), e)) continue;
      if (budget-- == 0) {
        h->decay_more = 1;
        break;
      }
      purged += discard_free_block(b);
      free_set_stamp(b, DECAY_CLEAN);
    }
  }
  if (!h->decay_more) h->decay_done = e - 2;
  counters_purged(purged);
}

/* Runs the pass if it has something to do: a block stamped after the last
 * complete pass may have stayed free a period by now, or the last pass
 * stopped at its bound. */
static void decay_pass_if_due_locked(struct heap *h) {
  uint64_t e = decay_epoch();
  if (h->decay_more || (h->decay_newest > h->decay_done && decay_due(h->decay_done + 1, e)))
    decay_pass_locked(h, e);
}

__attribute__((noinline)) int decay_tick_locked(struct heap *h) {
  h->decay_ops = 0;
  int moved = decay_advance();
  decay_pass_if_due_locked(h);
  return moved;
}

HAWK_COLD size_t heap_release_empty(struct heap *h) {
  struct releases r;
  r.count = 0;
  size_t n = 0;
  for (;;) {
    lock_take(&h->lock);
    drain_locked(h, &r);
    struct arena *a = h->arenas;
    while (a && r.count < sizeof r.arena / sizeof r.arena[0]) {
      struct arena *next = arena_next(a);
      block *b = arena_first(a);
      /* A damaged header's links are not written through (detach_locked). */
      if (a->magic == ARENA_MAGIC && !block_is_alloc(b) && block_size(b) == ARENA_SPAN) {
        placement_remove(h->policy, &h->free, b);
        detach_locked(h, a);
        r.arena[r.count++] = a;
      }
      a = next;
    }
    int more = a != NULL;
    n += r.count;
    unlock_and_release(h, &r);
    if (!more) return n;
  }
}

HAWK_COLD size_t heap_trim(struct heap *h) {
  size_t released = 0;
  if (debug_enabled) return 0; /* discarded pages would lose the free pattern */
  lock_take(&h->lock);
  for (struct arena *a = h->arenas; a; a = arena_next(a)) {
    for (block *b = arena_first(a); b < arena_epilogue(a); b = block_next(b)) {
      /* Pages are given back on a block's word: it must be a header we
       * wrote, for a block that ends inside the arena. */
      if (HAWK_CHECKS && (!block_header_ok(b) || block_size(b) < BLOCK_MIN ||
                          (char *)b + block_size(b) > (char *)arena_epilogue(a)))
        fail_locked(h, NULL, "malloc_trim", block_payload(b),
                    "heap corruption (a block's header was overwritten)");
      if (block_is_alloc(b) || given_back(b)) continue;
      /* A block the decay cannot mark as given back (below DECAY_BLOCK_MIN,
       * or no decay) counts only the pages it still had: a second trim
       * finds them gone, and says so. */
      int marked = decay_on && block_size(b) >= DECAY_BLOCK_MIN;
      released += discard_inside(b, block_size(b), b, block_size(b), !marked);
      stamp_locked(h, b, block_size(b), DECAY_CLEAN);
    }
  }
  HAWK_ASSERT_EXPENSIVE(heap_check_locked(h) == 0);
  lock_give(&h->lock);
  counters_purged(released);
  return released;
}

void heap_decay_try(struct heap *h) {
  if (!lock_try(&h->lock)) return; /* its owner will see to it */
  struct releases r;
  r.count = 0;
  drain_locked(h, &r);
  decay_pass_if_due_locked(h);
  unlock_and_release(h, &r);
}
