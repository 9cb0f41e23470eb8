/* hawk.h - what the observing files (check.c, walk.c) give the files above
 * them: the periodic check and one heap's walk.  The heap table is in
 * process.h. */
#ifndef HAWK_HAWK_H
#define HAWK_HAWK_H

#include "config.h"
#include "hawkalloc.h"

struct heap;

/* check.c: counts one call; every debug_check_every calls
 * (HAWKALLOC_CHECK_EVERY, debug.h) runs hawk_check and stops the program if
 * the heap is not sound. */
HAWK_INTERNAL void debug_tick(const char *call);

/* walk.c: describes every block of heap h's arenas to visit, as hawk_walk
 * does, its blocks named heap id; the caller holds the heap's lock
 * (hawk_walk and the snapshot taken in a signal handler, through
 * heaps_each; a created heap's part of the walk).  Returns the count. */
HAWK_INTERNAL size_t walk_arenas_locked(const struct heap *h, int id, hawk_visit_fn visit,
                                        void *ctx);

/* walk.c: describes to visit the large block whose mapping at map of
 * map_len bytes has its payload at map + payload_off, named heap heap (-1:
 * the process's large blocks). */
HAWK_INTERNAL void walk_large_mapping(hawk_visit_fn visit, void *ctx, int heap, const void *map,
                                      size_t payload_off, size_t map_len);

#endif /* HAWK_HAWK_H */
