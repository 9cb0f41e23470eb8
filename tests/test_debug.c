/* test_debug.c - HAWKALLOC_DEBUG=1 (canaries, fill patterns) and
 * HAWKALLOC_CHECK_EVERY=N.  The options are read once per process, so each
 * case runs this program again with the variables set and a scenario name. */
#include <stdint.h>

#include "harness.h"
#include "hawkalloc.h"

#if !defined(HAWK_NO_OVERRIDE) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define PLAIN_BUILD 1
#endif

static char self_path[4096];

/* --- scenarios, run in the child ------------------------------------------ */

static int scenario_semantics(void) {
  unsigned char *p = hawk_malloc(20);
  if (!p || hawk_usable_size(p) != 20) return 1; /* exactly what was asked */
  for (int i = 0; i < 20; i++)
    if (p[i] != 0xab) return 2; /* fresh memory carries the allocation pattern */
  memset(p, 7, 20);
  unsigned char *q = hawk_realloc(p, 3000);
  if (!q || hawk_usable_size(q) != 3000) return 3;
  for (int i = 0; i < 20; i++)
    if (q[i] != 7) return 4;
  unsigned char *z = hawk_calloc(10, 100);
  for (int i = 0; i < 1000; i++)
    if (z[i] != 0) return 5;
  void *a = NULL;
  if (hawk_posix_memalign(&a, 4096, 100) != 0 || ((uintptr_t)a & 4095) ||
      hawk_usable_size(a) != 100)
    return 6;
  void *big = hawk_malloc(3 << 20);
  if (!big || hawk_usable_size(big) != (3u << 20)) return 7;
  hawk_free(big);
  hawk_free(a);
  hawk_free(z);
  hawk_free(q);
  /* Freed memory is reused after the checks pass. */
  for (int round = 0; round < 3; round++) {
    void *v[500];
    for (int i = 0; i < 500; i++) v[i] = hawk_malloc((size_t)(1 + i * 7));
    for (int i = 0; i < 500; i++) hawk_free(v[i]);
  }
  return hawk_check() == 0 ? 0 : 8;
}

static int scenario_overflow(void) {
  char *p = hawk_malloc(20);
  p[20] = 'x'; /* one byte past the request: within the block, caught by the canary */
  hawk_free(p);
  return 0;
}

static int scenario_write_after_free(void) {
  char *p = hawk_malloc(200);
  hawk_free(p);
  p[100] = 'y';
  for (int i = 0; i < 50; i++) hawk_malloc(200);
  return 0;
}

/* A write after free into the first byte the pattern covers: the payload's
 * byte 16, right after the free block's two links. */
static int scenario_write_after_free_at_the_links_end(void) {
  char *p = hawk_malloc(200);
  hawk_free(p);
  p[16] = 'y';
  for (int i = 0; i < 50; i++) hawk_malloc(200);
  return 0;
}

static int scenario_check_every(void) {
  /* Break the header after a free block (a write past its end); a periodic
   * check notices within N calls that touch nothing near it (a free or a
   * malloc that merged or took the free block would see it first). */
  char *a = hawk_malloc(5000), *b = hawk_malloc(5000), *c = hawk_malloc(5000),
       *d = hawk_malloc(5000);
  hawk_free(b);
  memset(b + 5000, 0, 8); /* the free block's end: the next block's header */
  for (int i = 0; i < 100; i++)
    if (hawk_realloc(d, 5000) != d) return 1;
  hawk_free(a);
  hawk_free(c);
  hawk_free(d);
  return 0;
}

/* The same in a created heap: its blocks carry canaries and patterns too,
 * and a realloc keeps a block in its heap. */
static int scenario_heap_semantics(void) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  unsigned char *p = hawk_heap_malloc(h, 20);
  if (!p || hawk_usable_size(p) != 20) return 1;
  for (int i = 0; i < 20; i++)
    if (p[i] != 0xab) return 2;
  memset(p, 7, 20);
  unsigned char *q = hawk_realloc(p, 3000);
  if (!q || hawk_usable_size(q) != 3000) return 3;
  for (int i = 0; i < 20; i++)
    if (q[i] != 7) return 4;
  unsigned char *r = hawk_heap_realloc(h, q, 100);
  if (!r || hawk_usable_size(r) != 100 || r[0] != 7) return 5;
  unsigned char *z = hawk_heap_calloc(h, 10, 100);
  for (int i = 0; i < 1000; i++)
    if (!z || z[i] != 0) return 6;
  void *a = hawk_heap_aligned_alloc(h, 4096, 100);
  if (!a || ((uintptr_t)a & 4095) || hawk_usable_size(a) != 100) return 7;
  struct hawk_stats s;
  if (hawk_heap_stats(h, &s, sizeof s) != 0 || s.mallocs < 4) return 8; /* all in h */
  hawk_free(a);
  hawk_free(z);
  hawk_free(r);
  if (hawk_heap_check(h) != 0) return 9;
  hawk_heap_destroy(h);
  return hawk_check() == 0 ? 0 : 10;
}

static int scenario_heap_overflow(void) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  char *p = hawk_heap_malloc(h, 20);
  p[20] = 'x'; /* caught by the canary, as in the default heap */
  hawk_free(p);
  return 0;
}

/* A free block's footer broken in a created heap; the periodic check, run
 * by the heap's own calls, notices. */
static int scenario_heap_check_every(void) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  char *a = hawk_heap_malloc(h, 5000), *b = hawk_heap_malloc(h, 5000),
       *c = hawk_heap_malloc(h, 5000), *d = hawk_heap_malloc(h, 5000);
  hawk_free(b);
  memset(b + 5000, 0, 8);       /* the free block's end: the next block's header */
  for (int i = 0; i < 100; i++) /* calls that touch nothing near it */
    if (hawk_realloc(d, 5000) != d) return 1;
  hawk_free(a);
  hawk_free(c);
  hawk_free(d);
  return 0;
}

/* malloc_trim in debug mode gives no page back: the pages of a free block
 * hold the fill pattern that the next malloc of them checks, and a page
 * given back reads as zeros (a write after free that never was). */
static int scenario_trim(void) {
  void *guard = hawk_malloc(16), *p = hawk_malloc(300000), *guard2 = hawk_malloc(16);
  hawk_free(p);
  if (hawk_trim() != 0) return 1; /* nothing released */
  void *q = hawk_malloc(300000);  /* checks the pattern of the pages it takes */
  hawk_free(q);
  hawk_free(guard);
  hawk_free(guard2);
  return 0;
}

/* overflow_at_N: one byte written N bytes into a block of 20 (the canary
 * covers the 8 bytes past the request: 20 to 27). */
static int scenario_overflow_at(const char *at) {
  char *p = hawk_malloc(20);
  p[atoi(at)] = 'x';
  hawk_free(p);
  return 0;
}

/* --- the cases, in the parent ---------------------------------------------- */

/* Runs scenario in a child with env; returns the wait status, and its stderr in err. */
static int run_child(const char *scenario, const char *env1, const char *env2, char *err,
                     size_t size) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 2);
    char *argv[] = {self_path, "--scenario", (char *)scenario, NULL};
    char *envp[] = {(char *)env1, (char *)env2, NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  close(fd[1]);
  return child_output(fd[0], pid, err, size);
}

/* Whether scenario ran to its end in debug mode (exit status 0). */
static int debug_scenario_passes(const char *scenario) {
  char err[4096];
  int status = run_child(scenario, "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) fprintf(stderr, "    %s: status %d: %s\n", scenario, status, err);
  return ok;
}

TEST(debug_mode_keeps_the_standard_semantics) { CHECK(debug_scenario_passes("semantics")); }

TEST(debug_mode_covers_a_created_heaps_blocks) { CHECK(debug_scenario_passes("heap_semantics")); }

#ifdef PLAIN_BUILD
static int aborted_with(int status, const char *err, const char *fragment) {
  int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(err, fragment);
  if (!ok) fprintf(stderr, "    status %d, stderr: %s\n", status, err);
  return ok;
}

TEST(debug_mode_catches_an_overflow_past_the_request) {
  char err[4096];
  int status = run_child("overflow", "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "): buffer overflow (the canary after the 20 bytes"));
  CHECK(strstr(err, "hawkalloc: free(0x") != NULL);
}

/* Every byte of the canary, not only the first past the request. */
TEST(debug_mode_catches_an_overflow_on_every_byte_of_the_canary) {
  for (int at = 20; at < 28; at++) {
    char err[4096], scenario[32];
    snprintf(scenario, sizeof scenario, "overflow_at_%d", at);
    int status = run_child(scenario, "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
    CHECK(aborted_with(status, err, "): buffer overflow (the canary after the 20 bytes"));
  }
}

TEST(debug_mode_trim_keeps_the_free_pattern_and_gives_nothing_back) {
  CHECK(debug_scenario_passes("trim"));
}

TEST(debug_mode_catches_a_write_after_free) {
  char err[4096];
  int status = run_child("write_after_free", "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "write after free (freed memory changed at offset 100"));
}

TEST(debug_mode_catches_a_write_after_free_at_the_first_byte_past_the_links) {
  char err[4096];
  int status =
      run_child("write_after_free_at_the_links_end", "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "write after free (freed memory changed at offset 16 "));
}

TEST(check_every_stops_at_a_broken_heap) {
  char err[4096];
  int status = run_child("check_every", "HAWKALLOC_CHECK_EVERY=10", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "heap check failed after"));
  CHECK(strstr(err, "hawkalloc: check: ") != NULL); /* the problems themselves */
}

TEST(debug_mode_catches_an_overflow_in_a_created_heap) {
  char err[4096];
  int status = run_child("heap_overflow", "HAWKALLOC_DEBUG=1", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "): buffer overflow (the canary after the 20 bytes"));
}

TEST(check_every_covers_a_created_heap) {
  char err[4096];
  int status = run_child("heap_check_every", "HAWKALLOC_CHECK_EVERY=10", NULL, err, sizeof err);
  CHECK(aborted_with(status, err, "heap check failed after"));
  CHECK(strstr(err, "hawkalloc: check: ") != NULL);
}

TEST(without_the_variables_the_overflow_goes_unnoticed_by_free) {
  /* The canary is a debug-mode feature: the plain build spends nothing on it. */
  char err[4096];
  int status = run_child("overflow", "HAWKALLOC_POLICY=segregated", NULL, err, sizeof err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#else
TEST(debug_mode_in_a_child) { SKIP("sanitizer build: the cases start the library's own malloc"); }
#endif

static int harness_main(int argc, char **argv);

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--scenario") == 0) {
    if (strcmp(argv[2], "semantics") == 0) return scenario_semantics();
    if (strcmp(argv[2], "overflow") == 0) return scenario_overflow();
    if (strcmp(argv[2], "write_after_free") == 0) return scenario_write_after_free();
    if (strcmp(argv[2], "write_after_free_at_the_links_end") == 0)
      return scenario_write_after_free_at_the_links_end();
    if (strcmp(argv[2], "check_every") == 0) return scenario_check_every();
    if (strcmp(argv[2], "heap_semantics") == 0) return scenario_heap_semantics();
    if (strcmp(argv[2], "heap_overflow") == 0) return scenario_heap_overflow();
    if (strcmp(argv[2], "heap_check_every") == 0) return scenario_heap_check_every();
    if (strcmp(argv[2], "trim") == 0) return scenario_trim();
    if (strncmp(argv[2], "overflow_at_", 12) == 0) return scenario_overflow_at(argv[2] + 12);
    return 99;
  }
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (n <= 0) return 1;
  self_path[n] = 0;
  return harness_main(argc, argv);
}

#define main harness_main
TEST_MAIN()
