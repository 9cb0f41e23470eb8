/* runs.c - where do binary-bal's blocks land?  (docs/lab.md)
 *
 * Allocates COUNT pairs of SMALL and BIG bytes in turn, as the malloc-lab
 * trace binary-bal.rep does (64 and 448 bytes, 2000 pairs), then sorts the
 * blocks by address and counts the runs of BIG blocks that lie side by side.
 * COUNT runs of one block each: every BIG block sits between two SMALL ones,
 * and freeing the BIG blocks leaves COUNT holes no bigger than BIG.  Fewer,
 * longer runs: the holes merge into bigger ones when the BIG blocks are freed.
 *
 *   cc -O1 -fno-builtin -o runs docs/lab/runs.c
 *   ./runs                                            # the C library's malloc
 *   LD_PRELOAD=$PWD/build/libhawkalloc.so ./runs      # HawkAlloc
 *   ./runs 16 112 4000                                # binary2-bal's sizes
 *
 * (-fno-builtin: the compiler must not drop mallocs it can see the end of.) */
#include <stdio.h>
#include <stdlib.h>

struct blk {
  char *p;
  int big;
};

static int by_address(const void *a, const void *b) {
  const struct blk *x = a, *y = b;
  return (x->p > y->p) - (x->p < y->p);
}

int main(int argc, char **argv) {
  size_t small = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
  size_t big = argc > 2 ? strtoul(argv[2], NULL, 10) : 448;
  size_t count = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
  struct blk *v = calloc(2 * count, sizeof *v);
  if (!v) return 1;
  for (size_t i = 0; i < count; i++) {
    v[2 * i] = (struct blk){malloc(small), 0};
    v[2 * i + 1] = (struct blk){malloc(big), 1};
    if (!v[2 * i].p || !v[2 * i + 1].p) return 1;
  }
  qsort(v, 2 * count, sizeof *v, by_address);
  size_t runs = 0, longest = 0, cur = 0;
  for (size_t i = 0; i < 2 * count; i++) {
    cur = v[i].big ? cur + 1 : 0;
    if (cur == 1) runs++;
    if (cur > longest) longest = cur;
  }
  printf("%zu blocks of %zu bytes lie in %zu runs, the longest %zu blocks\n", count, big, runs,
         longest);
  for (size_t i = 0; i < 2 * count; i++) free(v[i].p);
  free(v);
  return 0;
}
