/* api.h - what api.c gives api_heap.c: the primitives as the API uses them
 * (plain, or checked in debug mode, or announced to Valgrind), and the
 * errno and alignment rules both files apply. */
#ifndef HAWK_API_H
#define HAWK_API_H

#include <errno.h>
#include <stddef.h>

#include "config.h"
#include "process.h"

struct hawk_heap;

/* Whether the process is in slow mode (tracing, debug mode, Valgrind,
 * periodic checks, M_PERTURB: process.h). */
static inline int slow(void) { return __atomic_load_n(&slow_mode, __ATOMIC_RELAXED); }

/* errno set to code, and the NULL a failed allocation returns. */
static inline void *fail(int code) {
  errno = code;
  return NULL;
}

static inline int is_power_of_two(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

/* An allocation in the default heaps, in any mode (call names it in a
 * report); NULL when the OS refuses memory. */
HAWK_INTERNAL void *alloc_api(size_t n, size_t align, int zero, const char *call);

/* alloc_api in created heap h, in slow mode (outside it the callers go
 * straight to userheap_alloc).  The heap sets errno when it fails (ENOMEM,
 * EINVAL for an alignment it cannot give); so does debug mode. */
HAWK_INTERNAL void *heap_alloc_api(struct hawk_heap *h, size_t n, size_t align, int zero,
                                   const char *call);

/* Frees p, of any heap, in any mode; a misuse is reported naming call. */
HAWK_INTERNAL void free_api(void *p, const char *call);

/* The usable size of p, of any heap (debug mode: the size asked); a
 * misuse is reported naming call. */
HAWK_INTERNAL size_t usable_api(void *p, const char *call);

/* M_PERTURB (debug.h): fills the block at p, about to be freed, once it is
 * known to be a block in use. */
HAWK_INTERNAL void perturb_free(void *p, const char *call);

#endif /* HAWK_API_H */
