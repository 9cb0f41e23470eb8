/* mstress.c - many threads, mixed sizes, some blocks handed to others.
 *
 * ROUNDS rounds (10); in each, THREADS threads start, and each runs its
 * share of N steps (default 4,000,000 over all rounds) on a private array
 * of up to 2,000 blocks: allocate a block (1 to 128 words, one in 100 a
 * hundred times bigger, one in 10,000 a thousand times), free a random
 * one, or swap one with a random slot of a shared array of 1,000 blocks,
 * whose blocks were allocated by any thread of any round.  At the end of a
 * round a thread frees half of its blocks and leaves the other half in a
 * global array that the next round's threads take over, then exits: the
 * threads are new every round, as in a server that starts threads for
 * bursts of work.
 */
#include "bench.h"

#define ROUNDS   10
#define LOCAL    2000
#define TRANSFER 1000

static _Atomic(uint64_t *) transfer[TRANSFER];
static uint64_t *retained[BENCH_MAX_THREADS][LOCAL / 2];

static uint64_t *make(uint64_t *s) {
  size_t words = rnd_range(s, 1, 128), pick = rnd_range(s, 0, 9999);
  if (pick == 0)
    words *= 1000;
  else if (pick < 100)
    words *= 100;
  uint64_t *p = xmalloc(words * 8);
  p[0] = words;
  if (words > 1) p[words - 1] = words ^ 0x5a5a; /* one word: the head is the tail */
  return p;
}

static uint64_t drop(uint64_t *p) {
  if (p == NULL) return 0;
  uint64_t words = p[0];
  if (words < 1 || words > 128000 || (words > 1 && p[words - 1] != (words ^ 0x5a5a)))
    die("mstress: a block was overwritten");
  free(p);
  return 2 * words;
}

struct worker {
  int id;
  long steps;
  uint64_t seed, sum;
  char pad[64];
};

static void *work(void *arg) {
  struct worker *w = arg;
  uint64_t *local[LOCAL] = {0}, s = w->seed, sum = 0;
  for (int i = 0; i < LOCAL / 2; i++) local[i] = retained[w->id][i], retained[w->id][i] = NULL;
  for (long k = 0; k < w->steps; k++) {
    size_t i = rnd_range(&s, 0, LOCAL - 1), what = rnd_range(&s, 0, 9);
    if (what < 5) {
      sum += drop(local[i]);
      local[i] = make(&s);
    } else if (what < 8) {
      sum += drop(local[i]);
      local[i] = NULL;
    } else {
      local[i] = atomic_exchange(&transfer[rnd_range(&s, 0, TRANSFER - 1)], local[i]);
    }
  }
  for (int i = 0; i < LOCAL; i++) {
    if (i < LOCAL / 2)
      retained[w->id][i] = local[i];
    else
      sum += drop(local[i]);
  }
  w->sum += sum;
  return NULL;
}

int main(int argc, char **argv) {
  int threads;
  long n;
  uint64_t ops = 0, sum = 0;
  struct worker w[BENCH_MAX_THREADS];
  bench_args(argc, argv, &threads, &n, 4000000);
  double t0 = now_secs();
  for (int i = 0; i < threads; i++) w[i] = (struct worker){i, n / ROUNDS / threads, 0, 0, {0}};
  for (int r = 0; r < ROUNDS; r++) {
    for (int i = 0; i < threads; i++) w[i].seed = 0x3e55u + (uint64_t)(r * threads + i);
    run_threads(threads > 1 ? threads : 1, work, w, sizeof w[0]);
    ops += (uint64_t)(n / ROUNDS / threads) * (uint64_t)threads;
  }
  for (int i = 0; i < threads; i++)
    for (int j = 0; j < LOCAL / 2; j++) sum += drop(retained[i][j]);
  for (int i = 0; i < TRANSFER; i++) sum += drop(atomic_exchange(&transfer[i], NULL));
  for (int i = 0; i < threads; i++) sum += w[i].sum;
  report("mstress", threads, ops, sum, now_secs() - t0);
  return 0;
}
