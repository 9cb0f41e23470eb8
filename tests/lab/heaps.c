/* heaps.c - a created heap's life, for the lab's trace tests: a heap made,
 * 1,000 blocks allocated in it, 10 of them freed, the heap destroyed with
 * 990 still live; then 5 blocks of 1,000 bytes of the default heap allocated and freed.
 * No stdio: the trace holds these calls only. */
#include <hawkalloc.h>
#include <stdlib.h>

int main(void) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  if (h == NULL) return 1;
  static void *p[1000];
  for (int i = 0; i < 1000; i++)
    if ((p[i] = hawk_heap_malloc(h, 100)) == NULL) return 2;
  for (int i = 0; i < 10; i++) free(p[i * 100]);
  hawk_heap_destroy(h);
  for (int i = 0; i < 5; i++) p[i] = malloc(1000);
  for (int i = 0; i < 5; i++) free(p[i]);
  return 0;
}
