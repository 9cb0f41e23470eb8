/* events.h - the hooks through which the heap, the large blocks and the
 * placement policies tell a recorder (hawk_events, the lab's explorer) what
 * each call did, from the slow path only.
 *
 * The table is kept here, low, so that the layers that have something to
 * tell need not know who listens: events.c (with the observers, above the
 * process state) fills in the hooks and sets events_hooks while a recorder
 * is installed; the layers below only call through it.  While none is
 * installed events_hooks is NULL and costs one well-predicted branch on
 * each path that already holds a heap lock (the taking of a block, a free,
 * a batch for a thread cache, a resize) and on the rare ones (an arena or a
 * large mapping coming or going); the thread cache's fast path has none.
 * The free-list events (a block listed, unlisted, examined, chosen) cost
 * nothing at all: installing a recorder swaps each heap's policy for its
 * observed twin (placement.h, find_seen), and removing it swaps back.  Each
 * hook reads what the heap has just written (the block's header and its
 * neighbours') rather than being told: the heap's code keeps its shape.
 */
#ifndef HAWK_EVENTS_H
#define HAWK_EVENTS_H

#include "block.h"

struct arena;
struct freelists;
struct heap;
struct large_header;

struct events_hooks {
  /* Block b was allocated from free block from (a leading pad of b - from
   * and a split-off rest after b stay free). */
  void (*taken)(const struct heap *h, const block *from, const block *b);
  /* n blocks of size bytes were cut from first on, the last at last. */
  void (*run)(const struct heap *h, const block *first, const block *last, size_t size, size_t n);
  /* Block freed, of own bytes, is now part of free block merged of size
   * bytes. */
  void (*freed)(const struct heap *h, const block *freed, size_t own, const block *merged,
                size_t size);
  /* Block b was resized in place from old bytes. */
  void (*resized)(const struct heap *h, const block *b, size_t old);
  /* Arena a joined the heap (mapped 1) or left it (0). */
  void (*arena)(const struct heap *h, const struct arena *a, int mapped);
  /* Large block l was mapped (1) or unmapped (0). */
  void (*large)(const struct large_header *l, int mapped);
  /* An observed policy's search looked at free block b for size bytes. */
  void (*examined)(const struct freelists *fl, const block *b, size_t size);
};

/* The hooks of the installed recorder, or NULL (events_hooks.c; set by
 * events.c).  The table it points to is never freed. */
HAWK_INTERNAL extern const struct events_hooks *events_hooks;

/* Whether a recorder is listening (one load and a branch). */
#define EVENTS_ON() unlikely(__atomic_load_n(&events_hooks, __ATOMIC_RELAXED) != NULL)

/* Calls hook HOOK of the installed recorder, if there is one. */
#define EVENTS_TELL(HOOK, ...)                                                                     \
  do {                                                                                             \
    const struct events_hooks *events_ = __atomic_load_n(&events_hooks, __ATOMIC_RELAXED);         \
    if (unlikely(events_ != NULL)) events_->HOOK(__VA_ARGS__);                                     \
  } while (0)

#endif /* HAWK_EVENTS_H */
