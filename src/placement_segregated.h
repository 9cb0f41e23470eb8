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

#include "events.h"
#include "placement.h"

#define SEG_EXACT_LIMIT ((size_t)1024)
/* The first class of a range of sizes (SEG_EXACT_LIMIT bytes and up). */
#define SEG_RANGE_FIRST ((unsigned)(SEG_EXACT_LIMIT / HAWK_ALIGN))
_Static_assert(SIZE_CLASSES - SEG_RANGE_FIRST ==
                   sizeof(((struct freelists *)0)->fit_bound) / sizeof(uint32_t),
               "a fit bound per range class");

/* The class of a block of size bytes: one per 16 bytes below 1 KiB, then
 * four per power of two; below SIZE_CLASSES for any size below 2^25 (an
 * arena's blocks are smaller than 4 MiB), with no bound to test.  64 +
 * (log2 - 10) * 4 + the two bits below the top one, which are the top three
 * bits (4 to 7) less 4: a shift and two adds. */
static inline unsigned seg_class_of_block(size_t size) {
  if (size < SEG_EXACT_LIMIT) return (unsigned)(size >> 4);
  unsigned log2 = 63u ^ (unsigned)__builtin_clzll(size); /* one bsr */
  return 4 * log2 + 20 + (unsigned)(size >> (log2 - 2));
}
_Static_assert(4 * 24 + 20 + 7 < SIZE_CLASSES, "a block's class is a class");

/* The class of any size (a search's may be bigger than a block): the last
 * class holds every size above the classes. */
static inline unsigned seg_class(size_t size) {
  unsigned c = seg_class_of_block(size);
  return c < SIZE_CLASSES ? c : SIZE_CLASSES - 1;
}

/* A range class's fit bound: no block of its list is bigger.  An insert
 * raises it to the block's size; a search that walked the whole list and
 * found no block of size bytes or more lowers it to size - HAWK_ALIGN (the
 * sizes are multiples of HAWK_ALIGN); a removal leaves it (still a bound).
 * A search for more than the bound knows the list holds nothing that fits
 * without walking it (placement_segregated.c). */
static inline uint32_t *seg_fit_bound(struct freelists *fl, unsigned c) {
  return &fl->fit_bound[c - SEG_RANGE_FIRST];
}

/* Lists free block b of size bytes (its header's, at the caller's hand). */
static inline void seg_insert_sized(struct freelists *fl, block *b, size_t size) {
  HAWK_ASSERT(size < ((size_t)1 << 25));
  unsigned c = seg_class_of_block(size);
  list_push_sized(fl, &fl->heads[c], b, size);
  fl->bitmap[c / 64] |= (uint64_t)1 << (c % 64);
  if (c >= SEG_RANGE_FIRST && size > *seg_fit_bound(fl, c)) *seg_fit_bound(fl, c) = (uint32_t)size;
}

static inline void seg_insert(struct freelists *fl, block *b) {
  seg_insert_sized(fl, b, block_size(b));
}

/* Unlists free block b of size bytes (its header's) from the list of class
 * c, its class (a search has just found it there: seg_search_in). */
static inline __attribute__((always_inline)) void seg_remove_in(struct freelists *fl, block *b,
                                                                size_t size, unsigned c) {
  HAWK_ASSERT(c == seg_class(size));
  list_unlink_sized(fl, &fl->heads[c], b, size);
  if (fl->heads[c] == NULL) fl->bitmap[c / 64] &= ~((uint64_t)1 << (c % 64));
}

/* Unlists free block b of size bytes (its header's). */
static inline __attribute__((always_inline)) void seg_remove_sized(struct freelists *fl, block *b,
                                                                   size_t size) {
  HAWK_ASSERT(size < ((size_t)1 << 25));
  seg_remove_in(fl, b, size, seg_class_of_block(size));
}

static inline __attribute__((always_inline)) void seg_remove(struct freelists *fl, block *b) {
  seg_remove_sized(fl, b, block_size(b));
}

/* The first non-empty class at or after c, or SIZE_CLASSES. */
static inline unsigned next_nonempty(const struct freelists *fl, unsigned c) {
  for (unsigned w = c / 64; w < SIZE_CLASSES / 64; w++) {
    uint64_t m = fl->bitmap[w];
    if (w == c / 64) m &= ~(uint64_t)0 << (c % 64);
    if (m) return w * 64 + (unsigned)__builtin_ctzll(m);
  }
  return SIZE_CLASSES;
}

/* Good fit: of the first SEG_FIT_CANDIDATES blocks (config.h) of a list
 * that are big enough, the smallest; one that fits within a SEG_FIT_CLOSE-th
 * of the request (an exact fit too) at once.  Looking at a few more than
 * the first cuts the holes that splits leave behind on traces of many sizes
 * (docs/design.md has the measurements), and the walk stays short. */

static inline __attribute__((always_inline)) block *good_fit(const struct freelists *fl, block *b,
                                                             size_t size, int observed) {
  b = list_first(fl, b);
  block *best = NULL;
  size_t best_size = SIZE_MAX, steps = 0;
  for (unsigned seen = 0; b && seen < SEG_FIT_CANDIDATES; b = list_next(fl, b, &steps)) {
    if (observed) EVENTS_TELL(examined, fl, b, size);
    size_t s = block_size(b);
    if (s < size) continue;
    if (s - size <= size / SEG_FIT_CLOSE) return b; /* close enough (an exact fit too) */
    seen++;
    if (s < best_size) best = b, best_size = s;
  }
  return best;
}

/* The head of exact class c (all its blocks fit), told as examined. */
static inline __attribute__((always_inline)) block *
exact_head(const struct freelists *fl, unsigned c, size_t size, int observed) {
  block *b = list_first(fl, fl->heads[c]);
  if (observed && b) EVENTS_TELL(examined, fl, b, size);
  return b;
}

/* good_fit in the request's own range class c, which may hold blocks too
 * small for it: not walked when its fit bound says none fits, and the
 * bound lowered when a walk finds none (seg_fit_bound).  The same block
 * is found either way; the search a recorder observes walks as it always
 * did, telling of every block it looks at. */
static inline __attribute__((always_inline)) block *own_range_fit(struct freelists *fl, unsigned c,
                                                                  size_t size, int observed) {
  if (observed) return good_fit(fl, fl->heads[c], size, observed);
  if (*seg_fit_bound(fl, c) < size) return NULL;
  block *b = good_fit(fl, fl->heads[c], size, observed);
  if (b == NULL) *seg_fit_bound(fl, c) = (uint32_t)(size - HAWK_ALIGN);
  return b;
}

/* Finds a listed block of at least size bytes, or NULL; leaves it listed.
 * *cls receives the class whose list holds it, so that its removal does
 * not compute it again (seg_remove_in). */
static inline __attribute__((always_inline)) block *seg_search_in(struct freelists *fl, size_t size,
                                                                  int observed, unsigned *cls) {
  unsigned c = seg_class(size);
  *cls = c;
  /* The blocks of an exact class all have its size: the head will do. */
  block *b = c < SEG_EXACT_LIMIT / HAWK_ALIGN ? exact_head(fl, c, size, observed)
                                              : own_range_fit(fl, c, size, observed);
  if (b || c + 1 >= SIZE_CLASSES) return b;
  unsigned n = next_nonempty(fl, c + 1);
  if (n >= SIZE_CLASSES) return NULL;
  *cls = n;
  return n < SEG_EXACT_LIMIT / HAWK_ALIGN ? exact_head(fl, n, size, observed)
                                          : good_fit(fl, fl->heads[n], size, observed);
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

/* seg_search_in, out of line (placement_segregated.c): the one copy of the
 * search the heap and the policy's table call.  Inline in each of the
 * heap's paths, it took the code every process runs out of its 64 KiB
 * window (the Makefile's LIB_FIRST, tests/levels). */
HAWK_INTERNAL block *seg_find(struct freelists *fl, size_t size, unsigned *cls);

/* find of policy p, a direct call for the segregated policy, which
 * also tells the class of the block it found in *cls (for
 * placement_remove_found); any other policy goes through the table. */
static inline __attribute__((always_inline)) block *
placement_find(const struct placement *p, struct freelists *fl, size_t size, unsigned *cls) {
  if (likely(p == &placement_segregated)) return seg_find(fl, size, cls);
  *cls = SIZE_CLASSES; /* not known: the block is removed with placement_remove */
  return p->find(fl, size);
}

/* placement_remove of block b just found by placement_find, which gave
 * cls. */
static inline __attribute__((always_inline)) void
placement_remove_found(const struct placement *p, struct freelists *fl, block *b, unsigned cls) {
  if (likely(p == &placement_segregated))
    seg_remove_in(fl, b, block_size(b), cls);
  else
    p->remove(fl, b);
}

#endif /* HAWK_PLACEMENT_SEGREGATED_H */
