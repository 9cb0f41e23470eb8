/* test_stats.c - hawk_stats, the printed table, the heap picture and
 * HAWKALLOC_STATS=1 at exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "harness.h"
#include "hawkalloc.h"

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  memset(&s, 0xff, sizeof s);
  CHECK(hawk_stats(&s, sizeof s) == 0);
  return s;
}

/* Runs fn with fd 2 redirected into a pipe; returns what it wrote. */
static char *capture_stderr(void (*fn)(int fd)) {
  static char buf[1 << 16];
  int p[2];
  if (pipe(p) != 0) return NULL;
  fn(p[1]);
  close(p[1]);
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  buf[len] = 0;
  close(p[0]);
  return buf;
}

static size_t count_lines_with(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *s = text; (s = strstr(s, needle)) != NULL; s++) n++;
  return n;
}

TEST(stats_fields_follow_allocations) {
  struct hawk_stats a = stats_now();
  CHECK(a.version == HAWK_STATS_VERSION);
  CHECK(a.size == sizeof a);
  CHECK(a.heaps >= 1);
  enum { N = 100 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = hawk_malloc(3000); /* past the thread cache */
  struct hawk_stats b = stats_now();
  CHECK(b.in_use == a.in_use + N * 3008); /* 3000 + the 8-byte header */
  CHECK(b.in_use_peak >= b.in_use);
  CHECK(b.mapped >= b.in_use);
  CHECK(b.mapped_peak >= b.mapped);
  CHECK(b.mallocs == a.mallocs + N);
  CHECK(b.arenas >= 1);
  CHECK(b.largest_free <= b.free_bytes);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats c = stats_now();
  CHECK(c.frees == b.frees + N);
  CHECK(c.in_use == a.in_use);
  CHECK(c.in_use_peak >= b.in_use); /* the peak stays */
  CHECK(c.coalesces > a.coalesces);
  void *big = hawk_malloc(3 << 20);
  CHECK(stats_now().large_blocks == c.large_blocks + 1);
  hawk_free(big);
  CHECK(stats_now().large_blocks == c.large_blocks);
}

/* The peak of bytes in use catches a rise that is over before anyone asks:
 * heaps tell the process-wide count after every 64 KiB of change, so the
 * peak is right to within 64 KiB per heap. */
TEST(peak_in_use_catches_a_rise_freed_before_the_stats) {
  enum { N = 2000, SIZE = 3000 }; /* 6 MB in blocks past the thread cache */
  struct hawk_stats a = stats_now();
  void **p = hawk_malloc(N * sizeof *p);
  REQUIRE(p);
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(SIZE)));
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  hawk_free(p);
  struct hawk_stats c = stats_now();
  uint64_t rise = (uint64_t)N * SIZE, slack = (uint64_t)c.heaps * (64 << 10);
  CHECK(c.in_use_peak + slack >= a.in_use + rise);
  CHECK(c.in_use + rise / 2 < c.in_use_peak);
}

/* The same with one heap in use (a fresh process with one thread): the
 * peak lags the true one by less than one step of the heap's count (64
 * KiB), whichever way the count went before the rise. */
TEST(peak_in_use_of_one_heap_lags_by_less_than_a_step) {
  if (!is_fresh("peak_in_use_of_one_heap_lags_by_less_than_a_step")) {
    CHECK(run_fresh("peak_in_use_of_one_heap_lags_by_less_than_a_step") == 0);
    return;
  }
  enum { N = 7000, SIZE = 3000, BLOCK = 3008 }; /* 21 MB in blocks past the thread cache */
  void **p = hawk_malloc(N * sizeof *p);
  REQUIRE(p);
  struct hawk_stats a = stats_now();
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(SIZE)));
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats c = stats_now();
  uint64_t rise = (uint64_t)N * BLOCK;
  CHECK(c.in_use_peak + (64 << 10) > a.in_use + rise);
  if (c.in_use_peak + (64 << 10) <= a.in_use + rise)
    printf("    peak %llu, in use before %llu, rise %llu\n", (unsigned long long)c.in_use_peak,
           (unsigned long long)a.in_use, (unsigned long long)rise);
  hawk_free(p);
}

/* A shrink in place whose cut-off tail merges with the free block after it
 * counts a split and a coalesce (blocks past the thread cache: the heap's
 * path). */
TEST(a_shrink_in_place_next_to_a_free_block_counts_its_merge) {
  if (!is_fresh("a_shrink_in_place_next_to_a_free_block_counts_its_merge")) {
    CHECK(run_fresh("a_shrink_in_place_next_to_a_free_block_counts_its_merge") == 0);
    return;
  }
  /* In a fresh process the three are neighbours, from the arena's tail. */
  char *a = hawk_malloc(5000), *b = hawk_malloc(5000), *c = hawk_malloc(5000);
  REQUIRE(a && b && c);
  hawk_free(b);
  struct hawk_stats s0 = stats_now();
  char *a2 = hawk_realloc(a, 3000);
  struct hawk_stats s1 = stats_now();
  CHECK(a2 == a);
  CHECK(s1.coalesces == s0.coalesces + 1);
  CHECK(s1.splits == s0.splits + 1);
  hawk_free(a2);
  hawk_free(c);
}

/* A block that realloc grows in place takes its free neighbour (here the
 * whole rest of the arena) for a moment; the peak of bytes in use must not
 * see that moment.  Worked out by hand: malloc(5000) is a block of 5008
 * bytes at the frontier of a fresh arena; realloc(p, 6000) grows it in
 * place to 6000 + 8-byte header = 6016 bytes (without the headroom of 1/8,
 * which is never taken past the frontier).  No heap moves
 * by IN_USE_STEP (64 KiB) here, so the peak is exactly the higher of the
 * peak before and the bytes in use after. */
TEST(peak_ignores_the_neighbour_a_growing_realloc_takes) {
  if (!is_fresh("peak_ignores_the_neighbour_a_growing_realloc_takes")) {
    CHECK(run_fresh("peak_ignores_the_neighbour_a_growing_realloc_takes") == 0);
    return;
  }
  struct hawk_stats a = stats_now();
  char *p = hawk_malloc(5000);
  char *q = hawk_realloc(p, 6000);
  struct hawk_stats b = stats_now();
  CHECK(q == p);
  CHECK(b.in_use - a.in_use == 6016);
  CHECK(b.in_use_peak == (a.in_use_peak > b.in_use ? a.in_use_peak : b.in_use));
  CHECK(b.in_use_peak < a.in_use_peak + 64 * 1024);
  hawk_free(q);
}

/* Every figure of hawk_stats after a known sequence in a fresh process,
 * each worked out by hand from the block format (docs/design.md): a
 * request of n bytes is a block of n + 8 rounded up to 16 (3000: 3008;
 * 100: 112); an arena is 4 MiB, its first block starts 136 bytes in and its
 * free span ends 8 bytes before its end; the footprint of an arena runs to
 * the end of the last block handed out plus the 32 bytes a split may write
 * after it; a large block of 2 MiB is a mapping of 2 MiB plus one page for
 * its header.  The peak of bytes in use is exact here: no heap moves by 64
 * KiB at once except with the large block, which is counted at once. */
TEST(every_figure_worked_out_by_hand) {
  if (!is_fresh("every_figure_worked_out_by_hand")) {
    CHECK(run_fresh("every_figure_worked_out_by_hand") == 0);
    return;
  }
  const uint64_t arena = 4 << 20, span = arena - 136 - 8, page = (uint64_t)sysconf(_SC_PAGESIZE);
  struct hawk_stats a = stats_now();
  REQUIRE(a.in_use == 0 && a.mapped == 0 && a.arenas == 0 && a.mallocs == 0);
  char *p1 = hawk_malloc(3000), *p2 = hawk_malloc(3000), *p3 = hawk_malloc(3000);
  struct hawk_stats b = stats_now();
  CHECK(b.in_use == 3 * 3008 && b.in_use_peak == 3 * 3008);
  CHECK(b.mapped == arena && b.mapped_peak == arena && b.arenas == 1 && b.cached_arenas == 0);
  CHECK(b.free_blocks == 1 && b.free_bytes == span - 3 * 3008 && b.largest_free == b.free_bytes);
  CHECK(b.mallocs == 3 && b.frees == 0 && b.splits == 3 && b.coalesces == 0);
  CHECK(b.footprint == 136 + 3 * 3008 + 32 && b.footprint_peak == b.footprint);
  CHECK(b.large_blocks == 0 && b.thread_cached == 0);
  hawk_free(p2); /* between two allocated blocks: no merge */
  struct hawk_stats c = stats_now();
  CHECK(c.in_use == 2 * 3008 && c.in_use_peak == 3 * 3008 && c.frees == 1);
  CHECK(c.free_blocks == 2 && c.free_bytes == span - 2 * 3008 &&
        c.largest_free == span - 3 * 3008 && c.coalesces == 0);
  hawk_free(p3); /* merges with p2 before it and the rest of the arena after */
  char *s = hawk_malloc(100);
  hawk_free(s); /* kept in this thread's cache: still in use to the heap */
  struct hawk_stats d = stats_now();
  CHECK(d.in_use == 3008 + 112 && d.thread_cached == 112);
  CHECK(d.free_blocks == 1 && d.free_bytes == span - 3008 - 112 && d.coalesces == 2);
  CHECK(d.mallocs == 4 && d.frees == 3 && d.splits == 4);
  CHECK(d.footprint == b.footprint && d.mapped == arena);
  char *big = hawk_malloc(2 << 20);
  struct hawk_stats e = stats_now();
  uint64_t large = (2 << 20) + page;
  CHECK(e.large_blocks == 1 && e.in_use == d.in_use + large && e.in_use_peak == e.in_use);
  CHECK(e.mapped == arena + large && e.mapped_peak == e.mapped);
  CHECK(e.footprint == d.footprint + large && e.mallocs == 5);
  hawk_free(big);
  hawk_free(p1);
  struct hawk_stats f = stats_now();
  CHECK(f.large_blocks == 0 && f.in_use == 112 && f.in_use_peak == e.in_use && f.frees == 5);
  CHECK(f.footprint == d.footprint && f.footprint_peak == e.footprint);
  /* The large mapping is kept as a spare for reuse until hawk_trim. */
  CHECK(f.mapped == e.mapped && f.mapped_peak == e.mapped);
  CHECK(f.free_blocks == 2 && f.free_bytes == span - 112 && f.largest_free == span - 3008 - 112);
  CHECK(hawk_trim() == 1);
  struct hawk_stats g = stats_now();
  CHECK(g.mapped == arena && g.mapped_peak == e.mapped && g.thread_cached == 0 && g.in_use == 0);
}

/* The mallocs the thread caches served are worked out from what entered
 * and left their lists (tcache.c, cache_figures): blocks a list gives back
 * to the heap when it overflows must count as leaving it, or every one of
 * them would count as a malloc.  Fresh process: 1,000 blocks of 112 bytes
 * allocated, then freed; the list of that size (73 at first, grown to 585
 * at most) overflows and gives blocks back several times.  Exactly 1,000
 * mallocs and 1,000 frees. */
TEST(mallocs_are_counted_once_when_a_cache_list_overflows) {
  if (!is_fresh("mallocs_are_counted_once_when_a_cache_list_overflows")) {
    CHECK(run_fresh("mallocs_are_counted_once_when_a_cache_list_overflows") == 0);
    return;
  }
  enum { N = 1000 };
  static void *p[N];
  struct hawk_stats a = stats_now();
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(100)) != NULL);
  struct hawk_stats b = stats_now();
  CHECK(b.mallocs == a.mallocs + N && b.frees == a.frees);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats c = stats_now();
  CHECK(c.thread_cached < (uint64_t)N * 112); /* some went back to the heap */
  CHECK(c.mallocs == b.mallocs);
  CHECK(c.frees == b.frees + N);
  CHECK(hawk_trim() == 1); /* every list given back */
  struct hawk_stats d = stats_now();
  CHECK(d.thread_cached == 0 && d.mallocs == b.mallocs && d.frees == c.frees);
}

struct find_ctx {
  uintptr_t payload;
  int state;
};

static void find_block(void *ctx, const struct hawk_block_info *b) {
  struct find_ctx *f = ctx;
  if (b->payload == f->payload) f->state = b->state;
}

/* The state hawk_walk gives the block whose payload is p (-1: not met). */
static int walked_state(void *p) {
  struct find_ctx f = {(uintptr_t)p, -1};
  hawk_walk(find_block, &f);
  return f.state;
}

/* Worked out by hand, in a fresh process: five blocks of 900,000 bytes
 * (900,016 with the header, rounded to 16) need two arenas, four in the first (its free
 * span is 4,194,160 bytes) and one in the second; the footprint is each
 * arena's 136-byte head, its blocks and the 32 bytes past the last.  Freed
 * in order, the first arena empties while the second is in use and is
 * released: the footprint drops to the second arena's.  A block freed into
 * the thread cache is walked as cached; hawk_trim gives back the pages
 * inside free blocks. */
TEST(footprint_walk_and_trim_worked_out_by_hand) {
  if (!is_fresh("footprint_walk_and_trim_worked_out_by_hand")) {
    CHECK(run_fresh("footprint_walk_and_trim_worked_out_by_hand") == 0);
    return;
  }
  char *big[5];
  for (int i = 0; i < 5; i++) big[i] = hawk_malloc(900000);
  struct hawk_stats a = stats_now();
  CHECK(a.arenas == 2);
  CHECK(a.footprint == (136 + 4 * 900016 + 32) + (136 + 900016 + 32));
  for (int i = 0; i < 5; i++) hawk_free(big[i]);
  struct hawk_stats b = stats_now();
  CHECK(b.arenas == 1 && b.cached_arenas == 1);
  CHECK(b.footprint == 136 + 900016 + 32 && b.footprint_peak == a.footprint);
  CHECK(b.mapped == 2 * (4 << 20) && b.in_use == 0);

  char *s = hawk_malloc(100);
  CHECK(walked_state(s) == HAWK_BLOCK_ALLOCATED);
  hawk_free(s);
  CHECK(walked_state(s) == HAWK_BLOCK_CACHED);

  char *p = hawk_malloc(600000), *q = hawk_malloc(3000); /* q keeps p from the tail */
  memset(p, 1, 600000);
  CHECK(resident_pages(p, 600000) >= 140);
  hawk_free(p);
  CHECK(walked_state(p) == HAWK_BLOCK_FREE);
  CHECK(hawk_trim() == 1);
  /* Only the page holding the free block's header and links (and the one
   * with its footer) may stay. */
  CHECK(resident_pages(p, 600000) <= 2);
  /* Out of the cache and back in the heap: the first block of its arena,
   * free and merged with the free space after it. */
  CHECK(walked_state(s) == HAWK_BLOCK_FREE);
  hawk_free(q);
}

TEST(stats_respects_the_callers_size) {
  struct hawk_stats s;
  memset(&s, 0xab, sizeof s);
  CHECK(hawk_stats(&s, 24) == 0); /* an older, shorter struct */
  CHECK(s.version == HAWK_STATS_VERSION && s.size == 24);
  unsigned char tail[sizeof s - 24];
  memset(tail, 0xab, sizeof tail);
  CHECK(memcmp((char *)&s + 24, tail, sizeof tail) == 0); /* nothing written past it */
  CHECK(hawk_stats(&s, 4) == -1);
  CHECK(hawk_stats(NULL, sizeof s) == -1);
  /* A newer caller's bigger struct: the library writes its own struct and
   * says so in size, nothing past it. */
  struct {
    struct hawk_stats s;
    unsigned char tail[64];
  } newer;
  memset(&newer, 0xab, sizeof newer);
  CHECK(hawk_stats(&newer.s, sizeof newer) == 0);
  CHECK(newer.s.version == HAWK_STATS_VERSION && newer.s.size == sizeof newer.s);
  unsigned char untouched[64];
  memset(untouched, 0xab, sizeof untouched);
  CHECK(memcmp(newer.tail, untouched, sizeof untouched) == 0);
}

static void print_table(int fd) { hawk_stats_print(fd); }
static void print_map(int fd) { hawk_stats_print_map(fd); }

TEST(printed_table_names_every_figure) {
  const char *out = capture_stderr(print_table);
  REQUIRE(out != NULL);
  static const char *const names[] = {"bytes in use", "bytes mapped",          "arenas",
                                      "free blocks",  "largest free block",    "splits",
                                      "coalesces",    "bytes in thread caches"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) CHECK(strstr(out, names[i]) != NULL);
  CHECK(strstr(out, hawk_policy_name()) != NULL);
}

TEST(heap_map_draws_one_strip_per_arena_and_shows_fullness) {
  hawk_trim();
  /* Fill a good part of an arena with blocks that stay. */
  enum { N = 3000 };
  static void *p[N];
  for (int i = 0; i < N; i++) p[i] = hawk_malloc(1200);
  struct hawk_stats s = stats_now();
  const char *out = capture_stderr(print_map);
  REQUIRE(out != NULL);
  CHECK(strstr(out, "heap map") != NULL);
  size_t strips = count_lines_with(out, " |");
  CHECK(strips == (s.arenas < 16 ? s.arenas : 16));
  CHECK(strstr(out, "################") != NULL); /* 1 MiB and more fully allocated */
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  out = capture_stderr(print_map);
  CHECK(strstr(out, "################") == NULL);
}

/* The tenths of the printed percentage named name in the table out (-1
 * when absent): "name   12.3%". */
static long printed_tenths(const char *out, const char *name) {
  const char *at = strstr(out, name);
  if (!at) return -1;
  at += strlen(name);
  char *end;
  long whole = strtol(at, &end, 10);
  if (*end != '.' || end[1] < '0' || end[1] > '9' || end[2] != '%') return -1;
  return whole * 10 + (end[1] - '0');
}

/* The printed percentages are rounded to the nearest tenth, not cut: in a
 * fresh copy, blocks of 3,000 bytes are taken until the peak occupancy
 * (peak in use / peak mapped) is one whose cut and rounded tenths differ,
 * and the table prints the rounded one. */
TEST(printed_percentages_round_to_the_nearest_tenth) {
  if (!is_fresh("printed_percentages_round_to_the_nearest_tenth")) {
    CHECK(run_fresh("printed_percentages_round_to_the_nearest_tenth") == 0);
    return;
  }
  static void *p[400];
  struct hawk_stats st;
  uint64_t num = 0, den = 1;
  int n = 0, found = 0;
  while (n < 400 && !found) {
    REQUIRE((p[n++] = hawk_malloc(3000)) != NULL);
    st = stats_now();
    num = st.in_use_peak, den = st.mapped_peak;
    found = den && (num * 1000 + den / 2) / den != num * 1000 / den;
  }
  REQUIRE(found);
  const char *out = capture_stderr(print_table); /* the same figures: nothing allocated since */
  REQUIRE(out != NULL);
  long want = (long)((num * 1000 + den / 2) / den);
  CHECK(printed_tenths(out, "peak occupancy") == want);
  if (printed_tenths(out, "peak occupancy") != want)
    fprintf(stderr, "    %llu / %llu: want %ld tenths; table:\n%s", (unsigned long long)num,
            (unsigned long long)den, want, out);
  for (int i = 0; i < n; i++) hawk_free(p[i]);
}

/* The strip of the map line of the arena at base in the map out, its 64
 * cells into cells (NUL-terminated); 0 if no line shows that arena. */
static int map_strip(const char *out, uintptr_t base, char cells[65]) {
  char addr[40];
  snprintf(addr, sizeof addr, " %p |", (void *)base);
  const char *at = strstr(out, addr);
  if (!at) return 0;
  memcpy(cells, at + strlen(addr), 64);
  cells[64] = 0;
  return 1;
}

/* A cell of the map (64 KiB) exactly a quarter allocated draws '-', one
 * allocated byte more '+'.  In a fresh copy with no thread cache (every
 * block from the heap, laid out one after the other): cell c gets the last
 * 8 bytes of a block A (blocks start 8 bytes past a multiple of 16), then a
 * free block, then the first 16,376 bytes of a block B that runs on into
 * cell c + 1: 16,384 bytes allocated. */
TEST(heap_map_cell_exactly_a_quarter_allocated_draws_a_dash) {
  if (!is_fresh("heap_map_cell_exactly_a_quarter_allocated_draws_a_dash")) {
    char *env[] = {"HAWKALLOC_TCACHE=0", NULL}, out[1 << 13];
    int status = run_fresh_env("heap_map_cell_exactly_a_quarter_allocated_draws_a_dash", env, out,
                               sizeof out);
    CHECK(status == 0);
    if (status != 0) fprintf(stderr, "%s", out);
    return;
  }
  const uintptr_t cell = 64 << 10, arena = 4 << 20;
  char *first = hawk_malloc(16);
  REQUIRE(first);
  uintptr_t base = (uintptr_t)first & ~(arena - 1), at = (uintptr_t)first - 8 + 32;
  uintptr_t c = (at - base) / cell + 2;
  uintptr_t a_end = base + c * cell + 8, b_start = base + (c + 1) * cell - 16376;
  char *a = hawk_malloc(a_end - at - 8);         /* block A: from at to a_end */
  char *hole = hawk_malloc(b_start - a_end - 8); /* freed below */
  char *b = hawk_malloc(32768 - 8);              /* block B: 32 KiB from b_start */
  REQUIRE(a && hole && b);
  REQUIRE((uintptr_t)a == at + 8 && (uintptr_t)hole == a_end + 8 && (uintptr_t)b == b_start + 8);
  hawk_free(hole);
  const char *out = capture_stderr(print_map);
  char cells[65];
  REQUIRE(map_strip(out, base, cells));
  CHECK(cells[c] == '-');
  CHECK(cells[c - 1] == '#' && cells[c + 1] == '+'); /* all of A's; half of it B's */
  if (cells[c] != '-') fprintf(stderr, "    cell %lu of |%s|\n", (unsigned long)c, cells);
  hawk_free(a);
  hawk_free(b);
  hawk_free(first);
}

/* The text map shows at most 16 arenas, then says how many more: 18 arenas
 * and more of blocks of 900,000 bytes (four to an arena). */
TEST(heap_map_shows_sixteen_arenas_then_how_many_more) {
  enum { N = 80 };
  static void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(900000)) != NULL);
  struct hawk_stats s = stats_now();
  REQUIRE(s.arenas > 17);
  const char *out = capture_stderr(print_map);
  REQUIRE(out != NULL);
  CHECK(count_lines_with(out, " |") == 16);
  char more[64];
  snprintf(more, sizeof more, "... and %llu more arenas", (unsigned long long)(s.arenas - 16));
  CHECK(strstr(out, more) != NULL);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  hawk_trim();
}

/* hawk_walk returns the number of blocks it visited; a large block's size
 * counts its header, as an arena block's: it runs from the header to the
 * end of its mapping. */
struct walk_tally {
  size_t calls;
  uintptr_t large;
  struct hawk_block_info info;
};

static void tally_block(void *ctx, const struct hawk_block_info *b) {
  struct walk_tally *t = ctx;
  t->calls++;
  if (b->payload == t->large) t->info = *b;
}

TEST(walk_counts_what_it_visits_and_a_large_blocks_header) {
  char *small = hawk_malloc(3000), *large = hawk_malloc(3 << 20);
  REQUIRE(small && large);
  struct walk_tally t = {0, (uintptr_t)large, {0}};
  size_t n = hawk_walk(tally_block, &t);
  CHECK(n == t.calls);
  CHECK(n >= 3);
  CHECK(t.info.state == HAWK_BLOCK_LARGE);
  CHECK(t.info.address == (uintptr_t)large - 8);
  CHECK(t.info.size == hawk_usable_size(large) + 8);
  CHECK(t.info.address + t.info.size == t.info.region + t.info.region_size);
  hawk_free(small);
  hawk_free(large);
}

/* The region a large block's mapping takes, from hawk_walk. */
static size_t mapping_of(void *p) {
  struct walk_tally t = {0, (uintptr_t)p, {0}};
  hawk_walk(tally_block, &t);
  return t.info.region_size;
}

/* A large block resized changes the footprint by the difference of its
 * mappings, growing and shrinking. */
TEST(footprint_follows_a_large_block_resized) {
  char *p = hawk_malloc(3 << 20);
  REQUIRE(p);
  size_t len0 = mapping_of(p);
  uint64_t f0 = stats_now().footprint;
  char *q = hawk_realloc(p, 7 << 20);
  REQUIRE(q);
  size_t len1 = mapping_of(q);
  uint64_t f1 = stats_now().footprint;
  CHECK(len1 > len0 && f1 - f0 == len1 - len0);
  char *r = hawk_realloc(q, 5 << 20);
  REQUIRE(r);
  size_t len2 = mapping_of(r);
  uint64_t f2 = stats_now().footprint;
  CHECK(len2 < len1 && f1 - f2 == len1 - len2);
  hawk_free(r);
}

/* A large block allocated and freed between two calls of hawk_stats still
 * raises the peak of bytes in use: a block bigger than the peak so far. */
TEST(peak_in_use_sees_a_large_block_freed_before_the_stats) {
  struct hawk_stats a = stats_now();
  size_t big = (size_t)a.in_use_peak + (8 << 20);
  char *p = hawk_malloc(big);
  REQUIRE(p);
  hawk_free(p);
  struct hawk_stats b = stats_now();
  CHECK(b.in_use_peak >= a.in_use + big);
}

/* A block realloc takes back from this thread's cache to grow its
 * neighbour into leaves the cache's tally: once every block is freed, the
 * mallocs and the frees counted since agree. */
TEST(mallocs_and_frees_agree_after_realloc_takes_a_cached_neighbour) {
  char *a = NULL, *b = NULL;
  void *miss[64];
  int nmiss = 0;
  struct hawk_stats s0 = stats_now();
  for (int i = 0; i < 32 && !a; i++) {
    char *x = hawk_malloc(200), *y = hawk_malloc(200);
    REQUIRE(x && y);
    if (y == x + hawk_usable_size(x) + 8) {
      a = x, b = y;
    } else {
      miss[nmiss++] = x;
      miss[nmiss++] = y;
    }
  }
  REQUIRE(a != NULL);
  memset(a, 0x61, 200);
  hawk_free(b); /* into this thread's cache */
  char *grown = hawk_realloc(a, 400);
  REQUIRE(grown);
  CHECK(grown == a); /* in place, into b */
  CHECK(grown[199] == 0x61);
  hawk_free(grown);
  for (int i = 0; i < nmiss; i++) hawk_free(miss[i]);
  struct hawk_stats s1 = stats_now();
  CHECK(s1.mallocs - s0.mallocs == s1.frees - s0.frees);
}

/* A freed large mapping is kept for the next large malloc of a similar
 * size, and hawk_trim unmaps it; a calloc of that size gets a fresh
 * mapping, zero (test_api: large_calloc_after_a_free_leaves_its_pages_untouched). */
TEST(freed_large_mappings_are_reused_then_trimmed) {
  hawk_trim();
  unsigned char *p = hawk_malloc(3 << 20);
  REQUIRE(p != NULL);
  memset(p, 0x5a, 3 << 20);
  hawk_free(p);
  struct hawk_stats kept = stats_now();
  unsigned char *q = hawk_malloc((3 << 20) - 4096);
  REQUIRE(q != NULL);
  CHECK(q == p); /* the same mapping */
  CHECK(stats_now().mapped == kept.mapped);
  hawk_free(q);
  unsigned char *z = hawk_calloc(1, (3 << 20) - 4096);
  REQUIRE(z != NULL);
  int zero = 1;
  for (size_t i = 0; i < (3u << 20) - 4096; i++) zero &= z[i] == 0;
  CHECK(zero);
  hawk_free(z);
  CHECK(hawk_trim() == 1);
  CHECK(stats_now().mapped + (3u << 20) <= kept.mapped);
  CHECK(hawk_check() == 0);
}

/* Reads fd to its end into buf (at most size - 1 bytes, NUL-terminated) and
 * closes it; returns the length. */
static size_t read_to_end(int fd, char *buf, size_t size) {
  size_t len = 0;
  ssize_t n;
  while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0) len += (size_t)n;
  buf[len] = 0;
  close(fd);
  return len;
}

/* Whether process pid waits in a write(2) to descriptor fd (/proc's
 * syscall of it: the call's number and arguments while it is blocked in
 * one, "running" else); -1 when the file cannot be opened or read. */
static int waits_in_write(pid_t pid, int fd) {
  char path[64], want[64], got[64];
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  snprintf(want, sizeof want, "%d 0x%x ", (int)SYS_write, fd);
  int f = open(path, O_RDONLY);
  if (f < 0) return -1;
  ssize_t n = read(f, got, sizeof got - 1);
  close(f);
  if (n < 0) return -1;
  got[n] = 0;
  return strncmp(got, want, strlen(want)) == 0;
}

static int signalled_fd;
static void say_signalled(int sig) {
  (void)sig;
  ssize_t w = write(signalled_fd, "s", 1);
  (void)w;
}

/* A line whose write(2) a signal interrupts (a handler installed without
 * SA_RESTART: the write fails with EINTR) is written again, not lost.  The
 * table goes into a pipe the test filled, so that its first line's write
 * waits; once the child is seen waiting in it, SIGUSR1 interrupts it, and
 * the pipe is drained only after the handler said it ran: the write cannot
 * end before the drain, nor the drain start before the signal, whatever the
 * machine's load.  What follows the filler must be the whole table, as the
 * child prints it again into a pipe with room. */
TEST(a_line_interrupted_by_a_signal_is_written_whole) {
  int out[2], signalled[2], again[2];
  REQUIRE(pipe(out) == 0 && pipe(signalled) == 0 && pipe(again) == 0);
  static char filler[4096];
  memset(filler, '.', sizeof filler);
  int flags = fcntl(out[1], F_GETFL);
  REQUIRE(flags >= 0 && fcntl(out[1], F_SETFL, flags | O_NONBLOCK) == 0);
  size_t filled = 0;
  ssize_t n;
  while ((n = write(out[1], filler, sizeof filler)) > 0) filled += (size_t)n;
  while ((n = write(out[1], filler, 1)) > 0) filled += (size_t)n; /* not a byte more fits */
  REQUIRE(n < 0 && errno == EAGAIN);
  REQUIRE(fcntl(out[1], F_SETFL, flags) == 0);
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(out[0]);
    close(signalled[0]);
    close(again[0]);
    signalled_fd = signalled[1];
    struct sigaction sa = {.sa_handler = say_signalled, .sa_flags = 0}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    hawk_stats_print(out[1]);
    close(out[1]);
    hawk_stats_print(again[1]);
    _exit(0);
  }
  close(out[1]);
  close(signalled[1]);
  close(again[1]);
  int waits = 0; /* the child's descriptor has the number out[1] had here */
  for (int i = 0; i < 20000 && (waits = waits_in_write(pid, out[1])) == 0; i++) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  if (waits != 1) kill(pid, SIGKILL);
  char one;
  int told = waits == 1 && kill(pid, SIGUSR1) == 0 && read(signalled[0], &one, 1) == 1;
  static char got[(1 << 20) + (1 << 16)], want[1 << 16];
  size_t len = read_to_end(out[0], got, sizeof got);
  read_to_end(again[0], want, sizeof want);
  close(signalled[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (waits < 0) SKIP("no /proc/PID/syscall");
  REQUIRE(waits == 1); /* else the table did not wait for the drain */
  CHECK(told);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  REQUIRE(len >= filled);
  char first[128];
  snprintf(first, sizeof first, "hawkalloc: statistics of test_stats (pid %d; policy ", (int)pid);
  CHECK(strncmp(got + filled, first, strlen(first)) == 0);
  CHECK(want[0] != 0 && strcmp(got + filled, want) == 0);
  if (strcmp(got + filled, want) != 0)
    fprintf(stderr, "    after the filler: [%.300s]\n    expected: [%.300s]\n", got + filled, want);
}

/* HAWKALLOC_STATS=1 prints the table and the map when the program exits. */
TEST(stats_at_exit_with_the_environment_variable) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(n > 0);
  self[n] = 0;
  int p[2];
  REQUIRE(pipe(p) == 0);
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    char *argv[] = {self, "no_such_case", NULL};
    char *envp[] = {"HAWKALLOC_STATS=1", NULL};
    execve(self, argv, envp);
    _exit(127);
  }
  close(p[1]);
  char buf[1 << 14];
  int status = child_output(p[0], pid, buf, sizeof buf);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(strstr(buf, "hawkalloc: statistics") != NULL);
  CHECK(strstr(buf, "heap map") != NULL);
}

TEST_MAIN()
