/* cpu.c - the machine's parallel ceiling: a loop of integer arithmetic with
 * no allocation at all, N iterations in all (default 600,000,000) split
 * between the threads.  The runner times it at 1, 2 and 4 threads under
 * glibc: its 2-thread/1-thread throughput is the best that any allocator's
 * larson scaling can reach on this machine.
 */
#include "bench.h"

struct worker {
  long ops;
  uint64_t seed, sum;
  char pad[64];
};

static void *work(void *arg) {
  struct worker *w = arg;
  uint64_t s = w->seed, sum = 0;
  long i;
  for (i = 0; i < w->ops; i++) sum += splitmix64(&s) >> 60;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  int threads, i;
  long n;
  uint64_t ops = 0, sum = 0;
  struct worker w[BENCH_MAX_THREADS];
  double t0;
  bench_args(argc, argv, &threads, &n, 600000000);
  for (i = 0; i < threads; i++) {
    w[i].ops = n / threads;
    w[i].seed = 0x9000u + (uint64_t)i;
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  for (i = 0; i < threads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  report("cpu", threads, ops, sum, now_secs() - t0);
  return 0;
}
