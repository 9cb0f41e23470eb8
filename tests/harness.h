/* harness.h - the tiny test runner shared by every test program.
 *
 * A test file defines cases with TEST(name) { ... } and ends with
 * TEST_MAIN().  CHECK(cond) records a failure and keeps going; REQUIRE(cond)
 * stops the case.  Each program prints one line per case and a closing
 * "N passed, N failed" line; scripts/run-tests.sh adds the programs up.
 * Misuse cases run in a child process with expect_abort().
 */
#ifndef HAWK_TEST_HARNESS_H
#define HAWK_TEST_HARNESS_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Whether the program is built with ThreadSanitizer (UNDER_TSAN), or with
 * any sanitizer (UNDER_SANITIZER: ASan or TSan), whose shadow memory and
 * slowdown some cases scale down for. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__) || UNDER_TSAN
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

typedef void (*test_fn)(void);

struct test_case {
  const char *name;
  test_fn fn;
};

#define TEST_MAX 512
static struct test_case test_cases[TEST_MAX];
static int test_count;
static int test_failures_in_case;
static const char *test_skip_reason; /* set by SKIP: the case did not run */

static inline void test_register(const char *name, test_fn fn) {
  if (test_count < TEST_MAX) test_cases[test_count++] = (struct test_case){name, fn};
}

#define TEST(name)                                                                                 \
  static void test_##name(void);                                                                   \
  __attribute__((constructor)) static void register_##name(void) {                                 \
    test_register(#name, test_##name);                                                             \
  }                                                                                                \
  static void test_##name(void)

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);                 \
      test_failures_in_case++;                                                                     \
    }                                                                                              \
  } while (0)

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "    %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);               \
      test_failures_in_case++;                                                                     \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* Ends the case as skipped, with the reason shown: for a case that cannot
 * run in this build or on this machine (never for a setup that failed: that
 * is a failure).  The total counts it apart, so a stage that skipped
 * everything shows it. */
#define SKIP(reason)                                                                               \
  do {                                                                                             \
    test_skip_reason = (reason);                                                                   \
    return;                                                                                        \
  } while (0)

/* Reads what child pid writes to fd (the read end of a pipe) into buf, at
 * most size - 1 bytes and NUL-terminated, closes fd, waits for the child
 * and returns its wait status. */
static inline int child_output(int fd, pid_t pid, char *buf, size_t size) {
  size_t len = 0;
  ssize_t n;
  while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0) len += (size_t)n;
  buf[len] = 0;
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

/* Runs fn(arg) in a child (no core file) with stderr captured into buf;
 * returns the wait status, or -1 if the child could not be started. */
static inline int run_captured(void (*fn)(void *), void *arg, char *buf, size_t size) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    close(fd[0]);
    dup2(fd[1], 2);
    fn(arg);
    _exit(0);
  }
  close(fd[1]);
  return child_output(fd[0], pid, buf, size);
}

/* Runs body(arg) in a child process, so that what it does (to the heaps,
 * the caches, the process's state) stays there: the one fork-per-case
 * helper.  The child's checks (CHECK) count in the child, whose exit status
 * is their number (at most 100).  Returns that number, or -1 if the child
 * could not start or died (the signal is said on stderr). */
static inline int run_in_child(void (*body)(void *), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    test_failures_in_case = 0;
    body(arg);
    fflush(NULL);
    _exit(test_failures_in_case > 100 ? 100 : test_failures_in_case);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  fprintf(stderr, "    child died of signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
  return -1;
}

/* Runs fn in a child process and checks that it dies of SIGABRT after
 * writing a line to stderr that contains every one of the NULL-terminated
 * fragments.  Returns 1 when it did. */
static inline int expect_abort_v(void (*fn)(void *), void *arg, const char *const *fragments) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return 0;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], 2);
    fn(arg);
    _exit(0); /* the misuse was not caught */
  }
  close(pipefd[1]);
  char buf[4096];
  int status = child_output(pipefd[0], pid, buf, sizeof buf);
  int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  for (const char *const *f = fragments; *f; f++)
    if (!strstr(buf, *f)) ok = 0;
  if (!ok) {
    fprintf(stderr, "    child status %d, stderr was: %s\n", status, buf);
    for (const char *const *f = fragments; *f; f++)
      fprintf(stderr, "    expected fragment: %s\n", *f);
  }
  return ok;
}

#define EXPECT_ABORT(fn, arg, ...)                                                                 \
  CHECK(expect_abort_v((fn), (arg), (const char *const[]){__VA_ARGS__, NULL}))

/* Formats a pointer the way HawkAlloc's messages do ("0x7f3a2c001040"). */
static inline const char *ptr_text(const void *p, char buf[32]) {
  snprintf(buf, 32, "%p", p);
  return buf;
}

/* Runs the named case alone in a fresh copy of this program, so that what
 * it measures starts from a new process (no earlier case's peak, arenas or
 * caches); returns its exit status.  The case tells it is the fresh copy
 * with is_fresh(its name). */
static inline int run_fresh(const char *name) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    setenv("HAWK_TEST_FRESH", name, 1);
    execl("/proc/self/exe", "fresh", name, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* run_fresh with the "NAME=value" assignments of env (NULL-terminated) in
 * the copy's environment and its standard output read into out (at most
 * size - 1 bytes, NUL-terminated): how a case has a fresh process measure
 * something under options read at start-up and tell the figures. */
static inline int run_fresh_env(const char *name, char *const env[], char *out, size_t size) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], 1);
    for (char *const *e = env; e && *e; e++) putenv(*e);
    setenv("HAWK_TEST_FRESH", name, 1);
    execl("/proc/self/exe", "fresh", name, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  int status = child_output(fd[0], pid, out, size);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The process's resident set in bytes, from /proc/self/statm (read with
 * read(2): no stdio, no malloc); 0 if it cannot be read. */
static inline size_t process_resident_bytes(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static inline int is_fresh(const char *name) {
  const char *v = getenv("HAWK_TEST_FRESH");
  return v && strcmp(v, name) == 0;
}

/* How many of the whole pages of [p, p + n) are resident (mincore); -1 on
 * failure. */
static inline size_t resident_pages(char *p, size_t n) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  char *first = (char *)(((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1));
  size_t pages = (size_t)(p + n - first) / pg, resident = 0;
  unsigned char vec[512];
  if (pages > sizeof vec || mincore(first, pages * pg, vec) != 0) return (size_t)-1;
  for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
  return resident;
}

#define TEST_MAIN()                                                                                \
  int main(int argc, char **argv) {                                                                \
    int passed = 0, failed = 0, skipped = 0;                                                       \
    for (int i = 0; i < test_count; i++) {                                                         \
      if (argc > 1 && !strstr(test_cases[i].name, argv[1])) continue;                              \
      test_failures_in_case = 0;                                                                   \
      test_skip_reason = NULL;                                                                     \
      test_cases[i].fn();                                                                          \
      if (test_failures_in_case == 0 && test_skip_reason) {                                        \
        skipped++;                                                                                 \
        printf("skip %s: %s\n", test_cases[i].name, test_skip_reason);                             \
      } else if (test_failures_in_case == 0) {                                                     \
        passed++;                                                                                  \
        printf("ok   %s\n", test_cases[i].name);                                                   \
      } else {                                                                                     \
        failed++;                                                                                  \
        printf("FAIL %s\n", test_cases[i].name);                                                   \
      }                                                                                            \
      fflush(stdout);                                                                              \
    }                                                                                              \
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);                         \
    return failed ? 1 : 0;                                                                         \
  }

#endif /* HAWK_TEST_HARNESS_H */
