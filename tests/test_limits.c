/* test_limits.c - the allocator under a small address-space limit, running
 * out of memory and recovering, and the diagnosis of pointers into memory
 * it gave back.
 *
 * The limit cases run in a fresh process: the test forks, sets RLIMIT_AS in
 * the child and executes this program again with HAWK_LIMITS_MODE set, so
 * the child starts with nothing mapped but what any program has (the test
 * binary links the library whole, as a preloaded program would use it:
 * stdio and the C library allocate through HawkAlloc too).  The child runs
 * the mode from a constructor and reports through write(2) and its exit
 * status; the parent is not limited.  Under the sanitizers (which reserve
 * terabytes of shadow memory and replace malloc) no case is registered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "harness.h"
#include "hawkalloc.h"

#if !defined(HAWK_NO_OVERRIDE) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

#define MiB ((size_t)1 << 20)

/* ---- the child side ------------------------------------------------------ */

static void say(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void say_num(const char *what, long v) {
  char buf[32];
  int i = (int)sizeof buf;
  buf[--i] = 0;
  unsigned long u = v < 0 ? 0 : (unsigned long)v;
  do {
    buf[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  say(what);
  say(buf + i);
  say("\n");
}

/* Exit codes of a child. */
enum {
  OK = 0,
  FIRST_FAILED = 2,    /* the first malloc(100) returned NULL */
  BAD_ERRNO = 3,       /* NULL with errno other than ENOMEM */
  NOT_RECOVERED = 4,   /* after freeing everything, malloc(100) failed */
  BIG_FAILED = 5,      /* after freeing everything, malloc(50 MiB) failed */
  CAPACITY_LOST = 6,   /* a later fill got less than 90% of the first */
  NEVER_RAN_OUT = 7,   /* the fill did not end in NULL */
  CONTENT_CHANGED = 8, /* a block's bytes changed */
  SHRINK_FAILED = 9,   /* a shrinking realloc returned NULL or moved */
  NOT_ADJACENT = 10,   /* the layout the case needs did not come about */
  ARENA_KEPT = 11,     /* an empty arena outlived a request the OS refused */
};

/* Allocates size-byte blocks until one fails, linking them through their
 * first word in allocation order; returns how many it got, or -1 on a
 * broken promise (errno, contents). */
static long fill(size_t size, void **head, long cap) {
  void **tail = NULL;
  long n = 0;
  *head = NULL;
  for (;;) {
    if (cap > 0 && n == cap) return n;
    errno = 0;
    void **p = hawk_malloc(size);
    if (p == NULL) {
      if (errno != ENOMEM) return -1;
      return n;
    }
    p[0] = NULL;
    ((unsigned char *)p)[size - 1] = (unsigned char)n;
    if (tail)
      tail[0] = p;
    else
      *head = p;
    tail = p;
    n++;
  }
}

/* Frees a list fill made (first allocated first); 0, or -1 if a block's
 * last byte changed. */
static int release(void *head, size_t size) {
  long i = 0;
  int ok = 0;
  while (head) {
    void **p = head;
    head = p[0];
    if (((unsigned char *)p)[size - 1] != (unsigned char)i) ok = -1;
    hawk_free(p);
    i++;
  }
  return ok;
}

/* The first malloc of the process, with nothing mapped yet. */
static int mode_first(void) {
  errno = 0;
  char *p = hawk_malloc(100);
  if (p == NULL) return FIRST_FAILED;
  memset(p, 7, 100);
  hawk_free(p);
  return OK;
}

/* Fills with each size in turn and with all of them in rotation, frees,
 * three times; every failure must be NULL with ENOMEM and memory must
 * serve again afterwards. */
/* Frees a list of blocks linked through their first word. */
static void free_list(void **list) {
  while (list) {
    void **next = list[0];
    hawk_free(list);
    list = next;
  }
}

static int mode_loop(void) {
  static const size_t sizes[] = {24, 200, 2000, 40000, 300000, 2 * MiB, 6 * MiB};
  const size_t nsizes = sizeof sizes / sizeof sizes[0];
  for (int round = 0; round < 3; round++) {
    for (size_t s = 0; s <= nsizes; s++) {
      void *head = NULL;
      long n;
      if (s < nsizes) {
        n = fill(sizes[s], &head, 0);
        if (n < 0) return BAD_ERRNO;
        if (release(head, sizes[s]) != 0) return CONTENT_CHANGED;
      } else { /* mixed: one of each in turn until one fails */
        void **list = NULL;
        n = 0;
        for (;; n++) {
          errno = 0;
          void **p = hawk_malloc(sizes[n % nsizes]);
          if (p == NULL) {
            if (errno != ENOMEM) return BAD_ERRNO;
            break;
          }
          p[0] = list;
          list = p;
        }
        free_list(list);
      }
      errno = 0;
      void *p = hawk_malloc(100);
      if (p == NULL) return NOT_RECOVERED;
      hawk_free(p);
    }
  }
  return OK;
}

/* Fills memory with 24-byte blocks, frees them all, then asks for 50 MiB;
 * three more fills must each get at least 90% of the first. */
static int mode_recover(void) {
  long first = 0;
  for (int round = 0; round < 4; round++) {
    void *head;
    long n = fill(24, &head, 0);
    if (n < 0) return BAD_ERRNO;
    say_num("# 24-byte blocks before NULL: ", n);
    if (round == 0) first = n;
    if (release(head, 24) != 0) return CONTENT_CHANGED;
    if (n < first - first / 10) return CAPACITY_LOST;
    errno = 0;
    void *big = hawk_malloc(50 * MiB);
    if (big == NULL) return BIG_FAILED;
    memset(big, 1, 50 * MiB);
    hawk_free(big);
  }
  return OK;
}

/* Fills memory with 1000-byte blocks, then with 100-byte ones (the thread
 * cache's list of their size empty, no free block to refill it from), then
 * shrinks one of the first to 100 bytes: its neighbour is in use, so the
 * shrink would move to a block of the new size, and with none to be had it
 * must shrink in place, with errno as it was. */
static int mode_shrink(void) {
  void *big, *small;
  long n = fill(1000, &big, 0);
  if (n < 2) return n < 0 ? BAD_ERRNO : NEVER_RAN_OUT;
  if (fill(100, &small, 0) < 0) return BAD_ERRNO;
  unsigned char *p = big; /* its neighbour, the second block, is in use */
  void **rest = ((void **)p)[0];
  if ((unsigned char *)rest != p + hawk_usable_size(p) + 8) return NOT_ADJACENT;
  memset(p, 0x3c, 100);
  errno = 0;
  unsigned char *q = hawk_realloc(p, 100);
  if (q != p || errno != 0) return SHRINK_FAILED;
  for (size_t i = 0; i < 100; i++)
    if (q[i] != 0x3c) return CONTENT_CHANGED;
  hawk_free(q);
  if (release(small, 100) != 0) return CONTENT_CHANGED;
  while (rest) {
    void **next = rest[0];
    hawk_free(rest);
    rest = next;
  }
  return OK;
}

/* A thread of its own heap (the one with the fewest threads): blocks of
 * 300,000 bytes in the heap's first arena, all freed, so that the heap's
 * one arena is empty (a heap keeps its last arena). */
static void *empty_a_heap(void *arg) {
  (void)arg;
  hawk_free(hawk_malloc(32)); /* its cache, and its heap */
  void *p[3];
  for (int i = 0; i < 3; i++) p[i] = hawk_malloc(300000);
  for (int i = 0; i < 3; i++) hawk_free(p[i]);
  return NULL;
}

/* Before a request fails, the empty arenas go back to the OS, a heap's
 * last one too: a heap left with one empty arena by a thread, then a
 * request bigger than the limit (refused, and retried after the release):
 * that arena is gone, and no arena is cached. */
static int mode_release(void) {
  hawk_free(hawk_malloc(32)); /* this thread's heap first */
  pthread_t t;
  if (pthread_create(&t, NULL, empty_a_heap, NULL) != 0) return NOT_ADJACENT;
  pthread_join(t, NULL);
  struct hawk_stats s0, s1;
  hawk_stats(&s0, sizeof s0);
  if (s0.arenas < 2) return NOT_ADJACENT;
  errno = 0;
  void *p = hawk_malloc(512 * MiB);
  if (p != NULL) return NEVER_RAN_OUT;
  if (errno != ENOMEM) return BAD_ERRNO;
  hawk_stats(&s1, sizeof s1);
  say_num("# arenas before the refused request: ", (long)s0.arenas);
  say_num("# arenas after: ", (long)s1.arenas);
  if (s1.arenas != s0.arenas - 1 || s1.cached_arenas != 0) return ARENA_KEPT;
  return OK;
}

/* Small blocks until the limit refuses one: every malloc that succeeds
 * leaves errno as it was, also the one whose arena came from the mapping
 * the kernel gave only at the second try (os_map's exact-size fallback,
 * near the limit). */
static int mode_errno(void) {
  void **list = NULL;
  for (long n = 0;; n++) {
    errno = EDOM;
    void **p = hawk_malloc(48);
    if (p == NULL) break;
    if (errno != EDOM) {
      say_num("# errno changed by the successful malloc number ", n);
      return BAD_ERRNO;
    }
    p[0] = list;
    list = p;
  }
  free_list(list);
  return OK;
}

__attribute__((constructor)) static void limits_child(void) {
  const char *mode = getenv("HAWK_LIMITS_MODE");
  if (mode == NULL) return;
  int rc = NEVER_RAN_OUT;
  if (strcmp(mode, "first") == 0) rc = mode_first();
  if (strcmp(mode, "loop") == 0) rc = mode_loop();
  if (strcmp(mode, "recover") == 0) rc = mode_recover();
  if (strcmp(mode, "shrink") == 0) rc = mode_shrink();
  if (strcmp(mode, "release") == 0) rc = mode_release();
  if (strcmp(mode, "errno") == 0) rc = mode_errno();
  _exit(rc);
}

/* ---- the parent side ----------------------------------------------------- */

/* Runs this program again in a child limited to limit bytes of address
 * space, in the given mode; returns its wait status. */
static int run_limited(const char *mode, size_t limit) {
  static char var[64];
  snprintf(var, sizeof var, "HAWK_LIMITS_MODE=%s", mode);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    putenv(var);
    struct rlimit none = {0, 0}, as = {limit, limit};
    setrlimit(RLIMIT_CORE, &none);
    if (setrlimit(RLIMIT_AS, &as) != 0) _exit(100);
    char *argv[] = {"test_limits", NULL};
    execv("/proc/self/exe", argv);
    _exit(101);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static int exited_ok(const char *mode, size_t limit) {
  int status = run_limited(mode, limit);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
  if (WIFSIGNALED(status))
    fprintf(stderr, "    mode %s at %zu MB: killed by signal %d\n", mode, limit / 1000000,
            WTERMSIG(status));
  else
    fprintf(stderr, "    mode %s at %zu MB: exit status %d\n", mode, limit / 1000000,
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

#define MB ((size_t)1000000)

TEST(first_malloc_under_20MB) { CHECK(exited_ok("first", 20 * MB)); }
TEST(first_malloc_under_30MB) { CHECK(exited_ok("first", 30 * MB)); }
TEST(first_malloc_under_66MB) { CHECK(exited_ok("first", 66 * MB)); }
TEST(first_malloc_under_70MB) { CHECK(exited_ok("first", 70 * MB)); }

TEST(run_out_and_recover_under_20MB) { CHECK(exited_ok("loop", 20 * MB)); }
TEST(run_out_and_recover_under_30MB) { CHECK(exited_ok("loop", 30 * MB)); }
TEST(run_out_and_recover_under_66MB) { CHECK(exited_ok("loop", 66 * MB)); }

TEST(a_malloc_that_succeeds_near_the_limit_leaves_errno_as_it_was) {
  CHECK(exited_ok("errno", 20 * MB));
  CHECK(exited_ok("errno", 30 * MB));
  CHECK(exited_ok("errno", 66 * MB));
}

TEST(full_capacity_after_running_out) { CHECK(exited_ok("recover", 256 * MiB)); }

TEST(a_shrinking_realloc_with_memory_full_shrinks_in_place) { CHECK(exited_ok("shrink", 30 * MB)); }

TEST(a_refused_request_first_gives_back_every_empty_arena) {
  CHECK(exited_ok("release", 256 * MiB));
}

/* ---- what a free of released memory is called ----------------------------- */

static void free_it(void *p) { hawk_free(p); }

/* The child aborted with exactly "hawkalloc: free(P): what". */
static int reported(void *p, const char *what) {
  char buf[512], want[256], ptr[32];
  int status = run_captured(free_it, p, buf, sizeof buf);
  snprintf(want, sizeof want, "hawkalloc: free(%s): %s\n", ptr_text(p, ptr), what);
  int ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strcmp(buf, want) == 0;
  if (!ok) fprintf(stderr, "    status %d, stderr: %s    expected: %s", status, buf, want);
  return ok;
}

/* Memory the program mapped where a freed large block was is the program's:
 * freeing a pointer into it is not a double free. */
TEST(program_mapping_over_released_large_block) {
  char *a = hawk_malloc(40 * MiB); /* too big to be kept for reuse: unmapped at free */
  REQUIRE(a);
  char *base = (char *)((uintptr_t)a & ~(uintptr_t)(4 * MiB - 1));
  hawk_free(a);
  char *m = mmap(base, 8 * MiB, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  REQUIRE(m == base);
  memset(m, 0, 8 * MiB);
  CHECK(reported(a, "invalid pointer (not from hawkalloc)"));           /* where the payload was */
  CHECK(reported(m + 4096, "invalid pointer (not from hawkalloc)"));    /* elsewhere in it */
  CHECK(reported(m + 6 * MiB, "invalid pointer (not from hawkalloc)")); /* a later chunk */
  munmap(m, 8 * MiB);
}

/* A real double free of a large block is still called one: unmapped, or
 * kept for reuse. */
TEST(double_free_of_released_large_block) {
  char *a = hawk_malloc(40 * MiB), *b = hawk_malloc(2 * MiB);
  REQUIRE(a && b);
  hawk_free(a);
  hawk_free(b);
  CHECK(reported(a, "double free (its memory was already released)"));
  CHECK(reported(b, "double free (its memory was already released)"));
  void *c = hawk_aligned_alloc(64 * 1024, 40 * MiB);
  REQUIRE(c);
  hawk_free(c);
  CHECK(reported(c, "double free (its memory was already released)"));
}

#else
/* Sanitizers reserve terabytes of shadow memory: no address-space limit can
 * be set under them. */
TEST(address_space_limits) { SKIP("sanitizer build: RLIMIT_AS cannot be set under it"); }
#endif

TEST_MAIN()
