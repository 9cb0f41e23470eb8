/* decay.h - free memory goes back to the OS once it has stayed free for a
 * period, without malloc_trim.
 *
 * Time is cut into epochs of at least HAWKALLOC_DECAY_MS milliseconds
 * (default DECAY_MS_DEFAULT; 0 turns the decay off).  Nobody watches the
 * clock: a heap reads it (decay_advance) once every DECAY_CHECK_OPS of its
 * locked operations, and the first reader to find a period gone since the
 * last advance moves the epoch on by one.  Two advances are therefore at
 * least a period apart, but for one case: while the heaps' arenas span
 * much more than the peak of bytes in use (free memory spread over arenas
 * the data never needed at once), the epoch also moves on after
 * DECAY_EPOCH_CHECKS clock checks (config.h), so that a busy program gives
 * that memory back without waiting for the clock.
 *
 * A free block of DECAY_BLOCK_MIN bytes or more carries the epoch it became
 * free in (its stamp, block.h).  When the epoch is E, a block stamped E - 2
 * or earlier became free before the advance to E - 1, which happened at
 * least a period before now: it has stayed free a whole period, and the
 * whole pages inside it go back to the OS (heap_give.c), its header, links,
 * stamp and footer staying where they are.  A block reused within the
 * period is never touched.  Given back, the block is stamped DECAY_CLEAN.
 *
 * The epoch's advance also starts what no heap operation reaches: the
 * other heaps' passes (without waiting for their locks), the empty arenas
 * and spare large mappings cached for longer than a period (unmapped), and
 * each thread's own cache lists that went unused for a period (given back
 * by the thread itself on its next slow path).  docs/design.md has the
 * reasoning and the costs.
 */
#ifndef HAWK_DECAY_H
#define HAWK_DECAY_H

#include "config.h"

/* The stamp of a free block whose inner pages were given back already. */
#define DECAY_CLEAN UINT64_MAX

struct decay_clock {
  uint64_t epoch;       /* starts at 2, so that epoch - 2 never wraps */
  uint64_t timed;       /* the advances a period apart (not those of
                           DECAY_EPOCH_CHECKS): the thread caches' and the
                           remote stacks' epochs */
  uint64_t advanced_ns; /* the coarse clock at the last advance */
  uint64_t period_ns;   /* HAWKALLOC_DECAY_MS in nanoseconds */
  uint64_t base_ns;     /* the coarse clock at the first check */
  uint64_t seen_ns;     /* the coarse clock at the last check (decay_advance) */
};

/* Whether the decay runs: HAWKALLOC_DECAY_MS is not 0, and the program is
 * not in debug mode (freed memory must keep its fill pattern there).  Set
 * once at start-up, before the first block exists. */
HAWK_INTERNAL extern int decay_on;
HAWK_INTERNAL extern struct decay_clock decay_clock;

/* Sets the period (ms; 0 turns the decay off); the first epoch starts at
 * the first decay_advance (the clock is not read before). */
HAWK_INTERNAL void decay_init(uint64_t period_ms);

/* The current epoch. */
static inline uint64_t decay_epoch(void) {
  return __atomic_load_n(&decay_clock.epoch, __ATOMIC_RELAXED);
}

/* The epochs that moved on because a period had passed: a thread cache's
 * lists and a heap's remote stacks are looked at once per such epoch, so
 * that what a busy thread keeps in hand is judged by time alone. */
static inline uint64_t decay_timed_epoch(void) {
  return __atomic_load_n(&decay_clock.timed, __ATOMIC_RELAXED);
}

/* The time of the last clock check since the first, in eighths of a
 * period, modulo 256 (0 until then): what a block's life is measured in
 * (heap_old.c), without a clock read of its own. */
static inline uint8_t decay_eighths(void) {
  uint64_t seen = __atomic_load_n(&decay_clock.seen_ns, __ATOMIC_RELAXED);
  uint64_t base = __atomic_load_n(&decay_clock.base_ns, __ATOMIC_RELAXED);
  return seen > base ? (uint8_t)((seen - base) / (decay_clock.period_ns / 8 | 1)) : 0;
}

/* Whether something stamped with epoch stamp has stayed free for a whole
 * period by epoch e (DECAY_CLEAN never has: it is given back already). */
static inline int decay_due(uint64_t stamp, uint64_t e) { return stamp <= e - 2; }

/* Reads the clock and moves the epoch on if a period has passed since it
 * last moved, or DECAY_EPOCH_CHECKS calls were made since while the heaps'
 * memory is spread (above); returns 1 if this call moved it. */
HAWK_INTERNAL int decay_advance(void);

#endif /* HAWK_DECAY_H */
