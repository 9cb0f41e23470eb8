/* stats.h - process-wide counters kept outside any heap lock. */
#ifndef HAWK_STATS_H
#define HAWK_STATS_H

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

/* Blocks by size class: class i holds block sizes up to 32 << i, the last
 * one every larger size. */
#define STATS_CLASSES 17

/* One heap's figures, for malloc_info (glibc.c). */
struct stats_heap {
  uint64_t arenas, arena_peak; /* arenas it owns now, and at most so far */
  uint64_t in_use;             /* bytes in its allocated blocks (cached ones too) */
  uint64_t free_blocks, free_bytes, largest_free;
  uint64_t mallocs, frees; /* blocks it handed out and took back itself */
  /* Its free blocks by size class: number, bytes, smallest and largest. */
  uint64_t class_count[STATS_CLASSES], class_bytes[STATS_CLASSES];
  uint64_t class_min[STATS_CLASSES], class_max[STATS_CLASSES];
};

/* What struct hawk_stats does not carry, for glibc's calls (glibc.c). */
struct stats_more {
  uint64_t heaps_in_use;             /* bytes in allocated arena blocks */
  uint64_t large_bytes;              /* bytes of the mappings of live large blocks */
  uint64_t spare_count, spare_bytes; /* freed large mappings kept for reuse */
};

struct hawk_stats;

/* hawk_stats's figures into *s, what glibc's calls need besides into
 * *more, and each heap's figures into heaps[0 .. hawk_heap_count) unless
 * heaps is NULL: one walk of the heaps, each locked in turn.  The caller
 * has run the initialisation. */
HAWK_INTERNAL void stats_snapshot(struct hawk_stats *s, struct stats_more *more,
                                  struct stats_heap *heaps);

/* HAWKALLOC_STATS=1: keeps a copy of stderr for the table at exit. */
HAWK_INTERNAL void stats_init(void);

/* HAWKALLOC_STATS=1: the table and the text heap map on that copy of
 * stderr (called at exit by process.c). */
HAWK_INTERNAL void stats_at_exit(void);

/* Raises *peak to value if value is higher (lock-free). */
HAWK_INTERNAL void counter_max(uint64_t *peak, uint64_t value);

#endif /* HAWK_STATS_H */
