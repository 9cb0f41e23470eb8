/* leaf.c - run by tests/levels/run.sh with the library preloaded: a process
 * that allocates and frees a little prints, for the mapping of the library
 * that holds argv[1] (an offset in the file: the read-only data's, where
 * the registry's zero leaf lies, or the code's), the mapping's size and its
 * resident kilobytes (/proc/self/smaps).  Exit status 3 if no mapping
 * holds it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  unsigned long off = strtoul(argv[1], NULL, 16);
  void *p[64];
  for (int i = 0; i < 64; i++) p[i] = malloc((size_t)(16 + 40 * i));
  for (int i = 0; i < 64; i++) free(p[i]);
  free(malloc(5000));
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0;
  unsigned long size_kb = 0, rss_kb;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi, foff;
    if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &foff) == 3) {
      in = strstr(line, "libhawkalloc") && off >= foff && off < foff + (hi - lo);
      size_kb = (hi - lo) / 1024;
    } else if (in && sscanf(line, "Rss: %lu kB", &rss_kb) == 1) {
      printf("%lu %lu\n", size_kb, rss_kb);
      return 0;
    }
  }
  return 3;
}
