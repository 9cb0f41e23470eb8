/* placement_segregated.h - the default policy's size classes and list
 * updates, and the heap's direct calls of insert and remove.
 *
 * The heap inserts and removes a free block on every split and coalesce.
 * With the segregated policy in force (the default), placement_insert and
 * placement_remove call its updates inline instead of through the policy
 * table's pointers; any other policy goes through the table.  The policies'
 * interface stays placement.h; only the heap, the heap events (which name
 * a block's size class) and the policy's own file and tests include this
 * header.
 */
#ifndef HAWK_PLACEMENT_SEGREGATED_H
#define HAWK_PLACEMENT_SEGREGATED_H

#include "placement.h"

#define SEG_EXACT_LIMIT ((size_t)1024)

/* The class of a block of size bytes: one per 16 bytes below 1 KiB, then
 * four per power of two. */
static inline unsigned seg_class(size_t size) {
  if (size < SEG_EXACT_LIMIT) return (unsigned)(size >> 4);
  unsigned log2 = 63u - (unsigned)__builtin_clzll(size);
  unsigned c = 64 + (log2 - 10) * 4 + (unsigned)((size >> (log2 - 2)) & 3);
  return c < SIZE_CLASSES ? c : SIZE_CLASSES - 1;
}

static inline void seg_insert(struct freelists *fl, block *b) {
  unsigned c = seg_class(block_size(b));
  list_push(fl, &fl->heads[c], b);
  fl->bitmap[c / 64] |= (uint64_t)1 << (c % 64);
}

static inline __attribute__((always_inline)) void seg_remove(struct freelists *fl, block *b) {
  unsigned c = seg_class(block_size(b));
  list_unlink(fl, &fl->heads[c], b);
  if (fl->heads[c] == NULL) fl->bitmap[c / 64] &= ~((uint64_t)1 << (c % 64));
}

/* insert and remove of policy p, direct for the segregated policy. */
static inline void placement_insert(const struct placement *p, struct freelists *fl, block *b) {
  if (likely(p == &placement_segregated))
    seg_insert(fl, b);
  else
    p->insert(fl, b);
}
static inline __attribute__((always_inline)) void placement_remove(const struct placement *p,
                                                                   struct freelists *fl, block *b) {
  if (likely(p == &placement_segregated))
    seg_remove(fl, b);
  else
    p->remove(fl, b);
}

#endif /* HAWK_PLACEMENT_SEGREGATED_H */
