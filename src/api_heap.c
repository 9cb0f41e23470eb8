/* api_heap.c - the created heaps' hawk_heap_* functions, over userheap.c's
 * logic and api.c's primitives (api.h), so that tracing, debug mode and
 * Valgrind cover their blocks as the default heaps' (docs/design.md, "The
 * API over the heaps").  A file of its own, outside the 64 KiB window of
 * the code every process runs (the Makefile's LIB_FIRST): a program that
 * makes no heap never runs it. */
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "trace.h"
#include "userheap.h"
#include "vg.h"

/* The blocks of a heap being destroyed are freed for memcheck. */
static void vg_destroyed(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  if (b->state == HAWK_BLOCK_ALLOCATED || b->state == HAWK_BLOCK_LARGE)
    VALGRIND_FREELIKE_BLOCK((void *)b->payload, 0);
}

struct hawk_heap *hawk_heap_default(void) {
  return userheap_default();
}

struct hawk_heap *hawk_heap_create(const struct hawk_heap_options *opt) {
  hawk_ensure_ready();
  struct hawk_heap *h = userheap_create(opt);
  if (h && unlikely(trace_enabled))
    trace_record(TRACE_HEAP_CREATE, h, opt ? opt->limit : 0, 0, userheap_id(h));
  return h;
}

void hawk_heap_destroy(struct hawk_heap *h) {
  if (h != userheap_default()) {
    userheap_live(h, "hawk_heap_destroy");
    /* Recorded before its memory can be mapped again by another thread. */
    if (unlikely(trace_enabled)) trace_record(TRACE_HEAP_DESTROY, h, 0, 0, userheap_id(h));
  }
  if (unlikely(slow())) debug_tick("hawk_heap_destroy");
  if (unlikely(under_valgrind)) { /* the walk reads the heap's headers */
    VALGRIND_DISABLE_ERROR_REPORTING;
    userheap_destroy(h, vg_destroyed, NULL);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return;
  }
  userheap_destroy(h, NULL, NULL);
}

int hawk_heap_id(struct hawk_heap *h) {
  if (h == userheap_default()) return 0;
  return userheap_id(userheap_live(h, "hawk_heap_id"));
}

/* Records a call of created heap h with its id, if tracing is on. */
static inline void trace_heap(enum trace_op op, const void *result, size_t size, uintptr_t aux,
                              struct hawk_heap *h) {
  if (unlikely(trace_enabled)) trace_record(op, result, size, aux, userheap_id(h));
}

/* An allocation in live created heap h in slow mode (tracing, debug mode,
 * Valgrind, periodic checks, M_PERTURB), recorded as op. */
static __attribute__((noinline)) void *heap_alloc_slow(struct hawk_heap *h, size_t n, size_t align,
                                                       int zero, enum trace_op op,
                                                       const char *call) {
  void *p = heap_alloc_api(h, n, align, zero, call);
  trace_heap(op, p, n, op == TRACE_ALIGNED ? align : 0, h);
  return p;
}

void *hawk_heap_malloc(struct hawk_heap *h, size_t n) {
  struct hawk_heap *in = userheap_arg(h, "hawk_heap_malloc");
  if (in == NULL) return hawk_malloc(n);
  if (likely(!slow())) return userheap_alloc(in, n, HAWK_ALIGN, 0);
  return heap_alloc_slow(in, n, HAWK_ALIGN, 0, TRACE_MALLOC, "hawk_heap_malloc");
}

void *hawk_heap_calloc(struct hawk_heap *h, size_t count, size_t n) {
  struct hawk_heap *in = userheap_arg(h, "hawk_heap_calloc");
  if (in == NULL) return hawk_calloc(count, n);
  size_t total;
  if (__builtin_mul_overflow(count, n, &total)) return fail(ENOMEM);
  if (likely(!slow())) return userheap_alloc(in, total, HAWK_ALIGN, 1);
  return heap_alloc_slow(in, total, HAWK_ALIGN, 1, TRACE_CALLOC, "hawk_heap_calloc");
}

void *hawk_heap_aligned_alloc(struct hawk_heap *h, size_t alignment, size_t n) {
  struct hawk_heap *in = userheap_arg(h, "hawk_heap_aligned_alloc");
  if (in == NULL) return hawk_aligned_alloc(alignment, n);
  if (!is_power_of_two(alignment)) return fail(EINVAL);
  size_t a = alignment < HAWK_ALIGN ? HAWK_ALIGN : alignment;
  if (likely(!slow())) return userheap_alloc(in, n, a, 0);
  return heap_alloc_slow(in, n, a, 0, TRACE_ALIGNED, "hawk_heap_aligned_alloc");
}

/* realloc into heap h: a block of another heap (the default heaps' too)
 * moves into h; one of h is resized as realloc resizes it. */
void *hawk_heap_realloc(struct hawk_heap *h, void *p, size_t n) {
  struct hawk_heap *to = userheap_arg(h, "hawk_heap_realloc");
  if (p == NULL) return hawk_heap_malloc(h, n);
  if (n == 0 || n > PTRDIFF_MAX) return hawk_realloc(p, n);
  size_t old = usable_api(p, "hawk_heap_realloc"); /* checks p */
  if (userheap_owner(p) == to) return hawk_realloc(p, n);
  void *q = to == NULL ? alloc_api(n, HAWK_ALIGN, 0, "hawk_heap_realloc")
            : slow()   ? heap_alloc_api(to, n, HAWK_ALIGN, 0, "hawk_heap_realloc")
                       : userheap_alloc(to, n, HAWK_ALIGN, 0);
  if (q) {
    memcpy(q, p, old < n ? old : n);
    perturb_free(p, "hawk_heap_realloc");
    free_api(p, "hawk_heap_realloc");
  }
  trace_heap(TRACE_REALLOC, q, n, (uintptr_t)p, to);
  return q ? q : fail(ENOMEM);
}
