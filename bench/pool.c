/* pool.c - many threads sharing one pool of blocks.
 *
 * A pool of at most 8,192 blocks under one mutex, filled at the start by
 * the main thread.  Each thread repeats: take up to 16 blocks from the
 * pool (whoever allocated them), check and free them, allocate 16 new
 * blocks of 16 bytes to 4 KiB (one in 64 of 4 to 64 KiB), write a pattern
 * into each and put them back; what does not fit is freed at once.  Blocks
 * move between threads as in a server's shared object pool or cache.
 * N (default 8,000,000) is about the total number of malloc and free
 * calls: each thread makes N / THREADS / 48 rounds of the above (so the
 * blocks allocated, and the checksum, do not depend on the interleaving);
 * the main thread frees what is left at the end.
 */
#include "bench.h"

#define POOLMAX 8192
#define STEP    16

struct blk {
  uint64_t n, tag;
};

static struct {
  pthread_mutex_t lock;
  void *p[POOLMAX];
  int len;
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static void *make(uint64_t *s, uint64_t tag) {
  size_t n = splitmix64(s) % 64 == 0 ? rnd_log(s, 4096, 65536) : rnd_log(s, 16, 4096);
  struct blk *b = xmalloc(n);
  b->n = n;
  b->tag = tag;
  fill(b + 1, n - sizeof *b, tag);
  return b;
}

static uint64_t drop(void *p) {
  struct blk *b = p;
  uint64_t sum;
  if (b->n < 16 || b->n > 65536) die("verify failed: pool header overwritten");
  sum = check(b + 1, b->n - sizeof *b, b->tag) + b->n;
  free(p);
  return sum;
}

static void *work(void *arg) {
  struct bench_worker *w = arg;
  uint64_t s = w->seed, sum = 0, tag = w->seed << 40;
  void *got[STEP];
  long done = 0, step, steps = w->ops / (3 * STEP);
  int k, i;
  for (step = 0; step < steps || step == 0; step++) {
    pthread_mutex_lock(&pool.lock);
    for (k = 0; k < STEP && pool.len > 0; k++) got[k] = pool.p[--pool.len];
    pthread_mutex_unlock(&pool.lock);
    for (i = 0; i < k; i++) sum += drop(got[i]);
    for (i = 0; i < STEP; i++) got[i] = make(&s, tag++);
    pthread_mutex_lock(&pool.lock);
    for (i = 0; i < STEP && pool.len < POOLMAX; i++) pool.p[pool.len++] = got[i];
    pthread_mutex_unlock(&pool.lock);
    for (; i < STEP; i++) sum += drop(got[i]);
    done += k + 2 * STEP;
  }
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  int threads, i;
  long n;
  uint64_t ops = 0, sum = 0, s = 0x9000u;
  struct bench_worker w[BENCH_MAX_THREADS];
  double t0;
  bench_args(argc, argv, &threads, &n, 8000000);
  for (i = 0; i < POOLMAX / 2; i++) pool.p[pool.len++] = make(&s, (uint64_t)i);
  for (i = 0; i < threads; i++) {
    w[i].ops = n / threads;
    w[i].seed = 0x9100u + (uint64_t)i;
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  t0 = now_secs() - t0;
  for (i = 0; i < threads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  while (pool.len > 0) sum += drop(pool.p[--pool.len]);
  report("pool", threads, ops, sum, t0);
  return 0;
}
