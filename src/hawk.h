/* hawk.h - the process-wide state the API layer owns, for the layers above
 * the heap (checker, statistics). */
#ifndef HAWK_HAWK_H
#define HAWK_HAWK_H

#include "hawkalloc.h"
#include "heap.h"

/* The heaps: threads are spread over hawk_heap_count of them (a heap is
 * chosen when a thread sets up its cache; threads without a cache use the
 * first).  A block always goes back to the heap that owns its arena. */
HAWK_INTERNAL extern struct heap hawk_heaps[HEAP_MAX];
HAWK_INTERNAL extern unsigned hawk_heap_count;

/* Picks the heap for a new thread (round robin). */
HAWK_INTERNAL struct heap *hawk_heap_for_new_thread(void);

/* Spreads the threads that start from now on over the first n heaps (n is
 * taken between 1 and hawk_heap_count): mallopt(M_ARENA_MAX).  Threads
 * already on a heap keep it. */
HAWK_INTERNAL void hawk_set_heap_spread(unsigned n);

/* How many heaps new threads are spread over. */
HAWK_INTERNAL unsigned hawk_heap_spread(void);

/* Sets M_PERTURB's value (debug.h) and puts every call on the slow path
 * while it is not 0. */
HAWK_INTERNAL void hawk_set_perturb(int value);

/* Runs the one-time initialisation if it has not run yet. */
HAWK_INTERNAL void hawk_ensure_init(void);

/* Verifies one heap: its arenas, its free lists and its counters. Returns
 * the number of problems, each written to stderr. */
HAWK_INTERNAL int check_heap(struct heap *h);

/* walk.c: describes every block of heap i's arenas to visit, as hawk_walk
 * does; the caller holds the heap's lock (hawk_walk, and the snapshot taken
 * in a signal handler, which got it with trylock).  Returns the count. */
HAWK_INTERNAL size_t walk_heap_locked(unsigned i, hawk_visit_fn visit, void *ctx);

/* walk_heap_locked for any heap h, its blocks named heap id. */
HAWK_INTERNAL size_t walk_arenas_locked(const struct heap *h, int id, hawk_visit_fn visit,
                                        void *ctx);

#endif /* HAWK_HAWK_H */
