/* counters.h - process-wide counters the core keeps outside any heap lock
 * (bytes mapped, footprint, large blocks, pages given back, the peak of
 * bytes in use); stats.c only reads and reports them. */
#ifndef HAWK_COUNTERS_H
#define HAWK_COUNTERS_H

#include "config.h"

struct global_counters {
  uint64_t mapped; /* bytes mapped for arenas and large blocks */
  uint64_t mapped_peak;
  uint64_t large_in_use; /* bytes of mappings of live large blocks */
  uint64_t large_blocks;
  uint64_t large_mallocs;
  uint64_t large_frees;
  uint64_t heaps_in_use; /* what the heaps told of their in_use (heap.c) */
  uint64_t in_use_peak;  /* highest heaps_in_use + large_in_use seen */
  uint64_t footprint;    /* arena bytes up to each frontier, plus large mappings */
  uint64_t footprint_peak;
  uint64_t purged; /* bytes of free pages inside arenas given back to the OS */
};

HAWK_INTERNAL extern struct global_counters counters;

/* Adds delta (may be negative) to the mapped bytes and follows the peak. */
HAWK_INTERNAL void counters_mapped(int64_t delta);

/* The footprint now. */
static inline uint64_t counters_footprint_now(void) {
  return __atomic_load_n(&counters.footprint, __ATOMIC_RELAXED);
}

/* The footprint's peak so far. */
static inline uint64_t counters_footprint_peak(void) {
  return __atomic_load_n(&counters.footprint_peak, __ATOMIC_RELAXED);
}

/* Adds delta (may be negative) to the footprint and follows its peak. */
HAWK_INTERNAL void counters_footprint(int64_t delta);

/* Adds bytes of free pages given back inside arenas. */
static inline void counters_purged(uint64_t bytes) {
  if (bytes) __atomic_add_fetch(&counters.purged, bytes, __ATOMIC_RELAXED);
}

/* Records in_use as a candidate for the peak of bytes in use. */
HAWK_INTERNAL void counters_in_use_seen(uint64_t in_use);

/* Adds n to an event count the statistics report (a heap's mallocs, frees,
 * splits, coalesces), unless the build compiles statistics out
 * (-DHAWK_STATS=0, config.h). */
#define HAWK_STAT_ADD(count, n)                                                                    \
  do {                                                                                             \
    if (HAWK_STATS) (count) += (n);                                                                \
  } while (0)

/* Raises *peak to value if value is higher (lock-free). */
HAWK_INTERNAL void counter_max(uint64_t *peak, uint64_t value);

#endif /* HAWK_COUNTERS_H */
