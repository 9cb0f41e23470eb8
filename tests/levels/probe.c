/* probe.c - built by tests/levels/run.sh at each statistics level: blocks
 * above the thread cache's sizes go through the heap, and hawk_stats says
 * what the heap counted.  Prints "MALLOCS SPLITS". */
#include <stdio.h>

#include "hawkalloc.h"

int main(void) {
  void *p[8];
  for (int i = 0; i < 8; i++) p[i] = hawk_malloc(5000);
  for (int i = 0; i < 8; i++) hawk_free(p[i]);
  struct hawk_stats s;
  if (hawk_stats(&s, sizeof s) != 0) return 1;
  printf("%llu %llu\n", (unsigned long long)s.mallocs, (unsigned long long)s.splits);
  return 0;
}
