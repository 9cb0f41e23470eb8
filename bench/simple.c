/* simple.c - the simplest loop: malloc and free of a few small sizes.
 *
 * Each thread repeats: allocate 8 blocks of 16, 32, 64 and 128 bytes (each
 * size twice), write a tag into the first 8 bytes of each, then check the
 * tags and free the 8 blocks, oldest first.  Almost nothing happens between
 * the calls, so the time is the cached fast paths of malloc and free.
 * N (default 40,000,000) is the total number of malloc and free calls,
 * split between the threads; every thread works alone.
 */
#include "bench.h"

#define BATCH 8

static const size_t sizes[4] = {16, 32, 64, 128};

static void *work(void *arg) {
  struct bench_worker *w = arg;
  uint64_t *p[BATCH];
  uint64_t sum = 0, tag = w->seed << 32;
  long done = 0;
  int i;
  while (done < w->ops) {
    for (i = 0; i < BATCH; i++) {
      p[i] = xmalloc(sizes[i & 3]);
      *p[i] = tag + (uint64_t)i;
    }
    for (i = 0; i < BATCH; i++) {
      if (*p[i] != tag + (uint64_t)i) die("verify failed: simple block overwritten");
      sum += *p[i] & 0xff;
      free(p[i]);
    }
    tag += BATCH;
    done += 2 * BATCH;
  }
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  return bench_main(argc, argv, "simple", 40000000, 0x7000u, work);
}
