/* xfree.c - one thread allocates, the others free.
 *
 * Thread 0 allocates batches of 64 blocks of 16 to 1024 bytes, writes a
 * pattern into each and hands each batch to the freeing threads in turn
 * (1, 2, ..., THREADS-1) through a queue of at most 16 batches; they check
 * every block and free it.  Every free is cross-thread, all of them of
 * memory that one thread allocated.  With one thread the allocating thread
 * frees its own batches, 16 batches later.  N (default 8,000,000) is the
 * total number of malloc and free calls.
 */
#include "bench.h"

#define BATCH    64
#define QUEUEMAX 16

struct batch {
  struct batch *next;
  void *p[BATCH];
  size_t n[BATCH];
  uint64_t tag[BATCH];
};

struct queue {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* signalled on every change */
  struct batch *head, *tail;
  int len, closed;
  char pad[64];
};

struct worker {
  long ops;
  uint64_t sum;
  struct queue *q;
  char pad[64];
};

static struct queue queues[BENCH_MAX_THREADS];
static int nthreads;
static long nbatches;

static long drain(struct batch *b, uint64_t *sum) {
  long blocks = 0;
  while (b) {
    struct batch *next = b->next;
    for (int i = 0; i < BATCH; i++) {
      *sum += check(b->p[i], b->n[i], b->tag[i]);
      free(b->p[i]);
    }
    free(b);
    blocks += BATCH + 1;
    b = next;
  }
  return blocks;
}

/* Takes every batch of q, waiting for one unless the queue is closed;
 * NULL when it is closed and empty. */
static struct batch *take(struct queue *q) {
  struct batch *b;
  pthread_mutex_lock(&q->lock);
  while (!q->head && !q->closed) pthread_cond_wait(&q->cond, &q->lock);
  b = q->head;
  q->head = q->tail = NULL;
  q->len = 0;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
  return b;
}

static void put(struct queue *q, struct batch *b) {
  pthread_mutex_lock(&q->lock);
  while (q->len >= QUEUEMAX) pthread_cond_wait(&q->cond, &q->lock);
  if (q->tail)
    q->tail->next = b;
  else
    q->head = b;
  q->tail = b;
  q->len++;
  pthread_cond_broadcast(&q->cond);
  pthread_mutex_unlock(&q->lock);
}

static void *freer(void *arg) {
  struct worker *w = arg;
  struct batch *b;
  uint64_t sum = 0;
  long done = 0;
  while ((b = take(w->q)) != NULL) done += drain(b, &sum);
  w->ops = done;
  w->sum = sum;
  return NULL;
}

static void *allocator(void *arg) {
  struct worker *w = arg;
  uint64_t s = 0x8000u, sum = 0, tag = 0;
  long done = 0, k;
  struct batch *own = NULL, **own_tail = &own;
  int own_len = 0;
  for (k = 0; k < nbatches; k++) {
    struct batch *b = xmalloc(sizeof *b);
    b->next = NULL;
    for (int i = 0; i < BATCH; i++) {
      b->n[i] = rnd_log(&s, 16, 1024);
      b->p[i] = xmalloc(b->n[i]);
      b->tag[i] = tag++;
      fill(b->p[i], b->n[i], b->tag[i]);
    }
    done += BATCH + 1;
    if (nthreads > 1) {
      put(&queues[1 + k % (nthreads - 1)], b);
    } else { /* one thread: free its own batches, QUEUEMAX batches later */
      *own_tail = b;
      own_tail = &b->next;
      if (++own_len == QUEUEMAX) {
        done += drain(own, &sum);
        own = NULL, own_tail = &own, own_len = 0;
      }
    }
  }
  done += drain(own, &sum);
  for (int i = 1; i < nthreads; i++) {
    pthread_mutex_lock(&queues[i].lock);
    queues[i].closed = 1;
    pthread_cond_broadcast(&queues[i].cond);
    pthread_mutex_unlock(&queues[i].lock);
  }
  w->ops = done;
  w->sum = sum;
  return NULL;
}

static void *work(void *arg) {
  struct worker *w = arg;
  return w->q == &queues[0] ? allocator(arg) : freer(arg);
}

int main(int argc, char **argv) {
  int i;
  long n;
  uint64_t ops = 0, sum = 0;
  struct worker w[BENCH_MAX_THREADS];
  double t0;
  bench_args(argc, argv, &nthreads, &n, 8000000);
  nbatches = n / (2 * (BATCH + 1));
  if (nbatches < 1) nbatches = 1;
  for (i = 0; i < nthreads; i++) {
    pthread_mutex_init(&queues[i].lock, NULL);
    pthread_cond_init(&queues[i].cond, NULL);
    w[i].q = &queues[i];
    w[i].ops = 0;
    w[i].sum = 0;
  }
  t0 = now_secs();
  run_threads(nthreads, work, w, sizeof w[0]);
  t0 = now_secs() - t0;
  for (i = 0; i < nthreads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  report("xfree", nthreads, ops, sum, t0);
  return 0;
}
