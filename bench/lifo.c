/* lifo.c - small objects allocated and freed in LIFO order.
 *
 * Each thread repeats: allocate a stack of 1 to 128 objects of 8 to 512
 * bytes, writing a pattern into each, then free them newest first, checking
 * the pattern.  N (default 20,000,000) is the total number of malloc and
 * free calls, split between the threads; every thread works alone.
 */
#include "bench.h"

#define DEPTH 128

static void *work(void *arg) {
  struct bench_worker *w = arg;
  void *stack[DEPTH];
  size_t size[DEPTH];
  uint64_t s = w->seed, sum = 0;
  long done = 0;
  while (done < w->ops) {
    int depth = (int)rnd_range(&s, 1, DEPTH), i;
    for (i = 0; i < depth; i++) {
      size[i] = rnd_log(&s, 8, 512);
      stack[i] = xmalloc(size[i]);
      fill(stack[i], size[i], (uint64_t)i + done);
    }
    for (i = depth - 1; i >= 0; i--) {
      sum += check(stack[i], size[i], (uint64_t)i + done);
      free(stack[i]);
    }
    done += 2L * depth;
  }
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "lifo", 20000000, 0x1000u, work); }
