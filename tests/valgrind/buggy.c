/* buggy.c - a program with one leak and one read after free, for memcheck. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  (void)argv;
  char *kept = malloc(100);
  strcpy(kept, "kept");
  if (argc > 1) { /* the buggy run */
    char *leak = malloc(200);
    leak[0] = 1;
    leak = NULL;
    char *p = malloc(64);
    free(p);
    volatile char c = p[10]; /* read after free */
    (void)c;
  }
  char *q = calloc(10, 10);
  q = realloc(q, 5000);
  free(q);
  char *big = malloc(3 << 20);
  big[0] = 1;
  free(big);
  printf("%s\n", kept);
  free(kept);
  return 0;
}
