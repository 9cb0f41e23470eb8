/* test_stats.c - hawk_stats, the printed table, the heap picture and
 * HAWKALLOC_STATS=1 at exit. */
#include <fcntl.h>
#include <stdint.h>

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
  CHECK(b.in_use >= a.in_use + N * 3000);
  CHECK(b.in_use_peak >= b.in_use);
  CHECK(b.mapped >= b.in_use);
  CHECK(b.mapped_peak >= b.mapped);
  CHECK(b.mallocs >= a.mallocs + N);
  CHECK(b.arenas >= 1);
  CHECK(b.largest_free <= b.free_bytes);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  struct hawk_stats c = stats_now();
  CHECK(c.frees >= b.frees + N);
  CHECK(c.in_use + N * 3000 <= b.in_use);
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

/* A freed large mapping is kept for the next large request of a similar
 * size, comes back zeroed through calloc, and hawk_trim unmaps it. */
TEST(freed_large_mappings_are_reused_then_trimmed) {
  hawk_trim();
  unsigned char *p = hawk_malloc(3 << 20);
  REQUIRE(p != NULL);
  memset(p, 0x5a, 3 << 20);
  hawk_free(p);
  struct hawk_stats kept = stats_now();
  unsigned char *q = hawk_calloc(1, (3 << 20) - 4096);
  REQUIRE(q != NULL);
  CHECK(q == p); /* the same mapping */
  CHECK(stats_now().mapped == kept.mapped);
  int zero = 1;
  for (size_t i = 0; i < (3u << 20) - 4096; i++) zero &= q[i] == 0;
  CHECK(zero);
  hawk_free(q);
  CHECK(hawk_trim() == 1);
  CHECK(stats_now().mapped + (3u << 20) <= kept.mapped);
  CHECK(hawk_check() == 0);
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
