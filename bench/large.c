/* large.c - big buffers replaced at random: 20 slots, each iteration frees
 * one and puts a new buffer of 5 to 25 MiB in it, zeroed by the program
 * (as C++'s make_unique<char[]> does: malloc, then every byte written; not
 * calloc, see clear below), the way a program that builds big
 * images or arrays again and again uses memory.  THREADS threads each run
 * their own 20 slots; N (default 2,000) iterations are split between them.
 */
#include "bench.h"

#define SLOTS 20
#define MIB   ((size_t)1 << 20)

/* Called through a volatile pointer: a compiler that sees malloc followed
 * by memset(0) turns the two into calloc, and the benchmark would measure
 * calloc (which may leave fresh pages untouched) instead of a program that
 * writes every byte, as C++'s value-initialising new[] does. */
static void *(*volatile clear)(void *, int, size_t) = memset;

static void *work(void *arg) {
  struct bench_worker *w = arg;
  void *slot[SLOTS] = {0};
  uint64_t s = w->seed, sum = 0;
  for (long i = 0; i < w->ops; i++) {
    size_t k = rnd_range(&s, 0, SLOTS - 1), n = rnd_range(&s, 5 * MIB, 25 * MIB);
    free(slot[k]);
    slot[k] = xmalloc(n);
    clear(slot[k], 0, n);
    sum += ((unsigned char *)slot[k])[n - 1] + n;
  }
  for (int k = 0; k < SLOTS; k++) free(slot[k]);
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "large", 2000, 0x1a7e, work); }
