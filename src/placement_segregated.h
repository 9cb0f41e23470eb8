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
/* The first class of a range of sizes (SEG_EXACT_LIMIT bytes and up). */
#define SEG_RANGE_FIRST ((unsigned)(SEG_EXACT_LIMIT / HAWK_ALIGN))
_Static_assert(SIZE_CLASSES - SEG_RANGE_FIRST ==
                   sizeof(((struct freelists *)0)->fit_bound) / sizeof(uint32_t),
               "a fit bound per range class");

/* The class of a block of size bytes: one per 16 bytes below 1 KiB, then
 * four per power of two. */
static inline unsigned seg_class(size_t size) {
  if (size < SEG_EXACT_LIMIT) return (unsigned)(size >> 4);
  unsigned log2 = 63u - (unsigned)__builtin_clzll(size);
  unsigned c = 64 + (log2 - 10) * 4 + (unsigned)((size >> (log2 - 2)) & 3);
  return c < SIZE_CLASSES ? c : SIZE_CLASSES - 1;
}

/* Lists free block b of size bytes (its header's, at the caller's hand). */
/* A range class's fit bound: no block of its list is bigger.  An insert
 * raises it to the block's size; a search that walked the whole list and
 * found no block of size bytes or more lowers it to size - HAWK_ALIGN (the
 * sizes are multiples of HAWK_ALIGN); a removal leaves it (still a bound).
 * A search for more than the bound knows the list holds nothing that fits
 * without walking it (placement_segregated.c). */
static inline uint32_t *seg_fit_bound(struct freelists *fl, unsigned c) {
  return &fl->fit_bound[c - SEG_RANGE_FIRST];
}

static inline void seg_insert_sized(struct freelists *fl, block *b, size_t size) {
  unsigned c = seg_class(size);
  list_push_sized(fl, &fl->heads[c], b, size);
  fl->bitmap[c / 64] |= (uint64_t)1 << (c % 64);
  if (c >= SEG_RANGE_FIRST && size > *seg_fit_bound(fl, c)) *seg_fit_bound(fl, c) = (uint32_t)size;
}

static inline void seg_insert(struct freelists *fl, block *b) {
  seg_insert_sized(fl, b, block_size(b));
}

/* Unlists free block b of size bytes (its header's). */
static inline __attribute__((always_inline)) void seg_remove_sized(struct freelists *fl, block *b,
                                                                   size_t size) {
  unsigned c = seg_class(size);
  list_unlink_sized(fl, &fl->heads[c], b, size);
  if (fl->heads[c] == NULL) fl->bitmap[c / 64] &= ~((uint64_t)1 << (c % 64));
}

static inline __attribute__((always_inline)) void seg_remove(struct freelists *fl, block *b) {
  seg_remove_sized(fl, b, block_size(b));
}

/* insert and remove of policy p, direct for the segregated policy; the
 * _sized forms take the block's size from a caller that has it at hand
 * (the heap's free path, which has just read or written the header). */
static inline void placement_insert_sized(const struct placement *p, struct freelists *fl, block *b,
                                          size_t size) {
  if (likely(p == &placement_segregated))
    seg_insert_sized(fl, b, size);
  else
    p->insert(fl, b);
}
static inline void placement_insert(const struct placement *p, struct freelists *fl, block *b) {
  placement_insert_sized(p, fl, b, block_size(b));
}
static inline __attribute__((always_inline)) void
placement_remove_sized(const struct placement *p, struct freelists *fl, block *b, size_t size) {
  if (likely(p == &placement_segregated))
    seg_remove_sized(fl, b, size);
  else
    p->remove(fl, b);
}
static inline __attribute__((always_inline)) void placement_remove(const struct placement *p,
                                                                   struct freelists *fl, block *b) {
  placement_remove_sized(p, fl, b, block_size(b));
}

#endif /* HAWK_PLACEMENT_SEGREGATED_H */
