/* mixed.c - mixed small, medium and large sizes with random lifetimes.
 *
 * Each thread keeps a working set of 2,000 slots and repeatedly replaces a
 * random slot: check and free the old block, allocate a new one whose size
 * is 8 to 512 bytes (90%), 513 bytes to 64 KiB (9%) or 64 KiB to 4 MiB
 * (1%), each uniform in its logarithm.  One small allocation in 16 is a
 * calloc, whose bytes are checked to be zero (callgrind counts each byte a
 * `rep stosb` clears as an instruction, so zeroing large blocks would drown
 * the allocator's own work in the instruction counts).  Every block gets its first and
 * last 16 bytes and one byte per page written, so its pages are really
 * used.  N (default 8,000,000) is the total number of allocation and free
 * calls, split between the threads; every thread works alone.  This is
 * also the "mix" program whose instructions the runner counts with
 * callgrind.
 */
#include "bench.h"

#define SET 2000

static size_t pick_size(uint64_t *s) {
  unsigned r = (unsigned)(splitmix64(s) % 100);
  if (r < 90) return rnd_log(s, 8, 512);
  if (r < 99) return rnd_log(s, 513, 64 << 10);
  return rnd_log(s, 64 << 10, 4 << 20);
}

static void *alloc(uint64_t *s, size_t n, uint64_t tag) {
  void *p;
  if (n <= 512 && (splitmix64(s) & 15) == 0) {
    size_t i;
    p = calloc(1, n);
    if (!p) die("calloc returned NULL");
    for (i = 0; i < n; i++)
      if (((unsigned char *)p)[i]) die("verify failed: calloc memory not zero");
  } else {
    p = xmalloc(n);
  }
  fill(p, n, tag);
  return p;
}

static void *work(void *arg) {
  struct bench_worker *w = arg;
  void **p = xmalloc(SET * sizeof *p);
  size_t *n = xmalloc(SET * sizeof *n);
  uint64_t s = w->seed, sum = 0, tag = 0, *t = xmalloc(SET * sizeof *t);
  long done = 0;
  int i;
  for (i = 0; i < SET; i++) {
    n[i] = pick_size(&s);
    t[i] = tag++;
    p[i] = alloc(&s, n[i], t[i]);
  }
  done += SET;
  while (done < w->ops) {
    size_t k = rnd_range(&s, 0, SET - 1);
    sum += check(p[k], n[k], t[k]);
    free(p[k]);
    n[k] = pick_size(&s);
    t[k] = tag++;
    p[k] = alloc(&s, n[k], t[k]);
    done += 2;
  }
  for (i = 0; i < SET; i++) {
    sum += check(p[i], n[i], t[i]);
    free(p[i]);
  }
  free(p);
  free(n);
  free(t);
  w->ops = done + SET;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "mixed", 8000000, 0x6000u, work); }
