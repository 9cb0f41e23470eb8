/* stats.h - hawk_stats, the figures of glibc's calls and the printed
 * table: what reads and reports the counters (counters.h) and the heaps. */
#ifndef HAWK_STATS_H
#define HAWK_STATS_H

#include "config.h"

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

/* fork's child: the copy of stderr closed, so that a child that detaches
 * (a daemon that puts /dev/null over its descriptors 0 to 2) does not keep
 * its parent's stderr open: a shell's `$(...)` or a pipeline would wait for
 * it as long as it runs.  The child prints at exit through descriptor 2
 * while that still is the file stderr was at start-up. */
HAWK_INTERNAL void stats_after_fork_child(void);

/* Whether every heap's lock can be taken now, each tried a few times and
 * given back at once (no wait: a signal handler's look). */
HAWK_INTERNAL int heaps_lockable(void);

/* Whether every lock the statistics and the heap snapshot take (the heaps',
 * the created heaps', the caches of empty arenas and of threads, the large
 * blocks') can be taken now: looked at a few times over 100 ms, as a lock
 * another thread holds is given back soon.  0 when one stays busy, as one
 * this thread holds does: exit() called from a signal handler that
 * interrupted malloc, whose writers at exit must not wait for ever. */
HAWK_INTERNAL int stats_lockable(void);

#endif /* HAWK_STATS_H */
