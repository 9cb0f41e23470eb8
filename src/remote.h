/* remote.h - whole thread-cache lists handed back to the heap that owns
 * their blocks, for that heap's threads to take as they are.
 *
 * A thread that frees blocks a thread of another heap allocated (a consumer
 * freeing what a producer made) collects them in its cache lists.  When
 * such a list is full, the whole list goes, in one compare-and-swap and
 * without a lock, onto a stack of lists of its block size at the owning
 * heap.  A thread of that heap whose list of that size is empty takes one
 * list off the stack (an exchange of the stacks' own taking flag, a
 * compare-and-swap and a store a list, not a block; never the heap's lock,
 * and a thread that finds another taking refills from the heap instead)
 * and makes it its own.  Neither side walks the list, and the heap's free
 * path (checks, coalescing, splitting) never sees the blocks.
 *
 * The blocks never stop being "allocated, in a thread cache": their headers
 * are not touched and their payloads keep the cache mark (tcache.h), so the
 * heap's invariants hold, hawk_check and hawk_walk see cached blocks, and a
 * second free of any of them, from any thread, finds the mark and is
 * reported as a double free.
 *
 * A list on a stack is linked through its blocks' first payload words as in
 * a cache; its first block's third payload word holds, mangled like a link,
 * the next list on the stack with the list's block count in the top 16 bits.
 * A heap's stacks hold at most REMOTE_HEAP_BYTES; a list that does not fit
 * goes to the heap's free path as before.
 */
#ifndef HAWK_REMOTE_H
#define HAWK_REMOTE_H

#include "heap.h"

/* Hands a whole cache list (count blocks of size bytes, linked and marked
 * as in a cache, the last link NULL) to the heap that owns its first block.
 * Returns 0, with nothing done, when that heap's stacks are full or the
 * first block's arena names no heap. */
/* Maps the stacks of the heaps in use (hawk_heap_count of them), once, at
 * start-up (process.c).  If the OS refuses, lists are never handed off:
 * they go to the heaps' free path. */
HAWK_INTERNAL void remote_init(void);

HAWK_INTERNAL int remote_hand_off(void *head, size_t size, unsigned count);

/* Takes one list of size-byte blocks waiting at heap h; NULL if none.
 * *count receives its length.  The list's first entry is checked (a report
 * and abort if it was overwritten); the rest are checked as they are
 * popped.  Call with no lock held. */
HAWK_INTERNAL void *remote_take(struct heap *h, size_t size, unsigned *count);

/* Whether a list of size-byte blocks may be waiting at heap h (a relaxed
 * read: the refill's test before remote_take). */
HAWK_INTERNAL int remote_waiting(const struct heap *h, size_t size);

/* Gives every list waiting at every heap to the heaps' free path
 * (malloc_trim, the retry after the OS refused memory).  No lock held. */
HAWK_INTERNAL void remote_flush_all(void);

/* The decay (decay.h) of heap h's stacks, once an epoch: when no list was
 * taken from them for a whole period, they go to the free path, where
 * their memory can coalesce and go back to the OS.  No lock held. */
HAWK_INTERNAL void remote_decay(struct heap *h);

/* A thread's cache starts or stops taking from heap h.  Lists go only to
 * a heap some thread uses; the last thread to leave gives back what waits
 * there.  No lock held. */
HAWK_INTERNAL void remote_thread_joins(struct heap *h);
HAWK_INTERNAL void remote_thread_leaves(struct heap *h);

/* Whether heap h is shared by threads that free each other's blocks: a
 * thread moved there for that (remote_thread_moves) and two threads or
 * more use it (relaxed reads). */
HAWK_INTERNAL int remote_exchanging(const struct heap *h);

/* Whether a thread of heap from whose full lists are mostly heap to's
 * blocks should move to heap to: to has more threads, or as many and comes
 * first in the heap table.  The order is strict, so threads that free each
 * other's blocks end up on one heap and never move back and forth. */
HAWK_INTERNAL int remote_should_move(const struct heap *from, const struct heap *to);

/* A thread moves from heap from to heap to (remote_should_move said so):
 * remote_thread_joins(to), then remote_thread_leaves(from), and to is
 * marked as exchanging. */
HAWK_INTERNAL void remote_thread_moves(struct heap *from, struct heap *to);

/* In a fork's child: no thread is taking lists (the one that was, if
 * any, does not exist there). */
HAWK_INTERNAL void remote_after_fork_child(void);

/* Bytes in lists waiting at all heaps (statistics: thread-cached). */
HAWK_INTERNAL uint64_t remote_bytes(void);

#endif /* HAWK_REMOTE_H */
