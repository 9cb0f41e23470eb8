/* test_faults.c - the kernel refuses memory at every call site in turn.
 *
 * Built with -DHAWK_FAULT_INJECTION: os_fail_nth(N) makes the Nth request
 * for memory from now (mmap, mremap) fail.  For N = 1, 2, ... a child runs a
 * workload that reaches every such call site (new arenas, large blocks,
 * mremap in place and by moving, the thread cache's own block); every call
 * must succeed or return NULL/ENOMEM (or the error code), never crash, and
 * afterwards the heap must pass hawk_check and serve the same workload
 * again.  The walk stops at the first N the workload no longer reaches. */
#include <errno.h>
#include <stdint.h>

#include "../harness.h"
#include "hawkalloc.h"
#include "os.h"

#define MiB ((size_t)1 << 20)

static int bad; /* broken promises seen by the workload */

/* Checks an allocation result: a block, or NULL with errno ENOMEM. */
static void *expect(void *p, size_t fill, size_t n) {
  if (p == NULL) {
    if (errno != ENOMEM) bad++;
  } else if (fill) {
    memset(p, (int)fill, n);
  }
  return p;
}

static int intact(const void *p, int c, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    if (s[i] != (unsigned char)c) return 0;
  return 1;
}

/* Touches every call site that asks the kernel for memory. */
static void workload(void) {
  enum { N = 48 };
  void *p[N] = {0};
  for (int i = 0; i < 40; i++) p[i] = expect(hawk_malloc(200000), 0x11, 200000); /* arenas */
  p[40] = expect(hawk_calloc(1, 300000), 0, 0);
  if (p[40] && !intact(p[40], 0, 300000)) bad++;
  p[41] = expect(hawk_malloc(2 * MiB), 0x22, 2 * MiB); /* large */
  p[42] = expect(hawk_malloc(3 * MiB), 0x23, 3 * MiB);
  if (p[41]) { /* mremap: in place, or by moving */
    void *q = hawk_realloc(p[41], 64 * MiB);
    if (q == NULL) {
      if (errno != ENOMEM || !intact(p[41], 0x22, 2 * MiB)) bad++;
    } else {
      if (!intact(q, 0x22, 2 * MiB)) bad++;
      p[41] = q;
    }
  }
  void *a = NULL;
  int rc = hawk_posix_memalign(&a, MiB, 3 * MiB);
  if (rc != 0 && (rc != ENOMEM || a != NULL)) bad++;
  p[43] = a;
  p[44] = expect(hawk_aligned_alloc(4096, 100000), 0x33, 100000);
  void *s = expect(hawk_malloc(100), 0x44, 100); /* small, then grown past the large threshold */
  if (s) {
    void *g = hawk_realloc(s, 5 * MiB);
    if (g == NULL) {
      if (errno != ENOMEM || !intact(s, 0x44, 100)) bad++;
    } else {
      if (!intact(g, 0x44, 100)) bad++;
      s = g;
    }
  }
  p[45] = s;
  for (int i = 0; i < 40; i++)
    if (p[i] && !intact(p[i], 0x11, 200000)) bad++;
  for (int i = 0; i < N; i++) hawk_free(p[i]);
}

/* One child: fail the nth request, run, then check and run again. */
static int child(unsigned long nth) {
  os_fail_nth(nth);
  unsigned long before = os_fail_nth(nth); /* count from here */
  workload();
  unsigned long reached = os_fail_nth(0) - before;
  if (bad) return 10;
  if (hawk_check() != 0) return 11;
  workload(); /* memory again, with nothing failing */
  if (bad || hawk_check() != 0) return 12;
  return reached >= nth ? 0 : 1; /* 1: the failure was never reached */
}

/* The same in a process that has asked for no memory yet: the first
 * requests include the registry's leaf for the first arena's range.  Run
 * from a constructor of a fresh execution of this program (the library's
 * own constructor allocates nothing), before the first allocation. */
static int fresh_child(unsigned long nth) {
  os_fail_nth(nth);
  unsigned long before = os_fail_nth(nth);
  errno = 0;
  if (getenv("HAWK_FAULT_LARGE_FIRST")) { /* a large block's path first */
    char *l = hawk_malloc(2 * MiB);
    if (l == NULL && errno != ENOMEM) return 10;
    if (l) memset(l, 0x66, 2 * MiB);
    hawk_free(l);
  }
  char *s = hawk_malloc(100); /* the thread cache's path first */
  if (s == NULL && errno != ENOMEM) return 10;
  if (s) memset(s, 0x55, 100);
  workload();
  if (s && !intact(s, 0x55, 100)) bad++;
  hawk_free(s);
  unsigned long reached = os_fail_nth(0) - before;
  if (bad) return 10;
  if (hawk_check() != 0) return 11;
  workload();
  if (bad || hawk_check() != 0) return 12;
  return reached >= nth ? 0 : 1;
}

__attribute__((constructor(101))) static void fresh_entry(void) {
  const char *n = getenv("HAWK_FAULT_FRESH");
  if (n) _exit(fresh_child(strtoul(n, NULL, 10)));
}

/* Fails request n of a fresh process in turn, for n = 1, 2, ... until the
 * workload no longer reaches it; large_first starts with a large block. */
static void fresh_walk(int large_first) {
  unsigned long n;
  int reached_end = 0;
  for (n = 1; n <= 300 && !reached_end; n++) {
    static char var[64];
    snprintf(var, sizeof var, "HAWK_FAULT_FRESH=%lu", n);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      putenv(var);
      if (large_first) putenv("HAWK_FAULT_LARGE_FIRST=1");
      execv("/proc/self/exe", (char *[]){"test_faults", NULL});
      _exit(100);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      fprintf(stderr, "    failing request %lu of a fresh process: child status %d\n", n, status);
      test_failures_in_case++;
    } else if (WEXITSTATUS(status) == 1) {
      reached_end = 1;
    }
  }
  printf("# %lu requests for memory of a fresh process failed in turn\n", n - 2);
  CHECK(reached_end);
  CHECK(n > 5);
}

TEST(every_memory_request_of_a_fresh_process_may_fail) { fresh_walk(0); }

/* The same when the first block is a large one: its mapping comes before
 * the registry's leaf for its range, which may then fail. */
TEST(every_memory_request_of_a_fresh_process_may_fail_large_first) { fresh_walk(1); }

TEST(every_memory_request_may_fail) {
  unsigned long n;
  int reached_end = 0;
  for (n = 1; n <= 300 && !reached_end; n++) {
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(child(n));
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
      fprintf(stderr, "    failing request %lu: child status %d\n", n, status);
      test_failures_in_case++;
    } else if (WEXITSTATUS(status) == 1) {
      reached_end = 1;
    }
  }
  printf("# %lu requests for memory failed in turn\n", n - 2);
  CHECK(reached_end);
  CHECK(n > 5); /* the workload does reach several call sites */
}

/* With the large-block threshold lowered (mallopt), a request under the
 * fixed 1 MiB threshold that cannot have its own mapping (the address
 * space is full) is served from an arena that has room, as glibc serves it
 * from its heap. */
#include <malloc.h>
#include <sys/resource.h>
static int lowered_threshold_child(void) {
  void *warm = hawk_malloc(1000); /* the heap's first arena, with room */
  if (!warm || hawk_mallopt(M_MMAP_THRESHOLD, 64 * 1024) != 1) return 2;
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f || fscanf(f, "%lu", &pages) != 1) return 2;
  fclose(f);
  struct rlimit lim = {pages * 4096 + 64 * 1024, RLIM_INFINITY};
  lim.rlim_max = lim.rlim_cur;
  if (setrlimit(RLIMIT_AS, &lim) != 0) return 2;
  void *p = hawk_malloc(100000); /* no room for a mapping of its own */
  if (p == NULL) return 3;
  memset(p, 0x33, 100000);
  return hawk_check() == 0 ? 0 : 4;
}

static void lowered_threshold_case(void *unused) {
  (void)unused;
  int code = lowered_threshold_child();
  CHECK(code == 0);
  if (code != 0) fprintf(stderr, "    child's step %d failed\n", code);
}

TEST(a_lowered_threshold_falls_back_to_an_arena) {
  CHECK(run_in_child(lowered_threshold_case, NULL) == 0);
}

TEST_MAIN()
