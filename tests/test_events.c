/* test_events.c - hawk_events: the heap's events of each call, as the heap
 * explorer (hawk view) records them.  A block allocated is reported taken
 * where malloc put it, with its split; a free reports its coalesces; a
 * second recorder is refused; while one is installed the policy keeps its
 * name and hawk_check still verifies the lists; removed, nothing is
 * reported; the lists there were are told first.  Run under every policy
 * (scripts/run-tests.sh). */
#include <errno.h>
#include <pthread.h>

#include "harness.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "process.h"

#define EV_MAX 4096

static struct hawk_event seen[EV_MAX];
static size_t nseen;

static void record(void *ctx, const struct hawk_event *e) {
  (*(int *)ctx)++;
  if (nseen < EV_MAX) seen[nseen++] = *e;
}

/* The last event of kind for block b (0: any block), or NULL. */
static const struct hawk_event *find(int kind, uintptr_t b) {
  for (size_t i = nseen; i-- > 0;)
    if (seen[i].kind == kind && (b == 0 || seen[i].block == b)) return &seen[i];
  return NULL;
}

static int calls;

/* The walk's report of the block at address (seen: how many times). */
struct walked {
  uintptr_t address;
  uint64_t size, region, region_size;
  int seen;
};
static void walk_find(void *ctx, const struct hawk_block_info *b) {
  struct walked *w = ctx;
  if (b->address != w->address) return;
  w->size = b->size;
  w->region = b->region;
  w->region_size = b->region_size;
  w->seen++;
}

/* The events of one call: (re)starts the record. */
static void record_from_here(void) { nseen = 0; }

/* n blocks of size bytes; the index of the first of three that lie side by
 * side (each block's end the next one's address, by their events), or -1. */
static int three_in_a_row(char **p, int n, size_t size) {
  uintptr_t at[16];
  uint64_t len[16];
  for (int i = 0; i < n && i < 16; i++) {
    record_from_here();
    p[i] = hawk_malloc(size);
    const struct hawk_event *t = p[i] ? find(HAWK_EV_TAKEN, (uintptr_t)(p[i] - 8)) : NULL;
    if (t == NULL) return -1;
    at[i] = t->block;
    len[i] = t->size;
  }
  for (int i = 0; i + 2 < n && i + 2 < 16; i++)
    if (at[i] + len[i] == at[i + 1] && at[i + 1] + len[i + 1] == at[i + 2]) return i;
  return -1;
}

TEST(events_report_the_taken_block_and_its_split) {
  void *warm = hawk_malloc(40000); /* beyond the thread cache: the heap answers */
  nseen = 0;
  REQUIRE(hawk_events(record, &calls) == 0);
  /* The lists there were, told first. */
  CHECK(find(HAWK_EV_LISTED, 0) != NULL);
  nseen = 0;
  char *p = hawk_malloc(30000);
  REQUIRE(p != NULL);
  const struct hawk_event *t = find(HAWK_EV_TAKEN, (uintptr_t)(p - 8));
  REQUIRE(t != NULL);
  CHECK(t->size >= 30008 && t->size < 30008 + 48);
  CHECK(t->b == t->d + t->size + t->c); /* the free block it came from: pad + block + rest */
  const struct hawk_event *c = find(HAWK_EV_CHOSEN, 0);
  REQUIRE(c != NULL);
  CHECK(c->block == t->a);
  CHECK(find(HAWK_EV_UNLISTED, c->block) != NULL);
  /* 30000 bytes out of a free block far bigger (the rest of the arena the
   * 40000 came from): a rest is split off, listed with the size told. */
  CHECK(t->c >= 32);
  const struct hawk_event *r = find(HAWK_EV_LISTED, (uintptr_t)(p - 8) + t->size);
  REQUIRE(r != NULL);
  CHECK(r->size == t->c);
  /* Freed next to the rest it was split from: merged with it. */
  nseen = 0;
  hawk_free(p);
  const struct hawk_event *f = find(HAWK_EV_FREED, (uintptr_t)(p - 8));
  REQUIRE(f != NULL);
  CHECK(f->size == t->size);
  CHECK(f->b == f->c + f->size + f->d);
  if (t->c) CHECK(f->d >= t->c);
  CHECK(strcmp(hawk_policy_name(),
               getenv("HAWKALLOC_POLICY") ? getenv("HAWKALLOC_POLICY") : "segregated") == 0);
  CHECK(hawk_check() == 0);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  hawk_free(warm);
}

TEST(a_second_recorder_is_refused) {
  int mine = 0;
  REQUIRE(hawk_events(record, &calls) == 0);
  errno = 0;
  CHECK(hawk_events(record, &mine) == -1);
  CHECK(errno == EBUSY);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  CHECK(hawk_events(record, &mine) == 0);
  CHECK(hawk_events(NULL, NULL) == 0);
}

TEST(removed_it_reports_nothing) {
  int mine = 0;
  REQUIRE(hawk_events(record, &mine) == 0);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  mine = 0;
  void *p = hawk_malloc(50000);
  hawk_free(p);
  CHECK(mine == 0);
}

TEST(large_blocks_are_reported) {
  int mine = 0;
  REQUIRE(hawk_events(record, &mine) == 0);
  nseen = 0;
  char *p = hawk_malloc(8 << 20);
  REQUIRE(p != NULL);
  const struct hawk_event *m = find(HAWK_EV_LARGE_MAPPED, (uintptr_t)(p - 8));
  CHECK(m != NULL);
  if (m) CHECK(m->size >= (8u << 20) + 8 && m->heap == -1);
  /* The block, its mapping and the mapping's length, as hawk_walk reports them. */
  struct walked w = {(uintptr_t)(p - 8), 0, 0, 0, 0};
  hawk_walk(walk_find, &w);
  CHECK(w.seen == 1);
  if (m) CHECK(m->size == w.size && m->a == w.region && m->b == w.region_size);
  hawk_free(p);
  CHECK(find(HAWK_EV_LARGE_UNMAPPED, (uintptr_t)(p - 8)) != NULL);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

/* A free that merges says with what: the free block before it (the one
 * its left neighbour's free made) and the one after it, and the block they
 * make together, where they start and how big it is. */
TEST(a_free_tells_the_free_blocks_it_merged_with) {
  REQUIRE(hawk_events(record, &calls) == 0);
  char *p[8];
  int i = three_in_a_row(p, 8, 20000);
  REQUIRE(i >= 0);
  record_from_here();
  hawk_free(p[i]);
  const struct hawk_event *before = find(HAWK_EV_FREED, (uintptr_t)(p[i] - 8));
  REQUIRE(before != NULL);
  struct hawk_event left = *before;
  record_from_here();
  hawk_free(p[i + 2]);
  const struct hawk_event *after = find(HAWK_EV_FREED, (uintptr_t)(p[i + 2] - 8));
  REQUIRE(after != NULL);
  struct hawk_event right = *after;
  CHECK(left.a + left.b == (uintptr_t)(p[i + 1] - 8)); /* it ends where the middle one starts */
  CHECK(right.a == (uintptr_t)(p[i + 2] - 8));         /* the middle one was in use */
  record_from_here();
  hawk_free(p[i + 1]);
  const struct hawk_event *f = find(HAWK_EV_FREED, (uintptr_t)(p[i + 1] - 8));
  REQUIRE(f != NULL);
  CHECK(f->a == left.a);
  CHECK(f->c == left.b);
  CHECK(f->d == right.b);
  CHECK(f->b == left.b + f->size + right.b);
  for (int k = 0; k < 8; k++)
    if (k < i || k > i + 2) hawk_free(p[k]);
  CHECK(hawk_check() == 0);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

/* realloc that shrinks a block in place says how big the free block after
 * it is: the block listed there. */
TEST(a_shrink_in_place_tells_the_free_block_after_it) {
  REQUIRE(hawk_events(record, &calls) == 0);
  char *p[8];
  int i = three_in_a_row(p, 8, 30000);
  REQUIRE(i >= 0);
  record_from_here();
  REQUIRE(hawk_realloc(p[i + 1], 10000) == p[i + 1]);
  const struct hawk_event *r = find(HAWK_EV_RESIZED, (uintptr_t)(p[i + 1] - 8));
  REQUIRE(r != NULL);
  CHECK(r->size < r->a);
  const struct hawk_event *l = find(HAWK_EV_LISTED, (uintptr_t)(p[i + 1] - 8) + r->size);
  REQUIRE(l != NULL);
  CHECK(r->b == l->size);
  CHECK(r->b == r->a - r->size); /* the next block is in use: the rest alone */
  for (int k = 0; k < 8; k++) hawk_free(p[k]);
  CHECK(hawk_check() == 0);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

/* A block chosen is told with the size asked of the policy: at most the
 * block taken from it, at least what malloc was asked for. */
TEST(a_chosen_block_is_told_with_the_size_asked_for) {
  REQUIRE(hawk_events(record, &calls) == 0);
  char *p[4];
  for (int k = 0; k < 4; k++) REQUIRE((p[k] = hawk_malloc(30000)) != NULL);
  hawk_free(p[1]); /* a hole far bigger than the request */
  record_from_here();
  char *q = hawk_malloc(5000);
  REQUIRE(q != NULL);
  const struct hawk_event *t = find(HAWK_EV_TAKEN, (uintptr_t)(q - 8));
  const struct hawk_event *c = find(HAWK_EV_CHOSEN, 0);
  REQUIRE(t != NULL && c != NULL);
  CHECK(c->block == t->a);
  CHECK(c->a >= 5008 && c->a <= t->size);
  CHECK(c->size >= t->b && t->b > c->a); /* the free block chosen was bigger */
  hawk_free(q);
  for (int k = 0; k < 4; k++)
    if (k != 1) hawk_free(p[k]);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

/* An arena mapped is told with its one free block, past the arena's head:
 * the block the next allocation is taken from. */
TEST(an_arena_mapped_is_told_with_its_one_free_block) {
  REQUIRE(hawk_events(record, &calls) == 0);
  char *p[12];
  int n = 0;
  const struct hawk_event *m = NULL;
  struct hawk_event mapped;
  while (n < 12 && m == NULL) {
    record_from_here();
    REQUIRE((p[n] = hawk_malloc(900000)) != NULL);
    m = find(HAWK_EV_ARENA_MAPPED, 0);
    if (m) mapped = *m;
    n++;
  }
  REQUIRE(m != NULL);
  CHECK(mapped.block % mapped.size == 0 && mapped.size == (4u << 20));
  CHECK(mapped.a > mapped.block && mapped.a - mapped.block < 4096);
  CHECK(mapped.a - mapped.block + mapped.b <= mapped.size);
  const struct hawk_event *t = find(HAWK_EV_TAKEN, (uintptr_t)(p[n - 1] - 8));
  REQUIRE(t != NULL);
  CHECK(t->a == mapped.a && t->b == mapped.b); /* taken from that free block */
  for (int k = 0; k < n; k++) hawk_free(p[k]);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

/* A recorder installed hears every listed block, each list from its tail
 * to its head: the first told of a list has no old head (NULL), and each
 * next one has the block told before it.  Five free blocks of one size,
 * between blocks in use, make one list of five at least. */
TEST(the_lists_are_told_whole_from_their_tails) {
  char *p[10];
  for (int k = 0; k < 10; k++) REQUIRE((p[k] = hawk_malloc(20000)) != NULL);
  for (int k = 0; k < 10; k += 2) hawk_free(p[k]);
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  nseen = 0;
  REQUIRE(hawk_events(record, &calls) == 0);
  size_t listed = 0, chained = 0, longest = 0;
  for (size_t k = 0; k < nseen; k++) {
    if (seen[k].kind != HAWK_EV_LISTED) continue;
    listed++;
    /* the block before it of its heap and list, or none */
    const struct hawk_event *prev = NULL;
    size_t run = 1;
    for (size_t j = k; j-- > 0;)
      if (seen[j].kind == HAWK_EV_LISTED && seen[j].heap == seen[k].heap &&
          seen[j].a == seen[k].a) {
        prev = &seen[j];
        break;
      }
    for (size_t j = k; j-- > 0;)
      run +=
          seen[j].kind == HAWK_EV_LISTED && seen[j].heap == seen[k].heap && seen[j].a == seen[k].a;
    chained += prev ? seen[k].b == prev->block : seen[k].b == 0;
    if (run > longest) longest = run;
  }
  CHECK(listed == s.free_blocks);
  CHECK(chained == listed);
  CHECK(longest >= 5);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  for (int k = 1; k < 10; k += 2) hawk_free(p[k]);
}

/* After its recorder returns, a thread is in no callback: a wait of its own
 * for a heap's lock that another thread holds is no misuse.  The other
 * thread holds the lock of this thread's heap (the heap of its events) for
 * a while; this thread's malloc waits for it. */
static struct hawk_lock *held;
static int holding;

static void *hold_a_while(void *arg) {
  (void)arg;
  lock_take(held);
  __atomic_store_n(&holding, 1, __ATOMIC_RELEASE);
  struct timespec t = {0, 50 * 1000 * 1000};
  nanosleep(&t, NULL);
  lock_give(held);
  return NULL;
}

TEST(a_thread_waits_for_a_lock_after_its_recorder_returned) {
  REQUIRE(hawk_events(record, &calls) == 0);
  record_from_here();
  char *p = hawk_malloc(30000);
  REQUIRE(p != NULL);
  const struct hawk_event *t = find(HAWK_EV_TAKEN, (uintptr_t)(p - 8));
  REQUIRE(t != NULL && t->heap >= 0 && t->heap < (int)HEAP_MAX);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  held = &hawk_heaps[t->heap].lock;
  __atomic_store_n(&holding, 0, __ATOMIC_RELAXED);
  pthread_t other;
  REQUIRE(pthread_create(&other, NULL, hold_a_while, NULL) == 0);
  while (!__atomic_load_n(&holding, __ATOMIC_ACQUIRE)) sched_yield();
  char *q = hawk_malloc(30000); /* waits for the other thread's give */
  CHECK(q != NULL);
  pthread_join(other, NULL);
  hawk_free(q);
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* An aligned block taken past a leading pad is told with the whole free
 * block it came from: pad + block + rest.  A created heap's first arena
 * has one free block, at 136 bytes into it (its payload at 144); a block
 * aligned to 4096 leaves a pad of 4088 - 136 = 3952 bytes before it. */
TEST(an_aligned_block_is_told_with_its_pad_in_the_free_block) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  REQUIRE(hawk_events(record, &calls) == 0);
  record_from_here();
  char *p = hawk_heap_aligned_alloc(h, 4096, 1000);
  REQUIRE(p != NULL);
  CHECK((uintptr_t)p % 4096 == 0);
  const struct hawk_event *m = find(HAWK_EV_ARENA_MAPPED, 0);
  const struct hawk_event *t = find(HAWK_EV_TAKEN, (uintptr_t)(p - 8));
  REQUIRE(m != NULL && t != NULL);
  CHECK(t->a == m->a); /* from the arena's one free block */
  CHECK(t->d == (uintptr_t)(p - 8) - t->a);
  CHECK(t->d == 4088 - 136);
  CHECK(t->b == m->b); /* the whole of it */
  CHECK(t->b == t->d + t->size + t->c);
  REQUIRE(hawk_events(NULL, NULL) == 0);
  hawk_free(p);
  hawk_heap_destroy(h);
}

TEST_MAIN()
