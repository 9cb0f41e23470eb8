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
#include "heap.h"
#include "registry.h"

/* The public hawk_heap_* functions are api.c's (the API layer: errno,
 * tracing, debug mode, Valgrind); here is the heaps' logic they call. */

/* The default heap's handle (hawk_heap_default). */
HAWK_INTERNAL struct hawk_heap *userheap_default(void);

/* h as a live created heap; misuse (a line, abort) for anything else.  The
 * default heap is the caller's to handle first. */
HAWK_INTERNAL struct hawk_heap *userheap_live(struct hawk_heap *h, const char *call);

/* NULL for the default heap's handle, else userheap_live(h, call). */
HAWK_INTERNAL struct hawk_heap *userheap_arg(struct hawk_heap *h, const char *call);

/* A new heap, or NULL with errno set (and one line for bad options). */
HAWK_INTERNAL struct hawk_heap *userheap_create(const struct hawk_heap_options *opt);

/* Destroys h (not the default heap): its memory is unmapped at once.
 * Misuse (a line, abort) for anything that is not a live heap.  visit, if
 * not NULL, is first told every block of h that is in use. */
HAWK_INTERNAL void userheap_destroy(struct hawk_heap *h, hawk_visit_fn visit, void *ctx);

/* n bytes aligned to align (a power of two, at least 16) in live heap h,
 * zeroed if asked; NULL with errno set (ENOMEM, EINVAL). */
HAWK_INTERNAL void *userheap_alloc(struct hawk_heap *h, size_t n, size_t align, int zero);

/* The created heap that owns the live block p (checked by the caller), or
 * NULL for a block of the default heaps. */
HAWK_INTERNAL struct hawk_heap *userheap_owner(void *p);

/* h's id (hawk_heap_id): 0 for the default heap (NULL or its handle). */
HAWK_INTERNAL int userheap_id(struct hawk_heap *h);

/* The id of the created heap whose memory p is in, 0 for anything else;
 * reads nothing the registry does not vouch for (p may be a bad pointer). */
HAWK_INTERNAL int userheap_id_of(const void *p);

/* Every live created heap's problems (hawk_check's part); the count. */
HAWK_INTERNAL int userheap_check_all(void);

/* hawk_heap_check of live heap h. */
HAWK_INTERNAL int userheap_check(struct hawk_heap *h);

/* hawk_heap_stats of live heap h. */
HAWK_INTERNAL int userheap_stats(struct hawk_heap *h, struct hawk_stats *out, size_t size);

/* Calls fn for every live created heap with its heap lock held, in the
 * order of the list (the list's lock is held throughout). */
HAWK_INTERNAL void userheap_each_locked(void (*fn)(void *ctx, struct heap *h, int id), void *ctx);

/* Whether the created heaps' locks could all be taken now, each with
 * try_lock (which gives up rather than wait; each given back at once). */
HAWK_INTERNAL int userheap_lockable(int (*try_lock)(struct hawk_lock *m));

/* userheap_walk from a signal handler: every lock taken with try_lock
 * (which gives up rather than wait); -1, having visited some heaps, when
 * one stayed busy. */
HAWK_INTERNAL int userheap_walk_try(hawk_visit_fn visit, void *ctx,
                                    int (*try_lock)(struct hawk_lock *m));

/* free of p, whose chunk is of kind (CHUNK_HEAP_ARENA or more). */
HAWK_INTERNAL void userheap_free(void *p, enum chunk_kind kind, const char *call);

/* malloc_usable_size of p, whose chunk is of kind. */
HAWK_INTERNAL size_t userheap_usable(void *p, enum chunk_kind kind, const char *call);

/* realloc of p (0 < n <= PTRDIFF_MAX), whose chunk is of kind: the block
 * stays in its heap.  NULL when it cannot, p untouched. */
HAWK_INTERNAL void *userheap_resize(void *p, size_t n, enum chunk_kind kind, const char *call);

/* hawk_walk's part: every block of every created heap; returns the count. */
HAWK_INTERNAL size_t userheap_walk(hawk_visit_fn visit, void *ctx);

/* The created heaps' part of the fork handlers (process.c registers them):
 * every created heap's lock taken before fork, released after it in the
 * parent, made new in the child. */
HAWK_INTERNAL void userheap_fork_prepare(void);
HAWK_INTERNAL void userheap_fork_parent(void);
HAWK_INTERNAL void userheap_fork_child(void);

#endif /* HAWK_USERHEAP_H */
