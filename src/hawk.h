/* hawk.h - the process-wide state the API layer owns, for the layers above
 * the heap (checker, statistics). */
#ifndef HAWK_HAWK_H
#define HAWK_HAWK_H

#include "heap.h"

/* The heap every thread allocates from (one lock; see docs/design.md). */
HAWK_INTERNAL extern struct heap hawk_main_heap;

/* Runs the one-time initialisation if it has not run yet. */
HAWK_INTERNAL void hawk_ensure_init(void);

/* Verifies one heap: its arenas, its free lists and its counters. Returns
 * the number of problems, each written to stderr. */
HAWK_INTERNAL int check_heap(struct heap *h);

#endif /* HAWK_HAWK_H */
