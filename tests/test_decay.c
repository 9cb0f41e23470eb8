/* test_decay.c - free memory goes back to the OS without malloc_trim
 * (HAWKALLOC_DECAY_MS, src/decay.h, docs/design.md "The decay").
 *
 * The options are read once per process, so every case measures in fresh
 * copies of this program (run_fresh_env) started with the period it needs.
 * Time drives the mechanism, never an assertion: a copy runs with a period
 * of 1 ms and sleeps well past it (DECAY_NAP) between rounds of allocator
 * activity, so that the epoch has moved on at the round's first clock check
 * whatever the machine's load; what is asserted is the state after the
 * rounds (resident memory, statistics, contents).
 *
 * Only the hawk_* names are used, so the program means the same thing in
 * the sanitizer build (-DHAWK_NO_OVERRIDE).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hawkalloc.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Longer than two periods of 1 ms plus two ticks of the coarse clock (4 ms
 * at HZ=250, 10 ms at HZ=100). */
#define DECAY_NAP_MS 30

static char decay_1ms[] = "HAWKALLOC_DECAY_MS=1";
static char decay_off[] = "HAWKALLOC_DECAY_MS=0";

static void nap(void) {
  struct timespec t = {0, DECAY_NAP_MS * 1000000L};
  nanosleep(&t, NULL);
}

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  return s;
}

/* Runs the case name in a fresh copy of this program whose decay period is
 * ms milliseconds; with show, prints the first line the copy printed (its
 * counts).  Returns the copy's exit status. */
static int run_with_period(const char *name, unsigned ms, int show) {
  char period[48], out[512];
  snprintf(period, sizeof period, "HAWKALLOC_DECAY_MS=%u", ms);
  char *const env[] = {period, NULL};
  int status = run_fresh_env(name, env, out, sizeof out);
  if (show) {
    fputs(strtok(out, "\n") ? out : "", stdout);
    putchar('\n');
  }
  return status;
}

/* A little allocator activity that reaches the heap (blocks above the
 * thread cache's sizes): 2 x pairs locked operations. */
static void activity(int pairs) {
  for (int i = 0; i < pairs; i++) {
    char *p = hawk_malloc(3000 + (size_t)(i % 7) * 100);
    if (p) p[0] = 1;
    hawk_free(p);
  }
}

/* Rounds of: a nap longer than two periods, then activity; enough for the
 * epoch to move on twice, every due block to be given back (at most 1,024
 * a pass, a pass per 64 locked operations) and the thread's cache lists to
 * be looked at twice. */
static void idle_then_active(int rounds) {
  for (int r = 0; r < rounds; r++) {
    nap();
    activity(2000);
    void *small = hawk_malloc(24 + (size_t)r * 16); /* a refill: the cache's own look */
    hawk_free(small);
  }
}

/* ------------------------------------------------------------------------ */
/* The test: fill 400 MiB with small blocks, keep one in a thousand,  */
/* free the rest, keep allocating a little.  With the decay the resident set  */
/* drops to within 10% of what malloc_trim reaches; with it off it does not.  */
/* ------------------------------------------------------------------------ */

/* In the fresh copy: the pattern, then what HAWK_TEST_DECAY_MODE says
 * ("trim": hawk_trim at once), then the rounds of activity; prints the
 * resident set at the peak and at the end, and the bytes purged. */
static void pattern_in_fresh_copy(void) {
  const char *mode = getenv("HAWK_TEST_DECAY_MODE");
  const size_t total = UNDER_SANITIZER ? 64 * MiB : 400 * MiB, max_blocks = total / 16;
  char **ptrs = mmap(NULL, max_blocks * sizeof *ptrs, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(ptrs != MAP_FAILED);
  size_t count = 0, bytes = 0;
  while (bytes < total && count < max_blocks) {
    size_t n = 16 + (count % 8) * 16; /* 16 to 128 bytes */
    char *p = hawk_malloc(n);
    REQUIRE(p != NULL);
    memset(p, (int)(count & 0xff) | 1, n);
    ptrs[count++] = p;
    bytes += n;
  }
  size_t rss_peak = process_resident_bytes();
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    if (i % 1000 == 0)
      ptrs[kept++] = ptrs[i]; /* one in a thousand stays */
    else
      hawk_free(ptrs[i]);
  }
  if (mode && strcmp(mode, "trim") == 0) hawk_trim();
  idle_then_active(4);
  size_t bad = 0;
  for (size_t k = 0; k < kept; k++) bad += ptrs[k][0] != (char)(((k * 1000) & 0xff) | 1);
  munmap(ptrs, max_blocks * sizeof *ptrs); /* before measuring: not the allocator's */
  size_t rss_end = process_resident_bytes();
  struct hawk_stats s = stats_now();
  printf("%zu %zu %llu %zu %d\n", rss_peak, rss_end, (unsigned long long)s.purged, bad,
         hawk_check());
}

struct pattern_figures {
  size_t rss_peak, rss_end, bad;
  unsigned long long purged;
  int problems;
};

static int run_pattern(const char *mode, char *decay, struct pattern_figures *f) {
  char mode_env[64], out[256];
  snprintf(mode_env, sizeof mode_env, "HAWK_TEST_DECAY_MODE=%s", mode);
  char *const env[] = {decay, mode_env, NULL};
  int status = run_fresh_env("memory_follows_the_live_data", env, out, sizeof out);
  int got = sscanf(out, "%zu %zu %llu %zu %d", &f->rss_peak, &f->rss_end, &f->purged, &f->bad,
                   &f->problems);
  printf("# %s (%s): resident at the peak %.1f MiB, at the end %.1f MiB; purged %.1f MiB\n", mode,
         decay, (double)f->rss_peak / MiB, (double)f->rss_end / MiB, (double)f->purged / MiB);
  return status == 0 && got == 5 && f->bad == 0 && f->problems == 0;
}

TEST(memory_follows_the_live_data) {
  if (is_fresh("memory_follows_the_live_data")) {
    pattern_in_fresh_copy();
    return;
  }
  struct pattern_figures decay, trim, off;
  REQUIRE(run_pattern("decay", decay_1ms, &decay));
  REQUIRE(run_pattern("trim", decay_off, &trim));
  REQUIRE(run_pattern("off", decay_off, &off));
  /* The peak was reached: most of the pattern's bytes were resident. */
  size_t total = UNDER_SANITIZER ? 64 * MiB : 400 * MiB;
  CHECK(decay.rss_peak >= total / 2 && trim.rss_peak >= total / 2 && off.rss_peak >= total / 2);
  /* With the decay, within 10% of what malloc_trim reaches... */
  CHECK(decay.rss_end * 10 <= trim.rss_end * 11);
  CHECK(decay.purged > 0);
  /* ...and far below the peak, which is where it stays without it. */
  CHECK(decay.rss_end * 2 <= decay.rss_peak);
  CHECK(off.rss_end * 10 >= off.rss_peak * 8);
  CHECK(off.purged == 0);
}

/* ------------------------------------------------------------------------ */
/* The climb of bench/mstress: threads that start in rounds, each allocating  */
/* and freeing mixed sizes and swapping blocks with the others, spread their  */
/* free memory over more arenas than the data ever needs at once; their      */
/* pages go back while the program is busy, with no clock to wait for (the    */
/* period here is an hour).                                                   */
/* ------------------------------------------------------------------------ */

#define SPREAD_ROUNDS  10
#define SPREAD_THREADS 2
#define SPREAD_LOCAL   2000
#define SPREAD_SHARED  1000
/* Under ASan 60,000 steps left the arenas' span 1.45-1.7 times the bytes in
 * use in a few runs of 60 on a loaded machine (the case needs 1.5); 100,000
 * with the start barrier: 2.24 at the least, in the same time. */
#define SPREAD_STEPS (UNDER_SANITIZER ? 100000 : 200000)

static _Atomic(void *) spread_shared[SPREAD_SHARED];
static void *spread_kept[SPREAD_THREADS][SPREAD_LOCAL / 2];
/* The threads of a round start their steps together, whatever else the
 * machine runs: one that ran alone would leave less of its free memory
 * spread over the other's arenas, and the case would not have its shape. */
static pthread_barrier_t spread_start;

static uint64_t spread_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A block of 8 to 1,024 bytes, one in 100 a hundred times bigger. */
static void *spread_make(uint64_t *s) {
  size_t n = (spread_next(s) % 128 + 1) * 8;
  if (spread_next(s) % 100 == 0) n *= 100;
  char *p = hawk_malloc(n);
  if (p == NULL) abort();
  p[0] = 1;
  p[n - 1] = 1;
  return p;
}

/* One thread of one round: bench/mstress's steps on a private array that
 * starts with what the last round's thread at this index kept. */
static void *spread_work(void *arg) {
  size_t id = (size_t)(uintptr_t)arg >> 8;
  uint64_t s = 0x9e3779b97f4a7c15u ^ (uintptr_t)arg;
  pthread_barrier_wait(&spread_start);
  void **local = calloc(SPREAD_LOCAL, sizeof *local);
  if (local == NULL) abort();
  for (int i = 0; i < SPREAD_LOCAL / 2; i++) local[i] = spread_kept[id][i];
  for (long k = 0; k < SPREAD_STEPS; k++) {
    size_t i = spread_next(&s) % SPREAD_LOCAL, what = spread_next(&s) % 10;
    if (what < 5) {
      hawk_free(local[i]);
      local[i] = spread_make(&s);
    } else if (what < 8) {
      hawk_free(local[i]);
      local[i] = NULL;
    } else {
      local[i] = atomic_exchange(&spread_shared[spread_next(&s) % SPREAD_SHARED], local[i]);
    }
  }
  for (int i = 0; i < SPREAD_LOCAL; i++) {
    if (i < SPREAD_LOCAL / 2)
      spread_kept[id][i] = local[i];
    else
      hawk_free(local[i]);
  }
  free(local);
  return NULL;
}

#define KEPT 20
static void *kept[KEPT];
static int kept_cached;

/* Counts the blocks of kept that the walk finds in a thread cache. */
static void count_kept(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  for (int i = 0; i < KEPT; i++)
    if (b->payload == (uintptr_t)kept[i] && b->state == HAWK_BLOCK_CACHED) kept_cached++;
}

/* In the fresh copy: the rounds; then this thread caches KEPT blocks of one
 * size and keeps allocating other sizes (refills, where its cache's decay
 * looks at its lists, and 20,000 locked operations); prints the bytes
 * purged, the arenas' span, the peak of bytes in use and how many of the
 * KEPT blocks are still cached. */
static void spread_in_fresh_copy(void) {
  REQUIRE(pthread_barrier_init(&spread_start, NULL, SPREAD_THREADS) == 0);
  for (int r = 0; r < SPREAD_ROUNDS; r++) {
    pthread_t t[SPREAD_THREADS];
    for (size_t i = 0; i < SPREAD_THREADS; i++)
      REQUIRE(pthread_create(&t[i], NULL, spread_work, (void *)(uintptr_t)(i << 8 | (size_t)r)) ==
              0);
    for (size_t i = 0; i < SPREAD_THREADS; i++) pthread_join(t[i], NULL);
  }
  for (int i = 0; i < KEPT; i++) kept[i] = hawk_malloc(300);
  for (int i = 0; i < KEPT; i++) hawk_free(kept[i]);
  for (int r = 0; r < 10; r++) {
    activity(1000);
    hawk_free(hawk_malloc(40 + (size_t)r * 16));
  }
  hawk_walk(count_kept, NULL);
  struct hawk_stats s = stats_now();
  printf("%llu %llu %llu %d %d\n", (unsigned long long)s.purged,
         (unsigned long long)s.footprint_peak, (unsigned long long)s.in_use_peak, kept_cached,
         hawk_check());
  for (size_t i = 0; i < SPREAD_THREADS; i++)
    for (int j = 0; j < SPREAD_LOCAL / 2; j++) hawk_free(spread_kept[i][j]);
  for (int i = 0; i < SPREAD_SHARED; i++) hawk_free(atomic_exchange(&spread_shared[i], NULL));
}

TEST(spread_free_memory_goes_back_without_the_clock) {
  if (is_fresh("spread_free_memory_goes_back_without_the_clock")) {
    spread_in_fresh_copy();
    return;
  }
  char hour[] = "HAWKALLOC_DECAY_MS=3600000", heaps[] = "HAWKALLOC_HEAPS=4", out[256];
  char *const env[] = {hour, heaps, NULL};
  CHECK(run_fresh_env("spread_free_memory_goes_back_without_the_clock", env, out, sizeof out) == 0);
  unsigned long long purged = 0, footprint = 0, peak = 0;
  int problems = -1, cached = -1;
  CHECK(sscanf(out, "%llu %llu %llu %d %d", &purged, &footprint, &peak, &cached, &problems) == 5);
  printf("# purged %.1f MiB; the arenas' span at most %.1f MiB, bytes in use at most %.1f MiB\n",
         (double)purged / MiB, (double)footprint / MiB, (double)peak / MiB);
  CHECK(problems == 0);
  /* The free memory was spread (the shape this case is about)... */
  CHECK(footprint * 2 > peak * 3);
  /* ...and went back within the hour's first period... */
  CHECK(purged >= MiB);
  /* ...while a thread's cache lists are judged by the clock alone: a list
   * it did not touch stays until a period has passed. */
  CHECK(cached == KEPT);
}

/* A busy program whose free memory lies within its peak (here: half of 4 MiB
 * of 64 KiB blocks freed, then 20,000 locked operations) keeps its pages
 * until the clock says so: with a period of an hour, nothing goes back. */
TEST(free_memory_within_the_peak_waits_for_the_clock) {
  if (!is_fresh("free_memory_within_the_peak_waits_for_the_clock")) {
    char hour[] = "HAWKALLOC_DECAY_MS=3600000", out[128];
    char *const env[] = {hour, NULL};
    CHECK(run_fresh_env("free_memory_within_the_peak_waits_for_the_clock", env, out, sizeof out) ==
          0);
    unsigned long long purged = 1;
    CHECK(sscanf(out, "%llu", &purged) == 1);
    CHECK(purged == 0);
    return;
  }
  enum { BLOCKS = 64 };
  char *p[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    p[i] = hawk_malloc(64 * KiB);
    REQUIRE(p[i] != NULL);
    memset(p[i], 1, 64 * KiB);
  }
  for (int i = 0; i < BLOCKS; i += 2) hawk_free(p[i]);
  activity(10000);
  printf("%llu\n", (unsigned long long)stats_now().purged);
  for (int i = 1; i < BLOCKS; i += 2) hawk_free(p[i]);
}

/* ------------------------------------------------------------------------ */
/* Safety: a purge never touches a header, a footer or a live block, and      */
/* calloc still returns zeros afterwards.                                     */
/* ------------------------------------------------------------------------ */

/* Whether the n bytes at p all equal c. */
static int all_bytes(const unsigned char *p, size_t n, unsigned char c) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != c) return 0;
  return 1;
}

TEST(purge_keeps_headers_footers_and_live_blocks) {
  if (!is_fresh("purge_keeps_headers_footers_and_live_blocks")) {
    char out[64];
    char *const env[] = {decay_1ms, NULL};
    CHECK(run_fresh_env("purge_keeps_headers_footers_and_live_blocks", env, out, sizeof out) == 0);
    return;
  }
  /* Live blocks of every size between big free ones, each filled with its
   * own byte; the free ones dirty (filled before they were freed). */
  enum { N = 24 };
  unsigned char *live[N], *gone[N];
  size_t live_n[N], gone_n = 100 * KiB;
  for (int i = 0; i < N; i++) {
    live_n[i] = 8 + (size_t)i * 701; /* up to about 16 KiB: cached and heap blocks */
    REQUIRE((gone[i] = hawk_malloc(gone_n)) != NULL);
    REQUIRE((live[i] = hawk_malloc(live_n[i])) != NULL);
    memset(gone[i], 0xAA, gone_n);
    memset(live[i], 0x10 + i, live_n[i]);
  }
  for (int i = 0; i < N; i++) hawk_free(gone[i]);
  idle_then_active(4);
  struct hawk_stats s = stats_now();
  CHECK(s.purged >= N * (gone_n - 2 * (size_t)sysconf(_SC_PAGESIZE) - 8 * KiB));
  /* The freed blocks' inner pages were given back... */
  size_t pg = (size_t)sysconf(_SC_PAGESIZE), resident = 0;
  for (int i = 0; i < N; i++) resident += resident_pages((char *)gone[i] + pg, gone_n - 2 * pg);
  CHECK(resident == 0);
  /* ...but every boundary tag is intact (hawk_check walks every header and
   * footer) and every live block holds what it held. */
  CHECK(hawk_check() == 0);
  int bad = 0;
  for (int i = 0; i < N; i++) bad += !all_bytes(live[i], live_n[i], (unsigned char)(0x10 + i));
  CHECK(bad == 0);
  /* calloc of the purged memory: zeros, whether the pages came back from
   * the kernel or were never given back. */
  for (int i = 0; i < N; i++) {
    unsigned char *p = hawk_calloc(1, gone_n);
    REQUIRE(p != NULL);
    bad += !all_bytes(p, gone_n, 0);
    memset(p, 0xAA, gone_n);
    gone[i] = p;
  }
  CHECK(bad == 0);
  for (int i = 0; i < N; i++) hawk_free(gone[i]);
  for (int i = 0; i < N; i++) hawk_free(live[i]);
  CHECK(hawk_check() == 0);
}

/* A block freed and allocated again at once is never given back: its
 * contents survive, though the clock moves on and the decay runs at every
 * position of the loop (62 locked operations a turn against a check every
 * 64).  100 KiB: below DECAY_OLD_MIN, so that the naps while it is in use
 * do not make it an old block (the next test). */
TEST(memory_reused_at_once_is_not_given_back) {
  if (!is_fresh("memory_reused_at_once_is_not_given_back")) {
    char out[64];
    char *const env[] = {decay_1ms, NULL};
    CHECK(run_fresh_env("memory_reused_at_once_is_not_given_back", env, out, sizeof out) == 0);
    return;
  }
  size_t n = 100 * KiB, pg = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *p = hawk_malloc(n);
  REQUIRE(p != NULL);
  memset(p, 0x5a, n);
  int moved = 0, lost = 0;
  for (int turn = 0; turn < 200; turn++) {
    hawk_free(p);
    unsigned char *q = hawk_malloc(n);
    REQUIRE(q != NULL);
    moved += q != p;
    p = q;
    for (size_t i = pg; i + pg < n; i += pg) lost += p[i] != 0x5a;
    memset(p, 0x5a, n);
    if (turn % 20 == 0) {
      struct timespec t = {0, 2000000L};
      nanosleep(&t, NULL); /* the epoch moves on while p is in use */
    }
    activity(30);
  }
  hawk_free(p);
  CHECK(moved == 0);
  CHECK(lost == 0);
}

/* Of the whole pages of the n bytes at p past its first page and before its
 * last, how many are resident (inner_resident) and how many there are
 * (inner_pages). */
static size_t inner_resident(void *p, size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  return resident_pages((char *)p + pg, n - 2 * pg);
}
static size_t inner_pages(const void *p, size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t lo = ((uintptr_t)p + pg + pg - 1) & ~(uintptr_t)(pg - 1), hi = (uintptr_t)p + n - pg;
  return (hi - lo) / pg;
}

/* A block of 128 KiB or more that stayed in use for half a period gives
 * its pages back as it is freed, with no further allocator call, within the
 * heap's budget for a period (16 MiB: of 48 such blocks of 512 KiB freed at
 * once, some go back and some wait for the decay); one freed soon after it
 * was handed out keeps them, and so does one that grew in place past 128
 * KiB just before (its life is counted from then).  A heap that hands out
 * again, within the period, 4 MiB or more where it gave back at once stops
 * giving back at once: old blocks freed in the next period keep their pages.  A
 * period of 1 s, so that the young blocks' few microseconds never come
 * near half of it. */
TEST(a_block_in_use_for_a_period_goes_back_as_it_is_freed) {
  if (!is_fresh("a_block_in_use_for_a_period_goes_back_as_it_is_freed")) {
    CHECK(run_with_period("a_block_in_use_for_a_period_goes_back_as_it_is_freed", 1000, 1) == 0);
    return;
  }
  enum { OLD = 48, LATER = 8, AGAIN = OLD };
  size_t n = 512 * KiB;
  unsigned char *old[OLD], *later[LATER], *again[AGAIN];
  activity(100); /* the clock's first reading */
  for (int i = 0; i < OLD; i++) {
    REQUIRE((old[i] = hawk_malloc(n)) != NULL);
    memset(old[i], 0x5a, n);
  }
  for (int i = 0; i < LATER; i++) {
    REQUIRE((later[i] = hawk_malloc(n)) != NULL);
    memset(later[i], 0x5a, n);
  }
  struct timespec t = {1, 200000000L};
  nanosleep(&t, NULL);
  activity(100); /* a clock check: the time the blocks' lives are measured by */

  unsigned char *young = hawk_malloc(n);
  REQUIRE(young != NULL);
  memset(young, 0x5a, n);
  uint64_t purged = stats_now().purged;
  hawk_free(young);
  CHECK(stats_now().purged == purged);
  CHECK(inner_resident(young, n) == inner_pages(young, n));

  unsigned char *grown = hawk_malloc(64 * KiB), *g;
  size_t m = 256 * KiB;
  REQUIRE(grown != NULL);
  REQUIRE((g = hawk_realloc(grown, m)) != NULL);
  CHECK(g == grown); /* grown in place: the case asked about */
  memset(g, 0x5a, m);
  hawk_free(g);
  CHECK(stats_now().purged == purged);
  CHECK(inner_resident(g, m) == inner_pages(g, m));

  int gone = 0, stayed = 0;
  for (int i = 0; i < OLD; i++) {
    hawk_free(old[i]);
    size_t r = inner_resident(old[i], n);
    gone += r == 0;
    stayed += r == inner_pages(old[i], n);
  }
  printf("# %d of %d old blocks given back as they were freed, %d kept\n", gone, OLD, stayed);
  CHECK(gone >= 8);
  CHECK(gone < OLD);
  CHECK(gone + stayed == OLD);
  CHECK(stats_now().purged - purged >= (uint64_t)gone * (n - 2 * (size_t)sysconf(_SC_PAGESIZE)));
  CHECK(hawk_check() == 0);

  /* The same blocks handed out again at once (the lists give the last freed
   * first, so all of them: more than 4 MiB where pages went back): then, in
   * the next period (a new budget), old blocks freed keep their pages. */
  for (int i = 0; i < AGAIN; i++) {
    REQUIRE((again[i] = hawk_malloc(n)) != NULL);
    memset(again[i], 0x5a, n);
  }
  t.tv_sec = 1;
  t.tv_nsec = 100000000L;
  nanosleep(&t, NULL);
  activity(100);
  purged = stats_now().purged;
  int resident = 0;
  for (int i = 0; i < LATER; i++) {
    hawk_free(later[i]);
    resident += inner_resident(later[i], n) == inner_pages(later[i], n);
  }
  CHECK(resident == LATER);
  CHECK(stats_now().purged == purged);
  for (int i = 0; i < AGAIN; i++) hawk_free(again[i]);
  CHECK(hawk_check() == 0);
}

/* The budget of old blocks given back as they are freed (DECAY_OLD_BUDGET,
 * 16 MiB a heap) is a period's: old blocks freed past it keep their pages
 * (the decay takes them later), and old blocks freed in a later period give
 * theirs back again.  A period of 1 s; 512 KiB blocks. */
TEST(the_budget_of_old_blocks_is_renewed_each_period) {
  if (!is_fresh("the_budget_of_old_blocks_is_renewed_each_period")) {
    CHECK(run_with_period("the_budget_of_old_blocks_is_renewed_each_period", 1000, 1) == 0);
    return;
  }
  enum { FIRST = 40, LATER = 8 }; /* 20 MiB, then 4 MiB */
  size_t n = 512 * KiB;
  static unsigned char *p[FIRST + LATER];
  activity(100); /* the clock's first reading */
  for (int i = 0; i < FIRST + LATER; i++) {
    REQUIRE((p[i] = hawk_malloc(n)) != NULL);
    memset(p[i], 0x5a, n);
  }
  struct timespec t = {1, 200000000L};
  nanosleep(&t, NULL);
  activity(100); /* every block is old now */
  int first = 0;
  for (int i = 0; i < FIRST; i++) {
    hawk_free(p[i]);
    first += inner_resident(p[i], n) == 0;
  }
  nanosleep(&t, NULL);
  activity(100); /* the next period */
  int later = 0;
  for (int i = FIRST; i < FIRST + LATER; i++) {
    hawk_free(p[i]);
    later += inner_resident(p[i], n) == 0;
  }
  printf("# old blocks given back as freed: %d of %d in one period, %d of %d in the next\n", first,
         FIRST, later, LATER);
  CHECK(first >= 8 && first < FIRST); /* the budget ran out */
  CHECK(later == LATER);              /* and was there again */
  CHECK(hawk_check() == 0);
}

/* Where hawk_walk found the block whose payload is *(void **)ctx: its
 * first byte and size, in the two words after the pointer. */
static void find_block(void *ctx, const struct hawk_block_info *b) {
  uintptr_t *want = ctx;
  if (b->payload == want[0]) {
    want[1] = b->address;
    want[2] = b->size;
  }
}

/* Frees the 3,000-byte block at *x and takes one again, pairs times: locked
 * heap operations (the clock's checks, the decay's passes) that touch no
 * other free block, since the block freed has both neighbours in use and
 * comes back in the same place; returns how many times it did not. */
static int in_place(unsigned char **x, int pairs) {
  int moved = 0;
  for (int i = 0; i < pairs; i++) {
    hawk_free(*x);
    unsigned char *y = hawk_malloc(3000);
    if (!y) abort();
    moved += y != *x;
    *x = y;
  }
  return moved;
}

/* An old block freed alone gives its pages back as it is freed and is left
 * clean (stamp_merged_locked): the decay's passes never give them back
 * again, so purged counts them once.  Stamped as free since then, it would
 * have them given back and counted a second time a period later.  A period
 * of 100 ms (a nap of 150 ms moves the epoch on once; a block 150 ms old is
 * old: half a period, and well inside the 256 eighths its life is measured
 * in); a 512 KiB block between two in use; the locked operations in_place's,
 * which touch no other free block, so that once the arena's tail was given
 * back (before the old block is freed) nothing but the old block could add
 * to purged.  What it gives back at once is exact: the whole pages between
 * its first 32 bytes (header, links, stamp) and its 8-byte footer. */
TEST(an_old_block_given_back_as_it_is_freed_is_not_given_back_again) {
  if (!is_fresh("an_old_block_given_back_as_it_is_freed_is_not_given_back_again")) {
    CHECK(run_with_period("an_old_block_given_back_as_it_is_freed_is_not_given_back_again", 100,
                          1) == 0);
    return;
  }
  size_t n = 512 * KiB, pg = (size_t)sysconf(_SC_PAGESIZE);
  struct timespec t = {0, 150000000L};
  unsigned char *below = hawk_malloc(3000), *old = hawk_malloc(n), *above = hawk_malloc(3000);
  unsigned char *x = hawk_malloc(3000), *last = hawk_malloc(3000);
  REQUIRE(below && old && above && x && last);
  memset(old, 0x5a, n);
  int moved = in_place(&x, 100); /* the clock's first reading */
  for (int r = 0; r < 3; r++) {  /* the old block grows old; the tail's pages go back */
    nanosleep(&t, NULL);
    moved += in_place(&x, 100);
  }
  /* On a slow machine the tail may still be going back: until a whole
   * period gives back nothing more (at most 20), so that after the old
   * block's free nothing else can add to purged. */
  for (int r = 0; r < 20; r++) {
    uint64_t before = stats_now().purged;
    nanosleep(&t, NULL);
    moved += in_place(&x, 100);
    if (stats_now().purged == before) break;
  }
  uintptr_t where[3] = {(uintptr_t)old, 0, 0};
  hawk_walk(find_block, where);
  REQUIRE(where[2] >= n);
  uint64_t inside = ((where[1] + where[2] - 8) & ~(uintptr_t)(pg - 1)) -
                    ((where[1] + 32 + pg - 1) & ~(uintptr_t)(pg - 1));
  uint64_t purged = stats_now().purged;
  hawk_free(old);
  uint64_t at_once = stats_now().purged - purged;
  for (int r = 0; r < 3; r++) { /* three passes: the block has been free a whole period */
    nanosleep(&t, NULL);
    moved += in_place(&x, 100);
  }
  uint64_t later = stats_now().purged - purged;
  printf("# given back as it was freed: %llu bytes of %llu; after three periods %llu\n",
         (unsigned long long)at_once, (unsigned long long)inside, (unsigned long long)later);
  CHECK(moved == 0);
  CHECK(at_once == inside);
  CHECK(inner_resident(old, n) == 0);
  CHECK(later == at_once);
  hawk_free(below);
  hawk_free(above);
  hawk_free(x);
  hawk_free(last);
  CHECK(hawk_check() == 0);
}

/* The spreading threads of busy_moves_of_the_epoch_each_need_their_checks:
 * each on a heap of its own (all three started before any allocates),
 * one at a time, fills three arenas with 300 KiB blocks and frees all but
 * one block an arena: the arenas stay, their span up to where blocks were
 * handed out counts, and the peak in use is one thread's. */
static pthread_barrier_t spreaders_ready;
static pthread_mutex_t spreaders_turn = PTHREAD_MUTEX_INITIALIZER;

static void *spread_one_heap(void *arg) {
  (void)arg;
  enum { N = 40 };
  void *p[N];
  uintptr_t pinned[8] = {0};
  hawk_free(hawk_malloc(32)); /* its cache, and its heap */
  pthread_barrier_wait(&spreaders_ready);
  pthread_mutex_lock(&spreaders_turn);
  for (int i = 0; i < N; i++) p[i] = hawk_malloc(300 * KiB);
  for (int i = 0; i < N; i++) {
    uintptr_t arena = (uintptr_t)p[i] & ~(uintptr_t)(4 * MiB - 1);
    int k = 0;
    while (k < 8 && pinned[k] && pinned[k] != arena) k++;
    if (k < 8 && pinned[k] == 0) {
      pinned[k] = arena; /* the arena's first block stays */
      continue;
    }
    hawk_free(p[i]);
  }
  pthread_mutex_unlock(&spreaders_turn);
  return NULL;
}

/* While memory is spread, the epoch moves on for work done: once per
 * DECAY_EPOCH_CHECKS clock checks (48, a check every 64 locked operations),
 * counted again from each move, not at every check after the first.  With
 * a period of an hour (no move for the clock) and three threads' arenas
 * nearly empty (their span three times the peak in use): after 60 checks'
 * worth of operations (a move at least), a block of 100 KiB freed stays
 * resident through 20 checks' worth more (a free block goes back after two
 * moves). */
TEST(busy_moves_of_the_epoch_each_need_their_checks) {
  if (!is_fresh("busy_moves_of_the_epoch_each_need_their_checks")) {
    char hour[] = "HAWKALLOC_DECAY_MS=3600000", heaps[] = "HAWKALLOC_HEAPS=4", out[256];
    char *const env[] = {hour, heaps, NULL};
    CHECK(run_fresh_env("busy_moves_of_the_epoch_each_need_their_checks", env, out, sizeof out) ==
          0);
    return;
  }
  hawk_free(hawk_malloc(32)); /* this thread's heap first */
  pthread_t t[3];
  REQUIRE(pthread_barrier_init(&spreaders_ready, NULL, 4) == 0);
  for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, spread_one_heap, NULL) == 0);
  pthread_barrier_wait(&spreaders_ready);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&spreaders_ready);
  struct hawk_stats s = stats_now();
  REQUIRE(s.footprint * 2 > s.in_use_peak * 3); /* spread */
  activity(60 * 32);                            /* 60 checks: the epoch has moved for work done */
  size_t n = 100 * KiB;
  unsigned char *x = hawk_malloc(n);
  void *after = hawk_malloc(3000);
  REQUIRE(x && after);
  memset(x, 0x5a, n);
  hawk_free(x);
  REQUIRE(inner_resident(x, n) == inner_pages(x, n));
  activity(20 * 32); /* 20 checks: one more move at most */
  size_t resident = inner_resident(x, n);
  CHECK(resident == inner_pages(x, n));
  if (resident != inner_pages(x, n))
    printf("# %zu of %zu pages of the freed block resident\n", resident, inner_pages(x, n));
  hawk_free(after);
}

/* Old blocks of n bytes, each with a small block in use after it (so that
 * freed ones stay apart), made at the start of a copy. */
static void old_blocks(unsigned char **p, int count, size_t n) {
  for (int i = 0; i < count; i++) {
    p[i] = hawk_malloc(n);
    void *guard = hawk_malloc(3000);
    if (!p[i] || !guard) abort();
    memset(p[i], 0x5a, n);
  }
}

/* Frees p[from..to) and returns how many gave their inner pages back at
 * once (-1 for each that only gave some back: neither at once nor kept). */
static int free_counting_given_back(unsigned char **p, int from, int to, size_t n) {
  int gone = 0;
  for (int i = from; i < to; i++) {
    hawk_free(p[i]);
    size_t r = inner_resident(p[i], n);
    gone += r == 0 ? 1 : r == inner_pages(p[i], n) ? 0 : -1000;
  }
  return gone;
}

/* Memory given back at once and handed out again in the next period still
 * counts as handed out again: the heap pauses its give-backs (old blocks
 * freed then keep their pages).  A period of 1 s: twelve old blocks of 512
 * KiB are freed (given back at once, 6 MiB of the 16 MiB budget), the
 * epoch moves on once, the same twelve places are handed out again (more
 * than 4 MiB), then eight more old blocks freed keep their pages. */
TEST(memory_handed_out_again_in_the_next_period_pauses_the_give_backs) {
  if (!is_fresh("memory_handed_out_again_in_the_next_period_pauses_the_give_backs")) {
    CHECK(run_with_period("memory_handed_out_again_in_the_next_period_pauses_the_give_backs", 1000,
                          0) == 0);
    return;
  }
  enum { FREED = 12, LATER = 8 };
  size_t n = 512 * KiB;
  static unsigned char *p[FREED + LATER], *again[FREED];
  struct timespec t = {1, 200000000L};
  activity(100); /* the clock's first reading */
  old_blocks(p, FREED + LATER, n);
  nanosleep(&t, NULL);
  activity(100); /* every block is old now */
  REQUIRE(free_counting_given_back(p, 0, FREED, n) == FREED);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < FREED; i++) {
    if ((uintptr_t)p[i] < lo) lo = (uintptr_t)p[i];
    if ((uintptr_t)p[i] + n > hi) hi = (uintptr_t)p[i] + n;
  }
  nanosleep(&t, NULL);
  activity(100); /* the next period */
  size_t inside = 0;
  for (int i = 0; i < FREED; i++) {
    REQUIRE((again[i] = hawk_malloc(n)) != NULL);
    memset(again[i], 0x5a, n);
    if ((uintptr_t)again[i] >= lo && (uintptr_t)again[i] < hi) inside += n;
  }
  REQUIRE(inside >= 4 * MiB); /* where the pages went back */
  int gone = free_counting_given_back(p, FREED, FREED + LATER, n);
  CHECK(gone == 0);
  if (gone != 0) printf("# %d of %d old blocks given back in the pause\n", gone, LATER);
  for (int i = 0; i < FREED; i++) hawk_free(again[i]);
  CHECK(hawk_check() == 0);
}

/* Frees the old blocks p[0..count) (each given back at once) and hands out
 * as many blocks of n bytes again, into out; returns the bytes of those
 * that lie where the freed ones did. */
static size_t free_and_hand_out_again(unsigned char **p, unsigned char **out, int count, size_t n) {
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < count; i++) {
    if ((uintptr_t)p[i] < lo) lo = (uintptr_t)p[i];
    if ((uintptr_t)p[i] + n > hi) hi = (uintptr_t)p[i] + n;
  }
  if (free_counting_given_back(p, 0, count, n) != count) return 0;
  size_t inside = 0;
  for (int i = 0; i < count; i++) {
    if ((out[i] = hawk_malloc(n)) == NULL) return 0;
    memset(out[i], 0x5a, n);
    if ((uintptr_t)out[i] >= lo && (uintptr_t)out[i] < hi) inside += n;
  }
  return inside;
}

/* Each pause of the give-backs is twice as long as the one before: the
 * first 8 periods, the second 16.  A period of 250 ms, naps of 400 ms (each
 * nap and the activity after it move the epoch on once): a first pause,
 * nine periods, a second pause, twelve periods (past 8, within 16): old
 * blocks freed then still keep their pages. */
TEST(each_pause_of_the_give_backs_is_twice_the_last) {
  if (!is_fresh("each_pause_of_the_give_backs_is_twice_the_last")) {
    CHECK(run_with_period("each_pause_of_the_give_backs_is_twice_the_last", 250, 0) == 0);
    return;
  }
  enum { SET = 12, LAST = 8 };
  size_t n = 512 * KiB;
  static unsigned char *first[SET], *second[SET], *last[LAST], *again[2][SET];
  struct timespec t = {0, 400000000L};
  activity(100); /* the clock's first reading */
  old_blocks(first, SET, n);
  old_blocks(second, SET, n);
  old_blocks(last, LAST, n);
  nanosleep(&t, NULL);
  activity(100);                                                        /* every block is old now */
  REQUIRE(free_and_hand_out_again(first, again[0], SET, n) >= 4 * MiB); /* the first pause */
  for (int i = 0; i < 9; i++) {
    nanosleep(&t, NULL);
    activity(100);
  }
  REQUIRE(free_and_hand_out_again(second, again[1], SET, n) >= 4 * MiB); /* the second */
  for (int i = 0; i < 12; i++) {
    nanosleep(&t, NULL);
    activity(100);
  }
  int gone = free_counting_given_back(last, 0, LAST, n);
  CHECK(gone == 0);
  if (gone != 0) printf("# %d of %d old blocks given back in the second pause\n", gone, LAST);
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < SET; i++) hawk_free(again[k][i]);
  CHECK(hawk_check() == 0);
}

/* Only memory handed out again where the heap gave back at once pauses the
 * give-backs: the range of the period's give-backs starts at the first
 * one, not at address 0.  Eight old blocks of 256 KiB freed (given back at
 * once), then blocks of 512 KiB (too big for their holes) until 5 MiB of
 * them lie below the range: old blocks freed after that still give their
 * pages back at once. */
TEST(memory_handed_out_below_the_give_backs_does_not_pause_them) {
  if (!is_fresh("memory_handed_out_below_the_give_backs_does_not_pause_them")) {
    CHECK(run_with_period("memory_handed_out_below_the_give_backs_does_not_pause_them", 1000, 0) ==
          0);
    return;
  }
  enum { FREED = 8, LATER = 8, MORE = 40 };
  size_t n = 256 * KiB, m = 512 * KiB;
  static unsigned char *p[FREED + LATER], *more[MORE];
  struct timespec t = {1, 200000000L};
  activity(100); /* the clock's first reading */
  old_blocks(p, FREED + LATER, n);
  nanosleep(&t, NULL);
  activity(100); /* every block is old now */
  REQUIRE(free_counting_given_back(p, 0, FREED, n) == FREED);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < FREED; i++) {
    if ((uintptr_t)p[i] < lo) lo = (uintptr_t)p[i];
    if ((uintptr_t)p[i] + n > hi) hi = (uintptr_t)p[i] + n;
  }
  size_t below = 0, inside = 0;
  int k = 0;
  while (k < MORE && below < 5 * MiB) {
    REQUIRE((more[k] = hawk_malloc(m)) != NULL);
    memset(more[k], 0x5a, m);
    uintptr_t a = (uintptr_t)more[k++];
    if (a + m <= lo) below += m;
    if (a + m > lo && a < hi) inside += m;
  }
  REQUIRE(inside == 0);
  REQUIRE(below >= 5 * MiB);
  int gone = free_counting_given_back(p, FREED, FREED + LATER, n);
  CHECK(gone == LATER);
  if (gone != LATER) printf("# %d of %d old blocks given back\n", gone, LATER);
  while (k > 0) hawk_free(more[--k]);
  CHECK(hawk_check() == 0);
}

/* ------------------------------------------------------------------------ */
/* What no heap operation reaches: the empty-arena cache, the spare large     */
/* mappings, and a thread's cache lists that went unused.                     */
/* ------------------------------------------------------------------------ */

TEST(cached_arenas_and_spare_mappings_are_unmapped) {
  if (!is_fresh("cached_arenas_and_spare_mappings_are_unmapped")) {
    char out[64];
    char *const env[] = {decay_1ms, NULL};
    CHECK(run_fresh_env("cached_arenas_and_spare_mappings_are_unmapped", env, out, sizeof out) ==
          0);
    return;
  }
  /* Three arenas' worth of heap blocks, freed: two empty arenas go to the
   * cache; a 2 MiB block freed becomes a spare mapping. */
  enum { N = 40 };
  void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(300 * KiB)) != NULL);
  void *big = hawk_malloc(2 * MiB);
  REQUIRE(big != NULL);
  memset(big, 1, 2 * MiB);
  for (int i = N - 1; i >= 0; i--) hawk_free(p[i]);
  hawk_free(big);
  struct hawk_stats before = stats_now();
  CHECK(before.cached_arenas >= 1);
  idle_then_active(4);
  struct hawk_stats after = stats_now();
  CHECK(after.cached_arenas == 0);
  /* The cached arenas and the spare mapping are gone from the mapped bytes. */
  CHECK(after.mapped + before.cached_arenas * 4 * MiB + 2 * MiB <= before.mapped);
  CHECK(hawk_check() == 0);
}

/* An empty arena waits in the cache for a whole period of the decay, counted
 * from when it entered: the first pass after that keeps it, the next one
 * unmaps it.  A period of 1 s, and naps past it: each nap then activity
 * moves the epoch on once (the clock moves one epoch a check). */
TEST(a_cached_arena_waits_a_whole_period_from_when_it_entered) {
  if (!is_fresh("a_cached_arena_waits_a_whole_period_from_when_it_entered")) {
    CHECK(run_with_period("a_cached_arena_waits_a_whole_period_from_when_it_entered", 1000, 1) ==
          0);
    return;
  }
  enum { N = 13 * 4 }; /* 300 KiB blocks, 13 to an arena */
  static void *p[N];
  struct timespec t = {1, 200000000L};
  activity(100); /* the clock's first reading */
  nanosleep(&t, NULL);
  activity(100); /* the epoch moves on: its pass comes before the arenas below */
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(300 * KiB)) != NULL);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  uint64_t cached = stats_now().cached_arenas;
  REQUIRE(cached >= 2);
  nanosleep(&t, NULL);
  activity(100); /* one pass: they entered in the epoch before it */
  uint64_t after_one = stats_now().cached_arenas;
  nanosleep(&t, NULL);
  activity(100); /* the next: a whole period has gone by */
  uint64_t after_two = stats_now().cached_arenas;
  printf("# cached arenas: %llu, after one pass %llu, after two %llu\n", (unsigned long long)cached,
         (unsigned long long)after_one, (unsigned long long)after_two);
  CHECK(after_one == cached);
  CHECK(after_two == 0);
  CHECK(hawk_check() == 0);
}

/* The bytes of the spare large mappings: what malloc_trim would unmap
 * (mallinfo2's keepcost) less the cached arenas. */
static uint64_t spare_bytes(void) {
  return (uint64_t)hawk_mallinfo2().keepcost - stats_now().cached_arenas * 4 * MiB;
}

/* A spare large mapping waits a whole period of the decay too, counted from
 * when it was kept, and keeps that age when an older spare before it is
 * handed out again.  A period of 1 s and naps past it, as above: a 3 MiB
 * spare kept, a pass, a 2 MiB spare kept, the 3 MiB one handed out again;
 * the next pass keeps the 2 MiB spare (kept one epoch before it), the one
 * after unmaps it. */
TEST(a_spare_mapping_waits_a_whole_period_from_when_it_was_kept) {
  if (!is_fresh("a_spare_mapping_waits_a_whole_period_from_when_it_was_kept")) {
    CHECK(run_with_period("a_spare_mapping_waits_a_whole_period_from_when_it_was_kept", 1000, 1) ==
          0);
    return;
  }
  struct timespec t = {1, 200000000L};
  char *three = hawk_malloc(3 * MiB), *two = hawk_malloc(2 * MiB);
  REQUIRE(three && two);
  activity(100); /* the clock's first reading */
  nanosleep(&t, NULL);
  activity(100); /* the epoch moves on */
  hawk_free(three);
  uint64_t first = spare_bytes();
  REQUIRE(first >= 3 * MiB);
  nanosleep(&t, NULL);
  activity(100); /* one pass: the 3 MiB spare was kept in the epoch before it */
  uint64_t after_one = spare_bytes();
  hawk_free(two);
  char *again = hawk_malloc(2 * MiB + 512 * KiB); /* the 3 MiB spare, whole */
  REQUIRE(again == three);
  uint64_t left = spare_bytes();
  nanosleep(&t, NULL);
  activity(100); /* the 2 MiB spare was kept in the epoch before this pass */
  uint64_t after_two = spare_bytes();
  nanosleep(&t, NULL);
  activity(100);
  uint64_t after_three = spare_bytes();
  printf("# spare bytes: %llu, after one pass %llu; %llu, after two %llu, three %llu\n",
         (unsigned long long)first, (unsigned long long)after_one, (unsigned long long)left,
         (unsigned long long)after_two, (unsigned long long)after_three);
  CHECK(after_one == first);
  CHECK(left >= 2 * MiB && after_two == left);
  CHECK(after_three == 0);
  hawk_free(again);
}

/* A heap that grows over a dozen arenas, frees everything and grows again
 * (a program's phases, bench/frag's steps) keeps its emptied arenas mapped
 * for the next growth: no mmap and no page faults for memory it had a
 * moment ago.  Decay off, so that only the cache's limit decides.  300 KiB
 * blocks (307,216 bytes with their header) take the heap's path, 13 to an
 * arena; the heap keeps one arena, so every other arena that held only
 * these blocks waits in the cache.  With the decay off every cached arena
 * comes back dirty (arena_take_clean never cleans it): its frontier is the
 * arena's end, so the footprint grows by a whole arena for each, and drops
 * by as much when it is emptied again; a reused arena left out of the
 * footprint would leave it short by 4 MiB an arena, and drifting down by
 * as much each round. */
TEST(a_heap_that_empties_many_arenas_keeps_them_for_its_next_growth) {
  if (!is_fresh("a_heap_that_empties_many_arenas_keeps_them_for_its_next_growth")) {
    char out[256]; /* all the copy prints: a pipe closed early would kill it */
    char *const env[] = {decay_off, NULL};
    CHECK(run_fresh_env("a_heap_that_empties_many_arenas_keeps_them_for_its_next_growth", env, out,
                        sizeof out) == 0);
    return;
  }
  enum { N = 13 * 12 };
  static void *p[N];
  static uintptr_t seen[N];
  size_t arenas = 0; /* distinct arenas holding the blocks, from their addresses */
  for (int i = 0; i < N; i++) {
    REQUIRE((p[i] = hawk_malloc(300 * KiB)) != NULL);
    uintptr_t a = (uintptr_t)p[i] >> 22; /* 4 MiB arenas */
    size_t k = 0;
    while (k < arenas && seen[k] != a) k++;
    if (k == arenas) seen[arenas++] = a;
  }
  REQUIRE(arenas >= 12);
  struct hawk_stats grown = stats_now();
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats freed = stats_now();
  CHECK(freed.cached_arenas == arenas - 1);
  CHECK(freed.mapped == grown.mapped);
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(300 * KiB)) != NULL);
  struct hawk_stats again = stats_now();
  CHECK(again.mapped == grown.mapped); /* nothing new mapped */
  CHECK(again.cached_arenas == 0);
  CHECK(again.footprint == freed.footprint + freed.cached_arenas * 4 * MiB);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats twice = stats_now();
  CHECK(twice.cached_arenas == freed.cached_arenas);
  /* Emptied again, the heap's one arena is all the footprint counts: the
   * arena it kept before, to its old frontier, or one reused, to its end. */
  CHECK(twice.footprint == freed.footprint || twice.footprint == 4 * MiB);
  CHECK(hawk_check() == 0);
}

/* An empty arena taken back from the cache after a quarter of the decay's
 * period, where it takes the footprint past its peak, comes back as a new
 * one: its pages went back (purged), and what calloc hands out of it is
 * zero though the arena held other bytes (its first page, which stays, is
 * cleared).  One taken back at once keeps its pages (a program cycling
 * through arenas, bench/frag), and so do those taken back below the
 * footprint's peak.  300 KiB blocks, 13 to an arena, each young when freed
 * (no old block's give-back); a period of 2 s (a quarter: 500 ms). */
TEST(an_arena_that_waited_in_the_cache_comes_back_clean) {
  if (!is_fresh("an_arena_that_waited_in_the_cache_comes_back_clean")) {
    char period[] = "HAWKALLOC_DECAY_MS=2000", out[512];
    char *const env[] = {period, NULL};
    CHECK(run_fresh_env("an_arena_that_waited_in_the_cache_comes_back_clean", env, out,
                        sizeof out) == 0);
    fputs(out, stdout); /* the copy's counts */
    return;
  }
  enum { PER = 13, N = PER * 5, MORE = N + PER };
  static unsigned char *p[MORE];
  size_t n = 300 * KiB, pg = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < N; i++) {
    REQUIRE((p[i] = hawk_malloc(n)) != NULL);
    memset(p[i], 0x5a, n);
  }
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats freed = stats_now();
  REQUIRE(freed.cached_arenas >= 3);

  /* Taken back at once: every block's pages are still there. */
  int resident = 0;
  for (int i = 0; i < N; i++) {
    REQUIRE((p[i] = hawk_malloc(n)) != NULL);
    resident += inner_resident(p[i], n) == inner_pages(p[i], n);
  }
  CHECK(resident == N);
  CHECK(stats_now().purged == freed.purged);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  freed = stats_now();

  struct timespec t = {0, 700000000L};
  nanosleep(&t, NULL);
  /* After the wait, a whole arena more than before: the cached arenas
   * taken back below the old peak keep their pages, the last one (past
   * it) comes back clean, and one more is mapped new. */
  int clean = 0, nonzero = 0, rises = 0;
  uint64_t rise = 0;
  resident = 0;
  for (int i = 0; i < MORE; i++) {
    uint64_t before = stats_now().purged;
    REQUIRE((p[i] = hawk_calloc(1, n)) != NULL);
    uint64_t by = stats_now().purged - before;
    if (by != 0) {
      rises++;
      rise = by;
    }
    size_t r = inner_resident(p[i], n);
    resident += r == inner_pages(p[i], n);
    clean += r == 0;
    for (size_t k = 0; k < n; k += 8) nonzero += *(uint64_t *)(p[i] + k) != 0;
  }
  uint64_t purged = stats_now().purged - freed.purged;
  printf("# after the wait: %d of %d blocks resident, %d clean, %llu KiB purged\n", resident, MORE,
         clean, (unsigned long long)(purged / KiB));
  CHECK(nonzero == 0);
  CHECK(purged >= 4 * MiB - pg && purged < 2 * (4 * MiB - pg));
  /* The arena cleaned counts every page but its first, which it keeps (its
   * header, and what a new arena's first block starts with), in the one
   * call that took it back. */
  CHECK(rises == 1 && rise == 4 * MiB - pg);
  CHECK(clean >= 2 * PER - 2); /* the arena cleaned and the new one */
  CHECK(resident >= 2 * PER);  /* the arenas taken back below the peak */
  for (int i = 0; i < MORE; i++) hawk_free(p[i]);
  /* The footprint counts a clean arena's bytes up to its new frontier:
   * all freed again, the heap's one arena is all it counts. */
  CHECK(stats_now().footprint <= 4 * MiB);
  CHECK(hawk_check() == 0);
}

TEST(an_unused_cache_list_goes_back_to_the_heap) {
  if (!is_fresh("an_unused_cache_list_goes_back_to_the_heap")) {
    char out[64];
    char *const env[] = {decay_1ms, NULL};
    CHECK(run_fresh_env("an_unused_cache_list_goes_back_to_the_heap", env, out, sizeof out) == 0);
    return;
  }
  /* Fill this thread's list of 208-byte blocks (it holds 39). */
  enum { N = 16 };
  void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(200)) != NULL);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(stats_now().thread_cached >= N * 200);
  idle_then_active(4); /* never asks for 200 bytes again */
  CHECK(stats_now().thread_cached < 200);
  CHECK(hawk_check() == 0);
}

/* ------------------------------------------------------------------------ */
/* HAWKALLOC_DECAY_MS=0 turns it all off.                                     */
/* ------------------------------------------------------------------------ */

/* In the fresh copy: holes between live blocks, an idle cache list, rounds
 * of activity; prints the bytes purged, the holes' resident pages and the
 * bytes in the thread's cache. */
static void holes_in_fresh_copy(void) {
  size_t n = 100 * KiB, pg = (size_t)sysconf(_SC_PAGESIZE);
  enum { N = 16 };
  char *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(n)) != NULL);
  void *guard = hawk_malloc(100); /* keeps the arena's tail apart */
  for (int i = 0; i < N; i++) memset(p[i], 0xAA, n);
  void *q[16];
  for (int i = 0; i < 16; i++) q[i] = hawk_malloc(200);
  for (int i = 0; i < 16; i++) hawk_free(q[i]);
  for (int i = 0; i < N; i += 2) hawk_free(p[i]); /* holes between live blocks */
  idle_then_active(4);
  struct hawk_stats s = stats_now();
  size_t resident = 0;
  for (int i = 0; i < N; i += 2) resident += resident_pages(p[i] + pg, n - 2 * pg);
  printf("%llu %zu %llu\n", (unsigned long long)s.purged, resident,
         (unsigned long long)s.thread_cached);
  hawk_free(guard);
}

TEST(decay_ms_0_turns_it_off) {
  if (is_fresh("decay_ms_0_turns_it_off")) {
    holes_in_fresh_copy();
    return;
  }
  char out[256];
  unsigned long long purged = 1, cached = 0;
  size_t resident = 0;
  char *const off[] = {decay_off, NULL};
  CHECK(run_fresh_env("decay_ms_0_turns_it_off", off, out, sizeof out) == 0);
  REQUIRE(sscanf(out, "%llu %zu %llu", &purged, &resident, &cached) == 3);
  CHECK(purged == 0);
  CHECK(resident >= 8 * (100 * KiB / (size_t)sysconf(_SC_PAGESIZE) - 3)); /* all there */
  CHECK(cached >= 16 * 200);
  /* The same program with the decay on gives them back. */
  char *const on[] = {decay_1ms, NULL};
  CHECK(run_fresh_env("decay_ms_0_turns_it_off", on, out, sizeof out) == 0);
  REQUIRE(sscanf(out, "%llu %zu %llu", &purged, &resident, &cached) == 3);
  CHECK(purged > 0);
  CHECK(resident == 0);
  CHECK(cached < 200);
}

TEST_MAIN()
