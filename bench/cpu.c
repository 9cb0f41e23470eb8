/* cpu.c - the machine's parallel ceiling: a loop of integer arithmetic with
 * no allocation at all, N iterations in all (default 600,000,000) split
 * between the threads.  The runner times it at 1, 2 and 4 threads under
 * glibc: its 2-thread/1-thread throughput is the best that any allocator's
 * larson scaling can reach on this machine.
 */
#include "bench.h"

static void *work(void *arg) {
  struct bench_worker *w = arg;
  uint64_t s = w->seed, sum = 0;
  long i;
  for (i = 0; i < w->ops; i++) sum += splitmix64(&s) >> 60;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "cpu", 600000000, 0x9000u, work); }
