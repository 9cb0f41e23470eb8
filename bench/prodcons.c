/* prodcons.c - producer/consumer: blocks allocated by one thread are freed
 * by another, passed through a queue.
 *
 * THREADS threads form a ring.  Each thread repeats: allocate a batch of
 * 64 blocks of 16 to 2048 bytes, write a pattern into each, push the batch
 * onto the next thread's queue; then take every batch waiting on its own
 * queue, check each block and free it.  With one thread the ring is a
 * single queue: blocks are freed by the thread that allocated them, later.
 * With two or more every free is cross-thread.  A queue holds at most 32
 * batches; a producer facing a full queue empties its own queue while it
 * waits.  N (default 6,000,000) is the total number of malloc and free
 * calls, split between the threads.
 */
#include "bench.h"

#define BATCH    64
#define QUEUEMAX 32

struct batch {
  struct batch *next;
  void *p[BATCH];
  size_t n[BATCH];
  uint64_t tag[BATCH];
};

struct queue {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* signalled when the queue shrinks */
  struct batch *head, *tail;
  int len;
  char pad[64];
};

struct worker {
  long ops, batches;
  uint64_t seed, sum;
  struct queue *in, *out;
  char pad[64];
};

static struct queue queues[BENCH_MAX_THREADS];
static atomic_int producing;

/* Frees every batch waiting on q; returns how many blocks. */
static long consume(struct queue *q, uint64_t *sum) {
  struct batch *b, *next;
  long blocks = 0;
  int i;
  pthread_mutex_lock(&q->lock);
  b = q->head;
  q->head = q->tail = NULL;
  q->len = 0;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
  for (; b; b = next) {
    next = b->next;
    for (i = 0; i < BATCH; i++) {
      *sum += check(b->p[i], b->n[i], b->tag[i]);
      free(b->p[i]);
    }
    free(b);
    blocks += BATCH + 1;
  }
  return blocks;
}

static void *work(void *arg) {
  struct worker *w = arg;
  uint64_t s = w->seed, sum = 0, tag = 0;
  long k, done = 0;
  int i;
  for (k = 0; k < w->batches; k++) {
    struct batch *b = xmalloc(sizeof *b);
    b->next = NULL;
    for (i = 0; i < BATCH; i++) {
      b->n[i] = rnd_log(&s, 16, 2048);
      b->p[i] = xmalloc(b->n[i]);
      b->tag[i] = tag++;
      fill(b->p[i], b->n[i], b->tag[i]);
    }
    done += BATCH + 1;
    pthread_mutex_lock(&w->out->lock);
    while (w->out->len >= QUEUEMAX && w->out != w->in) {
      struct timespec ts;
      pthread_mutex_unlock(&w->out->lock);
      done += consume(w->in, &sum);
      pthread_mutex_lock(&w->out->lock);
      if (w->out->len < QUEUEMAX) break;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 1000000;
      if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
      pthread_cond_timedwait(&w->out->cond, &w->out->lock, &ts);
    }
    if (w->out->tail)
      w->out->tail->next = b;
    else
      w->out->head = b;
    w->out->tail = b;
    w->out->len++;
    pthread_mutex_unlock(&w->out->lock);
    done += consume(w->in, &sum);
  }
  /* Keep consuming until every producer has finished, then once more. */
  atomic_fetch_sub(&producing, 1);
  while (atomic_load(&producing) > 0) {
    long got = consume(w->in, &sum);
    done += got;
    if (!got) sched_yield();
  }
  done += consume(w->in, &sum);
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
  bench_args(argc, argv, &threads, &n, 6000000);
  atomic_store(&producing, threads);
  for (i = 0; i < threads; i++) {
    pthread_mutex_init(&queues[i].lock, NULL);
    pthread_cond_init(&queues[i].cond, NULL);
  }
  for (i = 0; i < threads; i++) {
    w[i].batches = n / threads / (2 * (BATCH + 1));
    if (w[i].batches < 1) w[i].batches = 1;
    w[i].seed = 0x4000u + (uint64_t)i;
    w[i].in = &queues[i];
    w[i].out = &queues[(i + 1) % threads];
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  for (i = 0; i < threads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  report("prodcons", threads, ops, sum, now_secs() - t0);
  return 0;
}
