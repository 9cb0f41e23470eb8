/* userheap.h - heaps a program creates (hawk_heap_create) and destroys.
 *
 * A created heap is a struct heap (heap.h) of its own, with its own arenas
 * marked CHUNK_HEAP_ARENA in the registry, its own placement policy and an
 * optional limit, and its blocks of LARGE_THRESHOLD bytes or more in
 * mappings of its own marked CHUNK_HEAP_LARGE.  Because its chunks are not
 * CHUNK_ARENA, free's fast path never puts one of its blocks into a thread
 * cache: free, realloc and malloc_usable_size reach the functions below
 * through api.c's slow path.  hawk_heap_destroy unmaps all of it and marks
 * its chunks CHUNK_ARENA_FREED, so a later free of one of its blocks is a
 * released pointer like any other.  docs/design.md, "User heaps".
 */
#ifndef HAWK_USERHEAP_H
#define HAWK_USERHEAP_H

#include "hawkalloc.h"
#include "registry.h"

/* free of p, whose chunk is of kind (CHUNK_HEAP_ARENA or more). */
HAWK_INTERNAL void userheap_free(void *p, enum chunk_kind kind, const char *call);

/* malloc_usable_size of p, whose chunk is of kind. */
HAWK_INTERNAL size_t userheap_usable(void *p, enum chunk_kind kind, const char *call);

/* realloc of p (0 < n <= PTRDIFF_MAX), whose chunk is of kind: the block
 * stays in its heap.  NULL when it cannot, p untouched. */
HAWK_INTERNAL void *userheap_resize(void *p, size_t n, enum chunk_kind kind, const char *call);

/* hawk_walk's part: every block of every created heap; returns the count. */
HAWK_INTERNAL size_t userheap_walk(hawk_visit_fn visit, void *ctx);

#endif /* HAWK_USERHEAP_H */
