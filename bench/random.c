/* random.c - batches of objects allocated, then freed in random order.
 *
 * Each thread repeats: allocate a batch of 256 to 4096 objects of 16 to
 * 2048 bytes, shuffle the batch, free it in that order (checking each
 * object's pattern).  N (default 12,000,000) is the total number of malloc
 * and free calls, split between the threads; every thread works alone.
 */
#include "bench.h"

#define MAXBATCH 4096

struct obj {
  void *p;
  size_t n;
  uint64_t tag;
};

static void *work(void *arg) {
  struct bench_worker *w = arg;
  struct obj *b = xmalloc(MAXBATCH * sizeof *b);
  uint64_t s = w->seed, sum = 0, tag = 0;
  long done = 0;
  while (done < w->ops) {
    size_t count = rnd_range(&s, 256, MAXBATCH), i;
    for (i = 0; i < count; i++) {
      b[i].n = rnd_log(&s, 16, 2048);
      b[i].p = xmalloc(b[i].n);
      b[i].tag = tag++;
      fill(b[i].p, b[i].n, b[i].tag);
    }
    for (i = count - 1; i > 0; i--) { /* Fisher-Yates */
      size_t j = rnd_range(&s, 0, i);
      struct obj t = b[i];
      b[i] = b[j];
      b[j] = t;
    }
    for (i = 0; i < count; i++) {
      sum += check(b[i].p, b[i].n, b[i].tag);
      free(b[i].p);
    }
    done += 2L * (long)count;
  }
  free(b);
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  return bench_main(argc, argv, "random", 12000000, 0x2000u, work);
}
