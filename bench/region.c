/* region.c - the request-per-heap server pattern (issue 16): each request
 * allocates a few thousand objects of 16 to 512 bytes, touches them, and
 * then all of them go at once.  Three ways to let them go:
 *
 *   hawk-heap   HawkAlloc: a heap per request (hawk_heap_create), one
 *               hawk_heap_destroy at its end
 *   hawk-free   HawkAlloc: malloc from the default heap, free of each object
 *   mi-heap     mimalloc: mi_heap_new, mi_heap_destroy (built only where
 *   mi-free     mimalloc.h exists: -DWITH_MIMALLOC, -lmimalloc), and mi_free
 *               of each object
 *   libc-free   whatever malloc the program was linked with: glibc's in
 *               build/bench/region-libc (in region-mi it is mimalloc's, which
 *               exports malloc)
 *
 *     region MODE [REQUESTS [OBJECTS]]     (defaults 2000 and 3000)
 *
 * prints "region MODE requests=R objects=K check=HEX secs=S".  Linked with
 * libhawkalloc.a (build/bench/region), with mimalloc (build/bench/
 * region-mi) or with glibc alone (build/bench/region-libc), so that each
 * allocator's own region call runs;
 * `make bench-region` builds them and bench/region.sh runs them
 * interleaved.  The numbers are in docs/performance.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef WITH_HAWK
#include "hawkalloc.h"
#endif
#ifdef WITH_MIMALLOC
#include <mimalloc.h>
#endif

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* 16 to 512 bytes, small sizes more likely (uniform in the logarithm). */
static size_t object_size(uint64_t *s) {
  size_t base = (size_t)16 << (splitmix(s) % 5);
  return base + (size_t)(splitmix(s) % base);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "region: %s\n", what);
  exit(2);
}

/* One request: objects allocated by alloc, linked into a list (the first
 * word of each points to the previous one, as a parse tree's nodes would),
 * then read back; returns a checksum. */
typedef void *(*alloc_fn)(void *ctx, size_t n);

static uint64_t request(alloc_fn alloc, void *ctx, long objects, uint64_t *seed, void **all) {
  void *prev = NULL;
  for (long i = 0; i < objects; i++) {
    size_t n = object_size(seed);
    unsigned char *p = alloc(ctx, n);
    if (p == NULL) die("allocation failed");
    memcpy(p, &prev, sizeof prev);
    p[n - 1] = (unsigned char)i;
    p[sizeof prev] = (unsigned char)n;
    prev = p;
    if (all) all[i] = p;
  }
  uint64_t sum = 0;
  for (unsigned char *p = prev; p; memcpy(&p, p, sizeof p)) sum += p[sizeof p];
  return sum;
}

static void *libc_alloc(void *ctx, size_t n) {
  (void)ctx;
  return malloc(n);
}

#ifdef WITH_HAWK
static void *hawk_heap_alloc_ctx(void *ctx, size_t n) { return hawk_heap_malloc(ctx, n); }
#endif
#ifdef WITH_MIMALLOC
static void *mi_heap_alloc_ctx(void *ctx, size_t n) { return mi_heap_malloc(ctx, n); }
static void *mi_alloc_ctx(void *ctx, size_t n) {
  (void)ctx;
  return mi_malloc(n);
}
#endif

int main(int argc, char **argv) {
  if (argc < 2) die("usage: region MODE [REQUESTS [OBJECTS]]");
  const char *mode = argv[1];
  long requests = argc > 2 ? atol(argv[2]) : 2000, objects = argc > 3 ? atol(argv[3]) : 3000;
  if (requests < 1 || objects < 1 || objects > 1000000) die("bad REQUESTS or OBJECTS");
  void **all = malloc((size_t)objects * sizeof *all);
  if (all == NULL) die("no memory for the object table");
  uint64_t seed = 42, sum = 0;
  int known = 0;
  double t0 = now();
  if (strcmp(mode, "libc-free") == 0) {
    known = 1;
    for (long r = 0; r < requests; r++) {
      sum += request(libc_alloc, NULL, objects, &seed, all);
      for (long i = 0; i < objects; i++) free(all[i]);
    }
  }
#ifdef WITH_HAWK
  if (strcmp(mode, "hawk-heap") == 0) {
    known = 1;
    for (long r = 0; r < requests; r++) {
      struct hawk_heap *h = hawk_heap_create(NULL);
      if (h == NULL) die("hawk_heap_create failed");
      sum += request(hawk_heap_alloc_ctx, h, objects, &seed, NULL);
      hawk_heap_destroy(h);
    }
  } else if (strcmp(mode, "hawk-free") == 0) {
    known = 1;
    for (long r = 0; r < requests; r++) {
      sum += request(libc_alloc, NULL, objects, &seed, all);
      for (long i = 0; i < objects; i++) hawk_free(all[i]);
    }
  }
#endif
#ifdef WITH_MIMALLOC
  if (strcmp(mode, "mi-heap") == 0) {
    known = 1;
    for (long r = 0; r < requests; r++) {
      mi_heap_t *h = mi_heap_new();
      if (h == NULL) die("mi_heap_new failed");
      sum += request(mi_heap_alloc_ctx, h, objects, &seed, NULL);
      mi_heap_destroy(h);
    }
  } else if (strcmp(mode, "mi-free") == 0) {
    known = 1;
    for (long r = 0; r < requests; r++) {
      sum += request(mi_alloc_ctx, NULL, objects, &seed, all);
      for (long i = 0; i < objects; i++) mi_free(all[i]);
    }
  }
#endif
  if (!known) die("unknown MODE (or not built into this binary)");
  double secs = now() - t0;
  printf("region %s requests=%ld objects=%ld check=%llx secs=%.3f\n", mode, requests, objects,
         (unsigned long long)sum, secs);
  free(all);
  return 0;
}
