/* heap_locked.h - what the heap's files (heap.c, heap_give.c) share under
 * a heap's lock: the arenas emptied while it is held, the unlock that
 * releases them, the failure that reports a bad block, the decay's stamp of
 * a free block and the drain of the blocks other threads gave back.  No
 * other layer includes it: heap.h is the heap's interface.
 */
#ifndef HAWK_HEAP_LOCKED_H
#define HAWK_HEAP_LOCKED_H

#include "decay.h"
#include "heap.h"

/* Arenas emptied while the lock was held, to release once it is not.
 * Declared without an initializer and its count set alone: `= {.count =
 * 0}` zeroes the 16 slots too, a `rep stos` of 136 bytes that every locked
 * operation paid (17 instructions and a mispredicted loop exit as
 * cachegrind counts them; a string instruction's start-up on the CPU). */
struct releases {
  struct arena *arena[16];
  size_t count;
};

/* Whether r can take one more emptied arena (a free that may empty one
 * asks first: with no room the arena stays in the heap). */
static inline int releases_room(const struct releases *r) {
  return r->count < sizeof r->arena / sizeof r->arena[0];
}

/* Keeps emptied arena e, if any, for release once the lock is given. */
static inline void releases_keep(struct releases *r, struct arena *e) {
  if (e) r->arena[r->count++] = e;
}

/* Inline: every locked operation ends here (finish), and its give is a
 * test and a store while the process has one thread (lock.h). */
static inline __attribute__((always_inline)) void unlock_and_release(struct heap *h,
                                                                     struct releases *r) {
  lock_give(&h->lock);
  for (size_t i = 0; i < r->count; i++) arena_release(r->arena[i]);
  r->count = 0;
}

/* Stamps free block b, of size bytes, as free since epoch stamp (or as
 * given back already: DECAY_CLEAN), when the decay watches blocks of its
 * size (decay.h). */
static inline void stamp_locked(struct heap *h, block *b, size_t size, uint64_t stamp) {
  if (!decay_on || size < DECAY_BLOCK_MIN) return;
  free_set_stamp(b, stamp);
  if (stamp != DECAY_CLEAN && stamp > h->decay_newest) h->decay_newest = stamp;
}

/* Ends a locked operation that found a problem with the block at p: the
 * lock released (and the arenas r holds, if r is not NULL), then one line
 * naming call and the problem, and abort (heap.c). */
HAWK_INTERNAL _Noreturn __attribute__((noinline, cold)) void
fail_locked(struct heap *h, struct releases *r, const char *call, const void *p,
            const char *problem);

/* Takes an empty arena out of the heap so that it can be released. */
HAWK_INTERNAL void detach_locked(struct heap *h, struct arena *a);

/* Frees the blocks other threads left on the heap's remote list, which is
 * not empty (drain_locked). */
HAWK_INTERNAL __attribute__((noinline)) void drain_remote_locked(struct heap *h,
                                                                 struct releases *r);

/* Frees the blocks other threads left on the heap's remote list: the test
 * inline, as every locked operation makes it. */
static inline __attribute__((always_inline)) void drain_locked(struct heap *h, struct releases *r) {
  if (unlikely(__atomic_load_n(&h->remote, __ATOMIC_RELAXED) != NULL)) drain_remote_locked(h, r);
}

/* Every DECAY_CHECK_OPS locked operations (heap.c's finish): reads the
 * clock, and runs the decay's pass if one is due (heap_give.c).  Returns 1
 * when the epoch moved on. */
HAWK_INTERNAL __attribute__((noinline)) int decay_tick_locked(struct heap *h);

#endif /* HAWK_HEAP_LOCKED_H */
