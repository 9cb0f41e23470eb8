/* region.c - region allocation with HawkAlloc's heaps (docs/lab.md, chapter
 * 10): each "request" builds a linked list of objects in a heap of its own
 * and drops all of them with one hawk_heap_destroy; a heap with a limit
 * refuses past it; the same frees in a first-fit and a best-fit heap leave
 * different holes.
 *
 *     make examples && build/examples/region
 */
#include <errno.h>
#include <hawkalloc.h>
#include <stdio.h>
#include <string.h>

struct node {
  struct node *next;
  char text[];
};

static struct hawk_stats stats_of(struct hawk_heap *h) {
  struct hawk_stats s;
  hawk_heap_stats(h, &s, sizeof s);
  return s;
}

/* One request: n nodes of 24 to 263 bytes of text, in heap h. */
static struct node *build(struct hawk_heap *h, int n) {
  struct node *list = NULL;
  for (int i = 0; i < n; i++) {
    size_t len = 24 + (size_t)(i * 37 % 240);
    struct node *x = hawk_heap_malloc(h, sizeof *x + len);
    if (x == NULL) return list;
    memset(x->text, 'a' + i % 26, len - 1);
    x->text[len - 1] = 0;
    x->next = list;
    list = x;
  }
  return list;
}

int main(void) {
  struct hawk_stats all;
  hawk_stats(&all, sizeof all);
  unsigned long long mapped_before = all.mapped;
  for (int r = 1; r <= 3; r++) {
    struct hawk_heap *h = hawk_heap_create(NULL);
    struct node *list = build(h, 1000 * r);
    size_t count = 0;
    for (struct node *x = list; x; x = x->next) count++;
    struct hawk_stats s = stats_of(h);
    printf("request %d: heap %d holds %zu nodes: %llu bytes in use, %llu arena(s), %llu mallocs\n",
           r, hawk_heap_id(h), count, (unsigned long long)s.in_use, (unsigned long long)s.arenas,
           (unsigned long long)s.mallocs);
    hawk_heap_destroy(h); /* no walk over the list, no free per node */
  }
  hawk_stats(&all, sizeof all);
  printf("after the three destroys: %lld bytes mapped more than at start\n",
         (long long)(all.mapped - mapped_before));

  struct hawk_heap_options o = HAWK_HEAP_OPTIONS_INIT;
  o.limit = 64 << 10;
  struct hawk_heap *small = hawk_heap_create(&o);
  int got = 0;
  errno = 0;
  while (hawk_heap_malloc(small, 1000) != NULL) got++;
  printf("a heap limited to 64 KiB gave %d blocks of 1000 bytes, then NULL (%s); "
         "%llu bytes in use\n",
         got, errno == ENOMEM ? "ENOMEM" : "?", (unsigned long long)stats_of(small).in_use);
  hawk_heap_destroy(small);

  static const char *const policies[2] = {"first-fit", "best-fit"};
  for (int i = 0; i < 2; i++) {
    o.limit = 0;
    o.policy = policies[i];
    struct hawk_heap *h = hawk_heap_create(&o);
    void *keep[64], *hole[64];
    for (int k = 0; k < 64; k++) {
      hole[k] = hawk_heap_malloc(h, 64 + (size_t)(k % 8) * 64);
      keep[k] = hawk_heap_malloc(h, 16);
    }
    for (int k = 0; k < 64; k++) free(hole[k]);
    for (int k = 0; k < 200; k++) hawk_heap_malloc(h, 48);
    struct hawk_stats s = stats_of(h);
    printf("%-9s heap: after 64 holes and 200 requests of 48 bytes: %llu free blocks, "
           "%llu free bytes, footprint %llu\n",
           policies[i], (unsigned long long)s.free_blocks, (unsigned long long)s.free_bytes,
           (unsigned long long)s.footprint);
    (void)keep;
    hawk_heap_destroy(h);
  }
  return 0;
}
