/* frag.c - a fragmentation-heavy pattern.
 *
 * Each thread repeats: allocate 2,000 blocks of the current size (with
 * +-12% jitter), free every other block of everything it holds, and make
 * the size 1.5 times larger, from 16 bytes up to 16 KiB and then back to
 * 16.  The survivors of each step are scattered between the holes of the
 * freed blocks, and the next, larger blocks do not fit those holes, so an
 * allocator must either coalesce and reuse well or grow.  N (default
 * 6,000,000) is the total number of malloc and free calls, split between
 * the threads; every thread works alone.
 */
#include "bench.h"

#define STEP    2000
#define MINSIZE 16
#define MAXSIZE (16 << 10)

struct obj {
  void *p;
  size_t n;
  uint64_t tag;
};

static void *work(void *arg) {
  struct bench_worker *w = arg;
  size_t cap = 4 * STEP, live = 0, i, j, size = MINSIZE;
  struct obj *o = xmalloc(cap * sizeof *o);
  uint64_t s = w->seed, sum = 0, tag = 0;
  long done = 0;
  while (done < w->ops) {
    if (live + STEP > cap) {
      struct obj *q = realloc(o, 2 * cap * sizeof *o);
      if (!q) die("realloc returned NULL");
      o = q;
      cap *= 2;
    }
    for (i = 0; i < STEP; i++) {
      struct obj *x = &o[live++];
      x->n = rnd_range(&s, size - size / 8, size + size / 8);
      x->p = xmalloc(x->n);
      x->tag = tag++;
      fill(x->p, x->n, x->tag);
    }
    for (i = j = 0; i < live; i++) {
      if (i & 1) {
        sum += check(o[i].p, o[i].n, o[i].tag);
        free(o[i].p);
      } else {
        o[j++] = o[i];
      }
    }
    done += STEP + (long)(live - j);
    live = j;
    size = size * 3 / 2;
    if (size > MAXSIZE) size = MINSIZE;
  }
  for (i = 0; i < live; i++) {
    sum += check(o[i].p, o[i].n, o[i].tag);
    free(o[i].p);
  }
  free(o);
  w->ops = done + (long)live;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "frag", 6000000, 0x7000u, work); }
