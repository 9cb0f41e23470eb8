/* test_env.c - what the HAWKALLOC_* variables may and may not do (issue
 * "Trust: secure by default", docs/security.md "Environment, files and
 * descriptors"): malformed values get one line, files the library makes are
 * 0600, nothing is written into a descriptor the program owns, nothing at a
 * path is replaced that the library did not make, and a setuid program
 * ignores every HAWKALLOC_* variable.
 *
 * Most cases run this program again as a child (execve of /proc/self/exe
 * with a mode in argv[1]) with the variables set only there: the options
 * are read once, at the first malloc.  The children call the hawk_* names,
 * so that the sanitizer builds (no override) test the same thing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>

#include "harness.h"
#include "hawkalloc.h"

static char self_path[4096];

/* --- the children's side ---------------------------------------------------- */

/* Prints "heaps N usable N" (the heap count and malloc_usable_size of a
 * 20-byte block: exactly 20 in debug mode). */
static int child_report(void) {
  struct hawk_stats s;
  if (hawk_stats(&s, sizeof s) != 0) return 1;
  void *p = hawk_malloc(20);
  printf("heaps %llu usable %zu\n", (unsigned long long)s.heaps, hawk_usable_size(p));
  hawk_free(p);
  fflush(stdout);
  return 0;
}

/* Overwrites a heap block's header check tag, then calls malloc and free:
 * with checks every call (or every few) the next call stops the program;
 * otherwise nothing reads that header and the program exits 0. */
static int child_corrupt(void) {
  volatile uint64_t *a = hawk_malloc(4096), *b = hawk_malloc(4096);
  if (!a || !b) return 1;
  b[-1] ^= (uint64_t)0x5a5a << 48;
  for (int i = 0; i < 8; i++) hawk_free(hawk_malloc(16));
  _exit(0);
}

/* Frees a block of 600 bytes, then one of 1000, each between allocated
 * blocks, and asks for 600 bytes again.  Prints which block it got and the
 * heap count: "larger" is first fit's answer (the last block freed is at the
 * front of its one list), "smaller" best fit's (an exact fit) and a thread
 * cache's (a list per size). */
static int child_placement(void) {
  void *guard0 = hawk_malloc(200);
  char *larger = hawk_malloc(1000);
  void *guard1 = hawk_malloc(200);
  char *smaller = hawk_malloc(600);
  void *guard2 = hawk_malloc(200);
  hawk_free(smaller);
  hawk_free(larger);
  char *p = hawk_malloc(600);
  struct hawk_stats s;
  if (!guard0 || !guard1 || !guard2 || !p || hawk_stats(&s, sizeof s) != 0) return 1;
  printf("%s heaps %llu\n",
         p == larger    ? "larger"
         : p == smaller ? "smaller"
                        : "other",
         (unsigned long long)s.heaps);
  fflush(stdout);
  return 0;
}

/* Prints its pid and calls hawk_stats_print (on stderr). */
static int child_stats(void) {
  hawk_free(hawk_malloc(100));
  printf("%d\n", (int)getpid());
  fflush(stdout);
  hawk_stats_print(2);
  return 0;
}

/* A child that waits for a lock for ever is ended by SIGTERM after 10 s
 * (a timer of its own); 0, or -1 without the timer. */
static int guard_ten_seconds(void) {
  timer_t guard;
  struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGTERM};
  struct itimerspec ten = {.it_value = {10, 0}};
  return timer_create(CLOCK_MONOTONIC, &ev, &guard) == 0 && timer_settime(guard, 0, &ten, NULL) == 0
             ? 0
             : -1;
}

/* Loops over mallocs and frees of blocks above the thread cache's sizes
 * (each takes a heap's lock) until a timer's signal, whose handler calls
 * exit(0): most often while malloc or free holds the lock.  What the
 * library writes at exit must not wait for a lock this thread holds; a
 * second timer ends a child that waits (SIGTERM, 10 s). */
static void exit_now(int sig) {
  (void)sig;
  exit(0);
}
static int child_exit_in_signal(void) {
  if (guard_ten_seconds() != 0) return 4;
  signal(SIGALRM, exit_now);
  struct itimerval soon = {.it_value = {0, 3000}};
  setitimer(ITIMER_REAL, &soon, NULL);
  for (;;) {
    void *p = hawk_malloc(5000);
    hawk_free(p);
  }
}

/* Frees a small block twice, with another free between. */
static int child_double_free(void) {
  void *a = hawk_malloc(24), *b = hawk_malloc(24);
  hawk_free(a);
  hawk_free(b);
  hawk_free(a);
  return 0;
}

/* Allocates and frees enough for several full trace buffers. */
static void churn(void) {
  for (int i = 0; i < 20000; i++) {
    void *p = hawk_malloc((size_t)(i % 500) + 1);
    hawk_free(p);
  }
}

/* exit() called from hawk_walk's visitor, which runs holding locks the
 * statistics need: at the first large block (the large blocks' lock) or
 * the first block of a created heap (the created heaps' list and that
 * heap's lock), as kind says.  Deterministic, where a signal's timing
 * reaches only the default heaps' locks. */
static int exit_at_heap;
static void exit_in_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  if (b->heap == exit_at_heap) exit(0);
}
static void exit_at_event(void *ctx, const struct hawk_event *e) {
  (void)ctx;
  if (e->heap == exit_at_heap && e->kind != HAWK_EV_LISTED) exit(0);
}
/* The cache of empty arenas' lock: an arena emptied into the cache has its
 * header's page made unreadable, and the trim's look at the cache (under
 * its lock, no heap's) faults; the SIGSEGV handler calls exit.  A guard
 * timer ends a child that waits (SIGTERM, 10 s). */
static int exit_in_arena_cache(void) {
  if (guard_ten_seconds() != 0) return 6;
  enum { N = 64 };
  const uintptr_t chunk = ~(((uintptr_t)1 << 22) - 1); /* ARENA_SIZE, 4 MiB */
  char *b[N];
  uintptr_t first = 0, second = 0;
  int n = 0;
  while (n < N) {
    if ((b[n] = hawk_malloc(512 << 10)) == NULL) return 7;
    uintptr_t c = (uintptr_t)b[n++] & chunk;
    if (first == 0) first = c;
    if (c != first && second == 0) second = c;
    if (second != 0 && c != second) break; /* the second arena is full */
  }
  if (second == 0) return 8;
  for (int i = 0; i < n; i++)
    if (((uintptr_t)b[i] & chunk) == second) hawk_free(b[i]);
  if (mprotect((void *)second, 4096, PROT_NONE) != 0) return 9; /* not kept in the cache */
  signal(SIGSEGV, exit_now);
  hawk_trim();
  return 10;
}

static int child_exit_in_walk(const char *kind) {
  struct hawk_heap *h = hawk_heap_create(NULL);
  void *big = hawk_malloc((size_t)1 << 20), *mine = hawk_heap_malloc(h, 100);
  if (h == NULL || big == NULL || mine == NULL) return 3;
  exit_at_heap = strcmp(kind, "large") == 0 ? -1 : hawk_heap_id(h);
  if (strcmp(kind, "cache") == 0) return exit_in_arena_cache();
  if (strcmp(kind, "event") == 0) { /* the created heap's lock alone */
    if (hawk_events(exit_at_event, NULL) != 0) return 5;
    hawk_free(hawk_heap_malloc(h, 200));
    return 4;
  }
  hawk_walk(exit_in_visit, NULL);
  return 4; /* no such block met */
}

/* Traced into a FIFO nobody reads: a thread churns until a chunk waits in
 * its write (the pipe full), holding the trace's lock; the main thread sees
 * it there (/proc's syscall of that thread) and calls exit.  A guard timer
 * ends a child that waits (SIGTERM, 10 s). */
static int churner_tid;
static void *churn_for_ever(void *unused) {
  __atomic_store_n(&churner_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
  for (;;) churn();
  return unused;
}
static int child_exit_in_trace_write(void) {
  if (guard_ten_seconds() != 0) return 4;
  pthread_t t;
  if (pthread_create(&t, NULL, churn_for_ever, NULL) != 0) return 5;
  char path[64], want[32], got[32];
  int tid;
  while ((tid = __atomic_load_n(&churner_tid, __ATOMIC_ACQUIRE)) == 0) sched_yield();
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  snprintf(want, sizeof want, "%d ", (int)SYS_write);
  for (;;) {
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, got, sizeof got - 1) : -1;
    if (fd >= 0) close(fd);
    got[n > 0 ? n : 0] = 0;
    if (strncmp(got, want, strlen(want)) == 0) exit(0); /* waits in the trace's write */
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

/* SIGPIPE blocked and raised by the program, then a traced churn and a
 * flush. */
static void pipe_raised_then_traced(void) {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigprocmask(SIG_BLOCK, &pipe_only, NULL);
  raise(SIGPIPE);
  churn();
  hawk_trace_flush();
}

/* A trace whose FIFO's reader goes away (EPIPE): prints whether the
 * program's SIGPIPE is still pending. */
static int child_pipe_pending(void) {
  sigset_t pending;
  pipe_raised_then_traced();
  sigpending(&pending);
  printf("pending %d\n", sigismember(&pending, SIGPIPE));
  return 0;
}

/* The trace's writes block SIGPIPE and SIGXFSZ while they run: prints, after
 * a traced churn and a flush, whether each is blocked now and pending (the
 * program blocked SIGPIPE itself and raised it before: it stays blocked and
 * pending; SIGXFSZ is neither). */
static int child_mask_after_trace(void) {
  sigset_t now, pending;
  pipe_raised_then_traced();
  sigprocmask(SIG_BLOCK, NULL, &now);
  sigpending(&pending);
  printf("pipe %d %d xfsz %d %d\n", sigismember(&now, SIGPIPE), sigismember(&pending, SIGPIPE),
         sigismember(&now, SIGXFSZ), sigismember(&pending, SIGXFSZ));
  return 0;
}

/* The trace's descriptor, found through /proc/self/fd, or -1. */
static int trace_descriptor(const char *trace) {
  struct stat want, st;
  if (stat(trace, &want) != 0) return -1;
  for (int fd = 0; fd < 1024; fd++)
    if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) return fd;
  return -1;
}

/* argv: --reuse-trace-fd TRACE DATA [gone].  Closes every descriptor (with
 * "gone": only the trace's, and removes the trace file), puts the data file
 * at the trace's old number, writes, forks a child that writes too (a
 * forked child stops tracing: it must not close the data file), allocates,
 * writes, exits. */
static int child_reuse_trace_fd(const char *trace, const char *data, int gone) {
  int old = trace_descriptor(trace);
  if (old < 0) return 2;
  if (gone) {
    close(old);
    unlink(trace);
  } else {
    close_range(0, ~0u, 0);
  }
  int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 3;
  if (fd != old) {
    if (dup2(fd, old) != old) return 4;
    close(fd);
    fd = old;
  }
  if (write(fd, "first;", 6) != 6) return 5;
  pid_t pid = fork();
  if (pid == 0) _exit(write(fd, "fork;", 5) == 5 ? 0 : 1);
  int status = 1;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) return 6;
  churn();
  if (write(fd, "second;", 7) != 7) return 5;
  churn();
  exit(0); /* the trace's last records go out at exit */
}

/* argv: --reuse-all DIR.  Like a daemon: closes every descriptor, then opens
 * 100 data files (so that every low number, 2 among them, is a data file)
 * and writes into each; allocates; writes again; exits. */
static int child_reuse_all(const char *dir) {
  close_range(0, ~0u, 0);
  char path[4200];
  for (int i = 0; i < 100; i++) {
    snprintf(path, sizeof path, "%s/data%d", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd != i) return 3;
    if (write(fd, "first;", 6) != 6) return 5;
  }
  churn();
  for (int i = 0; i < 100; i++)
    if (write(i, "second;", 7) != 7) return 5;
  exit(0);
}

/* argv: --open-data DATA.  Started with descriptor 2 closed: the data file
 * becomes descriptor 0, 1 or 2; every low descriptor is a data file. */
static int child_open_data(const char *data) {
  int fd;
  while ((fd = open(data, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0 && fd < 2) {
  }
  if (fd != 2) return 3;
  if (write(2, "data;", 5) != 5) return 5;
  churn();
  exit(0);
}

/* argv: --reopen-stderr DATA.  Started with stderr a file of DATA's file
 * system: closes descriptor 2 and opens DATA there, a file of its own. */
static int child_reopen_stderr(const char *data) {
  close(2);
  if (open(data, O_WRONLY | O_CREAT | O_APPEND, 0644) != 2) return 3;
  if (write(2, "data;", 5) != 5) return 5;
  churn();
  exit(0);
}

/* Lowers its own file-size limit (RLIMIT_FSIZE, as `ulimit -f`) to
 * limit bytes, then allocates and frees enough for several full trace
 * buffers, and says it got to its end. */
static int child_file_size_limit(const char *limit) {
  struct rlimit r = {(rlim_t)atol(limit), (rlim_t)atol(limit)};
  if (setrlimit(RLIMIT_FSIZE, &r) != 0) return 5;
  churn();
  printf("done\n");
  return 0;
}

/* argv: --churn.  Allocates and frees enough for several full trace
 * buffers, twice, and exits (killed by SIGALRM if it waits too long). */
static int child_churn(void) {
  alarm(20);
  churn();
  churn();
  exit(0);
}

/* argv: --fragment.  Leaves 100,000 blocks of many sizes with a free block
 * between each two (a snapshot of a megabyte or more) and exits. */
static int child_fragment(void) {
  alarm(20);
  static void *blocks[200000];
  for (int i = 0; i < 200000; i++) blocks[i] = hawk_malloc((size_t)(i * 7919) % 3000 + 1);
  for (int i = 0; i < 200000; i += 2) hawk_free(blocks[i]);
  exit(0);
}

/* argv: --chdir DIR.  Allocates, moves into DIR (as a daemon moves to /),
 * allocates and exits. */
static int child_chdir(const char *dir) {
  churn();
  if (chdir(dir) != 0) return 3;
  churn();
  exit(0);
}

/* argv: --scribble DIR.  Allocates, moves to DIR, then writes over the text
 * of its HAWKALLOC_* variables in place (a program setting its process title
 * writes over the environment's strings so: nginx, postgres), and exits. */
static int child_scribble(const char *dir) {
  extern char **environ;
  churn();
  if (chdir(dir) != 0) return 3;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "HAWKALLOC_", 10) == 0)
      for (char *c = strchr(*e, '=') + 1; *c; c++) *c = 'x';
  churn();
  exit(0);
}

/* argv: --close-stderr.  Closes stderr, as ls and sort do, and exits. */
static int child_close_stderr(void) {
  churn();
  close(2);
  exit(0);
}

/* errno as the program sees it on each side of the library's own lines: a
 * constructor with a priority runs before every one without (the library's,
 * which writes the start-up warnings), and a destructor with one after
 * every one without (the library's, which writes the statistics at exit).
 * Every process of this program starts with errno ERANGE; a --errno child
 * says what its main found, and what its destructor found after main left
 * EDOM there. */
static int errno_at_main, errno_told_at_exit;
__attribute__((constructor(101))) static void errno_before_the_library(void) { errno = ERANGE; }
__attribute__((destructor(101))) static void errno_after_the_library(void) {
  int seen = errno;
  if (!errno_told_at_exit) return;
  char line[64];
  int n = snprintf(line, sizeof line, "errno at exit %d\n", seen);
  ssize_t w = write(1, line, (size_t)n);
  (void)w;
}

/* argv: --errno.  Allocates, says errno as main found it, sets EDOM and
 * exits. */
static int child_errno(void) {
  hawk_free(hawk_malloc(100));
  printf("errno at main %d\n", errno_at_main);
  fflush(stdout);
  errno_told_at_exit = 1;
  errno = EDOM;
  exit(0);
}

/* --- the parent's side ------------------------------------------------------- */

/* Reads fd to EOF into buf (NUL-terminated, at most size - 1 bytes kept). */
static void read_all(int fd, char *buf, size_t size) {
  size_t len = 0;
  ssize_t n;
  char sink[4096];
  while ((n = read(fd, len < size - 1 ? buf + len : sink,
                   len < size - 1 ? size - 1 - len : sizeof sink)) > 0)
    if (len < size - 1) len += (size_t)n;
  buf[len] = 0;
  close(fd);
}

/* Runs this program with argv[1..] = mode, a, b and exactly the variables of
 * envp; its stdout and stderr go to out and err.  close_stderr: 1 starts it
 * with descriptor 2 closed, STDERR_BROKEN_PIPE with a pipe nobody reads,
 * STDERR_FULL_FILE with a file at a file-size limit of 0 (err then stays
 * empty).  Returns the wait status. */
#define STDERR_BROKEN_PIPE 2
#define STDERR_FULL_FILE   3
static int run_child3(char *const envp[], const char *mode, const char *a, const char *b,
                      const char *c, char *out, size_t out_size, char *err, size_t err_size,
                      int close_stderr) {
  int po[2], pe[2];
  if (pipe(po) != 0 || pipe(pe) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(pe[1], 2);
    if (close_stderr == 1) close(2);
    if (close_stderr == STDERR_BROKEN_PIPE) { /* a pipe whose reader is gone */
      int bp[2];
      if (pipe(bp) != 0) _exit(126);
      close(bp[0]);
      dup2(bp[1], 2);
      close(bp[1]);
    }
    if (close_stderr == STDERR_FULL_FILE) { /* a file at the size limit */
      struct rlimit none = {0, 0};
      char path[] = "/tmp/hawk-test-env-fsize.XXXXXX";
      int t = mkstemp(path);
      if (t < 0 || setrlimit(RLIMIT_FSIZE, &none) != 0) _exit(126);
      unlink(path);
      dup2(t, 2);
      close(t);
    }
    close(po[0]);
    close(pe[0]);
    close(po[1]);
    close(pe[1]);
    umask(022);
    char *argv[] = {self_path, (char *)mode, (char *)a, (char *)b, (char *)c, NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  read_all(po[0], out, out_size);
  read_all(pe[0], err, err_size);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static int run_child(char *const envp[], const char *mode, const char *a, const char *b, char *out,
                     size_t out_size, char *err, size_t err_size, int close_stderr) {
  return run_child3(envp, mode, a, b, NULL, out, out_size, err, err_size, close_stderr);
}

static int exited_0(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

/* The heap count and usable size a --report child printed. */
static int parse_report(const char *out, unsigned *heaps, size_t *usable) {
  unsigned long long h = 0;
  size_t u = 0;
  if (sscanf(out, "heaps %llu usable %zu", &h, &u) != 2) return 0;
  *heaps = (unsigned)h;
  *usable = u;
  return 1;
}

/* The report with no variable set: the default heap count. */
static unsigned default_heaps(void) {
  char out[256], err[4096];
  char *envp[] = {NULL};
  run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  unsigned heaps = 0;
  size_t usable = 0;
  parse_report(out, &heaps, &usable);
  return heaps;
}

/* Runs --report with one variable; checks the heap count and usable size
 * it reports (0: not checked) and that stderr is exactly expect_err. */
static void check_report(const char *var, unsigned want_heaps, size_t want_usable,
                         const char *expect_err) {
  char out[256], err[4096];
  char *envp[] = {(char *)var, NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  unsigned heaps = 0;
  size_t usable = 0;
  CHECK(parse_report(out, &heaps, &usable));
  if (want_heaps) CHECK(heaps == want_heaps);
  if (want_usable) CHECK(usable == want_usable);
  CHECK(strcmp(err, expect_err) == 0);
  if (strcmp(err, expect_err) != 0 || (want_heaps && heaps != want_heaps))
    fprintf(stderr, "    %s: heaps %u usable %zu, stderr was: [%s]\n    expected: [%s]\n", var,
            heaps, usable, err, expect_err);
}

static void make_temp_dir(char *dir) {
  strcpy(dir, "/tmp/hawk-env-XXXXXX");
  if (!mkdtemp(dir)) dir[0] = 0;
}

static void remove_tree(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (dir[0] && system(cmd) != 0) fprintf(stderr, "    could not remove %s\n", dir);
}

/* The names in dir (ls -A: one a line) into names, NUL-terminated; 0 if
 * ls could not be run. */
static int dir_names(const char *dir, char *names, size_t size) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
  FILE *ls = popen(cmd, "r");
  if (ls == NULL) return 0;
  size_t n = fread(names, 1, size - 1, ls);
  names[n] = 0;
  return pclose(ls) != -1;
}

/* The whole content of a file (NUL-terminated), or "" if it cannot be read. */
static size_t file_text(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  buf[0] = 0;
  if (fd < 0) return 0;
  read_all(fd, buf, size);
  return strlen(buf);
}

/* --- options (item 4) -------------------------------------------------------- */

TEST(heaps_beyond_64_bits_is_out_of_range_not_one) {
  check_report("HAWKALLOC_HEAPS=18446744073709551617", 16, 0,
               "hawkalloc: HAWKALLOC_HEAPS=18446744073709551617: out of range (most 16); "
               "using 16\n");
}

TEST(heaps_above_the_maximum_says_so) {
  check_report("HAWKALLOC_HEAPS=17", 16, 0,
               "hawkalloc: HAWKALLOC_HEAPS=17: out of range (most 16); using 16\n");
}

TEST(heaps_not_a_number_says_so_and_uses_the_default) {
  unsigned def = default_heaps();
  REQUIRE(def >= 1);
  char expect[256];
  snprintf(expect, sizeof expect, "hawkalloc: HAWKALLOC_HEAPS=abc: not a number; using %u\n", def);
  check_report("HAWKALLOC_HEAPS=abc", def, 0, expect);
  snprintf(expect, sizeof expect, "hawkalloc: HAWKALLOC_HEAPS=-3: not a number; using %u\n", def);
  check_report("HAWKALLOC_HEAPS=-3", def, 0, expect);
  snprintf(expect, sizeof expect, "hawkalloc: HAWKALLOC_HEAPS=3x: not a number; using %u\n", def);
  check_report("HAWKALLOC_HEAPS=3x", def, 0, expect);
}

TEST(valid_values_are_used_without_a_word) {
  check_report("HAWKALLOC_HEAPS=3", 3, 0, "");
  check_report("HAWKALLOC_HEAPS=16", 16, 0, "");
  check_report("HAWKALLOC_DEBUG=1", 0, 20, "");
  check_report("HAWKALLOC_DEBUG=0", 0, 0, "");
  check_report("HAWKALLOC_CHECK_EVERY=1000", 0, 0, "");
  check_report("HAWKALLOC_DECAY_MS=0", 0, 0, "");
  check_report("HAWKALLOC_DECAY_MS=3600000", 0, 0, "");
  unsigned def = default_heaps();
  check_report("HAWKALLOC_HEAPS=0", def, 0, "");
  check_report("HAWKALLOC_HEAPS=", def, 0, ""); /* empty: as if not set */
}

/* HAWKALLOC_DECAY_MS: milliseconds, 0 (off) to an hour. */
TEST(decay_ms_out_of_range_or_not_a_number_says_so) {
  check_report("HAWKALLOC_DECAY_MS=3600001", 0, 0,
               "hawkalloc: HAWKALLOC_DECAY_MS=3600001: out of range (most 3600000); using "
               "3600000\n");
  check_report("HAWKALLOC_DECAY_MS=18446744073709551617", 0, 0,
               "hawkalloc: HAWKALLOC_DECAY_MS=18446744073709551617: out of range (most 3600000); "
               "using 3600000\n");
  check_report("HAWKALLOC_DECAY_MS=off", 0, 0,
               "hawkalloc: HAWKALLOC_DECAY_MS=off: not a number; using 500\n");
  check_report("HAWKALLOC_DECAY_MS=-1", 0, 0,
               "hawkalloc: HAWKALLOC_DECAY_MS=-1: not a number; using 500\n");
}

/* The library's own lines that do not abort (a warning at start-up, the
 * statistics at exit) never kill the program: into a pipe nobody reads
 * (SIGPIPE) or a file at the size limit (SIGXFSZ) the line is lost and the
 * program runs on, as under the C library's malloc, which says nothing
 * (found at 5cc76c9: killed by the signal before main, or at exit with its
 * output lost). */
TEST(a_warning_or_the_statistics_into_a_dead_stderr_do_not_kill_the_program) {
  static char *bad[] = {"HAWKALLOC_HEAPS=abc", NULL}, *stats[] = {"HAWKALLOC_STATS=1", NULL};
  char *const *envs[] = {bad, stats};
  int how[] = {STDERR_BROKEN_PIPE, STDERR_FULL_FILE};
  for (size_t e = 0; e < 2; e++)
    for (size_t k = 0; k < 2; k++) {
      char out[256] = "", err[256] = "";
      int status =
          run_child(envs[e], "--report", NULL, NULL, out, sizeof out, err, sizeof err, how[k]);
      unsigned heaps = 0;
      size_t usable = 0;
      CHECK(exited_0(status));
      CHECK(parse_report(out, &heaps, &usable) && heaps >= 1);
      if (!exited_0(status))
        printf("    %s, stderr %s: status %#x\n", envs[e][0],
               k ? "at the size limit" : "a dead pipe", status);
    }
}

/* A start-up warning and the statistics at exit leave the program's errno
 * as it was, whether their write succeeds or fails: into a pipe nobody
 * reads (EPIPE), a file at the size limit (EFBIG) or a closed descriptor
 * (EBADF), a failed write's errno would be what the program finds at
 * main, or after its last call, where the C library's malloc writes
 * nothing and changes nothing.  The look at descriptor 2 at start-up
 * (report.c, report_stderr_init) left EBADF so when stderr was closed,
 * with no variable set at all: the case without them. */
TEST(a_warning_or_the_statistics_leave_errno_as_it_was) {
  static char *env[] = {"HAWKALLOC_HEAPS=abc", "HAWKALLOC_STATS=1", NULL};
  static char *none[] = {NULL};
  int how[] = {0, STDERR_BROKEN_PIPE, STDERR_FULL_FILE, 1, 1};
  const char *name[] = {"a pipe", "a dead pipe", "at the size limit", "closed",
                        "closed, no variable"};
  char want[128];
  snprintf(want, sizeof want, "errno at main %d\nerrno at exit %d\n", ERANGE, EDOM);
  for (size_t k = 0; k < 5; k++) {
    char out[256] = "", err[1 << 14] = "";
    int status = run_child(k == 4 ? none : env, "--errno", NULL, NULL, out, sizeof out, err,
                           sizeof err, how[k]);
    CHECK(exited_0(status));
    CHECK(strcmp(out, want) == 0);
    if (how[k] == 0) { /* both were written */
      CHECK(strncmp(err, "hawkalloc: HAWKALLOC_HEAPS=abc: not a number; using ", 52) == 0);
      CHECK(strstr(err, "\nhawkalloc: statistics of test_env (pid ") != NULL);
    }
    if (!exited_0(status) || strcmp(out, want) != 0)
      printf("    stderr %s: status %#x, stdout [%s]\n", name[k], status, out);
  }
}

/* --detach RELEASE: forks a child that detaches as a daemon does
 * (/dev/null over descriptors 0 to 2) and waits for RELEASE to close;
 * exits once the child detached. */
static int child_detach(const char *release_fd) {
  int release = atoi(release_fd), ready[2];
  free(malloc(100));
  if (pipe(ready) != 0) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    close(ready[0]);
    close(ready[1]); /* detached */
    char got;
    while (read(release, &got, 1) > 0) {
    }
    _exit(0);
  }
  close(ready[1]);
  char c;
  return read(ready[0], &c, 1) == 0 ? 0 : 1;
}

/* HAWKALLOC_STATS=1 keeps a copy of stderr for the table at exit; a child
 * that detaches must not keep it, or the shell's `$(...)` around the
 * program waits as long as the daemon runs (found at 5cc76c9: 8 s for a
 * child that slept 8 s).  Told without a clock: once the program exited,
 * its stderr pipe reads as ended while the detached child still runs. */
TEST(the_statistics_copy_of_stderr_stays_out_of_a_detached_child) {
  int pe[2], release[2];
  REQUIRE(pipe(pe) == 0 && pipe(release) == 0);
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pe[1], 2);
    close(pe[0]);
    close(pe[1]);
    close(release[1]);
    char l[16];
    snprintf(l, sizeof l, "%d", release[0]);
    char *argv[] = {self_path, "--detach", l, NULL}, *envp[] = {"HAWKALLOC_STATS=1", NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  close(pe[1]);
  close(release[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(exited_0(status));
  char buf[4096];
  ssize_t n;
  REQUIRE(fcntl(pe[0], F_SETFL, O_NONBLOCK) == 0);
  size_t got = 0;
  while ((n = read(pe[0], buf, sizeof buf)) > 0) got += (size_t)n;
  CHECK(got > 0);    /* the program's own table */
  CHECK(n == 0);     /* ended: nobody else holds the pipe */
  close(release[1]); /* the detached child ends */
  close(pe[0]);
}

/* A variable given twice: the first entry decides, as getenv and setenv
 * (which replaces the first) see it, even an empty one; until 2026-12-07
 * the library took the last, so `hawk run --policy` (setenv) lost to a
 * second HAWKALLOC_POLICY in the environment it was run from. */
TEST(a_variable_given_twice_is_the_first_as_for_getenv) {
  char *twice[] = {"HAWKALLOC_HEAPS=3", "HAWKALLOC_HEAPS=5", NULL};
  char *empty_first[] = {"HAWKALLOC_HEAPS=", "HAWKALLOC_HEAPS=5", NULL};
  char *const *envs[] = {twice, empty_first};
  unsigned want[] = {3, default_heaps()};
  for (size_t k = 0; k < 2; k++) {
    char out[256], err[4096];
    int status = run_child(envs[k], "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
    unsigned heaps = 0;
    size_t usable = 0;
    CHECK(exited_0(status) && parse_report(out, &heaps, &usable));
    CHECK(heaps == want[k]);
    if (heaps != want[k])
      printf("    %s then %s: %u heaps, not %u\n", envs[k][0], envs[k][1], heaps, want[k]);
  }
}

/* A value too long for the line is quoted short: what is wrong and what is
 * used instead are still said (a value of 3,000 digits lost them). */
TEST(a_long_bad_value_is_quoted_short_and_the_line_ends_as_usual) {
  static char var[3100];
  strcpy(var, "HAWKALLOC_DECAY_MS=");
  memset(var + strlen(var), '9', 3000);
  char want[256] = "hawkalloc: HAWKALLOC_DECAY_MS=";
  memset(want + strlen(want), '9', 120);
  strcat(want, "...: out of range (most 3600000); using 3600000\n");
  check_report(var, 0, 0, want);
}

/* An unknown HAWKALLOC_POLICY is quoted short as a number is: a name of 300
 * characters written whole filled the line, and the policy used instead
 * was never said. */
TEST(a_long_unknown_policy_is_quoted_short_and_the_line_ends_as_usual) {
  static char var[400];
  strcpy(var, "HAWKALLOC_POLICY=");
  memset(var + strlen(var), 'p', 300);
  char want[256] = "hawkalloc: unknown HAWKALLOC_POLICY '";
  memset(want + strlen(want), 'p', 120);
  strcat(want, "...', using segregated\n");
  check_report(var, 0, 0, want);
}

TEST(debug_accepts_0_or_1_only) {
  check_report("HAWKALLOC_DEBUG=yes", 0, 0,
               "hawkalloc: HAWKALLOC_DEBUG=yes: not 0 or 1; using 0\n");
  check_report("HAWKALLOC_DEBUG=2", 0, 0, "hawkalloc: HAWKALLOC_DEBUG=2: not 0 or 1; using 0\n");
  char out[256], err[4096];
  char *envp[] = {"HAWKALLOC_DEBUG=yes", NULL};
  run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  unsigned heaps;
  size_t usable = 0;
  CHECK(parse_report(out, &heaps, &usable));
  CHECK(usable != 20); /* debug mode is off */
}

TEST(stats_accepts_0_or_1_only) {
  char out[256], err[1 << 14];
  char *envp[] = {"HAWKALLOC_STATS=2", NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "hawkalloc: HAWKALLOC_STATS=2: not 0 or 1; using 0\n") == 0);
  char *envp1[] = {"HAWKALLOC_STATS=1", NULL};
  status = run_child(envp1, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(strstr(err, "hawkalloc: statistics") != NULL);
  /* The longest name is still apart from its value (it ran into it). */
  CHECK(strstr(err, "hawkalloc:   bytes given back (pages) 0\n") != NULL);
}

/* The placement a --placement child saw, with the variables of envp. */
static void placement_seen(char *const envp[], char *out, size_t size) {
  char err[4096];
  out[0] = 0;
  int status = run_child(envp, "--placement", NULL, NULL, out, size, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(err[0] == 0);
  if (!exited_0(status) || err[0]) fprintf(stderr, "    stdout [%s] stderr [%s]\n", out, err);
}

TEST(textbook_mode_shows_the_policy_the_cache_hides) {
  char ff[64], bf[64], ff_cached[64], bf_cached[64];
  char *ff_env[] = {"HAWKALLOC_TCACHE=0", "HAWKALLOC_POLICY=first-fit", "HAWKALLOC_HEAPS=4", NULL};
  char *bf_env[] = {"HAWKALLOC_TCACHE=0", "HAWKALLOC_POLICY=best-fit", NULL};
  char *ff_cached_env[] = {"HAWKALLOC_TCACHE=1", "HAWKALLOC_POLICY=first-fit", NULL};
  char *bf_cached_env[] = {"HAWKALLOC_POLICY=best-fit", NULL};
  placement_seen(ff_env, ff, sizeof ff);
  placement_seen(bf_env, bf, sizeof bf);
  placement_seen(ff_cached_env, ff_cached, sizeof ff_cached);
  placement_seen(bf_cached_env, bf_cached, sizeof bf_cached);
  /* No cache: first fit takes the first block big enough, best fit the
   * exact one, and there is one heap whatever HAWKALLOC_HEAPS says. */
  CHECK(strcmp(ff, "larger heaps 1\n") == 0);
  CHECK(strcmp(bf, "smaller heaps 1\n") == 0);
  /* With the cache, the block freed of that size comes back under both. */
  CHECK(strncmp(ff_cached, "smaller ", 8) == 0);
  CHECK(strncmp(bf_cached, "smaller ", 8) == 0);
  if (strcmp(ff, bf) == 0 || strcmp(ff_cached, bf_cached) != 0)
    fprintf(stderr, "    first fit [%s] best fit [%s] cached [%s] [%s]\n", ff, bf, ff_cached,
            bf_cached);
}

TEST(textbook_mode_still_stops_a_double_free) {
  char out[256], err[4096];
  char *envp[] = {"HAWKALLOC_TCACHE=0", NULL};
  int status = run_child(envp, "--double-free", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(err, "double free") != NULL);
}

TEST(tcache_accepts_0_or_1_only) {
  check_report("HAWKALLOC_TCACHE=off", 0, 0,
               "hawkalloc: HAWKALLOC_TCACHE=off: not 0 or 1; using 1\n");
  check_report("HAWKALLOC_TCACHE=2", 0, 0, "hawkalloc: HAWKALLOC_TCACHE=2: not 0 or 1; using 1\n");
  check_report("HAWKALLOC_TCACHE=-0", 0, 0,
               "hawkalloc: HAWKALLOC_TCACHE=-0: not 0 or 1; using 1\n");
  check_report("HAWKALLOC_TCACHE=0", 1, 0, "");
  check_report("HAWKALLOC_TCACHE=1", 0, 0, "");
}

/* The statistics' first line names the program and its pid, and says
 * when there is no thread cache. */
TEST(statistics_name_the_program_and_pid) {
  char out[256], err[1 << 14], want[256];
  char *envp[] = {NULL};
  int status = run_child(envp, "--stats", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  int pid = atoi(out);
  snprintf(want, sizeof want, "hawkalloc: statistics of test_env (pid %d; policy segregated, ",
           pid);
  CHECK(pid > 0 && strncmp(err, want, strlen(want)) == 0);
  CHECK(strstr(err, "no thread cache") == NULL);
  /* Its figure of in use / mapped has a name of its own (docs/lab.md). */
  CHECK(strstr(err, "hawkalloc:   peak occupancy ") != NULL);
  CHECK(strstr(err, "utilization") == NULL);
  char *textbook[] = {"HAWKALLOC_TCACHE=0", "HAWKALLOC_POLICY=first-fit", NULL};
  status = run_child(textbook, "--stats", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  snprintf(want, sizeof want,
           "hawkalloc: statistics of test_env (pid %d; policy first-fit, 1 heap, no thread "
           "cache)\n",
           atoi(out));
  CHECK(strncmp(err, want, strlen(want)) == 0);
  if (strncmp(err, want, strlen(want)) != 0) fprintf(stderr, "    stderr: %.200s\n", err);
}

TEST(check_every_beyond_64_bits_does_not_check_every_call) {
  char out[256], err[4096];
  /* The corruption is found by a check every call... */
  char *every[] = {"HAWKALLOC_CHECK_EVERY=1", NULL};
  int status = run_child(every, "--corrupt", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(err, "heap check failed") != NULL);
  /* ...and 2^64 + 1 is not 1. */
  char *huge[] = {"HAWKALLOC_CHECK_EVERY=18446744073709551617", NULL};
  status = run_child(huge, "--corrupt", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "hawkalloc: HAWKALLOC_CHECK_EVERY=18446744073709551617: out of range (most "
                    "9223372036854775807); using 9223372036854775807\n") == 0);
  char *bad[] = {"HAWKALLOC_CHECK_EVERY=often", NULL};
  status = run_child(bad, "--corrupt", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "hawkalloc: HAWKALLOC_CHECK_EVERY=often: not a number; using 0\n") == 0);
}

TEST(a_trace_file_that_cannot_be_opened_says_so) {
  char out[256], err[4096];
  char *envp[] = {"HAWKALLOC_TRACE=/nonexistent-hawk-dir/trace", NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "hawkalloc: HAWKALLOC_TRACE=/nonexistent-hawk-dir/trace: cannot open "
                    "(errno 2); not tracing\n") == 0);
  if (strstr(err, "cannot open") == NULL) fprintf(stderr, "    stderr was: [%s]\n", err);
}

/* --- modes of the files the library makes (item 1) --------------------------- */

TEST(trace_and_map_files_are_0600) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char trace[128], map[128], env_t[160], env_m[160];
  snprintf(trace, sizeof trace, "%s/t.trace", dir);
  snprintf(map, sizeof map, "%s/m.svg", dir);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", trace);
  snprintf(env_m, sizeof env_m, "HAWKALLOC_MAP=%s", map);
  char out[256], err[4096];
  char *envp[] = {env_t, env_m, NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  struct stat st;
  CHECK(stat(trace, &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK(stat(map, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size > 0);
  /* A trace file of an earlier run, with records in it, is replaced: the new
   * one is 0600 too. */
  CHECK(chmod(trace, 0644) == 0);
  status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(stat(trace, &st) == 0 && (st.st_mode & 0777) == 0600);
  /* hawk_map_write's file, too (umask 022 here). */
  mode_t old = umask(022);
  char map2[128];
  snprintf(map2, sizeof map2, "%s/call.svg", dir);
  CHECK(hawk_map_write(map2) == 0);
  umask(old);
  CHECK(stat(map2, &st) == 0 && (st.st_mode & 0777) == 0600);
  remove_tree(dir);
}

/* --- descriptors the program owns (item 2) ------------------------------------ */

/* The records in a version 3 trace file (docs/trace-format.md): the chunks'
 * counts less their skips, walking the chunk headers from the file's header
 * to its end; -1 when the file is not a header and whole chunks. */
static long trace_records(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  unsigned char h[32];
  long n = 0;
  off_t off = 32;
  if (pread(fd, h, 32, 0) != 32 || memcmp(h, "HAWKTRC", 8) != 0 || h[8] != 3) n = -1;
  struct stat st;
  if (fstat(fd, &st) != 0) n = -1;
  while (n >= 0 && off < st.st_size) {
    uint32_t bytes, count, skip;
    if (pread(fd, h, 32, off) != 32 || memcmp(h, "HTC3", 4) != 0) {
      n = -1;
      break;
    }
    memcpy(&bytes, h + 4, 4);
    memcpy(&count, h + 8, 4);
    memcpy(&skip, h + 16, 4);
    n += (long)count - (long)skip;
    off += 32 + (off_t)bytes;
  }
  if (off != st.st_size) n = -1;
  close(fd);
  return n;
}

TEST(trace_never_writes_into_a_descriptor_the_program_reused) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char trace[128], data[128], env_t[160];
  snprintf(trace, sizeof trace, "%s/t.trace", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", trace);
  char out[256], err[4096];
  char *envp[] = {env_t, NULL};
  int status =
      run_child(envp, "--reuse-trace-fd", trace, data, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  char buf[4096];
  CHECK(file_text(data, buf, sizeof buf) == 18 && strcmp(buf, "first;fork;second;") == 0);
  if (strcmp(buf, "first;fork;second;") != 0) fprintf(stderr, "    data: [%.100s]\n", buf);
  /* The trace went on in its own file: reopened by its path. */
  struct stat st;
  CHECK(stat(trace, &st) == 0);
  CHECK(trace_records(trace) >= 80000); /* whole chunks, every record */
  remove_tree(dir);
}

TEST(trace_stops_with_one_line_when_its_file_is_gone) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char trace[128], data[128], env_t[160];
  snprintf(trace, sizeof trace, "%s/t.trace", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", trace);
  char out[256], err[4096];
  char *envp[] = {env_t, NULL};
  int status = run_child3(envp, "--reuse-trace-fd", trace, data, "gone", out, sizeof out, err,
                          sizeof err, 0);
  CHECK(exited_0(status));
  char buf[4096];
  CHECK(file_text(data, buf, sizeof buf) == 18 && strcmp(buf, "first;fork;second;") == 0);
  char expect[512];
  snprintf(expect, sizeof expect,
           "hawkalloc: HAWKALLOC_TRACE=%s: the program closed the trace's descriptor and the "
           "path no longer names the trace; not tracing\n",
           trace);
  CHECK(strcmp(err, expect) == 0);
  if (strcmp(err, expect) != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  CHECK(access(trace, F_OK) != 0); /* not made again */
  remove_tree(dir);
}

/* A daemon-like child (--reuse-all) run with the variable var: every one of
 * its 100 data files must hold exactly what it wrote. */
static void reuse_all_keeps_data(char *var) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char out[256], err[1 << 14];
  char *envp[] = {var, NULL};
  int status = run_child(envp, "--reuse-all", dir, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  char path[128], buf[4096];
  int clean = 1;
  for (int i = 0; i < 100; i++) {
    snprintf(path, sizeof path, "%s/data%d", dir, i);
    if (file_text(path, buf, sizeof buf) != 13 || strcmp(buf, "first;second;") != 0) {
      if (clean) fprintf(stderr, "    %s holds: [%.200s]\n", path, buf);
      clean = 0;
    }
  }
  CHECK(clean);
  remove_tree(dir);
}

TEST(statistics_never_go_into_a_descriptor_the_program_reused) {
  reuse_all_keeps_data("HAWKALLOC_STATS=1");
}

TEST(map_messages_never_go_into_a_descriptor_the_program_reused) {
  reuse_all_keeps_data("HAWKALLOC_MAP=/nonexistent-hawk-dir/m.svg");
}

/* Descriptor 2 made another file of the same file system as the stderr of
 * start-up (a file in the same folder): the exit's line is not written
 * into it; the stderr of start-up is no longer there to take it. */
TEST(map_messages_never_go_into_another_file_of_the_stderrs_file_system) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char errpath[128], data[128];
  snprintf(errpath, sizeof errpath, "%s/stderr", dir);
  snprintf(data, sizeof data, "%s/data", dir);
  char *envp[] = {"HAWKALLOC_MAP=/nonexistent-hawk-dir/m.svg", NULL};
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) != 2) _exit(126);
    close(fd);
    char *argv[] = {self_path, "--reopen-stderr", data, NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(exited_0(status));
  char buf[4096];
  CHECK(file_text(data, buf, sizeof buf) == 5 && strcmp(buf, "data;") == 0);
  if (strcmp(buf, "data;") != 0) fprintf(stderr, "    data holds: [%.200s]\n", buf);
  CHECK(file_text(errpath, buf, sizeof buf) == 0);
  remove_tree(dir);
}

/* A line that quotes a path longer than its buffer (256 bytes) quotes it
 * short and still says what went wrong, on one line: the exit's line about
 * a snapshot path of 300 bytes (until 2026-12-07 cut at 256 bytes, the
 * error lost). */
TEST(a_message_about_a_long_path_quotes_it_short_and_ends_its_line) {
  char var[400] = "HAWKALLOC_MAP=/nonexistent-hawk-dir/";
  size_t n = strlen(var);
  memset(var + n, 'm', 300);
  var[n + 300] = 0;
  char *envp[] = {var, NULL};
  char out[256], err[4096];
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  const char *head = "hawkalloc: cannot write the heap snapshot /nonexistent-hawk-dir/mmm";
  CHECK(strncmp(err, head, strlen(head)) == 0);
  const char *tail = "mmm... (errno 2)\n";
  size_t len = strlen(err);
  CHECK(len < 256 && len > strlen(tail) && strcmp(err + len - strlen(tail), tail) == 0);
  CHECK(strchr(err, '\n') == err + len - 1);
  if (len >= 256 || strchr(err, '\n') != err + len - 1)
    fprintf(stderr, "    stderr (%zu bytes): [%s]\n", len, err);
}

TEST(nothing_is_written_at_exit_when_stderr_was_closed_at_start) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char data[128];
  snprintf(data, sizeof data, "%s/data", dir);
  char out[256], err[4096];
  char *envp[] = {"HAWKALLOC_STATS=1", "HAWKALLOC_MAP=/nonexistent-hawk-dir/m.svg", NULL};
  int status = run_child(envp, "--open-data", data, NULL, out, sizeof out, err, sizeof err, 1);
  CHECK(exited_0(status));
  char buf[4096];
  CHECK(file_text(data, buf, sizeof buf) == 5 && strcmp(buf, "data;") == 0);
  if (strcmp(buf, "data;") != 0) fprintf(stderr, "    data holds: [%.200s]\n", buf);
  remove_tree(dir);
}

TEST(statistics_still_reach_a_stderr_the_program_closed) {
  char out[256], err[1 << 14];
  char *envp[] = {"HAWKALLOC_STATS=1", NULL};
  int status = run_child(envp, "--close-stderr", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strstr(err, "hawkalloc: statistics") != NULL);
}

/* --- what is at a path (item 3) ------------------------------------------------ */

TEST(map_through_a_symlink_keeps_the_symlink) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char target[128], link[128];
  snprintf(target, sizeof target, "%s/target.svg", dir);
  snprintf(link, sizeof link, "%s/link.svg", dir);
  /* An older, longer file there: the snapshot replaces all of it. */
  int fd = open(target, O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  static char old[4 << 20];
  memset(old, 'x', sizeof old);
  REQUIRE(write(fd, old, sizeof old) == (ssize_t)sizeof old);
  close(fd);
  REQUIRE(symlink(target, link) == 0);
  CHECK(hawk_map_write(link) == 0);
  struct stat st;
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  static char buf[1 << 16];
  file_text(target, buf, sizeof buf);
  CHECK(memcmp(buf, "HAWKSNAP", 8) == 0); /* the snapshot went into the target */
  /* and it is the whole file: it ends with the end record (SNAP_END, no payload) */
  static const char end[8] = {'\xff', '\xff', 0, 0, 0, 0, 0, 0};
  char last[8] = {0};
  fd = open(target, O_RDONLY);
  CHECK(fd >= 0 && stat(target, &st) == 0 && st.st_size > 8 && st.st_size < (off_t)sizeof old);
  CHECK(fd >= 0 && pread(fd, last, 8, st.st_size - 8) == 8 && memcmp(last, end, 8) == 0);
  if (fd >= 0) close(fd);
  /* A symlink to nothing is not made into a file either. */
  char dangling[128];
  snprintf(dangling, sizeof dangling, "%s/dangling.svg", dir);
  REQUIRE(symlink("/nonexistent-hawk-dir/x.svg", dangling) == 0);
  CHECK(hawk_map_write(dangling) == -1);
  CHECK(lstat(dangling, &st) == 0 && S_ISLNK(st.st_mode));
  remove_tree(dir);
}

TEST(map_onto_a_device_keeps_the_device) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char dev[128], link[128];
  snprintf(dev, sizeof dev, "%s/null", dir);
  snprintf(link, sizeof link, "%s/stdout", dir);
  struct stat st;
  if (geteuid() == 0) {
    REQUIRE(mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK(hawk_map_write(dev) == 0);
    CHECK(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
  }
  REQUIRE(symlink("/dev/null", link) == 0);
  CHECK(hawk_map_write(link) == 0);
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  remove_tree(dir);
}

TEST(map_onto_a_fifo_writes_into_it) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char fifo[128], got[128];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  snprintf(got, sizeof got, "%s/got", dir);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  /* The reader opens the FIFO for reading and writing, so that it never
   * sees an end of file before the snapshot came; it copies what comes to a
   * file until the snapshot's end record, then says so by exiting. */
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  fflush(NULL);
  pid_t reader = fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    int in = open(fifo, O_RDWR), outfd = open(got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || outfd < 0 || write(ready[1], "r", 1) != 1) _exit(1);
    static char all[1 << 20];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof all && (n = read(in, all + len, sizeof all - len)) > 0) {
      len += (size_t)n;
      static const char end[8] = {'\xff', '\xff', 0, 0, 0, 0, 0, 0}; /* SNAP_END */
      if (len >= 8 && memcmp(all + len - 8, end, 8) == 0) break;
    }
    if (write(outfd, all, len) != (ssize_t)len) _exit(1);
    _exit(0);
  }
  close(ready[1]);
  char c;
  REQUIRE(read(ready[0], &c, 1) == 1);
  close(ready[0]);
  int r = hawk_map_write(fifo);
  struct stat st;
  int still_fifo = lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode);
  CHECK(r == 0);
  CHECK(still_fifo);
  if (!still_fifo) kill(reader, SIGKILL); /* its FIFO was replaced: no writer will come */
  int status;
  waitpid(reader, &status, 0);
  static char buf[1 << 20];
  file_text(got, buf, sizeof buf);
  CHECK(memcmp(buf, "HAWKSNAP", 8) == 0);
  remove_tree(dir);
}

TEST(map_onto_a_hard_linked_file_writes_through) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/a.svg", dir);
  snprintf(b, sizeof b, "%s/b.svg", dir);
  int fd = open(a, O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  close(fd);
  REQUIRE(link(a, b) == 0);
  CHECK(hawk_map_write(a) == 0);
  struct stat sa, sb;
  CHECK(stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_nlink == 2);
  CHECK(sb.st_size > 0);
  remove_tree(dir);
}

/* A snapshot holds the process's addresses: it never goes into another
 * user's file, however open its mode, nor through another user's symbolic
 * link (which could lead to a file of this user's).  Needs root to make
 * them. */
TEST(map_refuses_another_users_file_or_link) {
  if (geteuid() != 0) SKIP("needs root to give a file to another user");
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char theirs[128], mine[128], link[128];
  snprintf(theirs, sizeof theirs, "%s/theirs.snap", dir);
  snprintf(mine, sizeof mine, "%s/mine.snap", dir);
  snprintf(link, sizeof link, "%s/link.snap", dir);
  int fd = open(theirs, O_WRONLY | O_CREAT, 0666);
  REQUIRE(fd >= 0 && write(fd, "data;", 5) == 5);
  close(fd);
  REQUIRE(chown(theirs, 65534, 65534) == 0 && chmod(theirs, 0666) == 0);
  fd = open(mine, O_WRONLY | O_CREAT, 0600);
  REQUIRE(fd >= 0 && write(fd, "mine;", 5) == 5);
  close(fd);
  REQUIRE(symlink(mine, link) == 0 && lchown(link, 65534, 65534) == 0);
  CHECK(hawk_map_write(theirs) == -1);
  CHECK(hawk_map_write(link) == -1);
  char buf[64];
  file_text(theirs, buf, sizeof buf);
  CHECK(strcmp(buf, "data;") == 0);
  file_text(mine, buf, sizeof buf);
  CHECK(strcmp(buf, "mine;") == 0);
  struct stat st;
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  remove_tree(dir);
}

TEST(map_refuses_a_directory_or_socket_behind_a_symlink) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char link[128];
  snprintf(link, sizeof link, "%s/dir.svg", dir);
  REQUIRE(symlink("/tmp", link) == 0);
  CHECK(hawk_map_write(link) == -1);
  struct stat st;
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  remove_tree(dir);
}

/* A trace file of another user (root tracing into it) is truncated in
 * place, not replaced by a file of root's. */
TEST(trace_into_another_users_file_keeps_its_owner) {
  if (geteuid() != 0) {
    printf("skip trace_into_another_users_file_keeps_its_owner: needs root\n");
    return;
  }
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char a[128], env_t[160];
  snprintf(a, sizeof a, "%s/a.trace", dir);
  int fd = open(a, O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "an old trace", 12) == 12);
  close(fd);
  REQUIRE(chown(a, 65534, 65534) == 0);
  struct stat before, after;
  REQUIRE(stat(a, &before) == 0);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", a);
  char out[256], err[4096];
  char *envp[] = {env_t, NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(stat(a, &after) == 0 && after.st_ino == before.st_ino && after.st_uid == 65534);
  CHECK((after.st_mode & 0777) == 0644);
  char buf[64];
  file_text(a, buf, sizeof buf);
  CHECK(memcmp(buf, "HAWKTRC", 7) == 0);
  remove_tree(dir);
}

TEST(trace_through_a_symlink_to_a_device_keeps_both) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char link[128], env_t[160];
  snprintf(link, sizeof link, "%s/null", dir);
  REQUIRE(symlink("/dev/null", link) == 0);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", link);
  char out[256], err[4096];
  char *envp[] = {env_t, NULL};
  int status = run_child(envp, "--report", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "") == 0);
  struct stat st;
  CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
  CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
  remove_tree(dir);
}

/* A trace into a FIFO: the library writes as into any pipe, but it must never
 * be its own reader (opened for reading and writing, it waited for ever once
 * the pipe's 64 KiB were full) nor be killed by SIGPIPE for a write of its
 * own.  Runs --churn with the trace at fifo (it ends itself by SIGALRM
 * after 20 s if it waits); returns its wait status, stderr in err. */
static int churn_traced_into(const char *fifo, char *err, size_t err_size) {
  char env_t[200], out[256];
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", fifo);
  char *envp[] = {env_t, NULL};
  return run_child(envp, "--churn", NULL, NULL, out, sizeof out, err, err_size, 0);
}

TEST(trace_into_a_fifo_nobody_reads_says_so) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char fifo[128], err[4096], expect[512];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  int status = churn_traced_into(fifo, err, sizeof err);
  CHECK(exited_0(status));
  if (!exited_0(status)) fprintf(stderr, "    status %#x\n", status);
  snprintf(expect, sizeof expect,
           "hawkalloc: HAWKALLOC_TRACE=%s: cannot open (errno %d); not tracing\n", fifo, ENXIO);
  CHECK(strcmp(err, expect) == 0);
  if (strcmp(err, expect) != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  struct stat st;
  CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
  remove_tree(dir);
}

/* Forks a reader of fifo, open before the writer comes (so that a writer's
 * open finds it): it reads at least want bytes, waiting up to 20 s for them,
 * and goes away.  Returns its pid. */
static pid_t fifo_reader_going_away(const char *fifo, size_t want) {
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  if (rd < 0) return -1;
  fflush(NULL);
  pid_t reader = fork();
  if (reader == 0) {
    char buf[4096];
    size_t got = 0;
    for (int i = 0; i < 20000 && got < want; i++) {
      ssize_t n = read(rd, buf, sizeof buf);
      if (n > 0)
        got += (size_t)n;
      else
        usleep(1000);
    }
    _exit(got >= want ? 0 : 1);
  }
  close(rd);
  return reader;
}

TEST(trace_into_a_fifo_whose_reader_goes_away_stops_with_one_line) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char fifo[128], err[4096], expect[512];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  /* The reader reads the header and some records and goes away while the
   * program still allocates (the whole trace is about 150 KB in version 3's
   * chunks of up to 64 KiB: later chunks find no reader). */
  pid_t reader = fifo_reader_going_away(fifo, 4096);
  REQUIRE(reader > 0);
  int status = churn_traced_into(fifo, err, sizeof err);
  int rstatus = 1;
  waitpid(reader, &rstatus, 0);
  CHECK(exited_0(rstatus));
  CHECK(exited_0(status)); /* neither SIGPIPE nor SIGALRM */
  if (!exited_0(status)) fprintf(stderr, "    status %#x\n", status);
  snprintf(expect, sizeof expect,
           "hawkalloc: HAWKALLOC_TRACE=%s: the FIFO's reader went away (errno %d); not tracing\n",
           fifo, EPIPE);
  CHECK(strcmp(err, expect) == 0);
  if (strcmp(err, expect) != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  remove_tree(dir);
}

/* exit() called while another thread's trace chunk waits in its write (a
 * FIFO nobody reads and whose pipe is full), holding the trace's lock: one
 * line says the last records are not written, rather than a wait for ever. */
TEST(exit_while_the_trace_waits_in_its_write_says_so) {
  char dir[64], fifo[128], env_t[200], out[256], err[4096], expect[512];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* open, never read */
  REQUIRE(rd >= 0);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", fifo);
  char *envp[] = {env_t, NULL};
  int status =
      run_child(envp, "--exit-in-trace-write", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  close(rd);
  snprintf(expect, sizeof expect,
           "hawkalloc: HAWKALLOC_TRACE=%s: the last records not written at exit: the trace is "
           "locked (exit called while the allocator ran: from a signal handler?)\n",
           fifo);
  CHECK(exited_0(status));
  CHECK(strcmp(err, expect) == 0);
  if (!exited_0(status) || strcmp(err, expect) != 0)
    fprintf(stderr, "    status %#x, stderr [%s]\n", status, err);
  remove_tree(dir);
}

/* A SIGPIPE the program raised while it blocked it stays pending when the
 * trace's own write fails with EPIPE: the library takes back only a signal
 * its write raised. */
TEST(trace_into_a_fifo_whose_reader_goes_away_leaves_the_programs_sigpipe) {
  char dir[64], fifo[128], env_t[200], out[256], err[4096];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  pid_t reader = fifo_reader_going_away(fifo, 4096);
  REQUIRE(reader > 0);
  snprintf(env_t, sizeof env_t, "HAWKALLOC_TRACE=%s", fifo);
  char *envp[] = {env_t, NULL};
  int status = run_child(envp, "--pipe-pending", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  int rstatus = 1;
  waitpid(reader, &rstatus, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(out, "pending 1\n") == 0);
  CHECK(strstr(err, "the FIFO's reader went away") != NULL);
  if (!exited_0(status) || strcmp(out, "pending 1\n") != 0)
    fprintf(stderr, "    status %#x, stdout [%s], stderr [%s]\n", status, out, err);
  remove_tree(dir);
}

/* A temporary dir (64 bytes) with a directory start (128) where this
 * program now runs, having been in old (4096), and an empty directory
 * moved beside it: where a child starts, and where it moves to.  0 if any
 * of it failed. */
static int start_and_moved(char *dir, char *start, char *moved, char *old) {
  make_temp_dir(dir);
  if (!dir[0]) return 0;
  snprintf(start, 128, "%s/start", dir);
  snprintf(moved, 128, "%s/moved", dir);
  return mkdir(start, 0700) == 0 && mkdir(moved, 0700) == 0 && getcwd(old, 4096) != NULL &&
         chdir(start) == 0;
}

/* A relative HAWKALLOC_MAP or HAWKALLOC_TRACE names a file in the directory
 * the program started in: the snapshot written at exit, and the trace
 * reopened by its path, never land in a directory the program moved to. */
TEST(relative_paths_stay_where_the_program_started) {
  char dir[64], start[128], moved[128], old[4096], path[200], out[256], err[4096];
  REQUIRE(start_and_moved(dir, start, moved, old));
  char *envp[] = {"HAWKALLOC_MAP=heap.snap", "HAWKALLOC_TRACE=calls.trace", NULL};
  int status = run_child(envp, "--chdir", moved, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(chdir(old) == 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "") == 0);
  if (strcmp(err, "") != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  struct stat st;
  snprintf(path, sizeof path, "%s/heap.snap", start);
  CHECK(stat(path, &st) == 0 && st.st_size > 0);
  snprintf(path, sizeof path, "%s/calls.trace", start);
  CHECK(stat(path, &st) == 0 && st.st_size >= 32 + 80000); /* a byte a call at least */
  snprintf(path, sizeof path, "%s/heap.snap", moved);
  CHECK(access(path, F_OK) != 0);
  snprintf(path, sizeof path, "%s/calls.trace", moved);
  CHECK(access(path, F_OK) != 0);
  remove_tree(dir);
}

TEST(a_trace_that_cannot_be_written_says_so) {
  char out[256], err[4096], expect[256];
  char *envp[] = {"HAWKALLOC_TRACE=/dev/full", NULL};
  int status = run_child(envp, "--churn", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  snprintf(expect, sizeof expect,
           "hawkalloc: HAWKALLOC_TRACE=/dev/full: cannot write (errno %d); not tracing\n", ENOSPC);
  CHECK(strcmp(err, expect) == 0);
  if (strcmp(err, expect) != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  struct stat st;
  CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
}

/* exit() from a signal handler that interrupted malloc, whose thread holds a
 * heap's lock (or the trace's, while it writes a full buffer): the
 * statistics, the heap snapshot and the trace's last records are then not
 * written at exit, each with one line, and the program ends as it asked.
 * Twelve runs, each stopped by its timer wherever it was (before, most of
 * them waited for ever on that lock). */
TEST(exit_from_a_signal_handler_inside_malloc_says_so_instead_of_waiting) {
  static const char busy[] = "hawkalloc: HAWKALLOC_STATS=1: statistics not printed at exit: a "
                             "heap is locked (exit called while the allocator ran: from a signal "
                             "handler?)\n";
  char dir[64], trace[128], out[256], err[1 << 14], map[] = "HAWKALLOC_MAP=/dev/null";
  make_temp_dir(dir);
  REQUIRE(dir[0] != 0);
  snprintf(trace, sizeof trace, "HAWKALLOC_TRACE=%s/t.trace", dir);
  char *stats[] = {"HAWKALLOC_STATS=1", NULL}, *both[] = {"HAWKALLOC_STATS=1", map, NULL};
  char *traced[] = {trace, NULL};
  char *const *envs[] = {stats, both, traced};
  int bad = 0, locked = 0;
  for (int run = 0; run < 12; run++) {
    int kind = run % 3;
    int status =
        run_child(envs[kind], "--exit-in-signal", NULL, NULL, out, sizeof out, err, sizeof err, 0);
    /* Either all of it (the signal came between two calls: the statistics
     * whole, the trace in silence), or the line, and with HAWKALLOC_MAP the
     * snapshot's line after it. */
    int whole =
        kind == 2 ? err[0] == 0 : strncmp(err, "hawkalloc: statistics of test_env (pid ", 39) == 0;
    const char *rest = strncmp(err, busy, strlen(busy)) == 0 ? err + strlen(busy) : NULL;
    int line = kind == 0   ? rest && rest[0] == 0
               : kind == 1 ? rest && strstr(rest, "cannot write the heap snapshot") == rest + 11 &&
                                 strchr(rest, '\n') == err + strlen(err) - 1
                           : strstr(err, ": the last records not written at exit: the trace is "
                                         "locked (exit called while the allocator ran: from a "
                                         "signal handler?)\n") != NULL &&
                                 strchr(err, '\n') == err + strlen(err) - 1;
    locked += line;
    if (!exited_0(status) || !(whole || line)) {
      if (bad++ < 3) fprintf(stderr, "    run %d: status %d, stderr: [%.300s]\n", run, status, err);
    }
  }
  printf("# %d of 12 runs exited with a lock held\n", locked);
  CHECK(bad == 0);
  remove_tree(dir);
}

/* The same from hawk_walk's visitor, deterministically: every lock the
 * table at exit would take is looked at, the large blocks' and the created
 * heaps' too (a lock held by this thread would be waited for, or reported
 * as a call from the visitor). */
TEST(exit_from_a_walk_holding_a_lock_says_so_instead_of_waiting) {
  static const char busy[] = "hawkalloc: HAWKALLOC_STATS=1: statistics not printed at exit: a "
                             "heap is locked (exit called while the allocator ran: from a signal "
                             "handler?)\n";
  char out[256], err[4096];
  char *stats[] = {"HAWKALLOC_STATS=1", NULL};
  const char *kinds[] = {"large", "created", "event", "cache"};
  for (int k = 0; k < 4; k++) {
    int status =
        run_child(stats, "--exit-in-walk", kinds[k], NULL, out, sizeof out, err, sizeof err, 0);
    CHECK(exited_0(status) && strcmp(err, busy) == 0);
    if (!exited_0(status) || strcmp(err, busy) != 0)
      fprintf(stderr, "    %s: status %#x, stderr [%.300s]\n", kinds[k], status, err);
  }
}

/* The trace's writes give the signal mask back as it was: SIGPIPE and
 * SIGXFSZ unblocked unless the program blocked them, and a SIGPIPE the
 * program raised while it was blocked still pending. */
TEST(trace_writes_leave_the_programs_signal_mask_and_pending_signals) {
  char dir[64], trace[128], out[256], err[4096];
  make_temp_dir(dir);
  REQUIRE(dir[0] != 0);
  snprintf(trace, sizeof trace, "HAWKALLOC_TRACE=%s/t.trace", dir);
  char *traced[] = {trace, NULL};
  int status =
      run_child(traced, "--mask-after-trace", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(strcmp(out, "pipe 1 1 xfsz 0 0\n") == 0);
  CHECK(strcmp(err, "") == 0);
  if (strcmp(out, "pipe 1 1 xfsz 0 0\n") != 0 || err[0])
    fprintf(stderr, "    status %#x, stdout [%s], stderr [%s]\n", status, out, err);
  remove_tree(dir);
}

/* A relative path is kept as the directory it started in, a '/' and the
 * path, with its NUL, in a page of 4,096 bytes: a path whose whole fits
 * exactly is kept (the line about it names the directory), one a byte
 * longer is left as it is (the line names the relative path). */
TEST(a_relative_path_is_kept_when_it_fills_the_page_exactly) {
  char cwd[4096], out[256], err[4096], var[5000], expect[300];
  REQUIRE(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, "/") != 0);
  size_t n = strlen(cwd) + 1;
  REQUIRE(n < 4000);
  for (int over = 0; over < 2; over++) {
    size_t m = 4096 - n - 1 + (size_t)over; /* n + m + 1 is 4096, then 4097 */
    int at = snprintf(var, sizeof var, "HAWKALLOC_TRACE=");
    for (size_t i = 0; i < m; i++) var[at + (int)i] = i % 2 ? '/' : 'x';
    var[at + (int)m] = 0;
    if (var[at + (int)m - 1] == '/') var[at + (int)m - 1] = 'y';
    char *envp[] = {var, NULL};
    int status = run_child(envp, "--churn", NULL, NULL, out, sizeof out, err, sizeof err, 0);
    CHECK(exited_0(status));
    if (over)
      snprintf(expect, sizeof expect, "hawkalloc: HAWKALLOC_TRACE=x/x/x/");
    else
      snprintf(expect, sizeof expect, "hawkalloc: HAWKALLOC_TRACE=%.100s/x/x/", cwd);
    CHECK(strncmp(err, expect, strlen(expect)) == 0);
    if (!exited_0(status) || strncmp(err, expect, strlen(expect)) != 0)
      fprintf(stderr, "    %s: status %#x, stderr [%.200s]\n", over ? "over" : "fits", status, err);
  }
}

/* A trace or a snapshot that reaches the process's file-size limit (`ulimit
 * -f`) fails with EFBIG and one line, as a full disk does: the kernel's
 * SIGXFSZ, whose default action kills the program, is the library's to take
 * back, not the program's death (it died of it, its buffered output lost,
 * and the snapshot's temporary file left behind). */
TEST(a_trace_or_snapshot_past_the_file_size_limit_says_so) {
  char dir[64], trace[128], map[128], out[256], err[4096], expect[512];
  make_temp_dir(dir);
  REQUIRE(dir[0] != 0);
  snprintf(trace, sizeof trace, "HAWKALLOC_TRACE=%s/t.trace", dir);
  char *traced[] = {trace, NULL};
  int status = run_child(traced, "--fsize", "65536", NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status) && strcmp(out, "done\n") == 0);
  snprintf(expect, sizeof expect, "hawkalloc: %s: cannot write (errno %d); not tracing\n", trace,
           EFBIG);
  CHECK(strcmp(err, expect) == 0);
  if (!exited_0(status) || strcmp(err, expect) != 0)
    fprintf(stderr, "    traced: status %d, stdout [%s], stderr [%s]\n", status, out, err);
  snprintf(map, sizeof map, "HAWKALLOC_MAP=%s/m.snap", dir);
  char *mapped[] = {map, NULL};
  status = run_child(mapped, "--fsize", "1024", NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status) && strcmp(out, "done\n") == 0);
  CHECK(strstr(err, "cannot write the heap snapshot") != NULL);
  snprintf(expect, sizeof expect, "(errno %d)\n", EFBIG);
  CHECK(strlen(err) > strlen(expect) && strcmp(err + strlen(err) - strlen(expect), expect) == 0);
  CHECK(strchr(err, '\n') == err + strlen(err) - 1);
  if (!exited_0(status) || strchr(err, '\n') != err + strlen(err) - 1)
    fprintf(stderr, "    mapped: status %d, stdout [%s], stderr [%s]\n", status, out, err);
  /* Nothing but the trace is left in the directory: no temporary file. */
  char names[512];
  REQUIRE(dir_names(dir, names, sizeof names));
  CHECK(strcmp(names, "t.trace\n") == 0);
  if (strcmp(names, "t.trace\n") != 0) fprintf(stderr, "    left: [%s]\n", names);
  remove_tree(dir);
}

/* The paths of HAWKALLOC_MAP and HAWKALLOC_TRACE are the library's own copies:
 * a program that writes over its environment's text (its process title)
 * still gets its snapshot at exit where the variable said, and no file
 * named after what it wrote appears where it runs. */
TEST(paths_are_kept_when_the_program_writes_over_its_environment) {
  char dir[64], there[64], map[128], trace[128], path[160], out[256], err[4096];
  make_temp_dir(dir);
  make_temp_dir(there);
  REQUIRE(dir[0] != 0 && there[0] != 0);
  snprintf(map, sizeof map, "HAWKALLOC_MAP=%s/m.snap", dir);
  snprintf(trace, sizeof trace, "HAWKALLOC_TRACE=%s/t.trace", dir);
  char *envp[] = {map, trace, NULL};
  int status = run_child(envp, "--scribble", there, NULL, out, sizeof out, err, sizeof err, 0);
  CHECK(exited_0(status));
  CHECK(err[0] == 0);
  struct stat st;
  snprintf(path, sizeof path, "%s/m.snap", dir);
  CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0);
  snprintf(path, sizeof path, "%s/t.trace", dir);
  CHECK(stat(path, &st) == 0 && st.st_size > 32);
  char names[512];
  REQUIRE(dir_names(there, names, sizeof names));
  CHECK(names[0] == 0);
  if (!exited_0(status) || err[0] || names[0])
    fprintf(stderr, "    status %d, stderr [%s], files where it ran: [%s]\n", status, err, names);
  remove_tree(dir);
  remove_tree(there);
}

TEST(map_onto_a_fifo_whose_reader_goes_away_says_so) {
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  char fifo[128], env_m[160], out[256], err[4096], expect[512];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  snprintf(env_m, sizeof env_m, "HAWKALLOC_MAP=%s", fifo);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  pid_t reader = fifo_reader_going_away(fifo, 4096);
  REQUIRE(reader > 0);
  char *envp[] = {env_m, NULL};
  int status = run_child(envp, "--fragment", NULL, NULL, out, sizeof out, err, sizeof err, 0);
  int rstatus = 1;
  waitpid(reader, &rstatus, 0);
  CHECK(exited_0(rstatus));
  CHECK(exited_0(status)); /* not SIGPIPE */
  if (!exited_0(status)) fprintf(stderr, "    status %#x\n", status);
  snprintf(expect, sizeof expect, "hawkalloc: cannot write the heap snapshot %s (errno %d)\n", fifo,
           EPIPE);
  CHECK(strcmp(err, expect) == 0);
  if (strcmp(err, expect) != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  remove_tree(dir);
}

/* --- secure execution (item 1) -------------------------------------------------- */

#define SECURE_USER "hawkalloc-test"

/* A setuid-root program built with the library, run as an ordinary user with
 * every HAWKALLOC_* variable pointing at files only root may write. */
TEST(setuid_programs_ignore_every_variable) {
  if (geteuid() != 0) {
    printf("skip setuid_programs_ignore_every_variable: needs root (CI runs as root)\n");
    return;
  }
  /* The worktree: this program is ROOT/build/tests/test_env. */
  char root[4096];
  strcpy(root, self_path);
  for (int i = 0; i < 3; i++) {
    char *slash = strrchr(root, '/');
    REQUIRE(slash != NULL);
    *slash = 0;
  }
  char cmd[16384];
  snprintf(cmd, sizeof cmd,
           "id -u " SECURE_USER " >/dev/null 2>&1 || useradd --system --no-create-home "
           "--shell /usr/sbin/nologin " SECURE_USER);
  REQUIRE(system(cmd) == 0);
  char dir[64];
  make_temp_dir(dir);
  REQUIRE(dir[0]);
  REQUIRE(chmod(dir, 0755) == 0);
  char src[128], prog[128], locked[128], victim[128], map[128];
  snprintf(src, sizeof src, "%s/prog.c", dir);
  snprintf(prog, sizeof prog, "%s/prog", dir);
  snprintf(locked, sizeof locked, "%s/root-only", dir);
  snprintf(victim, sizeof victim, "%s/victim", locked);
  snprintf(map, sizeof map, "%s/map.svg", locked);
  FILE *f = fopen(src, "w");
  REQUIRE(f != NULL);
  fputs("#include <stdio.h>\n#include <stdlib.h>\n#include <malloc.h>\n#include \"hawkalloc.h\"\n"
        "int main(void) {\n"
        "  struct hawk_stats s;\n"
        "  hawk_stats(&s, sizeof s);\n"
        "  void *p = malloc(20);\n"
        "  printf(\"heaps %llu usable %zu\\n\", (unsigned long long)s.heaps, "
        "malloc_usable_size(p));\n"
        "  for (int i = 0; i < 20000; i++) free(malloc((size_t)i % 300 + 1));\n"
        "  free(p);\n"
        "  return 0;\n"
        "}\n",
        f);
  fclose(f);
  snprintf(cmd, sizeof cmd,
           "cc -std=c11 -D_GNU_SOURCE -I'%s/include' '%s' -o '%s' -Wl,--whole-archive "
           "'%s/build/libhawkalloc.a' -Wl,--no-whole-archive -lpthread -ldl",
           root, src, prog, root);
  REQUIRE(system(cmd) == 0);
  REQUIRE(chown(prog, 0, 0) == 0 && chmod(prog, 04755) == 0);
  REQUIRE(mkdir(locked, 0700) == 0);
  int fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0 && write(fd, "precious", 8) == 8);
  close(fd);

  char out[256], err[4096];
  char out_plain[256], err_plain[4096];
  /* Without variables: the defaults, and not a word. */
  snprintf(cmd, sizeof cmd, "runuser -u " SECURE_USER " -- env -i '%s' >'%s/out' 2>'%s/err'", prog,
           dir, dir);
  CHECK(system(cmd) == 0);
  snprintf(src, sizeof src, "%s/out", dir);
  file_text(src, out_plain, sizeof out_plain);
  snprintf(src, sizeof src, "%s/err", dir);
  file_text(src, err_plain, sizeof err_plain);
  CHECK(strcmp(err_plain, "") == 0);
  /* With every variable set. */
  snprintf(cmd, sizeof cmd,
           "runuser -u " SECURE_USER " -- env -i HAWKALLOC_TRACE='%s' HAWKALLOC_MAP='%s' "
           "HAWKALLOC_STATS=1 HAWKALLOC_DEBUG=1 HAWKALLOC_HEAPS=1 HAWKALLOC_POLICY=first-fit "
           "HAWKALLOC_CHECK_EVERY=1 HAWKALLOC_TCACHE=0 '%s' >'%s/out' 2>'%s/err'",
           victim, map, prog, dir, dir);
  CHECK(system(cmd) == 0);
  snprintf(src, sizeof src, "%s/out", dir);
  file_text(src, out, sizeof out);
  snprintf(src, sizeof src, "%s/err", dir);
  file_text(src, err, sizeof err);
  CHECK(strcmp(err, "hawkalloc: secure execution: HAWKALLOC_* variables ignored\n") == 0);
  if (strcmp(err, "hawkalloc: secure execution: HAWKALLOC_* variables ignored\n") != 0)
    fprintf(stderr, "    stderr was: [%.300s]\n", err);
  CHECK(out[0] && strcmp(out, out_plain) == 0); /* same heaps, no debug mode */
  char buf[64];
  CHECK(file_text(victim, buf, sizeof buf) == 8 && strcmp(buf, "precious") == 0);
  CHECK(access(map, F_OK) != 0);
  char names[512];
  REQUIRE(dir_names(locked, names, sizeof names));
  CHECK(strcmp(names, "victim\n") == 0); /* no picture, no temporary file */
  remove_tree(dir);
}

/* A variable whose name only starts with an option's is not that option:
 * HAWKALLOC_STATSX=1 neither prints the statistics nor is read as
 * HAWKALLOC_STATS with the value "X=1". */
TEST(a_longer_name_is_not_the_option) {
  check_report("HAWKALLOC_STATSX=1", 0, 0, "");
  unsigned def = default_heaps();
  check_report("HAWKALLOC_HEAPS_=3", def, 0, "");
  check_report("HAWKALLOC_DEBUGGING=1", 0, 0, "");
}

#include <sched.h>

/* HAWKALLOC_HEAPS=0 (and the default) is two heaps a CPU the program may
 * run on: a child started with one CPU in its affinity mask has 2, with two
 * CPUs 4 (when the machine has them). */
TEST(automatic_heaps_are_two_a_cpu) {
  cpu_set_t all, some;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  int cpus = CPU_COUNT(&all), first = -1, second = -1;
  for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
    if (CPU_ISSET(c, &all)) {
      if (first < 0)
        first = c;
      else
        second = c;
    }
  REQUIRE(first >= 0);
  CPU_ZERO(&some);
  CPU_SET(first, &some);
  int one = sched_setaffinity(0, sizeof some, &some) == 0; /* the child inherits it */
  CHECK(one);
  if (one) check_report("HAWKALLOC_HEAPS=0", 2, 0, "");
  CPU_SET(second >= 0 ? second : first, &some);
  int two = cpus >= 2 && sched_setaffinity(0, sizeof some, &some) == 0;
  CHECK(two || cpus < 2);
  if (two) {
    check_report("HAWKALLOC_HEAPS=0", 4, 0, "");
    check_report("HAWKALLOC_POLICY=segregated", 4, 0, ""); /* HAWKALLOC_HEAPS not set */
  }
  CHECK(sched_setaffinity(0, sizeof all, &all) == 0); /* as it was */
}

/* argv: --chdir-close-trace DIR TRACE.  Allocates, moves into DIR, closes
 * the trace's descriptor (TRACE names it from the directory it started in),
 * allocates and exits: the trace is opened again by its path. */
static int child_chdir_close_trace(const char *dir, const char *trace) {
  churn();
  int fd = trace_descriptor(trace);
  if (fd < 0) return 2;
  if (chdir(dir) != 0) return 3;
  close(fd);
  churn();
  exit(0);
}

/* A relative HAWKALLOC_TRACE opened again by its path, after the program
 * moved to another directory and closed the trace's descriptor, is the
 * trace in the directory the program started in: tracing goes on there,
 * without a word. */
TEST(relative_trace_reopened_after_a_chdir_is_the_same_file) {
  char dir[64], start[128], moved[128], old[4096], path[200], out[256], err[4096];
  REQUIRE(start_and_moved(dir, start, moved, old));
  char *envp[] = {"HAWKALLOC_TRACE=calls.trace", NULL};
  int status = run_child(envp, "--chdir-close-trace", moved, "calls.trace", out, sizeof out, err,
                         sizeof err, 0);
  CHECK(chdir(old) == 0);
  CHECK(exited_0(status));
  CHECK(strcmp(err, "") == 0);
  if (strcmp(err, "") != 0) fprintf(stderr, "    stderr was: [%s]\n", err);
  snprintf(path, sizeof path, "%s/calls.trace", start);
  CHECK(trace_records(path) >= 80000); /* both churns: every record */
  snprintf(path, sizeof path, "%s/calls.trace", moved);
  CHECK(access(path, F_OK) != 0);
  remove_tree(dir);
}

static int harness_main(int argc, char **argv);

int main(int argc, char **argv) {
  errno_at_main = errno;
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (n <= 0) return 1;
  self_path[n] = 0;
  if (argc > 3 && strcmp(argv[1], "--chdir-close-trace") == 0)
    return child_chdir_close_trace(argv[2], argv[3]);
  if (argc > 1 && strcmp(argv[1], "--report") == 0) return child_report();
  if (argc > 1 && strcmp(argv[1], "--errno") == 0) return child_errno();
  if (argc > 1 && strcmp(argv[1], "--corrupt") == 0) return child_corrupt();
  if (argc > 1 && strcmp(argv[1], "--placement") == 0) return child_placement();
  if (argc > 1 && strcmp(argv[1], "--stats") == 0) return child_stats();
  if (argc > 1 && strcmp(argv[1], "--double-free") == 0) return child_double_free();
  if (argc > 3 && strcmp(argv[1], "--reuse-trace-fd") == 0)
    return child_reuse_trace_fd(argv[2], argv[3], argc > 4 && strcmp(argv[4], "gone") == 0);
  if (argc > 2 && strcmp(argv[1], "--reuse-all") == 0) return child_reuse_all(argv[2]);
  if (argc > 2 && strcmp(argv[1], "--open-data") == 0) return child_open_data(argv[2]);
  if (argc > 2 && strcmp(argv[1], "--reopen-stderr") == 0) return child_reopen_stderr(argv[2]);
  if (argc > 1 && strcmp(argv[1], "--close-stderr") == 0) return child_close_stderr();
  if (argc > 2 && strcmp(argv[1], "--detach") == 0) return child_detach(argv[2]);
  if (argc > 1 && strcmp(argv[1], "--churn") == 0) return child_churn();
  if (argc > 2 && strcmp(argv[1], "--chdir") == 0) return child_chdir(argv[2]);
  if (argc > 1 && strcmp(argv[1], "--fragment") == 0) return child_fragment();
  if (argc > 1 && strcmp(argv[1], "--exit-in-signal") == 0) return child_exit_in_signal();
  if (argc > 2 && strcmp(argv[1], "--exit-in-walk") == 0) return child_exit_in_walk(argv[2]);
  if (argc > 1 && strcmp(argv[1], "--mask-after-trace") == 0) return child_mask_after_trace();
  if (argc > 1 && strcmp(argv[1], "--exit-in-trace-write") == 0) return child_exit_in_trace_write();
  if (argc > 1 && strcmp(argv[1], "--pipe-pending") == 0) return child_pipe_pending();
  if (argc > 2 && strcmp(argv[1], "--fsize") == 0) return child_file_size_limit(argv[2]);
  if (argc > 2 && strcmp(argv[1], "--scribble") == 0) return child_scribble(argv[2]);
  return harness_main(argc, argv);
}

#define main harness_main
TEST_MAIN()
