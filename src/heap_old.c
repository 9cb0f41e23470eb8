/* heap_old.c - old blocks: a block of DECAY_OLD_MIN bytes or more that
 * stayed in use for half a period of the decay gives its pages back as it
 * is freed, within a budget per heap and period, and not while the heap
 * keeps handing that memory out again.  See heap.h and docs/design.md,
 * "The decay".
 *
 * A block's life is measured in eighths of the decay's period from the
 * clock's last check (decay_eighths: no clock read of its own), noted in
 * its arena's born slot when it is handed out or grows in place.  Only
 * programs with blocks this big run this code, so it lies outside the 64
 * KiB window of the code every process runs (the Makefile's LIB_FIRST,
 * tests/levels). */
#include "counters.h"
#include "decay.h"
#include "heap.h"

/* The periods a heap stops giving back at once when it hands out again
 * memory it gave back at once (heap_old_born): at first, and at most. */
#define OLD_PAUSE_FIRST 8
#define OLD_PAUSE_MOST  64

void heap_old_born(struct heap *h, const void *p) {
  const block *b = block_of_payload(p);
  size_t size = block_size(b);
  if (!decay_on || size < DECAY_OLD_MIN) return;
  arena_of(b)->born[arena_born_slot(b)] = decay_eighths();
  /* Handed out again within a period, from where this heap gave back at
   * once: when that adds up to a quarter of the budget, the program frees
   * and allocates old blocks again and again, faulting their pages in each
   * time.  The heap stops for a while, twice as long each time. */
  uint64_t now = decay_timed_epoch();
  if ((uintptr_t)b < h->old_hi && (uintptr_t)b + size > h->old_lo && now <= h->old_epoch + 1 &&
      (h->old_reused += size) >= DECAY_OLD_BUDGET / 4) {
    uint64_t len = h->old_pause_len ? h->old_pause_len : OLD_PAUSE_FIRST;
    h->old_pause = now + len;
    h->old_pause_len = len * 2 > OLD_PAUSE_MOST ? OLD_PAUSE_MOST : len * 2;
    h->old_lo = h->old_hi = 0;
    h->old_reused = 0;
  }
}

/* Whether the block at b of arena a, size bytes, freed now, stayed in use
 * for half a period or more (DECAY_OLD_EIGHTHS), the heap is not pausing,
 * and its budget for this timed epoch still holds it, which it then takes. */
static int old_enough(struct heap *h, const struct arena *a, const block *b, size_t size) {
  if ((uint8_t)(decay_eighths() - a->born[arena_born_slot(b)]) < DECAY_OLD_EIGHTHS) return 0;
  uint64_t now = decay_timed_epoch();
  if (now < h->old_pause) return 0;
  if (h->old_epoch != now) { /* the period's first: where and how much start anew */
    h->old_epoch = now;
    h->old_bytes = h->old_reused = 0;
    h->old_lo = h->old_hi = 0;
  }
  if (h->old_bytes + size > DECAY_OLD_BUDGET) return 0;
  h->old_bytes += size;
  return 1;
}

int heap_old_give_back(struct heap *h, const block *b, size_t size, const block *from, size_t n) {
  if (!old_enough(h, arena_of(from), from, n)) return 0;
  size_t gone = heap_discard_inside(b, size, from, n);
  if (gone == 0) return 0; /* as it was */
  counters_purged(gone);
  /* Where the period's give-backs lie (heap_old_born watches it). */
  if (h->old_hi == 0 || (uintptr_t)from < h->old_lo) h->old_lo = (uintptr_t)from;
  if ((uintptr_t)from + n > h->old_hi) h->old_hi = (uintptr_t)from + n;
  return 1;
}
