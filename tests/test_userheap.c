/* test_userheap.c - heaps of one's own (hawk_heap_*): lifetimes, limits,
 * blocks freed from other threads, destroy with live blocks, each heap's
 * placement policy, fork, the thread cache, the walk and hostile options.
 *
 * Everything goes through the hawk_* names, so this program also runs under
 * the sanitizers with -DHAWK_NO_OVERRIDE.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hawkalloc.h"

#define KiB   ((size_t)1024)
#define MiB   (1024 * KiB)
#define ARENA (4 * MiB)

static uintptr_t chunk(const void *p) { return (uintptr_t)p & ~(uintptr_t)(ARENA - 1); }

static struct hawk_stats heap_stats(struct hawk_heap *h) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  CHECK(hawk_heap_stats(h, &s, sizeof s) == 0);
  return s;
}

static struct hawk_stats all_stats(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  CHECK(hawk_stats(&s, sizeof s) == 0);
  return s;
}

static struct hawk_heap *with_policy(const char *policy, size_t limit) {
  struct hawk_heap_options o = HAWK_HEAP_OPTIONS_INIT;
  o.policy = policy;
  o.limit = limit;
  return hawk_heap_create(&o);
}

/* ---- lifetimes ------------------------------------------------------------ */

TEST(create_use_destroy_gives_the_memory_back) {
  size_t before = all_stats().mapped;
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h != NULL);
  void *p[3000];
  for (int i = 0; i < 3000; i++) {
    p[i] = hawk_heap_malloc(h, 16 + (size_t)(i % 50) * 24);
    REQUIRE(p[i] != NULL);
    memset(p[i], i & 0xff, 16);
  }
  for (int i = 0; i < 3000; i++) CHECK(((unsigned char *)p[i])[15] == (i & 0xff));
  struct hawk_stats s = heap_stats(h);
  CHECK(s.mallocs == 3000);
  CHECK(s.heaps == 1);
  CHECK(s.arenas >= 1);
  CHECK(s.mapped >= s.arenas * ARENA);
  CHECK(s.in_use >= 3000 * 32);
  CHECK(hawk_heap_check(h) == 0);
  CHECK(all_stats().mapped > before);
  hawk_heap_destroy(h);
  CHECK(all_stats().mapped == before);
  CHECK(hawk_check() == 0);
}

TEST(blocks_live_in_the_heaps_own_arenas) {
  struct hawk_heap *a = hawk_heap_create(NULL), *b = hawk_heap_create(NULL);
  REQUIRE(a && b);
  void *d = hawk_malloc(100), *x = hawk_heap_malloc(a, 100), *y = hawk_heap_malloc(b, 100);
  REQUIRE(d && x && y);
  CHECK(chunk(x) != chunk(d));
  CHECK(chunk(y) != chunk(d));
  CHECK(chunk(x) != chunk(y));
  CHECK(hawk_heap_id(a) >= 16 && hawk_heap_id(b) > hawk_heap_id(a));
  hawk_free(d);
  hawk_heap_destroy(a);
  hawk_heap_destroy(b);
}

TEST(free_realloc_and_usable_size_work_on_any_heaps_blocks) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  char *p = hawk_heap_malloc(h, 100);
  REQUIRE(p);
  CHECK(hawk_usable_size(p) >= 100);
  memset(p, 7, 100);
  char *q = hawk_realloc(p, 5000); /* plain realloc keeps the block in its heap */
  REQUIRE(q);
  CHECK(q[99] == 7);
  CHECK(heap_stats(h).in_use >= 5000);
  q = hawk_realloc(q, 40);
  REQUIRE(q);
  CHECK(q[39] == 7);
  CHECK(heap_stats(h).in_use < 100);
  char *c = hawk_heap_calloc(h, 100, 10);
  REQUIRE(c);
  for (int i = 0; i < 1000; i++) CHECK(c[i] == 0);
  hawk_free(q);
  hawk_free(c);
  CHECK(heap_stats(h).in_use == 0);
  CHECK(heap_stats(h).frees == 2);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

TEST(heap_realloc_moves_a_block_into_the_heap) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  char *p = hawk_malloc(64);
  REQUIRE(p);
  strcpy(p, "moved");
  char *q = hawk_heap_realloc(h, p, 64);
  REQUIRE(q);
  CHECK(strcmp(q, "moved") == 0);
  CHECK(heap_stats(h).in_use > 0);
  CHECK(hawk_heap_realloc(h, q, 0) == NULL); /* frees, as realloc(p, 0) */
  CHECK(heap_stats(h).in_use == 0);
  void *n = hawk_heap_realloc(h, NULL, 10);
  CHECK(n && heap_stats(h).in_use > 0);
  hawk_free(n);
  hawk_heap_destroy(h);
}

TEST(large_and_aligned_blocks) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  size_t before = all_stats().mapped;
  for (size_t a = 16; a <= 2 * MiB; a <<= 1) {
    char *p = hawk_heap_aligned_alloc(h, a, 1000);
    REQUIRE(p);
    CHECK(((uintptr_t)p & (a - 1)) == 0);
    p[999] = 1;
    hawk_free(p);
  }
  errno = 0; /* the payload must share the first chunk with its mapping's header */
  CHECK(hawk_heap_aligned_alloc(h, 4 * MiB, 10) == NULL && errno == EINVAL);
  errno = 0;
  CHECK(hawk_heap_aligned_alloc(h, 24, 10) == NULL && errno == EINVAL);
  char *big = hawk_heap_malloc(h, 9 * MiB);
  REQUIRE(big);
  big[9 * MiB - 1] = 3;
  CHECK(hawk_usable_size(big) >= 9 * MiB);
  CHECK(heap_stats(h).large_blocks == 1);
  CHECK(heap_stats(h).in_use >= 9 * MiB);
  char *bigger = hawk_realloc(big, 12 * MiB);
  REQUIRE(bigger);
  CHECK(bigger[9 * MiB - 1] == 3);
  CHECK(hawk_heap_check(h) == 0);
  hawk_free(bigger);
  CHECK(heap_stats(h).large_blocks == 0);
  errno = 0;
  CHECK(hawk_heap_malloc(h, SIZE_MAX / 2) == NULL && errno == ENOMEM);
  CHECK(hawk_heap_calloc(h, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
  hawk_heap_destroy(h);
  CHECK(all_stats().mapped <= before);
}

/* ---- limits ----------------------------------------------------------------- */

TEST(limit_refuses_past_it_and_the_rest_of_the_program_goes_on) {
  struct hawk_heap *h = with_policy(NULL, 64 * KiB);
  REQUIRE(h);
  void *p[200];
  int n = 0;
  errno = 0;
  while (n < 200 && (p[n] = hawk_heap_malloc(h, 1000)) != NULL) n++;
  CHECK(errno == ENOMEM);
  CHECK(n >= 60 && n <= 65); /* 1,008-byte blocks in 65,536 bytes */
  CHECK(heap_stats(h).in_use <= 64 * KiB);
  void *d = hawk_malloc(100000); /* the default heap does not care */
  CHECK(d != NULL);
  hawk_free(d);
  errno = 0;
  CHECK(hawk_heap_malloc(h, 1 * MiB) == NULL && errno == ENOMEM);
  CHECK(hawk_heap_malloc(h, 10 * MiB) == NULL && errno == ENOMEM);
  hawk_free(p[0]);
  void *again = hawk_heap_malloc(h, 1000);
  CHECK(again != NULL);
  /* growing past the limit is refused and leaves the block as it was */
  errno = 0;
  CHECK(hawk_realloc(again, 8000) == NULL && errno == ENOMEM);
  CHECK(hawk_usable_size(again) >= 1000);
  hawk_free(again);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

/* A limit that a request's block (and the heap's per-block charge) fits
 * exactly is not refused: 40 bytes take a 48-byte block, charged 64. */
TEST(limit_takes_a_request_that_fits_it_exactly) {
  struct hawk_heap *h = with_policy(NULL, 64);
  REQUIRE(h);
  void *p = hawk_heap_malloc(h, 40);
  CHECK(p != NULL);
  errno = 0;
  CHECK(hawk_heap_malloc(h, 1) == NULL && errno == ENOMEM); /* and nothing more */
  hawk_free(p);
  hawk_heap_destroy(h);
}

TEST(limit_counts_large_mappings) {
  struct hawk_heap *h = with_policy(NULL, 16 * MiB);
  REQUIRE(h);
  void *a = hawk_heap_malloc(h, 6 * MiB), *b = hawk_heap_malloc(h, 6 * MiB);
  CHECK(a && b);
  errno = 0;
  CHECK(hawk_heap_malloc(h, 6 * MiB) == NULL && errno == ENOMEM);
  hawk_free(a);
  void *c = hawk_heap_malloc(h, 6 * MiB);
  CHECK(c != NULL);
  hawk_heap_destroy(h); /* b and c go with it */
}

/* ---- threads ---------------------------------------------------------------- */

struct batch {
  void **p;
  int n;
  struct hawk_heap *h;
};

static void *free_batch(void *arg) {
  struct batch *b = arg;
  for (int i = 0; i < b->n; i++) hawk_free(b->p[i]);
  return NULL;
}

TEST(blocks_freed_by_other_threads_go_back_to_their_heap) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  enum { N = 4000, T = 4 };
  static void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_heap_malloc(h, 8 + (size_t)(i % 300))));
  pthread_t t[T];
  struct batch b[T];
  for (int i = 0; i < T; i++) {
    b[i] = (struct batch){p + i * (N / T), N / T, h};
    REQUIRE(pthread_create(&t[i], NULL, free_batch, &b[i]) == 0);
  }
  for (int i = 0; i < T; i++) pthread_join(t[i], NULL);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.in_use == 0);
  CHECK(s.frees == N);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

static void *churn(void *arg) {
  struct hawk_heap *h = arg;
  void *keep[64] = {0};
  for (int i = 0; i < 20000; i++) {
    int k = i % 64;
    hawk_free(keep[k]);
    keep[k] = hawk_heap_malloc(h, 16 + (size_t)(i * 37 % 3000));
    if (keep[k] == NULL) return (void *)1;
    memset(keep[k], 0x5a, 16);
  }
  for (int k = 0; k < 64; k++) hawk_free(keep[k]);
  return NULL;
}

TEST(one_heap_shared_by_several_threads) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) REQUIRE(pthread_create(&t[i], NULL, churn, h) == 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    CHECK(r == NULL);
  }
  CHECK(heap_stats(h).in_use == 0);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

/* ---- the thread cache --------------------------------------------------------- */

/* A freed block of a heap never waits in a thread cache: malloc never hands
 * it out, before or after the heap is destroyed. */
TEST(freed_heap_blocks_never_reach_the_thread_cache) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  enum { N = 500 };
  void *p[N], *q[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_heap_malloc(h, 40)));
  uintptr_t heap_chunk = chunk(p[0]);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(heap_stats(h).in_use == 0);
  for (int i = 0; i < N; i++) {
    REQUIRE((q[i] = hawk_malloc(40)));
    CHECK(chunk(q[i]) != heap_chunk);
  }
  for (int i = 0; i < N; i++) hawk_free(q[i]);
  hawk_heap_destroy(h);
  for (int i = 0; i < N; i++) { /* the cache still works, with no stale block */
    REQUIRE((q[i] = hawk_malloc(40)));
    memset(q[i], 1, 40);
  }
  for (int i = 0; i < N; i++) hawk_free(q[i]);
  CHECK(hawk_check() == 0);
}

/* ---- each heap's policy --------------------------------------------------------- */

/* Three free blocks of 1,008, 208 and 416 bytes, freed in the order 208,
 * 1,008, 416 between allocated ones; then two requests of 150 bytes. */
static void placements(struct hawk_heap *h, char **first, char **second, char *b[3]) {
  b[0] = hawk_heap_malloc(h, 1000);
  void *s1 = hawk_heap_malloc(h, 16);
  b[1] = hawk_heap_malloc(h, 200);
  void *s2 = hawk_heap_malloc(h, 16);
  b[2] = hawk_heap_malloc(h, 400);
  void *s3 = hawk_heap_malloc(h, 16);
  (void)s1, (void)s2, (void)s3;
  hawk_free(b[1]);
  hawk_free(b[0]);
  hawk_free(b[2]);
  *first = hawk_heap_malloc(h, 150);
  *second = hawk_heap_malloc(h, 150);
}

TEST(each_heap_places_blocks_by_its_own_policy) {
  static const char *const names[4] = {"first-fit", "next-fit", "best-fit", "segregated"};
  for (int i = 0; i < 4; i++) {
    struct hawk_heap *h = with_policy(names[i], 0);
    REQUIRE(h);
    char *first, *second, *b[3];
    placements(h, &first, &second, b);
    switch (i) {
    case 0: /* the list is LIFO: the 416 block first, then what remains of it */
      CHECK(first == b[2]);
      CHECK(second == b[2] + 160);
      break;
    case 1: /* the same first, then on from where the search stopped */
      CHECK(first == b[2]);
      CHECK(second == b[0]);
      break;
    case 2: /* the smallest that fits, each time */
      CHECK(first == b[1]);
      CHECK(second == b[2]);
      break;
    case 3: /* good fit: the smallest size class that has a block */
      CHECK(first == b[1]);
      CHECK(second == b[2]);
      break;
    }
    CHECK(hawk_heap_check(h) == 0);
    hawk_heap_destroy(h);
  }
}

/* ---- fork ------------------------------------------------------------------------ */

/* The child of fork_child_uses_and_destroys_the_heap: uses the parent's
 * heap and block (arg[0], arg[1]), then destroys the heap. */
static void heap_child(void *arg) {
  struct hawk_heap *h = ((void **)arg)[0];
  char *p = ((void **)arg)[1];
  CHECK(strcmp(p, "parent") == 0);
  int ok = 1;
  for (int i = 0; i < 1000 && ok; i++) ok = hawk_heap_malloc(h, 64) != NULL;
  CHECK(ok);
  hawk_free(p);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

TEST(fork_child_uses_and_destroys_the_heap) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: fork (its locks are re-made in the child)");
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  char *p = hawk_heap_malloc(h, 100);
  REQUIRE(p);
  strcpy(p, "parent");
  CHECK(run_in_child(heap_child, (void *[]){h, p}) == 0);
  CHECK(strcmp(p, "parent") == 0); /* the parent's heap is untouched */
  CHECK(heap_stats(h).mallocs == 1);
  hawk_free(p);
  hawk_heap_destroy(h);
}

/* ---- the walk ----------------------------------------------------------------------- */

struct seen {
  int id;
  size_t allocated, large;
};

static void count_heap(void *ctx, const struct hawk_block_info *b) {
  struct seen *s = ctx;
  if (b->heap != s->id) return;
  if (b->state == HAWK_BLOCK_ALLOCATED) s->allocated++;
  if (b->state == HAWK_BLOCK_LARGE) s->large++;
}

TEST(walk_names_each_blocks_heap) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *p[10];
  for (int i = 0; i < 10; i++) REQUIRE((p[i] = hawk_heap_malloc(h, 100)));
  void *big = hawk_heap_malloc(h, 5 * MiB);
  REQUIRE(big);
  struct seen s = {.id = hawk_heap_id(h)};
  hawk_walk(count_heap, &s);
  CHECK(s.allocated == 10);
  CHECK(s.large == 1);
  hawk_heap_destroy(h);
  s = (struct seen){.id = s.id};
  hawk_walk(count_heap, &s);
  CHECK(s.allocated == 0 && s.large == 0);
}

/* ---- the heap's events ---------------------------------------------------------------- */

struct heard {
  int id;
  int mine, default_ids_ok;
};

static void hear(void *ctx, const struct hawk_event *e) {
  struct heard *h = ctx;
  if (e->heap == h->id) h->mine++;
  if (e->heap != h->id && (e->heap < -1 || e->heap >= 16)) h->default_ids_ok = 0;
}

TEST(events_name_a_created_heap_by_its_id) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  struct heard heard = {.id = hawk_heap_id(h), .default_ids_ok = 1};
  REQUIRE(hawk_events(hear, &heard) == 0);
  void *p = hawk_heap_malloc(h, 100);
  hawk_free(p);
  hawk_events(NULL, NULL);
  CHECK(heard.mine >= 2); /* the block taken, then freed */
  CHECK(heard.default_ids_ok);
  hawk_heap_destroy(h);
}

/* ---- the default heap ----------------------------------------------------------------- */

/* hawk_check walks the created heaps too: a broken footer in one is found,
 * and once mended the heap is sound again. */
TEST(hawk_check_covers_created_heaps) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h != NULL);
  char *a = hawk_heap_malloc(h, 5000), *b = hawk_heap_malloc(h, 5000),
       *c = hawk_heap_malloc(h, 5000);
  REQUIRE(a && b && c);
  hawk_free(b);
  CHECK(hawk_check() == 0);
  char saved[8];
  memcpy(saved, b + 4992, 8);
  memset(b + 4992, 0, 8); /* the free block's footer */
  CHECK(hawk_check() > 0);
  memcpy(b + 4992, saved, 8);
  CHECK(hawk_check() == 0);
  hawk_free(a);
  hawk_free(c);
  hawk_heap_destroy(h);
}

/* The text heap map (hawk_stats_print_map, HAWKALLOC_STATS=1) has a line
 * for a created heap's arena, labelled with its id. */
TEST(text_map_labels_a_created_heaps_arena) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h != NULL);
  REQUIRE(hawk_heap_malloc(h, 1000) != NULL);
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  hawk_stats_print_map(fd[1]);
  close(fd[1]);
  static char text[1 << 16];
  size_t len = 0;
  ssize_t n;
  while (len < sizeof text - 1 && (n = read(fd[0], text + len, sizeof text - 1 - len)) > 0)
    len += (size_t)n;
  close(fd[0]);
  text[len] = 0;
  char want[64];
  snprintf(want, sizeof want, "hawkalloc:   heap %d (created) 0x", hawk_heap_id(h));
  CHECK(strstr(text, want) != NULL);
  if (!strstr(text, want)) fprintf(stderr, "    map:\n%s", text);
  hawk_heap_destroy(h);
}

TEST(the_default_heap_is_malloc) {
  struct hawk_heap *d = hawk_heap_default();
  REQUIRE(d);
  void *p = hawk_heap_malloc(d, 100);
  REQUIRE(p);
  void *m = hawk_malloc(100);
  CHECK(chunk(p) == chunk(m) || hawk_heap_id(d) == 0);
  CHECK(hawk_heap_check(d) == 0);
  struct hawk_stats s = heap_stats(d);
  CHECK(s.in_use > 0);
  hawk_free(p);
  hawk_free(m);
}

/* ---- misuse, in children -------------------------------------------------------------- */

static void free_after_destroy(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  void *keep = hawk_heap_malloc(h, 100);
  void *p = hawk_heap_malloc(h, 100);
  (void)keep;
  hawk_heap_destroy(h);
  hawk_free(p);
}

static void free_large_after_destroy(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  void *p = hawk_heap_malloc(h, 5 * MiB);
  hawk_heap_destroy(h);
  hawk_free(p);
}

static void realloc_after_destroy(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  void *p = hawk_heap_malloc(h, 100);
  hawk_heap_destroy(h);
  hawk_realloc(p, 200);
}

TEST(a_block_of_a_destroyed_heap_is_caught) {
  char buf[32];
  (void)buf;
  EXPECT_ABORT(free_after_destroy, NULL, "hawkalloc: free(0x", "double free");
  EXPECT_ABORT(free_large_after_destroy, NULL, "hawkalloc: free(0x", "double free");
  EXPECT_ABORT(realloc_after_destroy, NULL, "hawkalloc: realloc(0x", "double free");
}

static void destroy_twice(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  hawk_heap_destroy(h);
  hawk_heap_destroy(h);
}
static void destroy_default(void *arg) {
  (void)arg;
  hawk_heap_destroy(hawk_heap_default());
}
static void destroy_null(void *arg) {
  (void)arg;
  hawk_heap_destroy(NULL);
}
static void destroy_stack(void *arg) {
  (void)arg;
  long fake[512] = {0};
  hawk_heap_destroy((struct hawk_heap *)fake);
}
static void destroy_a_block(void *arg) {
  (void)arg;
  hawk_heap_destroy((struct hawk_heap *)hawk_malloc(4096));
}
static void malloc_destroyed(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  hawk_heap_destroy(h);
  hawk_heap_malloc(h, 10);
}
/* A destroyed heap's slot waits before a new heap may take it, so that its
 * stale handle is caught for a while. */
static void malloc_destroyed_after_new_heaps(void *arg) {
  (void)arg;
  struct hawk_heap *h = hawk_heap_create(NULL);
  hawk_heap_destroy(h);
  for (int i = 0; i < 100; i++) hawk_heap_create(NULL);
  hawk_heap_malloc(h, 10);
}
static void free_the_heap_handle(void *arg) {
  (void)arg;
  hawk_free(hawk_heap_create(NULL));
}

TEST(destroy_refuses_what_is_not_a_live_heap) {
  EXPECT_ABORT(destroy_twice, NULL, "hawkalloc: hawk_heap_destroy(0x", "destroyed already");
  EXPECT_ABORT(destroy_default, NULL, "hawk_heap_destroy(", "the default heap");
  EXPECT_ABORT(destroy_null, NULL, "hawkalloc: hawk_heap_destroy((nil))", "not a heap");
  EXPECT_ABORT(destroy_stack, NULL, "hawk_heap_destroy(0x", "not a heap");
  EXPECT_ABORT(destroy_a_block, NULL, "hawk_heap_destroy(0x", "not a heap");
  EXPECT_ABORT(malloc_destroyed, NULL, "hawk_heap_malloc(0x", "destroyed already");
  EXPECT_ABORT(malloc_destroyed_after_new_heaps, NULL, "hawk_heap_malloc(0x", "destroyed already");
  EXPECT_ABORT(free_the_heap_handle, NULL, "free(0x", "invalid pointer");
}

/* ---- hostile options ----------------------------------------------------------------------- */

struct refused {
  struct hawk_heap_options o;
  char pad[64];
  int err;
  const char *says;
};

static void create_refused(void *arg) {
  struct refused *r = arg;
  errno = 0;
  struct hawk_heap *h = hawk_heap_create(&r->o);
  _exit(h == NULL && errno == r->err ? 0 : 1);
}

static int refused_with(struct refused r) {
  char out[512];
  int status = run_captured(create_refused, &r, out, sizeof out);
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "hawk_heap_create") &&
           strstr(out, r.says) && strchr(out, '\n') == strrchr(out, '\n');
  if (!ok) fprintf(stderr, "    status %d, stderr: %s    expected: %s\n", status, out, r.says);
  return ok;
}

TEST(hostile_options_are_refused_with_one_line) {
  struct refused r = {.o = HAWK_HEAP_OPTIONS_INIT};
  r.o.policy = "worst-fit";
  r.err = EINVAL;
  r.says = "unknown policy 'worst-fit'";
  CHECK(refused_with(r));
  r.o.policy = "first"; /* a policy is named whole: the start of a name is none */
  r.says = "unknown policy 'first'";
  CHECK(refused_with(r));
  r.o.policy = "";
  r.says = "unknown policy ''";
  CHECK(refused_with(r));
  r.o = (struct hawk_heap_options)HAWK_HEAP_OPTIONS_INIT;
  r.o.size = 8;
  r.says = "size";
  CHECK(refused_with(r));
  r.o.size = 0;
  CHECK(refused_with(r));
  r.o.size = sizeof r.o + 16; /* a newer caller's field set */
  r.pad[3] = 1;
  r.err = E2BIG;
  r.says = "unknown";
  CHECK(refused_with(r));
  r.o.size = (size_t)1 << 40;
  r.pad[3] = 0;
  r.err = EINVAL;
  r.says = "size";
  CHECK(refused_with(r));
  r.o = (struct hawk_heap_options)HAWK_HEAP_OPTIONS_INIT;
  r.err = EINVAL;
  r.o.limit = 8;
  r.says = "limit";
  CHECK(refused_with(r));
  r.o.limit = SIZE_MAX;
  CHECK(refused_with(r));
  /* a newer caller's zero fields are fine */
  struct {
    struct hawk_heap_options o;
    char more[16];
  } newer = {.o = HAWK_HEAP_OPTIONS_INIT, .more = {0}};
  newer.o.size = sizeof newer;
  struct hawk_heap *h = hawk_heap_create(&newer.o);
  CHECK(h != NULL);
  if (h) hawk_heap_destroy(h);
}

/* An unknown policy's name is quoted short, as the environment's values
 * are: the line still ends with the names it may be (a name of 300
 * characters written whole filled the line and lost them). */
static char long_policy[301];
static void create_with_a_long_policy(void *arg) {
  (void)arg;
  struct hawk_heap_options o = HAWK_HEAP_OPTIONS_INIT;
  o.policy = long_policy;
  errno = 0;
  struct hawk_heap *h = hawk_heap_create(&o);
  _exit(h == NULL && errno == EINVAL ? 0 : 1);
}

TEST(a_long_unknown_policy_is_quoted_short_and_the_line_ends_as_usual) {
  memset(long_policy, 'p', 300);
  char out[1024], want[256] = "hawkalloc: hawk_heap_create: unknown policy '";
  memset(want + strlen(want), 'p', 120);
  strcat(want, "...' (segregated, first-fit, next-fit or best-fit)\n");
  int status = run_captured(create_with_a_long_policy, NULL, out, sizeof out);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(strcmp(out, want) == 0);
  if (strcmp(out, want) != 0) fprintf(stderr, "    stderr: [%s]\n    expected: [%s]\n", out, want);
}

/* ---- figures and arguments (a second search for survivors) ---------------------------------- */

/* hawk_heap_stats, as hawk_stats, refuses a size without room for the
 * version and size fields it writes first. */
TEST(heap_stats_refuses_a_size_without_its_version_and_size) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  struct hawk_stats s;
  memset(&s, 0xab, sizeof s);
  CHECK(hawk_heap_stats(h, &s, 4) == -1);
  CHECK(hawk_heap_stats(h, &s, 7) == -1);
  CHECK(hawk_heap_stats(h, NULL, sizeof s) == -1);
  CHECK(s.version == 0xabababab); /* nothing written */
  CHECK(hawk_heap_stats(h, &s, 8) == 0 && s.size == 8);
  hawk_heap_destroy(h);
}

/* hawk_heap_calloc's overflowing product fails with ENOMEM, as calloc's. */
TEST(heap_calloc_overflow_sets_enomem) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  errno = 0;
  CHECK(hawk_heap_calloc(h, SIZE_MAX, 2) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(hawk_heap_calloc(h, (SIZE_MAX >> 4) + 1, 16) == NULL && errno == ENOMEM);
  hawk_heap_destroy(h);
}

/* A block hawk_heap_realloc moves into another heap copies only as many
 * bytes as the new block holds: moving a 4,000-byte block into a 100-byte
 * one leaves the block after it, and the heap, as they were. */
TEST(heap_realloc_into_another_heap_copies_no_more_than_the_new_size) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  unsigned char *slot = hawk_heap_malloc(h, 100), *after = hawk_heap_malloc(h, 100);
  REQUIRE(slot && after);
  memset(after, 0x5c, 100);
  hawk_free(slot); /* the 100-byte hole the move takes */
  unsigned char *p = hawk_malloc(4000);
  REQUIRE(p);
  memset(p, 0xe1, 4000);
  unsigned char *q = hawk_heap_realloc(h, p, 100);
  REQUIRE(q);
  CHECK(q[0] == 0xe1 && q[99] == 0xe1);
  int intact = 1;
  for (int i = 0; i < 100; i++) intact &= after[i] == 0x5c;
  CHECK(intact);
  CHECK(hawk_heap_check(h) == 0);
  hawk_free(q);
  hawk_free(after);
  CHECK(hawk_heap_check(h) == 0);
  hawk_heap_destroy(h);
}

/* hawk_heap_check of the default heap is hawk_check: a broken footer of a
 * free block of malloc's is found through it. */
TEST(heap_check_of_the_default_heap_finds_a_broken_footer) {
  struct hawk_heap *d = hawk_heap_default();
  char *a = hawk_malloc(5000), *b = hawk_malloc(5000), *c = hawk_malloc(5000);
  REQUIRE(a && b && c);
  hawk_free(b);
  CHECK(hawk_heap_check(d) == 0);
  size_t footer = hawk_usable_size(a) - 8; /* b is free: its usable size is a's */
  char saved[8];
  memcpy(saved, b + footer, 8);
  memset(b + footer, 0, 8);
  int found = hawk_heap_check(d);
  memcpy(b + footer, saved, 8);
  CHECK(found > 0);
  CHECK(hawk_heap_check(d) == 0);
  hawk_free(a);
  hawk_free(c);
}

/* A limit of exactly the smallest block (32 bytes) is accepted; one below
 * it is refused. */
TEST(limit_of_the_smallest_block_is_accepted) {
  struct hawk_heap *h = with_policy(NULL, 32);
  CHECK(h != NULL);
  if (h) hawk_heap_destroy(h);
  struct refused r = {.o = HAWK_HEAP_OPTIONS_INIT};
  r.o.limit = 31;
  r.err = EINVAL;
  r.says = "limit";
  CHECK(refused_with(r));
}

/* A block shrunk in place gives its bytes back to the heap's limit: after
 * 60,000 of 64 KiB shrink to 100, 50,000 more fit. */
TEST(limit_takes_back_what_a_shrink_in_place_gave) {
  struct hawk_heap *h = with_policy(NULL, 64 * KiB);
  REQUIRE(h);
  char *p = hawk_heap_malloc(h, 60000);
  REQUIRE(p);
  errno = 0;
  CHECK(hawk_heap_malloc(h, 50000) == NULL && errno == ENOMEM);
  char *q = hawk_realloc(p, 100);
  REQUIRE(q);
  CHECK(q == p); /* in place */
  void *more = hawk_heap_malloc(h, 50000);
  CHECK(more != NULL);
  hawk_free(more);
  hawk_free(q);
  hawk_heap_destroy(h);
}

/* A destroyed heap's blocks leave the process's bytes in use: the peak a
 * later large block raises counts that block and what is in use now, not
 * the 8 MiB the heap held when it was destroyed. */
TEST(destroy_takes_its_blocks_out_of_the_process_in_use) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  for (int i = 0; i < 8000; i++) REQUIRE(hawk_heap_malloc(h, 1000) != NULL);
  hawk_heap_destroy(h); /* its blocks with it */
  struct hawk_stats s0 = all_stats();
  size_t big = s0.in_use_peak > 32 * MiB ? 2 * s0.in_use_peak : 64 * MiB;
  void *p = hawk_malloc(big);
  REQUIRE(p);
  struct hawk_stats s1 = all_stats();
  hawk_free(p);
  CHECK(s1.in_use_peak >= s1.in_use);
  CHECK(s1.in_use_peak < s1.in_use + 2 * MiB); /* the counts of the heaps, told in steps */
  if (s1.in_use_peak >= s1.in_use + 2 * MiB)
    fprintf(stderr, "    in use %llu, peak %llu\n", (unsigned long long)s1.in_use,
            (unsigned long long)s1.in_use_peak);
}

/* hawk_heap_stats counts a heap's large blocks in its frees as in its
 * mallocs, and in its mapped peak once they are gone. */
TEST(heap_stats_count_large_blocks_freed) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *p = hawk_heap_malloc(h, 9 * MiB);
  REQUIRE(p);
  hawk_free(p);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.mallocs == 1);
  CHECK(s.frees == 1);
  CHECK(s.large_blocks == 0);
  CHECK(s.mapped_peak >= 9 * MiB);
  hawk_heap_destroy(h);
}

/* A created heap's peak in use counts the block that made it: one block of
 * 1,000 bytes and another of 9 MiB, each freed before the stats, leave a
 * peak of at least each (the charge the block took, not the bytes before
 * it). */
TEST(heap_stats_peak_counts_the_block_that_made_it) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *p = hawk_heap_malloc(h, 1000);
  REQUIRE(p);
  hawk_free(p);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.in_use == 0);
  CHECK(s.in_use_peak >= 1000);
  REQUIRE((p = hawk_heap_malloc(h, 9 * MiB)) != NULL);
  hawk_free(p);
  s = heap_stats(h);
  CHECK(s.in_use_peak >= 9 * MiB);
  if (s.in_use_peak < 9 * MiB)
    fprintf(stderr, "    peak %llu\n", (unsigned long long)s.in_use_peak);
  hawk_heap_destroy(h);
}

/* Slots of destroyed heaps are used again once more than 64 wait: of 200
 * heaps created and destroyed one after another, some get a handle an
 * earlier one had. */
TEST(destroyed_heaps_slots_are_used_again) {
  static struct hawk_heap *seen[200];
  int again = 0;
  for (int i = 0; i < 200; i++) {
    struct hawk_heap *h = hawk_heap_create(NULL);
    REQUIRE(h);
    for (int j = 0; j < i; j++) again += seen[j] == h;
    seen[i] = h;
    hawk_heap_destroy(h);
  }
  CHECK(again >= 100);
}

/* hawk_heap_realloc(h, p, 0) is realloc(p, 0) whatever heap p is of: a
 * block of the default heap is freed and NULL returned, and nothing is
 * allocated in h (a move into h of a block of 0 bytes was returned). */
TEST(heap_realloc_to_zero_frees_a_default_heaps_block) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  char *p = hawk_malloc(64);
  REQUIRE(p);
  CHECK(hawk_heap_realloc(h, p, 0) == NULL);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.mallocs == 0);
  CHECK(s.in_use == 0);
  CHECK(s.arenas == 0);
  hawk_heap_destroy(h);
}

/* The bytes of the mapping of its own that a created heap's block of n
 * bytes takes: its header (the payload at 144 bytes, aligned to 16) and
 * the payload, to whole pages. */
static size_t own_mapping(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (144 + n + page - 1) / page * page;
}

/* A created heap's block of LARGE_THRESHOLD bytes (1 MiB, config.h) or
 * more gets a mapping of its own; one of 16 bytes less goes into an arena. */
TEST(a_heaps_block_of_the_large_threshold_gets_a_mapping_of_its_own) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *p = hawk_heap_malloc(h, 1 * MiB);
  REQUIRE(p);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.large_blocks == 1);
  CHECK(s.arenas == 0);
  CHECK(s.mapped == own_mapping(1 * MiB));
  hawk_free(p);
  p = hawk_heap_malloc(h, 1 * MiB - 16);
  REQUIRE(p);
  s = heap_stats(h);
  CHECK(s.large_blocks == 0);
  CHECK(s.arenas == 1);
  hawk_free(p);
  hawk_heap_destroy(h);
}

/* A created heap's footprint counts its blocks in mappings of their own,
 * whole: with no arena, it is the one mapping's bytes; with an arena, the
 * arena's part adds to it. */
TEST(heap_stats_footprint_counts_the_mappings_of_large_blocks) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *big = hawk_heap_malloc(h, 2 * MiB);
  REQUIRE(big);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.arenas == 0);
  CHECK(s.footprint == own_mapping(2 * MiB));
  CHECK(s.footprint_peak == s.footprint);
  void *small = hawk_heap_malloc(h, 100);
  REQUIRE(small);
  s = heap_stats(h);
  CHECK(s.arenas == 1);
  CHECK(s.footprint > own_mapping(2 * MiB));
  CHECK(s.footprint < own_mapping(2 * MiB) + ARENA);
  hawk_free(big);
  struct hawk_stats after = heap_stats(h);
  CHECK(after.footprint == s.footprint - own_mapping(2 * MiB));
  hawk_free(small);
  hawk_heap_destroy(h);
}

/* A created heap's mapped peak is never below what it maps now: a large
 * block mapped first (the peak seen then is its mapping), then an arena
 * (whose own peak is one arena) makes a peak of both together. */
TEST(heap_stats_mapped_peak_counts_an_arena_mapped_while_a_large_block_lives) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h);
  void *big = hawk_heap_malloc(h, 2 * MiB);
  REQUIRE(big);
  void *small = hawk_heap_malloc(h, 100);
  REQUIRE(small);
  struct hawk_stats s = heap_stats(h);
  CHECK(s.mapped == ARENA + own_mapping(2 * MiB));
  CHECK(s.mapped_peak >= s.mapped);
  CHECK(s.mapped_peak == ARENA + own_mapping(2 * MiB));
  hawk_free(big);
  hawk_free(small);
  hawk_heap_destroy(h);
}

/* A limit of the whole address space (2^48 bytes, 256 TiB) is accepted;
 * one byte more is refused. */
TEST(limit_of_the_whole_address_space_is_accepted) {
  struct hawk_heap *h = with_policy(NULL, (size_t)1 << 48);
  CHECK(h != NULL);
  if (h) hawk_heap_destroy(h);
  struct refused r = {.o = HAWK_HEAP_OPTIONS_INIT};
  r.o.limit = ((size_t)1 << 48) + 1;
  r.err = EINVAL;
  r.says = "limit";
  CHECK(refused_with(r));
}

/* A destroyed heap's slot waits until more than 64 others do (SLOTS_KEPT):
 * with 64 waiting before it, the 64 heaps created (each destroyed at once)
 * after its destroy get other slots, and the 65th gets its slot. */
#define HEAPS_HELD 256
TEST(a_destroyed_heaps_slot_waits_for_64_others) {
  static struct hawk_heap *held[HEAPS_HELD];
  /* Exactly 64 waiting, whatever earlier tests left: heaps created and
   * kept take the slots waiting beyond 64 (up to 320 of them); once they
   * are destroyed, 256 or more wait, and as many created again leave 64. */
  for (int i = 0; i < HEAPS_HELD; i++) REQUIRE((held[i] = hawk_heap_create(NULL)) != NULL);
  for (int i = 0; i < HEAPS_HELD; i++) hawk_heap_destroy(held[i]);
  for (int i = 0; i < HEAPS_HELD; i++) REQUIRE((held[i] = hawk_heap_create(NULL)) != NULL);
  struct hawk_heap *h = hawk_heap_create(NULL); /* a new slot: 64 wait */
  REQUIRE(h);
  hawk_heap_destroy(h);
  int again_at = 0;
  for (int i = 1; i <= 65 && again_at == 0; i++) {
    struct hawk_heap *g = hawk_heap_create(NULL);
    REQUIRE(g);
    if (g == h) again_at = i;
    hawk_heap_destroy(g);
  }
  CHECK(again_at == 65);
  if (again_at != 65) fprintf(stderr, "    slot used again at creation %d\n", again_at);
  for (int i = 0; i < HEAPS_HELD; i++) hawk_heap_destroy(held[i]);
}

TEST_MAIN()
