/* medium.c - the medium sizes: blocks above the thread cache's 2,048 bytes.
 *
 * Each thread keeps 8 slots; each step frees the block of a random slot
 * (after checking the tag in its first 8 bytes) and puts there a new block
 * of 2,100 to 3,123 bytes with a new tag.  Every one of those sizes is above
 * what a thread cache holds and below the large-block threshold, so every
 * malloc and free takes the heap's locked path (docs/performance.md, "The
 * medium sizes' locked path").  N (default 4,000,000) is the number of steps
 * (one free and one malloc each), split between the threads.  Not in
 * bench/run.sh's default list.
 */
#include "bench.h"

#define SLOTS 8

static void *work(void *arg) {
  struct bench_worker *w = arg;
  uint64_t *p[SLOTS] = {0};
  uint64_t sum = 0, tag = w->seed << 32;
  uint32_t s = (uint32_t)w->seed | 1u;
  long done;
  for (done = 0; done < w->ops; done++) {
    s = s * 1103515245u + 12345u;
    int k = (int)((s >> 16) & (SLOTS - 1));
    if (p[k]) {
      if ((*p[k] >> 32) != w->seed) die("verify failed: medium block overwritten");
      sum += *p[k] & 0xff;
      free(p[k]);
    }
    p[k] = xmalloc(2100 + ((s >> 8) & 1023));
    *p[k] = tag++;
  }
  for (int i = 0; i < SLOTS; i++) free(p[i]);
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "medium", 4000000, 0x9000u, work); }
