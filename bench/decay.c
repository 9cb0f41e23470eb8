/* decay.c - does resident memory follow the live data after a big free?
 *
 * Fills MiB (default 400) with small blocks (16 to 128 bytes), keeps one in
 * a thousand, frees the rest (with "trim" as the second argument, then calls
 * malloc_trim(0)), and keeps allocating a little: every 10 ms, 2,000
 * malloc/free pairs of 16 to 4,000 bytes.  Prints the resident set (from
 * /proc/self/statm) at the peak, right after the free, and after 0.25, 0.5,
 * 1 and 2 s of that activity.  Run it under each allocator with LD_PRELOAD
 * (docs/performance.md, "Memory that follows the live data"):
 *
 *   build/bench/decay 400 [trim]
 */
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

/* The resident set in MiB. */
static double rss_mib(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return -1;
  return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

/* Where a_little's blocks are seen, so that the compiler cannot take a
 * malloc and its free away as a pair. */
static char *volatile sink;

/* 2,000 malloc/free pairs of 16 to 4,000 bytes. */
static void a_little(uint64_t *s) {
  for (int i = 0; i < 2000; i++) {
    char *p = xmalloc(rnd_range(s, 16, 4000));
    p[0] = 1;
    sink = p;
    free(sink);
  }
}

int main(int argc, char **argv) {
  size_t total = (size_t)(argc > 1 ? atol(argv[1]) : 400) << 20, count = 0, bytes = 0;
  int trim = argc > 2 && strcmp(argv[2], "trim") == 0;
  /* The table of pointers is not the allocator's: mapped, and unmapped
   * once the blocks kept are copied out. */
  size_t table = total / 16 * sizeof(char *);
  char **ptrs = mmap(NULL, table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ptrs == MAP_FAILED) die("mmap");
  while (bytes < total) {
    size_t n = 16 + (count % 8) * 16;
    ptrs[count] = xmalloc(n);
    memset(ptrs[count++], 1, n);
    bytes += n;
  }
  double peak = rss_mib();
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    if (i % 1000 == 0)
      ptrs[kept++] = ptrs[i];
    else
      free(ptrs[i]);
  }
  char **keep = xmalloc(kept * sizeof *keep);
  memcpy(keep, ptrs, kept * sizeof *keep);
  munmap(ptrs, table);
  if (trim) malloc_trim(0);
  printf("decay (%s%s): peak %.1f MiB, after the free %.1f", malloc_origin(), trim ? ", trim" : "",
         peak, rss_mib());
  uint64_t s = 42;
  double start = now_secs(), marks[] = {0.25, 0.5, 1, 2};
  for (int m = 0; m < 4; m++) {
    while (now_secs() - start < marks[m]) {
      a_little(&s);
      struct timespec t = {0, 10000000L};
      nanosleep(&t, NULL);
    }
    printf(", at %.2g s %.1f", marks[m], rss_mib());
  }
  printf(" MiB\n");
  for (size_t k = 0; k < kept; k++) free(keep[k]);
  free(keep);
  return 0;
}
