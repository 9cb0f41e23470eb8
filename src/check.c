/* check.c - hawk_check: every heap (heap_check.c), the created heaps
 * (userheap.c), the arena cache, the large blocks and this thread's cache
 * verified in turn; hawk_heap_check: one heap. */
#include "debug.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "large.h"
#include "process.h"
#include "report.h"
#include "tcache.h"
#include "userheap.h"

/* heaps_each's visit of one heap for hawk_check. */
static void check_one(struct heap *h, unsigned i, void *ctx) {
  (void)i;
  *(int *)ctx += heap_check_locked(h);
}

int hawk_check(void) {
  hawk_ensure_ready();
  int problems = 0;
  heaps_each(check_one, &problems, HEAPS_DRAIN);
  problems += userheap_check_all();
  problems += arena_cache_check();
  problems += large_check();
  problems += tcache_check();
  return problems;
}

/* Calls counted by debug_tick. */
static unsigned long calls;

void debug_tick(const char *call) {
  if (debug_check_every <= 0) return;
  unsigned long n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
  if (n % (unsigned long)debug_check_every != 0) return;
  int problems = hawk_check();
  if (problems == 0) return;
  struct line l = {.len = 0};
  line_str(&l, "heap check failed after ");
  line_dec(&l, n);
  line_str(&l, " calls (problems listed above)");
  l.buf[l.len] = 0;
  report_fatal(call, l.buf);
}

int hawk_heap_check(struct hawk_heap *h) {
  if (h == userheap_default()) return hawk_check();
  return userheap_check(userheap_live(h, "hawk_heap_check"));
}
