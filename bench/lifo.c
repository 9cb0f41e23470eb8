/* lifo.c - small objects allocated and freed in LIFO order.
 *
 * Each thread repeats: allocate a stack of 1 to 128 objects of 8 to 512
 * bytes, writing a pattern into each, then free them newest first, checking
 * the pattern.  N (default 20,000,000) is the total number of malloc and
 * free calls, split between the threads; every thread works alone.
 */
#include "bench.h"

#define DEPTH 128

struct worker {
  long ops;
  uint64_t seed, sum;
  char pad[64];
};

static void *work(void *arg) {
  struct worker *w = arg;
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

int main(int argc, char **argv) {
  int threads, i;
  long n;
  uint64_t ops = 0, sum = 0;
  struct worker w[BENCH_MAX_THREADS];
  double t0;
  bench_args(argc, argv, &threads, &n, 20000000);
  for (i = 0; i < threads; i++) {
    w[i].ops = n / threads;
    w[i].seed = 0x1000u + (uint64_t)i;
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  for (i = 0; i < threads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  report("lifo", threads, ops, sum, now_secs() - t0);
  return 0;
}
