/* larson.c - a larson-style server simulation with cross-thread frees.
 *
 * A shared array of 20,000 slots starts full of blocks of 16 to 1024 bytes
 * (allocated by the main thread).  Each thread then repeats, for its share
 * of N replacements (default 8,000,000 in all): pick a random slot,
 * allocate a new block, swap it into the slot atomically, check the old
 * block's contents and free it.  The old block was usually allocated by
 * another thread, so most frees are cross-thread.  The op count is fixed,
 * not the time: wall time is the measure, throughput is N / time.  Each
 * block starts with its size and tag, so any thread can check it.
 */
#include "bench.h"

#define SLOTS 20000

static _Atomic(void *) slot[SLOTS];

struct worker {
  long ops;
  uint64_t seed, sum;
  char pad[64];
};

struct hdr {
  uint64_t n, tag;
};

static void *make(uint64_t *s, uint64_t tag) {
  size_t n = rnd_log(s, 16, 1024);
  struct hdr *h = xmalloc(n);
  h->n = n;
  h->tag = tag;
  fill(h + 1, n - sizeof *h, tag);
  return h;
}

static uint64_t drop(void *p) {
  struct hdr *h = p;
  uint64_t sum;
  if (h->n < 16 || h->n > 1024) die("verify failed: larson header overwritten");
  sum = check(h + 1, h->n - sizeof *h, h->tag) + h->n;
  free(p);
  return sum;
}

static void *work(void *arg) {
  struct worker *w = arg;
  uint64_t s = w->seed, sum = 0;
  long i;
  for (i = 0; i < w->ops; i++) {
    size_t k = rnd_range(&s, 0, SLOTS - 1);
    void *old = atomic_exchange_explicit(&slot[k], make(&s, s), memory_order_acq_rel);
    if (old) sum += drop(old);
  }
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  int threads, i;
  long n;
  uint64_t ops = 0, sum = 0, s = 42;
  struct worker w[BENCH_MAX_THREADS];
  double t0;
  bench_args(argc, argv, &threads, &n, 8000000);
  for (i = 0; i < SLOTS; i++) atomic_store(&slot[i], make(&s, (uint64_t)i));
  for (i = 0; i < threads; i++) {
    w[i].ops = n / threads;
    w[i].seed = 0x3000u + (uint64_t)i;
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  t0 = now_secs() - t0;
  for (i = 0; i < threads; i++) ops += 2 * (uint64_t)w[i].ops, sum += w[i].sum;
  for (i = 0; i < SLOTS; i++) sum += drop(atomic_load(&slot[i]));
  report("larson", threads, ops, sum, t0);
  return 0;
}
