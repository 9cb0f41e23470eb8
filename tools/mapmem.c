/* mapmem.c - memory for the replay worker straight from mmap.
 *
 * The worker replays a trace against the allocator under test; its own
 * data (the trace, the slots, scratch arrays) must not come from that
 * allocator, or the replay would measure itself. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hawk.h"

void *mm_alloc(size_t n) {
  if (n == 0) n = 1;
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void mm_free(void *p, size_t n) {
  if (p) munmap(p, n ? n : 1);
}

void mm_touch(void *p, size_t n) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  volatile char *c = p;
  for (size_t i = 0; i < n; i += (size_t)page) c[i] = c[i];
  if (n) c[n - 1] = c[n - 1];
}
