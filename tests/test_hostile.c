/* test_hostile.c - a hostile program never crashes the allocator.
 *
 * Each case runs in a child process started afresh (fork, then execve of
 * this program with "--case N" and the environment the case wants:
 * HAWKALLOC_DEBUG, HAWKALLOC_HEAPS; HAWKALLOC_POLICY is inherited, and
 * scripts/run-tests.sh runs the whole program once per policy), because
 * those settings are read only at start-up.  The outcome is classified:
 *
 *   - killed by SIGABRT after exactly one line "hawkalloc: ..." on stderr:
 *     the misuse was caught (pass);
 *   - exited 0: the program went on and every result was right (pass);
 *   - exited otherwise (a wrong result, described on stderr), or killed by
 *     any other signal, or SIGABRT without the line: fail, printed.
 *
 * Write after free into a freed block's links: one of a few values (0, all
 * ones, a stack address, another live block's address, 1, 0x10) is written
 * at offset 0, 8, 16 or 24 of a freed payload, and then the program does
 * something that makes the allocator follow the links there:
 *
 *   kind       where the freed block is
 *   cached     this thread's cache (request 32, 500, 2040 bytes)
 *   medium     a free list (3000, 20000, 100000 bytes: never cached)
 *   overflow   a free list, flushed there from a full cache list (64, 1000)
 *   remote     a heap's remote list: freed by another thread while the
 *              heap's lock was held (by hawk_walk's visitor)
 *
 *   exercise   what follows the write
 *   same       mallocs of the same size (the cache pop, the search)
 *   other      mallocs of other sizes (every policy's search)
 *   trim       malloc_trim (the cache flush, the remote list's drain)
 *   realloc    realloc of the block just before the freed one (the cache
 *              take-back, the free list's unlink)
 *   exit       the freed block is in another thread's cache; it exits
 *   fork       the same, and this thread forks: the child gives the
 *              other thread's cache back
 *
 * Every case ends with a final step that reaches every list (malloc_trim,
 * mallocs of many sizes) and hawk_check(), so a case that did not abort
 * must leave a sound heap.  Blocks handed out are checked: 16-byte
 * aligned, no overlap with a live block, usable size, writable.
 *
 * Under the sanitizers (built with -DHAWK_NO_OVERRIDE) there is no case:
 * ASan would report the writes itself.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawkalloc.h"

#if !defined(HAWK_NO_OVERRIDE) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

extern char **environ;

enum kind { K_CACHED, K_MEDIUM, K_OVERFLOW, K_REMOTE };
enum exercise { E_SAME, E_OTHER, E_TRIM, E_REALLOC, E_EXIT, E_FORK };

static const char *const kind_names[] = {"cached", "medium", "overflow", "remote"};
static const char *const exercise_names[] = {"same", "other", "trim", "realloc", "exit", "fork"};

/* A group: one kind, size, exercise and debug setting; its cases are every
 * value at every offset. */
struct group {
  enum kind kind;
  size_t size;
  enum exercise ex;
  int debug;
};

#define NVALUES  7
#define NOFFSETS 4
static const char *const value_names[NVALUES] = {
    "0", "~0", "stack address", "live block", "0x1", "0x10", "forged link into a live block"};

/* The key links are mangled with (block.h), reachable because the test is
 * linked with the static library: the last value is a link forged by a
 * program that learnt it, pointing inside a live block of the same arena
 * (aligned like a real one), which only the header checks can refuse. */
extern uintptr_t link_secret;
static const size_t offsets[NOFFSETS] = {0, 8, 16, 24};

#define GROUP_MAX 128
static struct group groups[GROUP_MAX];
static int group_count;

static void add(enum kind k, size_t size, enum exercise ex, int debug) {
  if (group_count < GROUP_MAX) groups[group_count++] = (struct group){k, size, ex, debug};
}

/* The whole list, the same in parent and child. */
static void make_groups(void) {
  static const size_t cached[] = {32, 500, 2040}, medium[] = {3000, 20000, 100000},
                      overflow[] = {64, 1000}, remote[] = {256, 2000};
  for (int debug = 0; debug <= 1; debug++) {
    for (size_t i = 0; i < 3; i++)
      for (int e = E_SAME; e <= E_FORK; e++)
        if (!debug || e <= E_REALLOC) add(K_CACHED, cached[i], (enum exercise)e, debug);
    for (size_t i = 0; i < 3; i++)
      for (int e = E_SAME; e <= E_REALLOC; e++) add(K_MEDIUM, medium[i], (enum exercise)e, debug);
  }
  for (size_t i = 0; i < 2; i++)
    for (int e = E_SAME; e <= E_REALLOC; e++) add(K_OVERFLOW, overflow[i], (enum exercise)e, 0);
  for (size_t i = 0; i < 2; i++) {
    add(K_REMOTE, remote[i], E_SAME, 0); /* a medium malloc drains the remote list */
    add(K_REMOTE, remote[i], E_TRIM, 0);
  }
}

/* ---- in the child ----------------------------------------------------------- */

#define LIVE_MAX 2048
static unsigned char *live[LIVE_MAX];
static size_t live_size[LIVE_MAX];
static int live_count;

__attribute__((format(printf, 1, 2), noreturn)) static void wrong(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wrong result: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(3);
}

/* A block just handed out must be sound: aligned, big enough, apart from
 * every live block, writable.  It joins the live set. */
static unsigned char *take(void *q, size_t n) {
  unsigned char *p = q;
  if (p == NULL) wrong("malloc(%zu) failed", n);
  if ((uintptr_t)p & 15) wrong("malloc(%zu) = %p: misaligned", n, q);
  /* Before the allocator is asked anything about it. */
  for (int i = 0; i < live_count; i++)
    if (live[i] && p < live[i] + live_size[i] && live[i] < p + n)
      wrong("malloc(%zu) = %p overlaps live %p (+%zu)", n, q, (void *)live[i], live_size[i]);
  size_t u = hawk_usable_size(p);
  if (u < n) wrong("malloc(%zu) = %p: usable size %zu", n, q, u);
  for (int i = 0; i < live_count; i++)
    if (live[i] && p < live[i] + live_size[i] && live[i] < p + u)
      wrong("malloc(%zu) = %p (+%zu) overlaps live %p (+%zu)", n, q, u, (void *)live[i],
            live_size[i]);
  memset(p, 0x5a, u < 512 ? u : 256); /* both ends: writable */
  if (u >= 512) memset(p + u - 256, 0x5a, 256);
  if (live_count < LIVE_MAX) {
    live[live_count] = p;
    live_size[live_count++] = u;
  }
  return p;
}

static unsigned char *get(size_t n) { return take(hawk_malloc(n), n); }

/* Frees a block of the live set. */
static void drop(unsigned char *p) {
  for (int i = 0; i < live_count; i++)
    if (live[i] == p) live[i] = NULL;
  hawk_free(p);
}

/* Allocates pairs until the second directly follows the first (not in
 * debug mode, where the sizes differ): *lo, *hi.  Misses stay live. */
static void neighbours(size_t n, unsigned char **lo, unsigned char **hi) {
  for (int i = 0; i < 64; i++) {
    unsigned char *a = get(n), *b = get(n);
    *lo = a, *hi = b;
    if (b == a + hawk_usable_size(a) + 8) return;
    if (a == b + hawk_usable_size(b) + 8) {
      *lo = b, *hi = a;
      return;
    }
  }
}

/* The write after free. */
static void hostile_write(unsigned char *freed, size_t off, int value, unsigned char *other,
                          int payload_link) {
  _Alignas(16) unsigned char stack[32];
  uint64_t v = 0;
  switch (value) {
  case 0:
    v = 0;
    break;
  case 1:
    v = ~(uint64_t)0;
    break;
  case 2:
    v = (uint64_t)(uintptr_t)stack;
    break;
  case 3:
    v = (uint64_t)(uintptr_t)other;
    break;
  case 4:
    v = 1;
    break;
  case 5:
    v = 0x10;
    break;
  default: /* cache and remote lists link payloads, free lists blocks */
    v = (uint64_t)(uintptr_t)(other + (payload_link ? 32 : 24)) ^ link_secret;
    /* and where its links would be, the end of a list (NULL, mangled) */
    memcpy(other + 32, &link_secret, sizeof link_secret);
    memcpy(other + 40, &link_secret, sizeof link_secret);
    break;
  }
  memcpy(freed + off, &v, sizeof v);
  __asm__ volatile("" : : "r"(stack), "r"(freed) : "memory");
}

/* Every list reached: the cache flushed, mallocs of many sizes, the heap
 * checked. */
static void final_step(size_t size) {
  static const size_t sizes[] = {24,   48,   64,   100,  500,   1000,  1500,
                                 2040, 2500, 3000, 5000, 20000, 40000, 100000};
  hawk_trim();
  for (int k = 0; k < 40; k++) get(size);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) get(sizes[i]);
  hawk_trim();
  int problems = hawk_check();
  if (problems) wrong("hawk_check found %d problem(s)", problems);
}

/* The thread of the exit and fork exercises, and of the remote kind. */
struct helper {
  size_t size;
  unsigned char *freed;
  sem_t ready, go, done, finish;
  int remote;
  unsigned char *blocks[160];
  int nblocks;
};

static void *helper_main(void *arg) {
  struct helper *h = arg;
  if (h->remote) {
    /* Fill the cache list, then (once the heap's lock is held) one more
     * free overflows it: the most recent half goes to the remote list. */
    for (int i = 0; i < h->nblocks; i++) h->blocks[i] = hawk_malloc(h->size);
    for (int i = 0; i + 1 < h->nblocks; i++) hawk_free(h->blocks[i]);
    h->freed = h->blocks[h->nblocks - 2];
    sem_post(&h->ready);
    sem_wait(&h->go);
    hawk_free(h->blocks[h->nblocks - 1]);
    sem_post(&h->done);
  } else {
    unsigned char *keep = hawk_malloc(h->size);
    h->freed = hawk_malloc(h->size);
    unsigned char *keep2 = hawk_malloc(h->size);
    hawk_free(h->freed);
    sem_post(&h->ready);
    sem_wait(&h->go);
    hawk_free(keep);
    hawk_free(keep2);
  }
  sem_wait(&h->finish); /* until the main thread lets it exit */
  return NULL;
}

static struct helper *walk_helper;
static int walk_signalled;

/* hawk_walk's visitor runs with the heap's lock held: the helper's free
 * then cannot take it and leaves its blocks on the remote list. */
static void walk_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  (void)b;
  if (walk_signalled) return;
  walk_signalled = 1;
  sem_post(&walk_helper->go);
  sem_wait(&walk_helper->done);
}

/* The limit of a cache list of blocks of size bytes (tcache.c). */
static int list_limit(size_t block) {
  size_t n = 8192 / block;
  return n < 8 ? 8 : n > 128 ? 128 : (int)n;
}

static size_t block_of(size_t n) {
  size_t s = (n + 8 + 15) & ~(size_t)15;
  return s < 32 ? 32 : s;
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

static void run_case(const struct group *g, int value, size_t off) {
  size_t n = g->size;
  unsigned char *other = get(64); /* the "live block" value */
  unsigned char *freed = NULL, *before = NULL;
  struct helper *h = NULL;
  pthread_t thread;

  if (g->kind == K_REMOTE) {
    h = calloc(1, sizeof *h);
    h->size = n;
    h->remote = 1;
    h->nblocks = list_limit(block_of(n)) + 1;
    sem_init(&h->ready, 0, 0), sem_init(&h->go, 0, 0), sem_init(&h->done, 0, 0);
    sem_init(&h->finish, 0, 0);
    if (pthread_create(&thread, NULL, helper_main, h) != 0) wrong("pthread_create");
    sem_wait(&h->ready);
    walk_helper = h;
    hawk_walk(walk_visit, NULL);
    freed = h->freed;
  } else if (g->ex == E_EXIT || g->ex == E_FORK) {
    h = calloc(1, sizeof *h);
    h->size = n;
    sem_init(&h->ready, 0, 0), sem_init(&h->go, 0, 0), sem_init(&h->done, 0, 0);
    sem_init(&h->finish, 0, 0);
    if (pthread_create(&thread, NULL, helper_main, h) != 0) wrong("pthread_create");
    sem_wait(&h->ready);
    freed = h->freed;
  } else if (g->kind == K_OVERFLOW) {
    /* Blocks sorted by address, every other one freed: the last ones
     * freed before the list overflowed go to the free lists, between live
     * blocks. */
    int limit = list_limit(block_of(n)), m = 2 * (limit + 2) + 1;
    unsigned char *blocks[2 * 130 + 1];
    for (int i = 0; i < m; i++) blocks[i] = get(n);
    qsort(blocks, (size_t)m, sizeof blocks[0], cmp_ptr);
    int freed_count = 0;
    for (int i = 1; i < m && freed_count <= limit; i += 2, freed_count++) {
      if (freed_count == limit - 1) freed = blocks[i], before = blocks[i - 1];
      drop(blocks[i]);
    }
  } else {
    unsigned char *hi;
    neighbours(n, &before, &hi);
    get(n); /* a guard after it */
    freed = hi;
    drop(freed);
  }

  int payload_link = !g->debug && (g->kind == K_CACHED || g->kind == K_REMOTE);
  hostile_write(freed, off, value, other, payload_link);

  switch (g->ex) {
  case E_SAME:
    if (g->kind == K_REMOTE) {
      get(3000); /* the heap drains its remote list */
    } else {
      for (int k = 0; k < 2 * list_limit(block_of(n)) + 4; k++) get(n);
    }
    break;
  case E_OTHER: {
    size_t sizes[] = {n > 48 ? n - 16 : 24, n + 16, n / 2 + 8, 2 * n, 24, 1500, 3000, 70000};
    for (int round = 0; round < 4; round++)
      for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) get(sizes[i]);
    break;
  }
  case E_TRIM:
    hawk_trim();
    break;
  case E_REALLOC: {
    size_t u = hawk_usable_size(before);
    unsigned char *q = hawk_realloc(before, u + n / 2 + 16);
    if (q == NULL) wrong("realloc failed");
    for (size_t i = 0; i < (u < 256 ? u : 256); i++)
      if (q[i] != 0x5a) wrong("realloc lost byte %zu", i);
    for (int i = 0; i < live_count; i++)
      if (live[i] == before) live[i] = NULL;
    take(q, u + n / 2 + 16);
    break;
  }
  case E_EXIT:
    sem_post(&h->go);
    sem_post(&h->finish);
    pthread_join(thread, NULL); /* the helper's cache is given back */
    h = NULL;
    break;
  case E_FORK: {
    fflush(NULL);
    pid_t pid = fork(); /* the child gives the helper's cache back */
    if (pid < 0) wrong("fork");
    if (pid == 0) {
      final_step(n);
      _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) wrong("waitpid");
    if (WIFSIGNALED(status)) {
      signal(WTERMSIG(status), SIG_DFL);
      raise(WTERMSIG(status)); /* the same end as the child's */
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) _exit(WEXITSTATUS(status));
    break;
  }
  }
  if (h) { /* let the helper finish */
    if (!h->remote) sem_post(&h->go);
    sem_post(&h->finish);
    pthread_join(thread, NULL);
  }
  final_step(n);
}

/* ---- in the parent ---------------------------------------------------------- */

/* Runs case index c (group c / 24, value, offset) in a fresh process;
 * returns 1 when its outcome passes, else prints why. */
static int run_child(const char *self, int c) {
  const struct group *g = &groups[c / (NVALUES * NOFFSETS)];
  int pipefd[2];
  if (pipe(pipefd) != 0) return 0;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], 2);
    dup2(pipefd[1], 1);
    char arg[16];
    snprintf(arg, sizeof arg, "%d", c);
    setenv("HAWKALLOC_DEBUG", g->debug ? "1" : "0", 1);
    if (g->kind == K_REMOTE) setenv("HAWKALLOC_HEAPS", "1", 1);
    char *const argv[] = {(char *)self, "--case", arg, NULL};
    execve(self, argv, environ);
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof buf - 1 && (r = read(pipefd[0], buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)r;
  buf[len] = 0;
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int ok;
  const char *why = "";
  if (WIFEXITED(status)) {
    ok = WEXITSTATUS(status) == 0;
    why = "exited with a wrong result";
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
    ok = strncmp(buf, "hawkalloc: ", 11) == 0 && len > 0 && buf[len - 1] == '\n' &&
         strchr(buf, '\n') == buf + len - 1;
    why = "aborted without exactly one \"hawkalloc:\" line";
  } else {
    ok = 0;
    why = "crashed";
  }
  if (!ok) {
    int v = c / NOFFSETS % NVALUES;
    size_t off = offsets[c % NOFFSETS];
    fprintf(stderr, "    %s: value %s at offset %zu: %s (", why, value_names[v], off,
            WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
    if (WIFEXITED(status)) fprintf(stderr, "%d", WEXITSTATUS(status));
    fprintf(stderr, "); output: %s%s", buf, len && buf[len - 1] == '\n' ? "" : "\n");
  }
  return ok;
}

int main(int argc, char **argv) {
  make_groups();
  if (argc == 3 && strcmp(argv[1], "--case") == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    int c = atoi(argv[2]);
    if (c < 0 || c >= group_count * NVALUES * NOFFSETS) return 2;
    run_case(&groups[c / (NVALUES * NOFFSETS)], c / NOFFSETS % NVALUES, offsets[c % NOFFSETS]);
    return 0;
  }
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  const char *self = "/proc/self/exe";
  char path[4096];
  ssize_t pl = readlink(self, path, sizeof path - 1);
  if (pl > 0) {
    path[pl] = 0;
    self = path;
  }
  int passed = 0, failed = 0;
  for (int gi = 0; gi < group_count; gi++) {
    const struct group *g = &groups[gi];
    char name[128];
    snprintf(name, sizeof name, "write_after_free_%s_%zu_%s%s", kind_names[g->kind], g->size,
             exercise_names[g->ex], g->debug ? "_debug" : "");
    if (argc > 1 && !strstr(name, argv[1])) continue;
    int bad = 0, ran = 0;
    for (int k = 0; k < NVALUES * NOFFSETS; k++) {
      /* Debug mode fills every new arena and freed block: a third of the
       * values at the link offsets is enough there. */
      int v = k / NOFFSETS, o = k % NOFFSETS;
      if (g->debug && (o > 1 || (v != 0 && v != 3 && v != 6))) continue;
      ran++;
      if (!run_child(self, gi * NVALUES * NOFFSETS + k)) bad++;
    }
    if (bad) {
      failed++;
      printf("FAIL %s (%d of %d variants)\n", name, bad, ran);
    } else {
      passed++;
      printf("ok   %s\n", name);
    }
    fflush(stdout);
  }
  printf("%d passed, %d failed, 0 skipped\n", passed, failed);
  return failed ? 1 : 0;
}

#else

#include <stdio.h>
int main(void) {
  printf("skip hostile inputs: a sanitizer build (the cases run the library's own malloc)\n");
  printf("0 passed, 0 failed, 1 skipped\n");
  return 0;
}

#endif
