/* deflate_check.c - writes FILE compressed by tools/deflate.c (raw deflate)
 * to stdout, for tests/view/run.sh, which inflates it with Python's zlib. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hawk.h"

void tool_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  size_t cap = 1 << 16, n = 0, got;
  unsigned char *p = malloc(cap);
  while ((got = fread(p + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) p = realloc(p, cap *= 2);
  }
  fclose(f);
  size_t out;
  unsigned char *z = deflate_raw(p, n, &out);
  fwrite(z, 1, out, stdout);
  free(z);
  free(p);
  return 0;
}
