/* realloc.c - realloc growth: strings grown by small steps and vectors
 * grown by doubling.
 *
 * Each thread keeps 8 buffers and repeatedly picks one at random.  A
 * string buffer grows by 1 to 64 bytes per realloc until it passes a limit
 * of 1 to 64 KiB; a vector buffer starts at 16 bytes and doubles until it
 * passes a limit of 4 KiB to 2 MiB.  Then the buffer is freed and starts
 * again, as a string or a vector at random.  After every realloc the
 * preserved part is checked and the new part written.  N (default
 * 6,000,000) is the total number of malloc, realloc and free calls, split
 * between the threads.
 */
#include "bench.h"

#define BUFS 8

struct buf {
  char *p;
  size_t len, limit;
  uint64_t tag;
  int doubling;
};

/* Writes the pattern bytes of [from, to) that check(p, to) and later
 * checks of longer lengths read. */
static void fill_range(char *p, size_t from, size_t to, uint64_t tag) {
  size_t i, pg;
  for (i = from; i < 16 && i < to; i++) p[i] = (char)pat(tag, i);
  for (pg = (from + PAGE - 1) / PAGE * PAGE; pg < to; pg += PAGE)
    if (pg) p[pg] = (char)pat(tag, pg);
  for (i = to > 16 && to - 16 > from ? to - 16 : from; i < to; i++) p[i] = (char)pat(tag, i);
}

static void start(struct buf *b, uint64_t *s, uint64_t tag) {
  b->doubling = (int)(splitmix64(s) & 1);
  b->len = b->doubling ? 16 : rnd_range(s, 1, 64);
  b->limit = b->doubling ? rnd_log(s, 4096, 2 << 20) : rnd_log(s, 1024, 64 << 10);
  b->tag = tag;
  b->p = xmalloc(b->len);
  fill_range(b->p, 0, b->len, tag);
}

static void *work(void *arg) {
  struct bench_worker *w = arg;
  struct buf b[BUFS];
  uint64_t s = w->seed, sum = 0, tag = 0;
  long done = 0;
  int i;
  for (i = 0; i < BUFS; i++) start(&b[i], &s, tag++);
  done += BUFS;
  while (done < w->ops) {
    struct buf *x = &b[rnd_range(&s, 0, BUFS - 1)];
    size_t old = x->len, len = x->doubling ? old * 2 : old + rnd_range(&s, 1, 64);
    char *q;
    if (old > x->limit) {
      sum += check(x->p, x->len, x->tag);
      free(x->p);
      start(x, &s, tag++);
      done += 2;
      continue;
    }
    q = realloc(x->p, len);
    if (!q) die("realloc returned NULL");
    sum += check(q, old, x->tag);
    fill_range(q, old, len, x->tag);
    x->p = q;
    x->len = len;
    done++;
  }
  for (i = 0; i < BUFS; i++) {
    sum += check(b[i].p, b[i].len, b[i].tag);
    free(b[i].p);
  }
  w->ops = done + BUFS;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) {
  return bench_main(argc, argv, "realloc", 6000000, 0x5000u, work);
}
