/* test_events.c - hawk_events: the heap's events of each call, as the heap
 * explorer (hawk view) records them.  A block allocated is reported taken
 * where malloc put it, with its split; a free reports its coalesces; a
 * second recorder is refused; while one is installed the policy keeps its
 * name and hawk_check still verifies the lists; removed, nothing is
 * reported; the lists there were are told first.  Run under every policy
 * (scripts/run-tests.sh). */
#include <errno.h>

#include "harness.h"
#include "hawkalloc.h"

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
  hawk_free(p);
  CHECK(find(HAWK_EV_LARGE_UNMAPPED, (uintptr_t)(p - 8)) != NULL);
  REQUIRE(hawk_events(NULL, NULL) == 0);
}

TEST_MAIN()
