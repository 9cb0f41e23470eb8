/* remote.c - one thread allocates, the others free.
 *
 * Thread 0 allocates batches of 256 blocks of 16 to 512 bytes, writes a
 * pattern into each and hands each batch to the free threads in turn
 * through a queue of their own; the THREADS - 1 free threads check and free
 * every block they are given.  Every free is cross-thread: the pattern of a
 * server whose acceptor allocates requests that workers release.  With one
 * thread, the same thread frees each batch after making the next.  A queue
 * holds at most 16 batches; the allocating thread waits when the one it
 * hands to is full.  N (default 4,000,000) is the number of blocks.
 */
#include "bench.h"

#define BATCH    256
#define QUEUEMAX 16

struct batch {
  struct batch *next;
  void *p[BATCH];
  size_t n[BATCH];
};

struct queue {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct batch *head, *tail;
  int len, done;
  uint64_t sum;
  long ops;
  char pad[64];
};

static struct queue queues[BENCH_MAX_THREADS];

/* Checks and frees every block of b, and b. */
static uint64_t release(struct batch *b) {
  uint64_t sum = 0;
  for (int i = 0; i < BATCH; i++) {
    sum += check(b->p[i], b->n[i], (uint64_t)b->n[i]);
    free(b->p[i]);
  }
  free(b);
  return sum;
}

static struct batch *make(uint64_t *s) {
  struct batch *b = xmalloc(sizeof *b);
  b->next = NULL;
  for (int i = 0; i < BATCH; i++) {
    b->n[i] = rnd_log(s, 16, 512);
    b->p[i] = xmalloc(b->n[i]);
    fill(b->p[i], b->n[i], (uint64_t)b->n[i]);
  }
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
  struct queue *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->lock);
    while (q->head == NULL && !q->done) pthread_cond_wait(&q->cond, &q->lock);
    struct batch *b = q->head;
    if (b == NULL) {
      pthread_mutex_unlock(&q->lock);
      return NULL;
    }
    q->head = b->next;
    if (q->head == NULL) q->tail = NULL;
    q->len--;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    q->sum += release(b);
    q->ops += BATCH + 1;
  }
}

int main(int argc, char **argv) {
  int threads;
  long n;
  uint64_t s = 0x7e11, sum = 0, ops = 0;
  pthread_t tid[BENCH_MAX_THREADS];
  bench_args(argc, argv, &threads, &n, 4000000);
  long batches = n / BATCH < 1 ? 1 : n / BATCH;
  double t0 = now_secs();
  if (threads == 1) {
    struct batch *prev = NULL;
    for (long k = 0; k < batches; k++) {
      struct batch *b = make(&s);
      if (prev) sum += release(prev);
      prev = b;
      ops += 2 * (BATCH + 1);
    }
    sum += release(prev);
  } else {
    for (int i = 1; i < threads; i++) {
      pthread_mutex_init(&queues[i].lock, NULL);
      pthread_cond_init(&queues[i].cond, NULL);
      if (pthread_create(&tid[i], NULL, freer, &queues[i])) die("pthread_create");
    }
    for (long k = 0; k < batches; k++) {
      put(&queues[1 + k % (threads - 1)], make(&s));
      ops += BATCH + 1;
    }
    for (int i = 1; i < threads; i++) {
      pthread_mutex_lock(&queues[i].lock);
      queues[i].done = 1;
      pthread_cond_broadcast(&queues[i].cond);
      pthread_mutex_unlock(&queues[i].lock);
      pthread_join(tid[i], NULL);
      sum += queues[i].sum;
      ops += (uint64_t)queues[i].ops;
    }
  }
  report("remote", threads, ops, sum, now_secs() - t0);
  return 0;
}
