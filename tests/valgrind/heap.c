/* heap.c - a created heap under memcheck: its blocks are announced like the
 * default heap's (a read after free is reported), and hawk_heap_destroy
 * tells memcheck that the blocks still live in it are gone (no leak).  With
 * an argument, the read after free happens. */
#include <hawkalloc.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  (void)argv;
  struct hawk_heap *h = hawk_heap_create(NULL);
  if (h == NULL) return 1;
  char *live = hawk_heap_malloc(h, 300);    /* still live at the destroy */
  char *big = hawk_heap_malloc(h, 2 << 20); /* a mapping of its own, live too */
  char *z = hawk_heap_calloc(h, 10, 10);
  strcpy(live, "live");
  big[0] = 1;
  z = hawk_heap_realloc(h, z, 5000);
  hawk_free(z);
  if (argc > 1) { /* the buggy run */
    char *p = hawk_heap_malloc(h, 64);
    hawk_free(p);
    volatile char c = p[10]; /* read after free, in the created heap */
    (void)c;
  }
  printf("%s\n", live);
  hawk_heap_destroy(h);
  return 0;
}
