/* test_tcache.c - the per-thread cache of freed small blocks: flushed at
 * thread exit and by hawk_trim, bounded, still catching double frees, safe
 * across fork, serving a thread after its exit cleanup, and giving a cached
 * neighbour back to a growing realloc. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "arena.h"
#include "harness.h"
#include "hawkalloc.h"
#include "heap.h"
#include "seeded.h"
#include "tcache.h"

/* Cases that abort or fork run only in the plain build. */
#if !defined(HAWK_NO_OVERRIDE) && !UNDER_SANITIZER
#define PLAIN_BUILD 1
#endif

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  hawk_stats(&s, sizeof s);
  return s;
}

/* Fills n bytes with a pattern derived from seed, and checks it. */
static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 31);
}
static int intact(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed + i * 31)) return 0;
  return 1;
}

enum { BATCH = 2000 };

static void *alloc_and_free_small(void *arg) {
  (void)arg;
  void *p[BATCH];
  for (int i = 0; i < BATCH; i++) p[i] = hawk_malloc((size_t)(16 + i % 400));
  for (int i = 0; i < BATCH; i++) hawk_free(p[i]);
  /* Everything freed sits in this thread's cache or went back to the heap. */
  return (void *)(uintptr_t)stats_now().thread_cached;
}

/* Runs fn(arg) in a thread of its own (a cache of its own, flushed when it
 * exits) and returns what it returned. */
static void *in_a_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  void *result = NULL;
  int started = pthread_create(&t, NULL, fn, arg) == 0;
  CHECK(started);
  if (started) pthread_join(t, &result);
  return result;
}

TEST(thread_exit_flushes_the_cache) {
  hawk_trim();
  struct hawk_stats before = stats_now();
  CHECK(before.thread_cached == 0);
  void *cached_in_thread = in_a_thread(alloc_and_free_small, NULL);
  /* Creating the thread may have filled some of this thread's lists;
   * trimming empties them, so whatever is left would be the exited
   * thread's. */
  hawk_trim();
  struct hawk_stats after = stats_now();
  CHECK((uintptr_t)cached_in_thread > 0); /* the cache did hold blocks */
  CHECK(after.thread_cached == 0);
  CHECK(after.in_use <= before.in_use + 4096);
  CHECK(after.mallocs >= before.mallocs + BATCH);
  CHECK(after.frees >= before.frees + BATCH);
  CHECK(hawk_check() == 0);
}

TEST(cache_is_bounded) {
  hawk_trim();
  enum { N = 5000 };
  static void *p[N];
  for (int round = 0; round < 12; round++) {
    for (int i = 0; i < N; i++) p[i] = hawk_malloc(100);
    for (int i = 0; i < N; i++) hawk_free(p[i]);
    struct hawk_stats s = stats_now();
    /* One list holds about 8 KiB (TCACHE_LIST_BYTES) at first: 73 blocks
     * of 112 bytes; rounds of emptying and filling it let it grow to about
     * 64 KiB (TCACHE_GROWN_BYTES), never more. */
    CHECK(s.thread_cached > 0 && s.thread_cached <= 65536 / 112 * 112);
  }
  CHECK(hawk_check() == 0);
}

/* A program that allocates many blocks of one size and frees them all, in
 * rounds, keeps a whole round in the cache once its list has grown: after a
 * few rounds the heap sees none of it (every malloc and free is the cache's). */
TEST(a_list_that_empties_and_fills_up_grows) {
  hawk_trim();
  enum { N = 500 }; /* 56,000 bytes of 112-byte blocks: under 64 KiB */
  static void *p[N];
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(100)) != NULL);
    for (int i = 0; i < N; i++) hawk_free(p[i]);
  }
  /* The whole round is cached (with what refills brought in beyond it). */
  struct hawk_stats before = stats_now();
  CHECK(before.thread_cached >= N * 112 && before.thread_cached <= 65536);
  for (int i = 0; i < N; i++) p[i] = hawk_malloc(100);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats after = stats_now();
  CHECK(after.thread_cached == before.thread_cached);
  CHECK(after.in_use == before.in_use); /* the heap handed out nothing, took nothing back */
  hawk_trim();
  CHECK(stats_now().thread_cached == 0);
  CHECK(hawk_check() == 0);
}

/* A list that grew for rounds of one size and then sat unused for a whole
 * period of the decay (HAWKALLOC_DECAY_MS) gives its blocks back and
 * returns to its first limit (tcache.c, tcache_decay): the next time it
 * fills, it overflows at that limit again, and what it grew by no longer
 * counts against the thread's budget of growth.  A decayed list that kept
 * its grown limit would hold a whole round again without a refill to pay
 * for it, and each later decay would take its growth off the budget once
 * more, until the count of grown bytes wrapped and no list could grow.
 * Fresh process with a period of 1 ms: naps longer than two periods, then
 * heap activity (3,000-byte blocks move the decay's clock) and a refill of
 * a size not used before (the cache's own look), as test_decay does.  The
 * list of 112-byte blocks starts at 8,192 / 112 = 73. */
static void decay_nap_then_refill(int round) {
  struct timespec t = {0, 30 * 1000000L};
  nanosleep(&t, NULL);
  for (int i = 0; i < 2000; i++) hawk_free(hawk_malloc(3000 + (size_t)(i % 7) * 100));
  hawk_free(hawk_malloc(24 + (size_t)round * 16)); /* 32 to 80 bytes: never 112 */
}

TEST(a_grown_list_that_decays_overflows_at_its_first_limit_again) {
  if (!is_fresh("a_grown_list_that_decays_overflows_at_its_first_limit_again")) {
    char decay[] = "HAWKALLOC_DECAY_MS=1", out[256];
    char *const env[] = {decay, NULL};
    CHECK(run_fresh_env("a_grown_list_that_decays_overflows_at_its_first_limit_again", env, out,
                        sizeof out) == 0);
    return;
  }
  enum { N = 500, HELD = 300, BASE = TCACHE_LIST_BYTES / 112 };
  static void *p[N];
  /* Memory used once, below the arena's frontier, holds all that follows:
   * no allocation takes the footprint to a new peak, where the cache would
   * give every list back at once (tcache.c, flush_before_growth) and keep
   * their limits. */
  hawk_free(hawk_malloc(256 << 10));
  hawk_free(hawk_malloc(100)); /* the cache is set up */
  struct tcache_list *l = tcache_list(tcache_self, 112);
  for (int round = 0; round < 20 && l->limit < N; round++) {
    for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(100)) != NULL);
    for (int i = 0; i < N; i++) hawk_free(p[i]);
  }
  REQUIRE(l->limit >= N && tcache_self->grown == (l->limit - BASE) * 112);
  /* The program holds some blocks of the size (from the list); the list
   * keeps the rest, unused from now on. */
  for (int i = 0; i < HELD; i++) REQUIRE((p[i] = hawk_malloc(100)) != NULL);
  REQUIRE(l->count >= N - HELD);
  for (int round = 0; round < 4; round++) decay_nap_then_refill(round);
  CHECK(l->count == 0);
  CHECK(l->limit == BASE);
  CHECK(tcache_self->grown == 0);
  /* Freed again: the list fills to its first limit, and the free that
   * finds it full gives back half of it and one block (no refill came
   * since, so it does not grow). */
  uint32_t before = 0;
  int i = 0, flushed = 0;
  for (; i < HELD && !flushed; i++) {
    before = l->count;
    hawk_free(p[i]);
    flushed = l->count < before;
  }
  CHECK(flushed);
  CHECK(before == BASE && l->limit == BASE);
  CHECK(l->count == BASE - BASE / 2);
  for (; i < HELD; i++) hawk_free(p[i]);
  CHECK(l->count <= BASE);
  CHECK(hawk_check() == 0);
}

/* A thread that allocates a few blocks of many sizes and frees them all,
 * round after round (bench/prodcons with one thread), runs out of a size
 * only when a round needs more of it than ever before.  What its cache
 * keeps is then about the most blocks of each size a round needed, not
 * the batches refills brought in for those moments.  After a warm-up the
 * lists start again from empty (hawk_trim), and what they keep is compared
 * with what the rounds since then needed.  When every refill of a size
 * asked for twice the last one (476f9eb), the cache held 1.63 to 1.89 times
 * that (545,232 to 633,488 bytes against 335,312, plain and ASan builds,
 * the file or this case alone); now 1.00 to 1.07 (TCACHE_REFILL_RARE,
 * tcache.c). */
static void rounds_of_many_sizes_here(void) {
  enum { ROUND = 16, ROUNDS = 80000 };
  static unsigned most[TCACHE_BINS]; /* the most blocks of each size a round held */
  unsigned now[TCACHE_BINS];
  void *p[ROUND];
  size_t n[ROUND];
  uint64_t seed = 42;
  for (int round = 0; round < ROUNDS; round++) {
    if (round == ROUNDS / 8) { /* the lists warmed up: start again from empty ones */
      hawk_trim();
      memset(most, 0, sizeof most);
    }
    memset(now, 0, sizeof now);
    for (int i = 0; i < ROUND; i++) {
      size_t base = (size_t)16 << (splitmix64(&seed) % 7); /* 16 to 2,040 bytes: cached sizes */
      n[i] = base + splitmix64(&seed) % base;
      if (block_size_for(n[i]) > TCACHE_MAX_BLOCK) n[i] = TCACHE_MAX_BLOCK - BLOCK_HEADER;
      REQUIRE((p[i] = hawk_malloc(n[i])) != NULL);
      size_t bin = block_size_for(n[i]) / HAWK_ALIGN;
      if (++now[bin] > most[bin]) most[bin] = now[bin];
    }
    for (int i = 0; i < ROUND; i++) hawk_free(p[i]);
  }
  uint64_t needed = 0;
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) needed += (uint64_t)most[bin] * bin * HAWK_ALIGN;
  struct hawk_stats s = stats_now(); /* the main thread caches nothing here (trimmed) */
  CHECK(s.thread_cached <= needed + needed / 4);
  if (s.thread_cached > needed + needed / 4)
    fprintf(stderr, "    cached %llu bytes; the rounds needed at most %llu\n",
            (unsigned long long)s.thread_cached, (unsigned long long)needed);
}

static void *rounds_of_many_sizes(void *arg) {
  (void)arg;
  rounds_of_many_sizes_here();
  return NULL;
}

TEST(a_size_that_runs_out_now_and_then_keeps_what_rounds_needed) {
  hawk_trim();
  in_a_thread(rounds_of_many_sizes, NULL);
  CHECK(hawk_check() == 0);
}

/* The first refill of a size that comes more than TCACHE_REFILL_RARE
 * frees after the last one of the size (here: none before) asks the heap
 * for half the blocks the last one took, rounded up: one block, never
 * none (tcache.c, tcache_refill).  A refill that asked for none would find
 * nothing, and malloc would take its way for memory the OS refused
 * (api.c, alloc_retry): this thread's cache given back, the empty arenas
 * kept for reuse unmapped, the spare large mappings too, for one block a
 * refill could have had.  Fresh process: two arenas' worth of blocks freed
 * leave one empty arena cached, a large block freed leaves its mapping
 * spare, blocks of 208 bytes wait in this thread's cache; 3,000 frees of
 * 32-byte blocks later, malloc(1000) (a 1,008-byte block) leaves all of
 * them where they were. */
TEST(a_rare_refill_takes_a_block_without_giving_back_what_is_cached) {
  if (!is_fresh("a_rare_refill_takes_a_block_without_giving_back_what_is_cached")) {
    CHECK(run_fresh("a_rare_refill_takes_a_block_without_giving_back_what_is_cached") == 0);
    return;
  }
  enum { PAIRS = 3000, KEPT = 10 };
  REQUIRE(PAIRS > TCACHE_REFILL_RARE);
  void *big[5], *kept[KEPT];
  for (int i = 0; i < 5; i++) REQUIRE((big[i] = hawk_malloc(900000)) != NULL);
  for (int i = 0; i < 5; i++) hawk_free(big[i]);
  hawk_free(hawk_malloc(3 << 20));
  for (int i = 0; i < KEPT; i++) REQUIRE((kept[i] = hawk_malloc(200)) != NULL);
  for (int i = 0; i < KEPT; i++) hawk_free(kept[i]);
  for (int i = 0; i < PAIRS; i++) hawk_free(hawk_malloc(24));
  struct hawk_stats before = stats_now();
  REQUIRE(before.cached_arenas >= 1 && before.thread_cached >= KEPT * 208);
  void *p = hawk_malloc(1000);
  struct hawk_stats after = stats_now();
  CHECK(p != NULL && hawk_usable_size(p) == 1000);
  CHECK(after.mallocs == before.mallocs + 1);
  CHECK(after.thread_cached == before.thread_cached);
  CHECK(after.cached_arenas == before.cached_arenas);
  CHECK(after.mapped == before.mapped);
  /* The refill took one block and handed it out: the list holds none. */
  CHECK(tcache_list(tcache_self, 1008)->count == 0);
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* Rounds of many sizes whose lists must grow by more than 64 KiB in all
 * to hold a round: 24 sizes of 256 to 624-byte blocks, 64 blocks each
 * (674,816 bytes a round; the first limits, about 8 KiB a list, hold
 * 196,608 of them).  With a fixed budget of 64 KiB of growth a thread
 * (TCACHE_GROWN_BUDGET, 4dc0afd) every round went through the heap; the
 * budget is now a share of what the thread's heap has in use
 * (TCACHE_GROWN_SHARE, up to TCACHE_GROWN_MOST), so next to 4 MB of live data the whole round stays
 * in the cache, and without it the lists still grow no further than the
 * share allows. */
enum { GROW_SIZES = 24, GROW_EACH = 64, LIVE_BLOCKS = 1600 };

/* The most bytes this thread's heap had in use when a round or the live
 * data was all allocated (the lists grow while a round is freed). */
static __thread uint64_t heap_in_use_most;

static void heap_in_use_seen(void) {
  uint64_t now = __atomic_load_n(&tcache_self->heap->in_use, __ATOMIC_RELAXED);
  if (now > heap_in_use_most) heap_in_use_most = now;
}

/* One round: every size's blocks allocated, interleaved, then freed. */
static void round_of_many_sizes(void) {
  static __thread void *p[GROW_SIZES * GROW_EACH];
  for (int i = 0; i < GROW_SIZES * GROW_EACH; i++) {
    size_t size = 256 + (size_t)(i % GROW_SIZES) * 16 - BLOCK_HEADER;
    REQUIRE((p[i] = hawk_malloc(size)) != NULL);
    memset(p[i], i, size);
  }
  heap_in_use_seen();
  for (int i = 0; i < GROW_SIZES * GROW_EACH; i++) hawk_free(p[i]);
}

/* The bound the growth keeps to (tcache.c, growth_budget): a share of the
 * most the heap had in use. */
static int growth_within_its_budget(void) {
  uint64_t share = heap_in_use_most / TCACHE_GROWN_SHARE;
  if (share > TCACHE_GROWN_MOST) share = TCACHE_GROWN_MOST;
  uint64_t budget = share > TCACHE_GROWN_BUDGET ? share : TCACHE_GROWN_BUDGET;
  return tcache_self->grown <= budget;
}

/* Whether a round, tried up to three times (the decay may give a list
 * back in the middle of one), left the heap untouched: it handed out no
 * block and took none back. */
static int a_round_stays_in_the_cache(void) {
  for (int tries = 0; tries < 3; tries++) {
    struct hawk_stats before = stats_now();
    round_of_many_sizes();
    struct hawk_stats after = stats_now();
    if (after.splits == before.splits && after.coalesces == before.coalesces &&
        after.in_use == before.in_use)
      return 1;
  }
  return 0;
}

/* 4 MB of live data in this thread's heap: blocks no cache holds (after
 * a cached size, which gives the thread its cache and its heap). */
static void allocate_live_data(void **live) {
  hawk_free(hawk_malloc(100));
  for (int i = 0; i < LIVE_BLOCKS; i++) REQUIRE((live[i] = hawk_malloc(2500)) != NULL);
  heap_in_use_seen();
}

static void *rounds_next_to_live_data(void *arg) {
  (void)arg;
  static __thread void *live[LIVE_BLOCKS];
  allocate_live_data(live);
  for (int round = 0; round < 12; round++) round_of_many_sizes();
  CHECK(growth_within_its_budget());
  CHECK(tcache_self->grown > 65536); /* more than the fixed budget allowed */
  CHECK(a_round_stays_in_the_cache());
  CHECK(growth_within_its_budget());
  for (int i = 0; i < LIVE_BLOCKS; i++) hawk_free(live[i]);
  return NULL;
}

static void *rounds_alone(void *arg) {
  (void)arg;
  for (int round = 0; round < 12; round++) {
    round_of_many_sizes();
    CHECK(growth_within_its_budget());
  }
  /* The heap has about a round in use: a quarter of it cannot hold what
   * the round needs beyond the first limits (478,208 bytes). */
  CHECK(!a_round_stays_in_the_cache());
  CHECK(growth_within_its_budget());
  return NULL;
}

TEST(rounds_stay_in_the_cache_within_a_share_of_the_live_data) {
  hawk_trim();
  in_a_thread(rounds_next_to_live_data, NULL);
  in_a_thread(rounds_alone, NULL);
  CHECK(hawk_check() == 0);
}

/* A thread that allocates a size and frees blocks of it that another
 * thread allocated (a consumer of bench/prodcons that also produces):
 * its list empties (refills) and fills up with the other heap's blocks,
 * which go home rather than stay: the list does not grow.  At 4dc0afd
 * every such list grew, within the thread's budget, and bench/prodcons 4
 * peaked at 19 MB instead of 10 with a larger budget. */
enum { FOREIGN_ROUNDS = 6, FOREIGN_EACH = 300 };
static void *foreign[FOREIGN_ROUNDS][FOREIGN_EACH];

static void *frees_anothers_blocks(void *arg) {
  (void)arg;
  static __thread void *own[FOREIGN_ROUNDS][FOREIGN_EACH];
  for (int round = 0; round < FOREIGN_ROUNDS; round++) {
    for (int i = 0; i < FOREIGN_EACH; i++) own[round][i] = hawk_malloc(100);
    for (int i = 0; i < FOREIGN_EACH; i++) hawk_free(foreign[round][i]);
  }
  uint64_t grown = tcache_self->grown;
  for (int round = 0; round < FOREIGN_ROUNDS; round++)
    for (int i = 0; i < FOREIGN_EACH; i++) hawk_free(own[round][i]);
  return (void *)(uintptr_t)grown;
}

TEST(a_list_of_another_threads_blocks_does_not_grow) {
  for (int round = 0; round < FOREIGN_ROUNDS; round++)
    for (int i = 0; i < FOREIGN_EACH; i++) REQUIRE((foreign[round][i] = hawk_malloc(100)) != NULL);
  void *grown = in_a_thread(frees_anothers_blocks, NULL);
  CHECK((uintptr_t)grown == 0);
  CHECK(hawk_check() == 0);
}

TEST(trim_flushes_this_threads_cache) {
  void *p[64];
  for (int i = 0; i < 64; i++) p[i] = hawk_malloc(48);
  for (int i = 0; i < 64; i++) hawk_free(p[i]);
  CHECK(stats_now().thread_cached > 0);
  hawk_trim();
  CHECK(stats_now().thread_cached == 0);
  CHECK(hawk_check() == 0);
}

TEST(cached_block_is_reused_lifo_with_contents_rewritable) {
  unsigned char *a = hawk_malloc(200);
  REQUIRE(a);
  fill(a, 200, 7);
  hawk_free(a);
  unsigned char *b = hawk_malloc(200);
  CHECK(b == a); /* the most recently freed block of that size comes back */
  fill(b, hawk_usable_size(b), 9);
  CHECK(intact(b, hawk_usable_size(b), 9));
  unsigned char *c = hawk_calloc(1, 200);
  REQUIRE(c);
  hawk_free(c);
  c = hawk_calloc(1, 200); /* recycled through the cache: still zero */
  for (int i = 0; i < 200; i++) CHECK(c[i] == 0);
  hawk_free(b);
  hawk_free(c);
}

/* Blocks handed from one thread to another: freed into the other's cache,
 * which returns them to the heap when it exits. */
struct handoff {
  unsigned char *blocks[BATCH];
  int bad;
};

static void *free_handed_blocks(void *arg) {
  struct handoff *h = arg;
  for (int i = 0; i < BATCH; i++) {
    if (!intact(h->blocks[i], (size_t)(8 + i % 300), (unsigned)i)) h->bad++;
    hawk_free(h->blocks[i]);
  }
  /* Reuse some of them here, from this thread's cache. */
  for (int i = 0; i < 100; i++) {
    unsigned char *p = hawk_malloc((size_t)(8 + i % 300));
    fill(p, (size_t)(8 + i % 300), 3);
    hawk_free(p);
  }
  return NULL;
}

TEST(cross_thread_frees_go_through_the_freeing_threads_cache) {
  static struct handoff h;
  h.bad = 0;
  hawk_trim();
  struct hawk_stats before = stats_now();
  for (int i = 0; i < BATCH; i++) {
    h.blocks[i] = hawk_malloc((size_t)(8 + i % 300));
    fill(h.blocks[i], (size_t)(8 + i % 300), (unsigned)i);
  }
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, free_handed_blocks, &h) == 0);
  pthread_join(t, NULL);
  CHECK(h.bad == 0);
  hawk_trim();
  struct hawk_stats after = stats_now();
  CHECK(after.thread_cached == 0);
  CHECK(after.in_use <= before.in_use + 4096);
  CHECK(hawk_check() == 0);
}

/* A destructor of a key created after HawkAlloc's runs after HawkAlloc's
 * own exit cleanup: it must still be able to allocate and free. */
static pthread_key_t late_key;
static int late_ok;

static void late_destructor(void *arg) {
  (void)arg;
  int ok = 1;
  for (int round = 0; round < 3; round++) {
    void *p[50];
    for (int i = 0; i < 50; i++) {
      p[i] = hawk_malloc((size_t)(24 + i * 8));
      if (!p[i])
        ok = 0;
      else
        fill(p[i], (size_t)(24 + i * 8), (unsigned)i);
    }
    for (int i = 0; i < 50; i++) {
      if (p[i] && !intact(p[i], (size_t)(24 + i * 8), (unsigned)i)) ok = 0;
      hawk_free(p[i]);
    }
  }
  late_ok = ok;
}

static void *use_then_exit(void *arg) {
  (void)arg;
  void *p = hawk_malloc(64); /* sets up this thread's cache */
  hawk_free(p);
  pthread_setspecific(late_key, (void *)1);
  return NULL;
}

TEST(thread_allocates_after_its_exit_cleanup) {
  hawk_free(hawk_malloc(1)); /* HawkAlloc's key exists before ours */
  REQUIRE(pthread_key_create(&late_key, late_destructor) == 0);
  late_ok = 0;
  hawk_trim();
  struct hawk_stats before = stats_now();
  in_a_thread(use_then_exit, NULL);
  CHECK(late_ok == 1);
  hawk_trim();
  struct hawk_stats after = stats_now();
  CHECK(after.thread_cached == 0); /* nothing stranded */
  CHECK(after.in_use <= before.in_use + 4096);
  CHECK(hawk_check() == 0);
  pthread_key_delete(late_key);
}

/* In a fresh process the first two 64-byte blocks are neighbours: the first
 * refill cuts one block at the start of the arena, the second cuts the next
 * ones right after it. */
TEST(realloc_grows_into_a_neighbour_held_by_this_threads_cache) {
  if (!is_fresh("realloc_grows_into_a_neighbour_held_by_this_threads_cache")) {
    CHECK(run_fresh("realloc_grows_into_a_neighbour_held_by_this_threads_cache") == 0);
    return;
  }
  unsigned char *a = hawk_malloc(64);
  unsigned char *b = hawk_malloc(64);
  REQUIRE(a && b);
  REQUIRE(b == a + 80);
  fill(a, 64, 5);
  hawk_free(b); /* into the cache: still allocated in the heap's eyes */
  unsigned char *c = hawk_realloc(a, 130);
  CHECK(c == a);
  CHECK(intact(c, 64, 5));
  CHECK(hawk_check() == 0);
  hawk_free(c);
}

/* A growth to a size this thread's cache holds, headroom included, moves
 * to the block at the head of that list when there is one, rather than
 * taking the cached neighbour back and growing over it under the heap's
 * lock (about 130 instructions against 585 in perl's run: docs/design.md).
 * Fresh process: the layout of the test above; 130 bytes and an eighth
 * more are a block of 160 bytes, which 140 bytes are too.  realloc makes
 * the move on its own fast path, reallocarray (array set) in resize_core. */
static void growth_moves_to_a_cached_block(int array) {
  unsigned char *a = hawk_malloc(64);
  unsigned char *b = hawk_malloc(64);
  unsigned char *d = hawk_malloc(140);
  REQUIRE(a && b && d);
  REQUIRE(b == a + 80);
  fill(a, 64, 7);
  hawk_free(b);
  hawk_free(d); /* the head of the cache's list of 160-byte blocks */
  unsigned char *c = array ? hawk_reallocarray(a, 13, 10) : hawk_realloc(a, 130);
  CHECK(c == d);
  CHECK(intact(c, 64, 7));
  /* a went into the cache, b is still there: both come back as 64 bytes */
  unsigned char *x = hawk_malloc(64), *y = hawk_malloc(64);
  CHECK(x == a && y == b);
  CHECK(hawk_check() == 0);
  hawk_free(x);
  hawk_free(y);
  hawk_free(c);
}

TEST(realloc_growth_moves_to_a_block_this_threads_cache_holds) {
  if (!is_fresh("realloc_growth_moves_to_a_block_this_threads_cache_holds")) {
    CHECK(run_fresh("realloc_growth_moves_to_a_block_this_threads_cache_holds") == 0);
    return;
  }
  growth_moves_to_a_cached_block(0);
}

TEST(reallocarray_growth_moves_to_a_block_this_threads_cache_holds) {
  if (!is_fresh("reallocarray_growth_moves_to_a_block_this_threads_cache_holds")) {
    CHECK(run_fresh("reallocarray_growth_moves_to_a_block_this_threads_cache_holds") == 0);
    return;
  }
  growth_moves_to_a_cached_block(1);
}

/* The largest growth that moves to a cached block: to 1,814 bytes, whose
 * eighth more (226) makes 2,040, the payload of the largest block the
 * cache holds (TCACHE_MAX_BLOCK, 2,048 bytes with its header).  One byte
 * more (1,815 and 226: 2,041) needs a 2,064-byte block, which no list
 * holds: that growth leaves the cached block where it is.  realloc decides
 * on its own fast path, reallocarray in resize_core (api.c, roomy_cached).
 * Fresh process: the 1,008-byte block lies after the cached one, with
 * free memory after it, where it could grow in place; the move to the
 * cached block comes first, and the growth by one byte more grows in
 * place. */
static void growth_to_the_largest_cached_size(int array) {
  /* Memory used once holds what follows: no allocation reaches a new peak
   * of the footprint, where the cache would give its blocks back. */
  hawk_free(hawk_malloc(64 << 10));
  unsigned char *q = hawk_malloc(2040), *a = hawk_malloc(1000);
  REQUIRE(a && q);
  fill(a, 1000, 11);
  hawk_free(q); /* the head of the cache's list of 2,048-byte blocks */
  unsigned char *c = array ? hawk_reallocarray(a, 2, 907) : hawk_realloc(a, 1814);
  CHECK(c == q);
  CHECK(intact(c, 1000, 11));
  CHECK(hawk_usable_size(c) == 2040);
  hawk_free(c); /* back at the head of the list */
  unsigned char *b = hawk_malloc(1000);
  CHECK(b == a); /* the old block, which the move freed into the cache */
  REQUIRE(b != NULL);
  fill(b, 1000, 12);
  unsigned char *d = array ? hawk_reallocarray(b, 5, 363) : hawk_realloc(b, 1815);
  REQUIRE(d != NULL);
  CHECK(d == b);
  CHECK(intact(d, 1000, 12));
  unsigned char *r = hawk_malloc(2040);
  CHECK(r == q); /* still cached */
  CHECK(hawk_check() == 0);
  hawk_free(r);
  hawk_free(d);
}

TEST(realloc_growth_to_the_largest_cached_size_moves_to_a_cached_block) {
  if (!is_fresh("realloc_growth_to_the_largest_cached_size_moves_to_a_cached_block")) {
    CHECK(run_fresh("realloc_growth_to_the_largest_cached_size_moves_to_a_cached_block") == 0);
    return;
  }
  growth_to_the_largest_cached_size(0);
}

TEST(reallocarray_growth_to_the_largest_cached_size_moves_to_a_cached_block) {
  if (!is_fresh("reallocarray_growth_to_the_largest_cached_size_moves_to_a_cached_block")) {
    CHECK(run_fresh("reallocarray_growth_to_the_largest_cached_size_moves_to_a_cached_block") == 0);
    return;
  }
  growth_to_the_largest_cached_size(1);
}

/* The block hawk_walk reports at address ctx->address. */
struct block_at {
  uintptr_t address;
  size_t size;
  int state;
};
static void find_block_at(void *ctx, const struct hawk_block_info *b) {
  struct block_at *at = ctx;
  if (b->address == at->address) {
    at->size = b->size;
    at->state = b->state;
  }
}

/* A growth that moves to a cached block when the list of the old block's
 * size is full gives the old block back as a free with a full list does
 * (here the list grows by what the 400 mallocs' refills brought into it,
 * tcache.c's growth, and the block is cached; a list that cannot grow
 * gives part of itself to the heap first): nothing is lost, and
 * every byte the old block held is copied (72 here, its whole payload).
 * Fresh process. */
TEST(realloc_growth_from_the_cache_frees_its_old_block_into_a_full_list) {
  if (!is_fresh("realloc_growth_from_the_cache_frees_its_old_block_into_a_full_list")) {
    CHECK(run_fresh("realloc_growth_from_the_cache_frees_its_old_block_into_a_full_list") == 0);
    return;
  }
  enum { N = 400 };
  static unsigned char *p[N];
  unsigned char *a = hawk_malloc(64), *d = hawk_malloc(140);
  REQUIRE(a && d);
  fill(a, 72, 9);
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(64)) != NULL);
  struct tcache_list *l = tcache_list(tcache_self, 80);
  int i = 0;
  while (i < N && l->count < l->limit) hawk_free(p[i++]);
  REQUIRE(l->limit > 0 && l->count == l->limit);
  hawk_free(d);
  unsigned char *c = hawk_realloc(a, 130);
  CHECK(c == d);
  CHECK(intact(c, 72, 9));
  struct block_at at = {.address = (uintptr_t)(a - 8), .state = -1};
  hawk_walk(find_block_at, &at);
  CHECK(at.state == HAWK_BLOCK_CACHED || at.state == HAWK_BLOCK_FREE);
  CHECK(hawk_check() == 0);
  for (; i < N; i++) hawk_free(p[i]);
  hawk_free(c);
}

/* A shrinking realloc that gives a tail back to the heap takes the
 * neighbour this thread just freed out of its cache first, so that the
 * tail merges with it rather than staying a small hole between the block
 * and a cached one (python with its own allocator off left 29,165 holes of
 * 96 bytes so: docs/performance.md, "Peak RSS of the real programs").
 * Fresh process: the layout of
 * realloc_grows_into_a_neighbour_held_by_this_threads_cache. */
TEST(realloc_shrinking_merges_its_tail_with_a_neighbour_held_by_this_threads_cache) {
  if (!is_fresh("realloc_shrinking_merges_its_tail_with_a_neighbour_held_by_this_threads_cache")) {
    CHECK(run_fresh(
              "realloc_shrinking_merges_its_tail_with_a_neighbour_held_by_this_threads_cache") ==
          0);
    return;
  }
  unsigned char *a = hawk_malloc(200); /* a block of 208 bytes */
  unsigned char *b = hawk_malloc(200);
  REQUIRE(a && b);
  REQUIRE(b == a + 208);
  fill(a, 200, 7);
  hawk_free(b); /* into the cache: still allocated in the heap's eyes */
  size_t cached = stats_now().thread_cached;
  unsigned char *c = hawk_realloc(a, 40); /* a block of 48: a tail of 160 */
  CHECK(c == a);
  CHECK(intact(c, 40, 7));
  struct block_at tail = {(uintptr_t)a - 8 + 48, 0, -1};
  hawk_walk(find_block_at, &tail);
  CHECK(tail.state == HAWK_BLOCK_FREE);
  CHECK(tail.size >= 160 + 208); /* the tail and b, merged */
  CHECK(stats_now().thread_cached == cached - 208);
  CHECK(hawk_check() == 0);
  hawk_free(c);
}

/* A shrinking realloc whose neighbour is in use would leave its tail a hole
 * of its own: to a size the thread cache holds, it moves into a block of
 * that size from the cache, and the whole old block goes to the cache,
 * where the next request of its size finds it (python with its own
 * allocator off left 16,470 such tails of up to 256 bytes:
 * docs/performance.md, "Shrinking next to a block in use").  A shrink to a
 * size above the cache's keeps its place.  Fresh process: the layout of
 * realloc_grows_into_a_neighbour_held_by_this_threads_cache. */
TEST(realloc_shrinking_next_to_a_block_in_use_moves_to_a_cached_block) {
  if (!is_fresh("realloc_shrinking_next_to_a_block_in_use_moves_to_a_cached_block")) {
    CHECK(run_fresh("realloc_shrinking_next_to_a_block_in_use_moves_to_a_cached_block") == 0);
    return;
  }
  unsigned char *a = hawk_malloc(200); /* a block of 208 bytes */
  unsigned char *b = hawk_malloc(200);
  unsigned char *spare = hawk_malloc(40); /* a block of 48 */
  REQUIRE(a && b && spare);
  REQUIRE(b == a + 208);
  fill(a, 200, 7);
  hawk_free(spare); /* the head of this thread's list of 48-byte blocks */
  struct hawk_stats before = stats_now();
  unsigned char *c = hawk_realloc(a, 40);
  CHECK(c == spare);
  CHECK(intact(c, 40, 7));
  struct hawk_stats after = stats_now();
  CHECK(after.free_blocks == before.free_blocks); /* no hole cut */
  CHECK(after.thread_cached == before.thread_cached - 48 + 208);
  CHECK(hawk_malloc(200) == a); /* the old block, whole, from the cache */
  CHECK(hawk_check() == 0);
  /* By less than a sixth of the block (208 to 176 bytes): the headroom of
   * a growing buffer; it keeps its place and cuts its tail. */
  fill(a, 200, 5);
  CHECK(hawk_realloc(a, 168) == a);
  CHECK(intact(a, 168, 5));
  CHECK(hawk_check() == 0);

  unsigned char *big = hawk_malloc(8000), *after_big = hawk_malloc(8000);
  REQUIRE(big && after_big);
  REQUIRE(after_big == big + hawk_usable_size(big) + 8);
  fill(big, 8000, 9);
  unsigned char *d = hawk_realloc(big, 4000); /* above the cache's sizes */
  CHECK(d == big);
  CHECK(intact(d, 4000, 9));
  hawk_free(d);
  hawk_free(after_big);
  hawk_free(a);
  hawk_free(b);
  hawk_free(c);
  CHECK(hawk_check() == 0);
}

/* With the caches off (textbook mode, HAWKALLOC_TCACHE=0) every call meets
 * the heap's placement policy, as in the seed's design: a shrink next to a
 * block in use cuts its tail in place. */
TEST(realloc_shrinking_in_textbook_mode_keeps_its_place) {
  if (!is_fresh("realloc_shrinking_in_textbook_mode_keeps_its_place")) {
    char off[] = "HAWKALLOC_TCACHE=0", out[64];
    char *const env[] = {off, NULL};
    CHECK(run_fresh_env("realloc_shrinking_in_textbook_mode_keeps_its_place", env, out,
                        sizeof out) == 0);
    return;
  }
  unsigned char *a = hawk_malloc(200), *b = hawk_malloc(200);
  REQUIRE(a && b);
  REQUIRE(b == a + 208);
  fill(a, 200, 3);
  CHECK(hawk_realloc(a, 40) == a);
  CHECK(intact(a, 40, 3));
  hawk_free(a);
  hawk_free(b);
  CHECK(hawk_check() == 0);
}

/* A thread that, once told to go, holds a heap's lock until told to let
 * go, or for 20 s at most (then it notes that it gave up: the caller
 * waited for the lock). */
struct lock_holder {
  struct hawk_lock *heap_lock;
  pthread_mutex_t m;
  pthread_cond_t c;
  int go, holding, done, gave_up;
};

static void *hold_heap_lock(void *arg) {
  struct lock_holder *l = arg;
  pthread_mutex_lock(&l->m);
  while (!l->go) pthread_cond_wait(&l->c, &l->m);
  pthread_mutex_unlock(&l->m);
  lock_take(l->heap_lock);
  pthread_mutex_lock(&l->m);
  l->holding = 1;
  pthread_cond_broadcast(&l->c);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  while (!l->done && !l->gave_up)
    if (pthread_cond_timedwait(&l->c, &l->m, &until) == ETIMEDOUT) l->gave_up = 1;
  pthread_mutex_unlock(&l->m);
  lock_give(l->heap_lock);
  return NULL;
}

/* A growing realloc whose neighbour is in use (not in this thread's cache)
 * cannot grow in place: it moves at once, without the heap's lock (here
 * held by another thread the whole time), when this thread's cache has a
 * block of the size it moves to and room for the old one (since
 * 2026-12-07 the growth's own first step takes that block:
 * realloc_growth_moves_to_a_block_this_threads_cache_holds). */
TEST(realloc_next_to_a_block_in_use_moves_without_the_heap_lock) {
  if (!is_fresh("realloc_next_to_a_block_in_use_moves_without_the_heap_lock")) {
    CHECK(run_fresh("realloc_next_to_a_block_in_use_moves_without_the_heap_lock") == 0);
    return;
  }
  unsigned char *a = hawk_malloc(64);
  unsigned char *b = hawk_malloc(64);
  REQUIRE(a && b);
  REQUIRE(b == a + 80);
  fill(a, 64, 7);
  struct lock_holder l = {.heap_lock = &arena_heap(arena_of(a))->lock};
  pthread_mutex_init(&l.m, NULL);
  pthread_cond_init(&l.c, NULL);
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, hold_heap_lock, &l) == 0);
  /* Once the thread exists (its start allocates): the size a move asks
   * for, cached. */
  void *warm[8];
  for (int i = 0; i < 8; i++) warm[i] = hawk_malloc(130 + 130 / 8);
  for (int i = 0; i < 8; i++) hawk_free(warm[i]);
  pthread_mutex_lock(&l.m);
  l.go = 1;
  pthread_cond_broadcast(&l.c);
  while (!l.holding) pthread_cond_wait(&l.c, &l.m);
  pthread_mutex_unlock(&l.m);
  unsigned char *c = hawk_realloc(a, 130);
  pthread_mutex_lock(&l.m);
  int waited = l.gave_up;
  l.done = 1;
  pthread_cond_broadcast(&l.c);
  pthread_mutex_unlock(&l.m);
  pthread_join(t, NULL);
  CHECK(!waited);
  CHECK(c != NULL && c != a);
  CHECK(c && intact(c, 64, 7));
  CHECK(hawk_check() == 0);
  hawk_free(b);
  hawk_free(c);
}

#ifdef PLAIN_BUILD
#include <sys/resource.h>

__attribute__((constructor)) static void no_core_files(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

static void *victim;

static void free_twice(void *arg) {
  (void)arg;
  hawk_free(victim);
  hawk_free(victim);
}

static void free_twice_delayed(void *arg) {
  (void)arg;
  void *other = hawk_malloc(40);
  hawk_free(victim);
  hawk_free(other);
  hawk_free(victim);
}

static void *free_in_thread(void *arg) {
  hawk_free(arg);
  pthread_exit(NULL);
}

/* The first free goes into another thread's cache, which stays alive; the
 * thread says when it has freed (a byte down a pipe), so the order does not
 * depend on timing. */
static int freed_pipe[2];
static void *free_and_wait(void *arg) {
  hawk_free(arg);
  char done = 1;
  if (write(freed_pipe[1], &done, 1) != 1) abort();
  for (;;) pause();
  return NULL;
}

static void free_twice_across_threads(void *arg) {
  (void)arg;
  pthread_t t;
  char done;
  if (pipe(freed_pipe) != 0) abort();
  pthread_create(&t, NULL, free_and_wait, victim);
  if (read(freed_pipe[0], &done, 1) != 1) abort();
  hawk_free(victim);
}

static void realloc_after_free(void *arg) {
  (void)arg;
  hawk_free(victim);
  hawk_realloc(victim, 500);
}

static void usable_size_after_free(void *arg) {
  (void)arg;
  hawk_free(victim);
  hawk_usable_size(victim);
}

static void write_after_free_then_malloc(void *arg) {
  (void)arg;
  unsigned char *a = hawk_malloc(48), *b = hawk_malloc(48);
  hawk_free(a);
  hawk_free(b);             /* b's cache link leads to a */
  ((uintptr_t *)b)[0] ^= 8; /* a write after free flips a bit of it */
  hawk_malloc(48);
  hawk_malloc(48);
}

/* A link forged (with the secret, as a program that learnt it could) to a
 * smaller block cached in another list: the pop reads no header, so only
 * the list's size in the mark can refuse it. */
extern uintptr_t link_secret;
static void forged_link_to_another_list(void *arg) {
  (void)arg;
  unsigned char *small = hawk_malloc(200), *a = hawk_malloc(500);
  hawk_free(small); /* cached in the list of 208-byte blocks */
  hawk_free(a);     /* heads the list of 512-byte blocks */
  ((uintptr_t *)a)[0] = (uintptr_t)small ^ link_secret;
  hawk_malloc(500);                             /* a */
  unsigned char *b = hawk_malloc(500);          /* must not be small */
  if (b == small) write(2, "handed out\n", 11); /* 208 bytes for 500 */
}

/* A write after free that bends the last link of a list to a block earlier
 * in the same list (forged with the secret): the list would turn into a
 * cycle of marked blocks.  The block's mark, stored bound to its link, no
 * longer fits, and the flush reports it before it follows the link.
 * (Before the mark was bound to the link, the flush handed the heap the
 * same blocks twice, and the heap caught the second copy as a double free:
 * unit_heap a_cached_batch_that_holds_a_block_twice_is_a_double_free.) */
static void forged_link_to_a_sibling(void *arg) {
  (void)arg;
  unsigned char *x = hawk_malloc(500), *y = hawk_malloc(500), *z = hawk_malloc(500);
  hawk_free(x); /* the list: z, y, x */
  hawk_free(y);
  hawk_free(z);
  ((uintptr_t *)x)[0] = (uintptr_t)y ^ link_secret;
  hawk_trim(); /* flushes this thread's lists */
  write(2, "flushed\n", 8);
}

TEST(write_after_free_over_a_cache_link_is_caught) {
  EXPECT_ABORT(write_after_free_then_malloc, NULL, "hawkalloc: malloc(", "heap corruption");
  EXPECT_ABORT(forged_link_to_another_list, NULL, "hawkalloc: malloc(", "heap corruption");
  EXPECT_ABORT(forged_link_to_a_sibling, NULL, "hawkalloc: free(", "heap corruption");
}

TEST(double_free_through_the_cache_is_caught) {
  char text[32];
  victim = hawk_malloc(64);
  EXPECT_ABORT(free_twice, NULL, "hawkalloc: free(", ptr_text(victim, text), "): double free");
  EXPECT_ABORT(free_twice_delayed, NULL, "hawkalloc: free(", ptr_text(victim, text),
               "): double free");
  EXPECT_ABORT(free_twice_across_threads, NULL, "hawkalloc: free(", ptr_text(victim, text),
               "): double free");
  EXPECT_ABORT(realloc_after_free, NULL, "hawkalloc: realloc(", ptr_text(victim, text), "free");
  EXPECT_ABORT(usable_size_after_free, NULL, "hawkalloc: malloc_usable_size(",
               ptr_text(victim, text), "free");
  hawk_free(victim);
  (void)free_in_thread;
}

/* A refill's batch is handed out in address order (tcache.c, push_batch):
 * blocks the program frees in the order it got them come back to the heap
 * as runs of neighbours, freed as one span.  A size's refills take 1, 2, 4,
 * 8 and 16 blocks; in a fresh process each batch is cut from one free
 * block, so each of its blocks follows the one before it in memory (26
 * pairs in 31 blocks, whatever lies between batches). */
TEST(a_refill_hands_its_blocks_out_in_address_order) {
  if (!is_fresh("a_refill_hands_its_blocks_out_in_address_order")) {
    CHECK(run_fresh("a_refill_hands_its_blocks_out_in_address_order") == 0);
    return;
  }
  unsigned char *p[31];
  for (int i = 0; i < 31; i++) REQUIRE((p[i] = hawk_malloc(200)) != NULL);
  size_t step = hawk_usable_size(p[0]) + 8; /* the block: its payload and header */
  int next = 0;
  for (int i = 0; i + 1 < 31; i++) next += p[i + 1] == p[i] + step;
  CHECK(next >= 26);
  for (int i = 0; i < 31; i++) hawk_free(p[i]);
}

/* A free into a full list that does not grow it gives back half the list
 * and one block to the heap (tcache_overflow, flush_list), and keeps the
 * rest: the next frees of the size stay in the cache.  The blocks are
 * freed until a free leaves the list shorter than it was. */
TEST(an_overflow_gives_back_half_the_list_and_keeps_the_rest) {
  enum { N = 3000 };
  static void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(64)) != NULL);
  struct tcache_list *l = tcache_list(tcache_self, 80);
  uint32_t before = l->count, limit = 0;
  int i = 0, flushed = 0;
  for (; i < N && !flushed; i++) {
    before = l->count;
    limit = l->limit;
    hawk_free(p[i]);
    flushed = l->count < before;
  }
  REQUIRE(flushed);
  CHECK(before == limit);
  CHECK(l->count == limit - limit / 2); /* limit / 2 + 1 given back, then the block cached */
  CHECK(hawk_check() == 0);
  for (; i < N; i++) hawk_free(p[i]);
}

/* Every block in a list is exactly the list's size (a refill caches no
 * block that keeps a remainder too small to split off: heap_alloc_batch),
 * so that free's test for a block already cached compares one mark, that
 * of the list its header names.  The full check of the cache reports a
 * block bigger than its list. */
TEST(the_cache_check_reports_a_block_bigger_than_its_list) {
  void *p = hawk_malloc(100); /* a 112-byte block; the cache is set up */
  CHECK(block_size(block_of_payload(p)) == 112);
  CHECK(tcache_check() == 0);
  struct tcache_list *l = tcache_list(tcache_self, 96);
  REQUIRE(l->count < l->limit);
  tcache_list_push(l, p, HAWK_CHECKS ? tcache_mark(96) : 0);
  fprintf(stderr, "    (two reports of a cached block that is not sound are expected next)\n");
  CHECK(tcache_check() == 1);
  CHECK(hawk_check() == 1); /* hawk_check covers this thread's cache */
  CHECK(tcache_pop_fast(96, tcache_key) == p);
  CHECK(tcache_check() == 0);
  CHECK(hawk_check() == 0);
  hawk_free(p);
}

/* Every size up to TCACHE_MAX_BLOCK has a list, the smallest block (32
 * bytes: malloc(0) to malloc(24)) and the largest included: in a thread's
 * new cache, the first block of each size it allocates (a refill of one,
 * served directly) and frees stays in the cache, whole, and every list has
 * room for more than that one. */
static void *free_one_of_each_size(void *unused) {
  (void)unused;
  uintptr_t missed = 0;
  for (size_t size = BLOCK_MIN; size <= TCACHE_MAX_BLOCK; size += HAWK_ALIGN) {
    void *p = hawk_malloc(size - BLOCK_HEADER);
    if (p == NULL || block_size(block_of_payload(p)) != size) return (void *)UINTPTR_MAX;
    uint64_t before = stats_now().thread_cached;
    hawk_free(p);
    uint64_t cached = stats_now().thread_cached - before;
    if (cached != size && missed++ < 4)
      fprintf(stderr, "    a %zu-byte block freed: %llu bytes cached\n", size,
              (unsigned long long)cached);
  }
  /* A list of any size starts with room for TCACHE_LIST_MIN blocks or more,
   * not only what a refill brought into it (a list grows by that). */
  for (size_t size = BLOCK_MIN; size <= TCACHE_MAX_BLOCK; size += HAWK_ALIGN) {
    uint32_t limit = tcache_list(tcache_self, size)->limit;
    if (limit < TCACHE_LIST_MIN && missed++ < 8)
      fprintf(stderr, "    the list of %zu-byte blocks holds %u\n", size, (unsigned)limit);
  }
  return (void *)missed;
}

TEST(every_size_the_cache_holds_is_cached_from_the_smallest_to_the_largest) {
  CHECK(in_a_thread(free_one_of_each_size, NULL) == 0);
}

/* The full check of the cache counts each list's blocks against the count
 * the fast paths keep: a count that lies is a problem, as a bad block is. */
TEST(the_cache_check_reports_a_count_that_disagrees_with_its_list) {
  void *p[2];
  for (int i = 0; i < 2; i++) p[i] = hawk_malloc(40); /* 48-byte blocks */
  hawk_trim();
  for (int i = 0; i < 2; i++) hawk_free(p[i]);
  struct tcache_list *l = tcache_list(tcache_self, 48);
  REQUIRE(l->count == 2);
  CHECK(tcache_check() == 0);
  fprintf(stderr, "    (two reports of a list whose count disagrees are expected next)\n");
  l->count = 3;
  CHECK(tcache_check() == 1);
  l->count = 1;
  CHECK(tcache_check() == 1);
  l->count = 2;
  CHECK(tcache_check() == 0);
  hawk_trim();
}

/* A cached block's mark vouches for its link and its address: the fast pop
 * refuses the head when any bit of its link word changed, or when both of
 * its words were copied from another cached block of the same list (the
 * pop then returns NULL, and the full test reports). */
TEST(the_fast_pop_refuses_a_link_changed_in_any_bit) {
  void *p[3];
  for (int i = 0; i < 3; i++) p[i] = hawk_malloc(80); /* 96-byte blocks */
  for (int i = 0; i < 3; i++) hawk_free(p[i]);        /* list: p[2], p[1], p[0] */
  CHECK(tcache_list(tcache_self, 96)->head == p[2]);
  uint64_t *w = p[2], saved[2] = {w[0], w[1]};
  int taken = 0;
  for (int bit = 0; bit < 64; bit++) {
    w[0] = saved[0] ^ (uint64_t)1 << bit;
    if (tcache_pop_fast(96, tcache_key) != NULL) taken++;
    w[0] = saved[0];
  }
  CHECK(taken == 0);
  uint64_t *v = p[1];
  w[0] = v[0], w[1] = v[1]; /* both words of the next block */
  CHECK(tcache_pop_fast(96, tcache_key) == NULL);
  w[0] = saved[0], w[1] = saved[1];
  /* The mark says which list: a block of this one put at the head of
   * another list's is refused there. */
  struct tcache_list *other = tcache_list(tcache_self, 128);
  void *other_head = other->head;
  uint32_t other_count = other->count;
  other->head = p[2];
  other->count = other_count + 1;
  CHECK(tcache_pop_fast(128, tcache_key) == NULL);
  other->head = other_head;
  other->count = other_count;
  for (int i = 2; i >= 0; i--) CHECK(tcache_pop_fast(96, tcache_key) == p[i]);
  for (int i = 0; i < 3; i++) hawk_free(p[i]);
}

/* The full check of a cache entry (tcache_entry_ok: the lists' slow path,
 * and the lists waiting on a heap's stacks, whose links are checked only to
 * lead into an arena) reads no header before an arena's first block: at a
 * chunk's first byte the header would lie in the chunk before, here a
 * mapping nothing may read. */
TEST(the_full_cache_check_reads_no_header_before_an_arenas_first_block) {
  size_t chunk = ARENA_SIZE;
  char *r = mmap(NULL, 3 * chunk, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(r != MAP_FAILED);
  char *c = (char *)(((uintptr_t)r + 2 * chunk - 1) & ~(uintptr_t)(chunk - 1));
  REQUIRE(mprotect(c, 4096, PROT_READ) == 0);
  CHECK(!tcache_entry_ok(c, 96));
  CHECK(!tcache_entry_ok(c + 16, 96));
  munmap(r, 3 * chunk);
}

/* Fork while this thread's cache and another thread's cache are full. */
static void *fill_cache_and_wait(void *arg) {
  void *p[64];
  for (int i = 0; i < 64; i++) p[i] = hawk_malloc(72);
  for (int i = 0; i < 64; i++) hawk_free(p[i]);
  *(volatile int *)arg = 1;
  for (;;) pause();
  return NULL;
}

/* The child of fork_with_full_caches: only this thread exists here; the
 * other thread's blocks came back, so once this thread's own cache is
 * flushed no cache holds anything, and every cached byte is free again:
 * the bytes in use drop by all that was cached (in *before), and by the
 * other thread's cache itself (a heap block; this thread's lives in the
 * library's data). */
static void full_caches_child(void *arg) {
  const struct hawk_stats *before = arg;
  CHECK(hawk_check() == 0);
  hawk_trim();
  struct hawk_stats after = stats_now();
  CHECK(after.thread_cached == 0);
  uint64_t expected =
      before->in_use - before->thread_cached - block_size_for(sizeof(struct tcache));
  CHECK(after.in_use == expected);
  if (after.in_use != expected)
    fprintf(stderr, "    child: in use %llu, before %llu, cached %llu\n",
            (unsigned long long)after.in_use, (unsigned long long)before->in_use,
            (unsigned long long)before->thread_cached);
  for (int round = 0; round < 10; round++) {
    void *q[200];
    for (int i = 0; i < 200; i++) {
      q[i] = hawk_malloc((size_t)(64 + i));
      memset(q[i], i, (size_t)(64 + i));
    }
    for (int i = 0; i < 200; i++) hawk_free(q[i]);
  }
  CHECK(hawk_check() == 0);
}

TEST(fork_with_full_caches) {
  volatile int ready = 0;
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, fill_cache_and_wait, (void *)&ready) == 0);
  while (!ready) usleep(1000);
  void *p[64];
  for (int i = 0; i < 64; i++) p[i] = hawk_malloc(72);
  for (int i = 0; i < 64; i++) hawk_free(p[i]);
  fflush(NULL);
  struct hawk_stats before = stats_now();
  CHECK(before.thread_cached >= 2 * 16 * 80); /* both caches hold blocks (a precondition) */
  CHECK(run_in_child(full_caches_child, &before) == 0);
  CHECK(hawk_check() == 0);
  pthread_cancel(t);
  pthread_join(t, NULL);
}

/* A growing realloc frees the neighbour it takes out of this thread's
 * cache with the checks of free, under the lock it then resizes under: an
 * overflow over the header after that neighbour is reported, naming
 * realloc and the neighbour.  (Fresh process: the layout of
 * realloc_grows_into_a_neighbour_held_by_this_threads_cache, plus a third
 * block cut by the same refill as the second.) */
static unsigned char *reclaim_a;
static void realloc_into_the_cached_neighbour(void *arg) {
  (void)arg;
  hawk_realloc(reclaim_a, 130);
}

TEST(realloc_into_a_cached_neighbour_still_checks_it) {
  if (!is_fresh("realloc_into_a_cached_neighbour_still_checks_it")) {
    CHECK(run_fresh("realloc_into_a_cached_neighbour_still_checks_it") == 0);
    return;
  }
  reclaim_a = hawk_malloc(64);
  unsigned char *b = hawk_malloc(64), *c = hawk_malloc(64);
  REQUIRE(reclaim_a && b && c);
  REQUIRE(b == reclaim_a + 80 && c == b + 80);
  hawk_free(b);                            /* into the cache */
  ((uint64_t *)c)[-1] ^= (uint64_t)1 << 8; /* an overflow over c's header (its size) */
  char text[32];
  EXPECT_ABORT(realloc_into_the_cached_neighbour, NULL, "hawkalloc: realloc(", ptr_text(b, text),
               "next block's header");
  ((uint64_t *)c)[-1] ^= (uint64_t)1 << 8;
  CHECK(hawk_check() == 0);
  hawk_free(c);
  hawk_free(reclaim_a);
}
#else
TEST(misuse_and_fork_cases) { SKIP("sanitizer build: the cases abort or fork"); }
#endif

/* The eight threads below wait for each other once their blocks are made:
 * all eight are attached to their heaps at the same time. */
static pthread_barrier_t heap_users_met;

static void *heap_user(void *arg) {
  unsigned char **out = arg;
  for (int i = 0; i < 100; i++) {
    out[i] = hawk_malloc((size_t)(40 + i));
    fill(out[i], (size_t)(40 + i), (unsigned)i);
  }
  pthread_barrier_wait(&heap_users_met);
  return NULL;
}

/* The heap hawk_walk names for the block whose payload is ctx->payload. */
struct heap_of {
  uintptr_t payload;
  int heap;
};
static void find_heap(void *ctx, const struct hawk_block_info *b) {
  struct heap_of *h = ctx;
  if (b->payload == h->payload) h->heap = b->heap;
}

/* The heaps the library should have: HAWKALLOC_HEAPS, or two per CPU this
 * process may run on, at most 16 (docs/design.md). */
static unsigned heaps_expected(void) {
  const char *v = getenv("HAWKALLOC_HEAPS");
  if (v && atoi(v) > 0) return atoi(v) > 16 ? 16 : (unsigned)atoi(v);
  cpu_set_t cpus;
  unsigned n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? 2 * (unsigned)CPU_COUNT(&cpus) : 2;
  return n > 16 ? 16 : n;
}

/* Threads that run at the same time are spread over several heaps, one
 * heap a thread (the one with the fewest threads); blocks freed by another
 * thread go back to the heap that owns them. */
TEST(threads_use_several_heaps_and_frees_return_to_the_owner) {
  struct hawk_stats s = stats_now();
  unsigned heaps = heaps_expected();
  CHECK(heaps >= 1 && s.heaps == heaps);
  static unsigned char *blocks[8][100];
  pthread_t t[8];
  pthread_barrier_init(&heap_users_met, NULL, 8);
  for (int k = 0; k < 8; k++) REQUIRE(pthread_create(&t[k], NULL, heap_user, blocks[k]) == 0);
  for (int k = 0; k < 8; k++) pthread_join(t[k], NULL);
  pthread_barrier_destroy(&heap_users_met);
  /* Each thread's blocks come from one heap; eight threads alive at once
   * take the heaps with the fewest threads in turn: min(8, heaps) different
   * ones. */
  unsigned used = 0;
  for (int k = 0; k < 8; k++) {
    struct heap_of first = {(uintptr_t)blocks[k][0], -2}, last = {(uintptr_t)blocks[k][99], -2};
    hawk_walk(find_heap, &first);
    hawk_walk(find_heap, &last);
    CHECK(first.heap >= 0 && first.heap == last.heap);
    if (first.heap >= 0 && first.heap < 32) used |= 1u << first.heap;
  }
  CHECK((unsigned)__builtin_popcount(used) == (heaps < 8 ? heaps : 8));
  /* Freed here, by a thread that owns none of them. */
  for (int k = 0; k < 8; k++)
    for (int i = 0; i < 100; i++) {
      CHECK(intact(blocks[k][i], (size_t)(40 + i), (unsigned)i));
      hawk_free(blocks[k][i]);
    }
  hawk_trim();
  struct hawk_stats after = stats_now();
  CHECK(after.thread_cached == 0);
  CHECK(after.in_use <= s.in_use + 4096);
  CHECK(hawk_check() == 0);
}

#ifdef PLAIN_BUILD
#include <semaphore.h>

/* A child forked while a thread of another heap takes a list off its
 * heap's stacks can take them too: the taking flag is the parent's
 * thread's, which the child does not have.  The taker is held in the middle
 * of its take: the pages of the list's blocks are made inaccessible, and
 * the fault it takes on the list's first block (holding the flag) waits in
 * a signal handler until the test lets it go on.  In the child (its
 * faults on the pages give them back their access), the owner's cache goes
 * as the fork returns, the last of its heap's threads, and with it every
 * list waiting there; then a trim: neither may wait for ever for the
 * flag. */
enum { TAKE_BLOCKS = 2000, TAKE_SIZE = 100 /* 112-byte blocks */ };
static void *take_blocks[TAKE_BLOCKS];
static pthread_barrier_t take_step, take_pair; /* all three; the owner and the test */
static sem_t take_faulted, take_released;
static uintptr_t take_lo, take_hi; /* the inaccessible pages */
static pthread_t take_owner;
static struct sigaction take_old_segv;

/* The owner's fault on the pages waits until the test lets it go on; any
 * other thread's (the child's, which runs no owner) makes them accessible
 * again; a fault elsewhere is what it would have been. */
static void take_fault(int sig, siginfo_t *info, void *uc) {
  (void)uc;
  uintptr_t a = (uintptr_t)info->si_addr;
  if (a >= take_lo && a < take_hi) {
    if (pthread_equal(pthread_self(), take_owner)) {
      sem_post(&take_faulted);
      while (sem_wait(&take_released) != 0) {
      }
    } else {
      mprotect((void *)take_lo, take_hi - take_lo, PROT_READ | PROT_WRITE);
    }
    return; /* the access is made again, and succeeds */
  }
  sigaction(sig, &take_old_segv, NULL);
}

/* The owner: allocates the blocks; the freer frees them (its full lists go
 * to this heap's stacks) and exits (the rest of its lists too: nothing of
 * the blocks' pages is left in a cache of a thread the child would not
 * have); the owner empties its own list of their size, then,
 * once the pages are inaccessible, allocates one more: a refill that takes
 * a list waiting. */
static void *take_owner_thread(void *arg) {
  (void)arg;
  hawk_free(hawk_malloc(8)); /* its cache and heap first */
  for (int i = 0; i < TAKE_BLOCKS; i++) take_blocks[i] = hawk_malloc(TAKE_SIZE);
  pthread_barrier_wait(&take_step); /* 1: allocated */
  pthread_barrier_wait(&take_step); /* 2: freed by the freer, which has exited */
  static void *own[TCACHE_LIST_MAX];
  int n = 0;
  while (n < TCACHE_LIST_MAX && tcache_list(tcache_self, 112)->count > 0)
    own[n++] = hawk_malloc(TAKE_SIZE);
  pthread_barrier_wait(&take_pair); /* 3: its list is empty */
  pthread_barrier_wait(&take_pair); /* 4: the pages are inaccessible */
  void *taken = hawk_malloc(TAKE_SIZE);
  hawk_free(taken);
  for (int i = 0; i < n; i++) hawk_free(own[i]);
  pthread_barrier_wait(&take_pair); /* 5: done */
  return NULL;
}

/* The freer, started once the blocks are allocated (on another heap: the
 * owner and this thread hold one each). */
static void *take_freer_thread(void *arg) {
  (void)arg;
  hawk_free(hawk_malloc(8));
  for (int i = 0; i < TAKE_BLOCKS; i++) hawk_free(take_blocks[i]);
  return NULL; /* its cache goes at its exit */
}

/* Forks a child that trims and checks; returns its exit status, or -1 if
 * it has not exited within 10 s (then it is killed: a child whose fork
 * handlers wait for the flag for ever). */
static int trim_in_a_child(void) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    hawk_trim(); /* takes every list waiting */
    _exit(hawk_check() == 0 ? 0 : 1);
  }
  for (int tenths = 0; tenths < 100; tenths++) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    struct timespec t = {0, 100000000L};
    nanosleep(&t, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  fprintf(stderr, "    the child did not exit within 10 s\n");
  return -1;
}

TEST(a_child_forked_during_a_take_can_take_the_lists_too) {
  if (stats_now().heaps < 2) SKIP("one heap: every free is local");
  hawk_free(hawk_malloc(8)); /* this thread's heap first: the threads take others */
  pthread_t freer;
  REQUIRE(pthread_barrier_init(&take_step, NULL, 2) == 0);
  REQUIRE(pthread_barrier_init(&take_pair, NULL, 2) == 0);
  REQUIRE(sem_init(&take_faulted, 0, 0) == 0 && sem_init(&take_released, 0, 0) == 0);
  REQUIRE(pthread_create(&take_owner, NULL, take_owner_thread, NULL) == 0);
  pthread_barrier_wait(&take_step); /* 1: allocated */
  REQUIRE(pthread_create(&freer, NULL, take_freer_thread, NULL) == 0);
  pthread_join(freer, NULL);
  pthread_barrier_wait(&take_step); /* 2 */
  pthread_barrier_wait(&take_pair); /* 3 */
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < TAKE_BLOCKS; i++) {
    if ((uintptr_t)take_blocks[i] < lo) lo = (uintptr_t)take_blocks[i];
    if ((uintptr_t)take_blocks[i] + 112 > hi) hi = (uintptr_t)take_blocks[i] + 112;
  }
  take_lo = (lo - 8 + pg - 1) & ~(uintptr_t)(pg - 1); /* whole pages of the blocks only */
  take_hi = hi & ~(uintptr_t)(pg - 1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = take_fault;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, &take_old_segv);
  int made = take_hi > take_lo && mprotect((void *)take_lo, take_hi - take_lo, PROT_NONE) == 0;
  CHECK(made);
  pthread_barrier_wait(&take_pair); /* 4: the owner takes */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  int faulted = made && sem_timedwait(&take_faulted, &until) == 0;
  CHECK(faulted); /* the owner is held in its take */
  if (faulted) CHECK(trim_in_a_child() == 0);
  if (made) mprotect((void *)take_lo, take_hi - take_lo, PROT_READ | PROT_WRITE);
  sem_post(&take_released);
  pthread_barrier_wait(&take_pair); /* 5 */
  pthread_join(take_owner, NULL);
  sigaction(SIGSEGV, &take_old_segv, NULL);
  pthread_barrier_destroy(&take_step);
  pthread_barrier_destroy(&take_pair);
  sem_destroy(&take_faulted);
  sem_destroy(&take_released);
  CHECK(hawk_check() == 0);
}
#endif

TEST_MAIN()
