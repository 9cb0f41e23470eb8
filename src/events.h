/* events.h - the heap's events for a recorder (hawk_events, the lab's
 * explorer): what each call did, reported from the slow path only.
 *
 * While no recorder is installed events_fn is NULL and costs one
 * well-predicted branch on each path that already holds a heap lock (the
 * taking of a block, a free, a batch for a thread cache, a resize) and on
 * the rare ones (an arena or a large mapping coming or going); the thread
 * cache's fast path has none.  The free-list events (a block listed,
 * unlisted, examined, chosen) cost nothing at all: installing a recorder
 * swaps each heap's policy for its observed twin (placement.h, find_seen),
 * and removing it swaps back.  Each hook reads what the heap has just
 * written (the block's header and its neighbours') rather than being told:
 * the heap's code keeps its shape.
 */
#ifndef HAWK_EVENTS_H
#define HAWK_EVENTS_H

#include "arena.h"
#include "block.h"
#include "hawkalloc.h"
#include "placement.h"

struct heap;
struct large_header;

/* The recorder, or NULL. */
HAWK_INTERNAL extern hawk_event_fn events_fn;

/* Block b was allocated from free block from (a leading pad of b - from
 * and a split-off rest after b stay free). */
HAWK_INTERNAL void events_taken(const struct heap *h, const block *from, const block *b);
/* n blocks of size bytes were cut from first on, the last at last. */
HAWK_INTERNAL void events_run(const struct heap *h, const block *first, const block *last,
                              size_t size, size_t n);
/* Block freed, of own bytes, is now part of free block merged of size bytes. */
HAWK_INTERNAL void events_freed(const struct heap *h, const block *freed, size_t own,
                                const block *merged, size_t size);
/* Block b was resized in place from old bytes. */
HAWK_INTERNAL void events_resized(const struct heap *h, const block *b, size_t old);
/* Arena a joined the heap (mapped 1) or left it (0). */
HAWK_INTERNAL void events_arena(const struct heap *h, const struct arena *a, int mapped);
/* Large block l was mapped (1) or unmapped (0). */
HAWK_INTERNAL void events_large(const struct large_header *l, int mapped);
/* An observed policy's search looked at free block b for size bytes. */
HAWK_INTERNAL void events_examined(const struct freelists *fl, const block *b, size_t size);

#endif /* HAWK_EVENTS_H */
