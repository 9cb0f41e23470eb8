/* placement.h - free lists and the placement policies behind one interface.
 *
 * The heap hands every free block to the policy in force and asks it for a
 * block that fits a request; the policy alone decides how free blocks are
 * organised and which one is chosen.  A policy is one small file defining
 * a `struct placement`; adding one means writing that file and naming it in
 * placement.c's table.
 */
#ifndef HAWK_PLACEMENT_H
#define HAWK_PLACEMENT_H

#include "block.h"

#define SIZE_CLASSES 128

/* The free-list state of one heap.  Every policy uses the shared list
 * heads (a single-list policy uses heads[0]). */
struct freelists {
  block *heads[SIZE_CLASSES];         /* first block of each list, or NULL */
  uint64_t bitmap[SIZE_CLASSES / 64]; /* bit c set when heads[c] != NULL */
  size_t count;                       /* free blocks in all lists */
  size_t bytes;                       /* bytes in those blocks */
  block *rover;                       /* next fit: where the next search starts */
};

struct placement {
  const char *name;
  /* Adds a block (already marked free) to the lists. */
  void (*insert)(struct freelists *fl, block *b);
  /* Takes a listed block out of the lists. */
  void (*remove)(struct freelists *fl, block *b);
  /* Returns a listed block of at least size bytes, or NULL; leaves it listed. */
  block *(*find)(struct freelists *fl, size_t size);
  /* Checks the lists' own invariants, reporting each problem to stderr;
   * returns the number of problems.  Each listed block is passed to seen(). */
  int (*verify)(const struct freelists *fl, void (*seen)(void *ctx, const block *b), void *ctx);
};

HAWK_INTERNAL extern const struct placement placement_segregated;
HAWK_INTERNAL extern const struct placement placement_first_fit;
HAWK_INTERNAL extern const struct placement placement_next_fit;
HAWK_INTERNAL extern const struct placement placement_best_fit;

/* The policy named name, or NULL if there is none by that name. */
HAWK_INTERNAL const struct placement *placement_by_name(const char *name);

/* Shared list operations.  list_unlink checks the neighbours' links first
 * (safe unlink) and aborts on corruption rather than write through them. */
HAWK_INTERNAL void list_push(struct freelists *fl, block **head, block *b);
HAWK_INTERNAL void list_unlink(struct freelists *fl, block **head, block *b);
/* Verifies one list: links agree both ways, every entry is a sound free
 * block; at most limit entries.  Returns the number of problems. */
HAWK_INTERNAL int list_verify(block *const *head, size_t limit,
                              void (*seen)(void *ctx, const block *b), void *ctx);

#endif /* HAWK_PLACEMENT_H */
