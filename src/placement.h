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
#include "lock.h"
#include "registry.h"
#include "report.h"

#define SIZE_CLASSES 128

/* The free-list state of one heap.  Every policy uses the shared list
 * heads (a single-list policy uses heads[0]). */
struct freelists {
  block *heads[SIZE_CLASSES];           /* first block of each list, or NULL */
  uint64_t bitmap[SIZE_CLASSES / 64];   /* bit c set when heads[c] != NULL */
  size_t count;                         /* free blocks in all lists */
  size_t bytes;                         /* bytes in those blocks */
  block *rover;                         /* next fit: where the next search starts */
  uint32_t fit_bound[SIZE_CLASSES / 2]; /* segregated fit: for each class of blocks of
                                           1 KiB and more (SIZE_CLASSES / 2 on), a bound
                                           no listed block's size exceeds
                                           (placement_segregated.h) */
  struct hawk_lock *lock;               /* the lock held around every list operation
                                           (the heap's), released before a
                                           corruption report; NULL in unit tests */
};

struct placement {
  const char *name;
  /* Adds a block (already marked free) to the lists. */
  void (*insert)(struct freelists *fl, block *b);
  /* Takes a listed block out of the lists. */
  void (*remove)(struct freelists *fl, block *b);
  /* Returns a listed block of at least size bytes, or NULL; leaves it listed. */
  block *(*find)(struct freelists *fl, size_t size);
  /* find, telling the recorder's examined hook (events.h) of every block it looks at:
   * the search of the twin a recorder installs. */
  block *(*find_seen)(struct freelists *fl, size_t size);
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

/* Defines policy VAR, named TEXT: its find and find_seen are one search
 * SEARCH(fl, size, seen), inlined twice, the second (seen 1) telling the
 * recorder of every block it examines (events.h). */
#define PLACEMENT_POLICY(VAR, TEXT, INSERT, REMOVE, SEARCH, VERIFY)                                \
  static block *VAR##_find(struct freelists *fl, size_t size) { return SEARCH(fl, size, 0); }      \
  static block *VAR##_find_seen(struct freelists *fl, size_t size) { return SEARCH(fl, size, 1); } \
  const struct placement VAR = {.name = TEXT,                                                      \
                                .insert = INSERT,                                                  \
                                .remove = REMOVE,                                                  \
                                .find = VAR##_find,                                                \
                                .find_seen = VAR##_find_seen,                                      \
                                .verify = VERIFY}

/* The one list of the single-list policies (first, next and best fit):
 * heads[0], LIFO. */
HAWK_INTERNAL void single_list_insert(struct freelists *fl, block *b);
HAWK_INTERNAL void single_list_remove(struct freelists *fl, block *b);
HAWK_INTERNAL int single_list_verify(const struct freelists *fl,
                                     void (*seen)(void *ctx, const block *b), void *ctx);

/* Shared list operations, inline: the heap runs them on every split and
 * coalesce. */

/* Puts free block b, of size bytes (its header's, which the caller has at
 * hand: not read back), at the front of the list at head. */
static inline void list_push_sized(struct freelists *fl, block **head, block *b, size_t size) {
  HAWK_ASSERT(!block_is_alloc(b) && block_header_ok(b) && block_size(b) == size);
  /* The links' key, loaded once: the stores below could alias it. */
  uintptr_t key = link_key();
  block *first = *head;
  block_links(b)->prev = (block *)key;
  block_links(b)->next = (block *)((uintptr_t)first ^ key);
  if (first) block_links(first)->prev = (block *)((uintptr_t)b ^ key);
  *head = b;
  fl->count++;
  fl->bytes += size;
}

static inline void list_push(struct freelists *fl, block **head, block *b) {
  list_push_sized(fl, head, b, block_size(b));
}

/* Reports links of a listed block that failed the safe-unlink or search
 * checks: releases fl->lock first, then reports and aborts. */
HAWK_INTERNAL _Noreturn HAWK_COLD void list_corrupt(const struct freelists *fl, const block *b);

/* Whether a link read from a free block may be followed: NULL, or a block
 * address (8 modulo 16) inside an arena. */
static inline int link_plausible(const block *p) { return p == NULL || registry_arena_at(p, 8); }

/* link_plausible for a link read from free block b: one in b's own arena
 * (mapped whole) needs no registry lookup.  b is a block address (8 modulo
 * 16), so p is a block address in b's arena exactly when p ^ b has no bit
 * outside bits 4 to 21: one mask test (its constant fits an instruction's
 * 32-bit immediate) for both.  Any other p, a misaligned one in b's arena
 * too, goes to link_plausible, which refuses what is not 8 modulo 16. */
static inline int link_plausible_from(const block *b, const block *p) {
  if ((((uintptr_t)p ^ (uintptr_t)b) & ~(uintptr_t)(ARENA_SIZE - HAWK_ALIGN)) == 0) return 1;
  return link_plausible(p);
}

/* Whether b's header is a sound free block's (a tag that matches its
 * address, neither allocated nor large): only then are its size and links
 * trusted. */
static inline int free_block_ok(const block *b) {
  uint64_t w = *block_word(b);
  return (w & (BLOCK_ALLOC | BLOCK_LARGE)) == 0 && block_word_ok(b, w);
}

/* The first block of a list a search walks (the head is checked like every
 * block the search reads). */
static inline block *list_first(const struct freelists *fl, block *head) {
  if (HAWK_CHECKS && head && unlikely(!free_block_ok(head))) list_corrupt(fl, head);
  return head;
}

/* The block after listed block b, for a search: followed only once it is
 * shown to be NULL or a sound free block of ours (link_plausible_from, then
 * its header), else a report (the lock released first) and abort.  steps
 * counts the links a search followed (from 0): the lists hold fl->count
 * blocks in all, so a search that would visit more has met a cycle that a
 * write after free made, and reports it rather than walk it forever. */
static inline block *list_next(const struct freelists *fl, const block *b, size_t *steps) {
  block *n = free_next(b);
  if (HAWK_CHECKS && n &&
      unlikely(++*steps >= fl->count || !link_plausible_from(b, n) || !free_block_ok(n)))
    list_corrupt(fl, b);
  return n;
}

/* Takes b out of its list.  Safe unlink: both neighbours must be blocks of
 * ours that point back at b before either is written, so a corrupted link
 * cannot become a write anywhere; otherwise a report and abort. */
static inline __attribute__((always_inline)) void
list_unlink_sized(struct freelists *fl, block **head, block *b, size_t size) {
  HAWK_ASSERT(block_size(b) == size);
  /* The links' key, loaded once: the stores below could alias it. */
  uintptr_t key = link_key();
  block *next = (block *)((uintptr_t)block_links(b)->next ^ key);
  block *prev = (block *)((uintptr_t)block_links(b)->prev ^ key);
  int ok = !HAWK_CHECKS ||
           (link_plausible_from(b, next) && link_plausible_from(b, prev) &&
            (prev ? free_next(prev) == b : *head == b) && (next == NULL || free_prev(next) == b));
  if (unlikely(!ok)) list_corrupt(fl, b);
  if (prev)
    block_links(prev)->next = (block *)((uintptr_t)next ^ key);
  else
    *head = next;
  if (next) block_links(next)->prev = (block *)((uintptr_t)prev ^ key);
  fl->count--;
  fl->bytes -= size;
}

/* list_unlink_sized, the size read from b's header. */
static inline __attribute__((always_inline)) void list_unlink(struct freelists *fl, block **head,
                                                              block *b) {
  list_unlink_sized(fl, head, b, block_size(b));
}

/* The segregated policy's size classes and list updates, which the heap
 * calls directly: placement_segregated.h. */

/* Verifies one list: links agree both ways, every entry is a sound free
 * block; at most limit entries.  Returns the number of problems. */
HAWK_INTERNAL int list_verify(block *const *head, size_t limit,
                              void (*seen)(void *ctx, const block *b), void *ctx);

#endif /* HAWK_PLACEMENT_H */
