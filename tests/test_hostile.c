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
 * The other classes of hostile input (docs/security.md), each in a child
 * with the same classification, under every policy, debug off and on:
 *
 *   option_*       every HAWKALLOC_* variable malformed, out of range or
 *                  naming a file that cannot be written; then a workload
 *   limit_*        an address-space limit (16 to 96 MB): allocate every
 *                  kind of block until the OS refuses, free, allocate again
 *   released_*     pointers into memory the allocator gave back: a second
 *                  free, a pointer into the program's own mapping there
 *   descriptors_*  a program that closes every descriptor and reopens data
 *                  files in their place, traced and with statistics on
 *   alignment_*    the aligned family with alignments and sizes at and past
 *                  every limit
 *   heap_*         created heaps' handles and blocks misused, limits and
 *                  counts at every extreme
 *   api_*          hostile values from the program's side of the API (a
 *                  NULL where posix_memalign stores the block's address;
 *                  a walk's visitor or an events recorder that calls into
 *                  the library)
 *
 * And, debug off, under every policy:
 *
 *   large_header_overwritten_*  a write before a large block's payload into
 *                  its mapping's header (default and created heaps), then
 *                  free, realloc, hawk_check, hawk_walk or destroy
 *   footer_of_a_freed_block_overwritten_*  a write over the footer of a
 *                  block on a free list, then the free that merges through it
 *   write_past_a_freed_block_*  a write past the end of a freed block into
 *                  the next header, then the malloc that takes it whole, or
 *                  the free or realloc that merges it
 *   large_offset_past_its_mapping_*  a large block's payload offset made to
 *                  lead past its mapping, inside its chunk, then free,
 *                  free of its neighbours, hawk_check, hawk_walk or destroy
 *   double_free_after_realloc_grew_over_the_cached_block_*  a second free
 *                  or a realloc of a cached block realloc grew its
 *                  neighbour over
 *   cache_list_forged_into_a_cycle_then_overflow  a cache list bent into a
 *                  cycle (a link forged with the secret), then its overflow
 *   arena_header_overwritten_past_the_arena_below_*  an overflow past the
 *                  last block of an arena into the header of the arena
 *                  above it, then every walk of the arenas (a created
 *                  heap's too: hawk_heap_stats, hawk_walk), calloc, a
 *                  refused malloc, a created heap's destroy; a free,
 *                  realloc or malloc_usable_size of one of that arena's
 *                  blocks (the line must say the header was overwritten)
 *   cached_empty_arena_link_forged_*  the list link of an arena in the
 *                  cache of empty arenas forged, or its head overwritten,
 *                  then the mallocs that take cached arenas, hawk_check,
 *                  malloc_trim, mallopt(M_TRIM_THRESHOLD, 0)
 *   cached_empty_arena_overwritten_then_check  the header of a cached
 *                  empty arena or of its first block overwritten, then
 *                  hawk_check, which must report it
 *   free_list_link_forged_into_a_large_block_*  a free block's link forged
 *                  (with the key) into a large block's mapping, live or
 *                  given back, then the merge that unlinks the block
 *   remote_list_link_forged_misaligned_in_its_arena  a remote list's link
 *                  forged (with the key and the mark) to a misaligned
 *                  address of its own arena, then the drain (the line must
 *                  name the link)
 *
 * Under the sanitizers (built with -DHAWK_NO_OVERRIDE) there is no case:
 * ASan would report the writes itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

#define NVALUES  10
#define NOFFSETS 4
static const char *const value_names[NVALUES] = {"0",
                                                 "~0",
                                                 "stack address",
                                                 "live block",
                                                 "0x1",
                                                 "0x10",
                                                 "forged link into a live block",
                                                 "forged link into the arena's head",
                                                 "forged link to a cached block of another size",
                                                 "forged link to an unmapped address"};

/* The key links are mangled with (block.h), reachable because the test is
 * linked with the static library: the last four values are links forged by
 * a program that learnt it: one pointing inside a live block of the same arena
 * (aligned like a real one), which only the header checks can refuse; then
 * a link into the first bytes of the arena the freed block lies in (4 MiB
 * aligned, config.h), where no header can be read; then a link to a block
 * cached in the list of another size; then a link to an aligned address
 * that nothing maps (0x10, or 0x18 where links are blocks' addresses). */
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

/* Takes a block out of the live set (another thread frees it). */
static void forget(const unsigned char *p) {
  for (int i = 0; i < live_count; i++)
    if (live[i] == p) live[i] = NULL;
}

/* Frees a block of the live set. */
static void drop(unsigned char *p) {
  forget(p);
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

static size_t block_of(size_t n) {
  size_t s = (n + 8 + 15) & ~(size_t)15;
  return s < 32 ? 32 : s;
}

/* A block cached (or listed) in the list of another size than the freed
 * block's: smaller when it can be, so a pop that took it for a block of the
 * freed one's list would hand out too little room.  Made before the freed
 * block is chosen, so that making it moves nothing the case set up. */
static unsigned char *other_list_block;
static void make_other_list_block(size_t n) {
  size_t block = block_of(n);
  other_list_block = malloc(block > 100 ? block / 2 - 8 : block + 100);
  free(other_list_block);
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
  case 7:
    v = (((uint64_t)(uintptr_t)freed & ~(uint64_t)((4u << 20) - 1)) + (payload_link ? 0 : 8)) ^
        link_secret;
    break;
  case 8:
    v = (uint64_t)(uintptr_t)(other_list_block - (payload_link ? 0 : 8)) ^ link_secret;
    break;
  case 9:
    v = (payload_link ? 0x10 : 0x18) ^ link_secret;
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

/* The limit of a cache list of blocks of size bytes (tcache.c). */
static int list_limit(size_t block) {
  size_t n = 8192 / block;
  return n < 8 ? 8 : n > 128 ? 128 : (int)n;
}

/* Every list reached: the cache flushed, mallocs of many sizes, every live
 * block freed (a free block between live ones, which no search may ever
 * take, is unlinked as they merge with it: its links followed), the heap
 * checked. */
static void final_step(size_t size) {
  static const size_t sizes[] = {24,   48,   64,   100,  500,   1000,  1500,
                                 2040, 2500, 3000, 5000, 20000, 40000, 100000};
  hawk_trim();
  /* as many as a list holds twice: the heap's list of the size is reached
   * past the cache's (the overflow kind leaves half a list there) */
  for (int k = 0; k < 2 * list_limit(block_of(size)) + 4; k++) get(size);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) get(sizes[i]);
  for (int i = 0; i < live_count; i++)
    if (live[i]) drop(live[i]);
  hawk_trim();
  int problems = hawk_check();
  if (problems) wrong("hawk_check found %d problem(s)", problems);
}

/* The thread of the exit and fork exercises, and of the overflow and remote
 * kinds. */
struct helper {
  size_t size;
  unsigned char *freed;
  sem_t ready, go, done, finish;
  int remote, overflow;
  unsigned char *blocks[160];
  int nblocks;
};

static void *helper_main(void *arg) {
  struct helper *h = arg;
  /* The overflow and remote kinds free blocks the main thread allocated:
   * this thread never allocated their size, so its list of that size starts
   * empty, at its first limit, with nothing refilled into it, and the free
   * past that limit overflows it (a list grows at an overflow only by what
   * refills brought into it since the last one, tcache.c's growth: when
   * this thread allocated the blocks itself, the free past the limit grew
   * the list, and the block stayed in the cache). */
  if (h->remote) {
    /* Fill the cache list, then (once the heap's lock is held) one more
     * free overflows it: the most recent half goes to the remote list. */
    for (int i = 0; i + 1 < h->nblocks; i++) hawk_free(h->blocks[i]);
    h->freed = h->blocks[h->nblocks - 2];
    sem_post(&h->ready);
    sem_wait(&h->go);
    hawk_free(h->blocks[h->nblocks - 1]);
    sem_post(&h->done);
  } else if (h->overflow) {
    /* The list filled and overflowed: the most recent half goes to the
     * heap's free lists at once (its lock is free). */
    for (int i = 0; i < h->nblocks; i++) hawk_free(h->blocks[i]);
    sem_post(&h->ready);
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

/* A helper of the exit, fork, overflow or remote kind for blocks of n
 * bytes; start_helper starts it once its blocks and mode are set. */
static struct helper *new_helper(size_t n) {
  struct helper *h = calloc(1, sizeof *h);
  if (h == NULL) wrong("calloc");
  h->size = n;
  sem_init(&h->ready, 0, 0), sem_init(&h->go, 0, 0), sem_init(&h->done, 0, 0);
  sem_init(&h->finish, 0, 0);
  return h;
}

/* Starts helper h and waits until it has done its first part. */
static void start_helper(struct helper *h, pthread_t *thread) {
  if (pthread_create(thread, NULL, helper_main, h) != 0) wrong("pthread_create");
  sem_wait(&h->ready);
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

static void run_case(const struct group *g, int value, size_t off) {
  size_t n = g->size;
  unsigned char *other = get(64); /* the "live block" value */
  if (value == 8) make_other_list_block(n);
  unsigned char *freed = NULL, *before = NULL;
  struct helper *h = NULL;
  pthread_t thread;

  if (g->kind == K_REMOTE) {
    h = new_helper(n);
    h->remote = 1;
    h->nblocks = list_limit(block_of(n)) + 1;
    for (int i = 0; i < h->nblocks; i++) h->blocks[i] = get(n);
    for (int i = 0; i < h->nblocks; i++) forget(h->blocks[i]);
    start_helper(h, &thread);
    walk_helper = h;
    hawk_walk(walk_visit, NULL);
    freed = h->freed;
  } else if (g->ex == E_EXIT || g->ex == E_FORK) {
    h = new_helper(n);
    start_helper(h, &thread);
    freed = h->freed;
  } else if (g->kind == K_OVERFLOW) {
    /* Blocks sorted by address, every other one freed by the helper: the
     * last ones freed before its list overflowed go to the free lists,
     * between live blocks. */
    int limit = list_limit(block_of(n)), m = 2 * (limit + 2) + 1;
    unsigned char *blocks[2 * 130 + 1];
    for (int i = 0; i < m; i++) blocks[i] = get(n);
    qsort(blocks, (size_t)m, sizeof blocks[0], cmp_ptr);
    h = new_helper(n);
    h->overflow = 1;
    for (int i = 1; i < m && h->nblocks <= limit; i += 2) {
      if (h->nblocks == limit - 1) freed = blocks[i], before = blocks[i - 1];
      forget(blocks[i]);
      h->blocks[h->nblocks++] = blocks[i];
    }
    start_helper(h, &thread);
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

/* ---- the other classes -------------------------------------------------------- */

#define MB ((size_t)1 << 20)

/* A workload that touches every path: sizes of every kind in two threads,
 * realloc up and down, calloc, the aligned family, frees, trim, check. */
static void *workload_thread(void *arg) {
  (void)arg;
  static const size_t sizes[] = {1, 24, 100, 1000, 2040, 3000, 40000, 300000, 2 * MB};
  for (int round = 0; round < 20; round++) {
    void *p[9];
    for (int i = 0; i < 9; i++) {
      p[i] = hawk_malloc(sizes[i]);
      if (p[i] == NULL) return (void *)1;
      memset(p[i], i, sizes[i]);
    }
    for (int i = 0; i < 9; i++) {
      unsigned char *q = hawk_realloc(p[i], sizes[(i + round) % 9] + 1);
      if (q == NULL || q[0] != (unsigned char)i) return (void *)1;
      p[i] = q;
    }
    for (int i = 0; i < 9; i++) hawk_free(p[i]);
  }
  return NULL;
}

static void workload(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, workload_thread, NULL) != 0) wrong("pthread_create");
  void *mine = workload_thread(NULL);
  void *theirs;
  pthread_join(t, &theirs);
  if (mine || theirs) wrong("the workload's allocations failed or lost their contents");
  unsigned char *z = hawk_calloc(1000, 100);
  if (z == NULL) wrong("calloc");
  for (size_t i = 0; i < 100000; i++)
    if (z[i]) wrong("calloc's byte %zu is not zero", i);
  hawk_free(z);
  void *a = hawk_aligned_alloc(4096, 5000);
  if (a == NULL || (uintptr_t)a % 4096) wrong("aligned_alloc");
  hawk_free(a);
  hawk_trim();
  if (hawk_check() != 0) wrong("hawk_check");
}

/* Allocates blocks of one kind until the OS refuses (NULL and ENOMEM, never
 * a crash), frees them all, and does it again: the second round must get at
 * least 90% of the first (docs/security.md: nothing lost). */
static size_t fill(size_t n, size_t align, int how) {
  static void *held[1 << 18];
  size_t count = 0;
  for (;;) {
    errno = 0;
    void *p = how == 0   ? hawk_malloc(n)
              : how == 1 ? hawk_calloc(1, n)
              : how == 2 ? hawk_aligned_alloc(align, n)
                         : hawk_realloc(hawk_malloc(16), n);
    if (p == NULL) {
      if (errno != ENOMEM) wrong("a failed allocation set errno %d, not ENOMEM", errno);
      break;
    }
    if (align && (uintptr_t)p % align) wrong("misaligned");
    ((unsigned char *)p)[0] = 1;
    ((unsigned char *)p)[n - 1] = 2;
    if (count == sizeof held / sizeof held[0]) {
      hawk_free(p);
      break;
    }
    held[count++] = p;
  }
  for (size_t i = 0; i < count; i++) hawk_free(held[i]);
  return count;
}

static void limit_case(size_t limit, size_t n, size_t align, int how) {
  struct rlimit r = {limit, limit};
  if (setrlimit(RLIMIT_AS, &r) != 0) wrong("setrlimit");
  size_t first = fill(n, align, how), second = fill(n, align, how);
  /* A quarter of the limit at least is the program's to use (the program
   * and its libraries take some). */
  if (first * n < limit / 4) wrong("only %zu blocks of %zu bytes under %zu bytes", first, n, limit);
  if (second * 10 < first * 9)
    wrong("the second round got %zu blocks, the first %zu", second, first);
  if (hawk_check() != 0) wrong("hawk_check");
}

/* A large block freed, its range mapped again by the program: a pointer
 * into that mapping is not HawkAlloc's (an abort naming it so). */
static void released_case(int which) {
  unsigned char *big = hawk_malloc(8 * MB);
  if (big == NULL) wrong("malloc");
  hawk_free(big);
  hawk_trim(); /* the spare mapping goes back to the OS */
  if (which == 0) {
    hawk_free(big); /* a double free: its memory was released */
  } else {
    /* The block's own mapping started on the page big lies in. */
    unsigned char *start = (unsigned char *)((uintptr_t)big & ~(uintptr_t)4095);
    void *m = mmap(start, 8 * MB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m != start) wrong("the released range could not be mapped again");
    hawk_free(which == 1 ? big : big + 4096);
  }
  wrong("a pointer into released memory was accepted");
}

/* A daemon's start: every descriptor closed, data files at every low
 * number (2 among them), allocations traced and statistics on; every data
 * file must hold exactly what the program wrote. */
static void descriptors_case(const char *dir) {
  close_range(0, ~0u, 0);
  int fds[40];
  char path[4200];
  for (int i = 0; i < 40; i++) {
    snprintf(path, sizeof path, "%s/data%d", dir, i);
    fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fds[i] < 0) _exit(4);
    if (write(fds[i], "data;", 5) != 5) _exit(5);
  }
  workload();
  for (int i = 0; i < 40; i++) {
    char buf[64];
    ssize_t n = pread(fds[i], buf, sizeof buf, 0);
    if (n != 5 || memcmp(buf, "data;", 5) != 0) _exit(6);
  }
  exit(0); /* the statistics and the trace's last records go out at exit */
}

/* The aligned family with every awkward alignment and size: each call
 * gives NULL with the documented errno or a sound block. */
static void alignment_case(void) {
  static const size_t aligns[] = {0,
                                  1,
                                  3,
                                  8,
                                  12,
                                  16,
                                  24,
                                  4095,
                                  4097,
                                  (size_t)1 << 21,
                                  (size_t)1 << 40,
                                  ((size_t)1 << 63) + 1,
                                  SIZE_MAX / 2,
                                  SIZE_MAX};
  static const size_t sizes[] = {0, 1, 100, 5000, 2 * MB, PTRDIFF_MAX, SIZE_MAX - 4096, SIZE_MAX};
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
      size_t a = aligns[i], n = sizes[j];
      for (int f = 0; f < 5; f++) {
        void *p = NULL;
        errno = 0;
        if (f == 0) {
          int rc = hawk_posix_memalign(&p, a, n);
          if (rc != 0 && rc != EINVAL && rc != ENOMEM) wrong("posix_memalign returned %d", rc);
        } else {
          p = f == 1   ? hawk_aligned_alloc(a, n)
              : f == 2 ? hawk_memalign(a, n)
              : f == 3 ? hawk_valloc(n)
                       : hawk_pvalloc(n);
          if (p == NULL && errno != EINVAL && errno != ENOMEM) wrong("errno %d", errno);
        }
        if (p) {
          /* The alignment in force: valloc and pvalloc a page, memalign a
           * rounded up to a power of two, the others a itself; 16 at least. */
          size_t want = f >= 3 ? (size_t)sysconf(_SC_PAGESIZE) : 16;
          if (f < 3 && a > 16) {
            want = 16;
            while (want < a && want <= ((size_t)1 << 62)) want <<= 1;
          }
          if ((uintptr_t)p % want) wrong("call %d (%zu, %zu) = %p: misaligned", f, a, n, p);
          if (hawk_usable_size(p) < n) wrong("call %d (%zu, %zu): too small", f, a, n);
          if (n) memset(p, 0x11, n < 4096 ? n : 4096);
          hawk_free(p);
        }
      }
    }
  if (hawk_check() != 0) wrong("hawk_check");
}

/* A write before a large block's payload (an underflow of up to 48 bytes)
 * into its mapping's header, in the default heaps or a created heap: word
 * w (0-5: the magic, the length, the payload's offset, the list links, the
 * owner, the block header) of the mapping made one of a few values, then
 * free, realloc, hawk_check, or hawk_walk (default) / hawk_heap_destroy
 * (created).  Nothing may be unmapped or written by a damaged length or
 * link: an abort with one line, or correct results. */
#define LH_WORDS  6
#define LH_VALUES 5
#define LH_EX     4
static const char *const lh_ex_names[LH_EX] = {"free", "realloc", "check", "walk_or_destroy"};

static void walk_nothing(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  (void)b;
}

static void large_header_case(int c) {
  int heap = c / (LH_WORDS * LH_VALUES * LH_EX), word = c / (LH_VALUES * LH_EX) % LH_WORDS;
  int value = c / LH_EX % LH_VALUES, ex = c % LH_EX;
  struct hawk_heap *h = heap ? hawk_heap_create(NULL) : hawk_heap_default();
  unsigned char *keep = hawk_heap_malloc(h, 2 * MB), *p = hawk_heap_malloc(h, 2 * MB),
                *keep2 = hawk_heap_malloc(h, 2 * MB);
  if (!keep || !p || !keep2) wrong("malloc");
  uint64_t *base = (uint64_t *)((uintptr_t)p & ~(uintptr_t)((4 * MB) - 1));
  const uint64_t values[LH_VALUES] = {0, ~(uint64_t)0, 0x10,
                                      (uint64_t)((uintptr_t)keep & ~(uintptr_t)((4 * MB) - 1)),
                                      (uint64_t)1 << 30};
  base[word] = values[value];
  switch (ex) {
  case 0:
    hawk_free(p);
    break;
  case 1: {
    unsigned char *q = hawk_realloc(p, 3 * MB);
    hawk_free(q ? q : p);
    break;
  }
  case 2:
    hawk_check(); /* may find problems (lines), never crash */
    _exit(0);
  default:
    if (heap) {
      hawk_heap_destroy(h);
      if (hawk_check() != 0) wrong("hawk_check after the destroy");
    } else {
      hawk_walk(walk_nothing, NULL);
    }
    _exit(0);
  }
  hawk_free(keep);
  hawk_free(keep2);
  if (hawk_check() != 0) wrong("hawk_check");
  _exit(0);
}

/* hawk_walk's visitor and hawk_events' recorder that call into the
 * library, which they must not: once, on the first block of the kind
 * api_callback_state names (-1: any). */
static int api_callback_which, api_callback_state, api_callback_done;
static void *api_callback_victim;

static void api_callback_call(void) {
  if (api_callback_done++) return;
  if (api_callback_which == 3 || api_callback_which == 5)
    hawk_check();
  else
    hawk_free(api_callback_victim);
}

static void api_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  if (api_callback_state < 0 || b->state == api_callback_state) api_callback_call();
}

static void api_record(void *ctx, const struct hawk_event *e) {
  (void)ctx;
  (void)e;
  api_callback_call();
}

/* Hostile values from the program's side of the API: each variant must
 * abort with one line, or give the documented result, within the alarm.
 * Found at ff3fd6a: posix_memalign stored the block's address through a
 * NULL out (SIGSEGV inside the allocator, as glibc's does, the block
 * lost); a visitor or recorder that called into the library waited for
 * ever for the lock its own call held (a heap's, or the large blocks'). */
static void api_case(int which) {
  alarm(10);
  api_callback_which = which;
  api_callback_state = -1;
  switch (which) {
  case 0:
    if (hawk_posix_memalign(NULL, 64, 100) == 0) wrong("posix_memalign into NULL succeeded");
    break;
  case 1: /* a medium block freed by the visitor of an arena block */
  case 2: /* a large block freed by the visitor of a large block */
  case 3: /* hawk_check called by the visitor */
    api_callback_victim = hawk_malloc(which == 2 ? 3 * MB : 100000);
    if (which == 2) api_callback_state = HAWK_BLOCK_LARGE;
    hawk_walk(api_visit, NULL);
    break;
  default: /* a recorder that frees a block (4) or calls hawk_check (5) */
    api_callback_victim = hawk_malloc(100000);
    if (hawk_events(api_record, NULL) != 0) wrong("hawk_events");
    hawk_free(hawk_malloc(200000));
    hawk_events(NULL, NULL);
    break;
  }
  if (hawk_check() != 0) wrong("hawk_check");
}

/* Created heaps' handles and blocks misused: each variant must abort with
 * one line (what names the problem), but the last, where limits and counts
 * at every extreme must give NULL and the documented errno, or a refusal
 * in one line. */
static void heap_handle_case(int which) {
  _Alignas(16) unsigned char stack[64];
  struct hawk_heap *h = hawk_heap_create(NULL);
  if (h == NULL) wrong("hawk_heap_create");
  void *small = hawk_heap_malloc(h, 100), *large = hawk_heap_malloc(h, 3 * MB);
  switch (which) {
  case 0:
    hawk_heap_destroy(NULL);
    break;
  case 1:
    hawk_heap_destroy((struct hawk_heap *)stack);
    break;
  case 2:
    hawk_heap_destroy(h);
    hawk_heap_destroy(h);
    break;
  case 3:
    hawk_heap_destroy(hawk_heap_default());
    break;
  case 4:
    hawk_heap_destroy((struct hawk_heap *)((char *)h + 8));
    break;
  case 5:
    hawk_heap_malloc((struct hawk_heap *)~(uintptr_t)0, 10);
    break;
  case 6:
    hawk_heap_destroy(h);
    hawk_heap_calloc(h, 1, 10);
    break;
  case 7:
    hawk_heap_destroy(h);
    hawk_free(small);
    break;
  case 8:
    hawk_heap_destroy(h);
    hawk_free(large);
    break;
  case 9:
    hawk_heap_destroy(h);
    hawk_realloc(small, 1000);
    break;
  case 10:
    hawk_heap_stats((struct hawk_heap *)stack, NULL, 0);
    break;
  default: {
    static const size_t limits[] = {0,       31, 32, 4096, (size_t)1 << 48, ((size_t)1 << 48) + 1,
                                    SIZE_MAX};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
      struct hawk_heap_options o = HAWK_HEAP_OPTIONS_INIT;
      o.limit = limits[i];
      errno = 0;
      struct hawk_heap *z = hawk_heap_create(&o);
      if (z == NULL) {
        if (errno != EINVAL) wrong("a refused limit %zu set errno %d", limits[i], errno);
        continue;
      }
      errno = 0;
      if (hawk_heap_malloc(z, SIZE_MAX) || hawk_heap_malloc(z, PTRDIFF_MAX) ||
          hawk_heap_calloc(z, SIZE_MAX / 2, 3) || hawk_heap_aligned_alloc(z, (size_t)1 << 62, 1))
        wrong("a huge request in a heap of limit %zu succeeded", limits[i]);
      void *p = hawk_heap_malloc(z, 100);
      if (limits[i] == 32 ? p != NULL : p == NULL) wrong("malloc(100) under limit %zu", limits[i]);
      hawk_free(p);
      if (hawk_heap_check(z) != 0) wrong("hawk_heap_check");
      hawk_heap_destroy(z);
    }
    hawk_heap_destroy(h);
    if (hawk_check() != 0) wrong("hawk_check");
    return;
  }
  }
  wrong("heap misuse %d was accepted", which);
}

/* The other cases: a name, variables for the child, what it runs. */
struct other {
  const char *name;
  const char *env[3];
  int what; /* which of the functions above, with arg */
  size_t arg;
};

enum {
  O_WORKLOAD,
  O_LIMIT_SMALL,
  O_LIMIT_MEDIUM,
  O_LIMIT_LARGE,
  O_LIMIT_ALIGNED,
  O_LIMIT_CALLOC,
  O_LIMIT_REALLOC,
  O_RELEASED,
  O_DESCRIPTORS,
  O_ALIGNMENT,
  O_HEAP_HANDLE,
  O_API
};

static const struct other others[] = {
    {"option_heaps_not_a_number", {"HAWKALLOC_HEAPS=abc"}, O_WORKLOAD, 0},
    {"option_heaps_past_64_bits", {"HAWKALLOC_HEAPS=18446744073709551617"}, O_WORKLOAD, 0},
    {"option_heaps_negative", {"HAWKALLOC_HEAPS=-1"}, O_WORKLOAD, 0},
    {"option_heaps_huge", {"HAWKALLOC_HEAPS=99999999999"}, O_WORKLOAD, 0},
    {"option_debug_yes", {"HAWKALLOC_DEBUG=yes"}, O_WORKLOAD, 0},
    {"option_stats_2", {"HAWKALLOC_STATS=2"}, O_WORKLOAD, 0},
    {"option_check_every_past_64_bits",
     {"HAWKALLOC_CHECK_EVERY=99999999999999999999999"},
     O_WORKLOAD,
     0},
    {"option_decay_ms_past_64_bits", {"HAWKALLOC_DECAY_MS=99999999999999999999999"}, O_WORKLOAD, 0},
    {"option_decay_ms_1", {"HAWKALLOC_DECAY_MS=1"}, O_WORKLOAD, 0},
    {"option_policy_unknown", {"HAWKALLOC_POLICY=worst-fit"}, O_WORKLOAD, 0},
    {"option_trace_unwritable", {"HAWKALLOC_TRACE=/nonexistent/dir/t.trace"}, O_WORKLOAD, 0},
    {"option_trace_full_device", {"HAWKALLOC_TRACE=/dev/full"}, O_WORKLOAD, 0},
    {"option_map_unwritable", {"HAWKALLOC_MAP=/nonexistent/dir/m.svg"}, O_WORKLOAD, 0},
    {"option_map_a_directory", {"HAWKALLOC_MAP=/tmp"}, O_WORKLOAD, 0},
    {"option_values_with_a_newline",
     {"HAWKALLOC_HEAPS=1\n2", "HAWKALLOC_POLICY=best\nfit\x7f\x1b[2J",
      "HAWKALLOC_MAP=/nonexistent/a\nb"},
     O_WORKLOAD,
     0},
    {"option_everything_at_once",
     {"HAWKALLOC_HEAPS=x", "HAWKALLOC_CHECK_EVERY=-5", "HAWKALLOC_TRACE=/dev/full"},
     O_WORKLOAD,
     0},
    {"limit_16MB_small", {NULL}, O_LIMIT_SMALL, 16},
    {"limit_24MB_medium", {NULL}, O_LIMIT_MEDIUM, 24},
    {"limit_48MB_large", {NULL}, O_LIMIT_LARGE, 48},
    {"limit_96MB_aligned", {NULL}, O_LIMIT_ALIGNED, 96},
    {"limit_32MB_calloc", {NULL}, O_LIMIT_CALLOC, 32},
    {"limit_40MB_realloc", {NULL}, O_LIMIT_REALLOC, 40},
    {"released_large_freed_twice", {NULL}, O_RELEASED, 0},
    {"released_large_mapped_by_the_program", {NULL}, O_RELEASED, 1},
    {"released_large_interior_of_the_programs_mapping", {NULL}, O_RELEASED, 2},
    {"descriptors_all_closed_and_reused", {"HAWKALLOC_STATS=1"}, O_DESCRIPTORS, 0},
    {"alignment_every_limit", {NULL}, O_ALIGNMENT, 0},
    {"heap_destroy_null", {NULL}, O_HEAP_HANDLE, 0},
    {"heap_destroy_a_stack_address", {NULL}, O_HEAP_HANDLE, 1},
    {"heap_destroy_twice", {NULL}, O_HEAP_HANDLE, 2},
    {"heap_destroy_the_default_heap", {NULL}, O_HEAP_HANDLE, 3},
    {"heap_destroy_inside_a_descriptor", {NULL}, O_HEAP_HANDLE, 4},
    {"heap_malloc_in_all_ones", {NULL}, O_HEAP_HANDLE, 5},
    {"heap_calloc_in_a_destroyed_heap", {NULL}, O_HEAP_HANDLE, 6},
    {"heap_free_of_a_destroyed_heaps_block", {NULL}, O_HEAP_HANDLE, 7},
    {"heap_free_of_a_destroyed_heaps_large_block", {NULL}, O_HEAP_HANDLE, 8},
    {"heap_realloc_of_a_destroyed_heaps_block", {NULL}, O_HEAP_HANDLE, 9},
    {"heap_stats_of_a_stack_address", {NULL}, O_HEAP_HANDLE, 10},
    {"heap_limits_and_counts_at_every_extreme", {NULL}, O_HEAP_HANDLE, 11},
    {"api_posix_memalign_into_null", {NULL}, O_API, 0},
    {"api_walk_visitor_frees_a_block", {NULL}, O_API, 1},
    {"api_walk_visitor_frees_a_large_block", {NULL}, O_API, 2},
    {"api_walk_visitor_calls_hawk_check", {NULL}, O_API, 3},
    {"api_events_recorder_frees_a_block", {NULL}, O_API, 4},
    {"api_events_recorder_calls_hawk_check", {NULL}, O_API, 5},
};
#define NOTHERS (sizeof others / sizeof others[0])

static void run_other(size_t i, const char *dir) {
  const struct other *o = &others[i];
  switch (o->what) {
  case O_WORKLOAD:
    workload();
    break;
  case O_LIMIT_SMALL:
    limit_case(o->arg * MB, 48, 0, 0);
    break;
  case O_LIMIT_MEDIUM:
    limit_case(o->arg * MB, 3000, 0, 0);
    break;
  case O_LIMIT_LARGE:
    limit_case(o->arg * MB, 3 * MB, 0, 0);
    break;
  case O_LIMIT_ALIGNED:
    limit_case(o->arg * MB, 5000, 4096, 2);
    break;
  case O_LIMIT_CALLOC:
    limit_case(o->arg * MB, 700, 0, 1);
    break;
  case O_LIMIT_REALLOC:
    limit_case(o->arg * MB, 20000, 0, 3);
    break;
  case O_RELEASED:
    released_case((int)o->arg);
    break;
  case O_DESCRIPTORS:
    descriptors_case(dir);
    break;
  case O_API:
    api_case((int)o->arg);
    break;
  case O_ALIGNMENT:
    alignment_case();
    break;
  case O_HEAP_HANDLE:
    heap_handle_case((int)o->arg);
    break;
  }
}

/* ---- in the parent ---------------------------------------------------------- */

/* Runs argv in a fresh process with the variables of env added (a NULL
 * ends the list), its stdout and stderr caught in buf (NUL-terminated, *len
 * bytes); returns its wait status, or -1 if it could not start. */
static int spawn(char *const argv[], char *const env[], char *buf, size_t size, size_t *len) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(pipefd[0]);
    dup2(pipefd[1], 2);
    dup2(pipefd[1], 1);
    for (int k = 0; env[k]; k++) putenv(env[k]);
    /* A case takes well under a second; one caught in a loop (a cycle a
     * write after free made in a list) dies of SIGALRM and fails by name
     * instead of stalling the suite. */
    alarm(120);
    execve(argv[0], argv, environ);
    _exit(127);
  }
  close(pipefd[1]);
  ssize_t r;
  *len = 0;
  while (*len < size - 1 && (r = read(pipefd[0], buf + *len, size - 1 - *len)) > 0)
    *len += (size_t)r;
  buf[*len] = 0;
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

/* Whether buf is exactly one "hawkalloc: ..." line. */
static int one_report_line(const char *buf, size_t len) {
  return strncmp(buf, "hawkalloc: ", 11) == 0 && len > 0 && strchr(buf, '\n') == buf + len - 1;
}

/* Runs case index c (group c / (NVALUES * NOFFSETS), value, offset) in a fresh process;
 * returns 1 when its outcome passes, else prints why. */
static int run_child(const char *self, int c) {
  const struct group *g = &groups[c / (NVALUES * NOFFSETS)];
  char arg[16];
  snprintf(arg, sizeof arg, "%d", c);
  char *const argv[] = {(char *)self, "--case", arg, NULL};
  char *const env[] = {g->debug ? "HAWKALLOC_DEBUG=1" : "HAWKALLOC_DEBUG=0",
                       g->kind == K_REMOTE || g->kind == K_OVERFLOW ? "HAWKALLOC_HEAPS=1" : NULL,
                       NULL};
  char buf[4096];
  size_t len;
  int status = spawn(argv, env, buf, sizeof buf, &len);
  if (status == -1) return 0;
  int ok;
  const char *why = "";
  if (WIFEXITED(status)) {
    ok = WEXITSTATUS(status) == 0;
    why = "exited with a wrong result";
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
    ok = one_report_line(buf, len);
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

/* Runs other case i in a fresh process (debug mode on or off), with its
 * variables and a scratch folder; the same classification as run_child.
 * The descriptors case also needs its data files untouched (checked by the
 * child itself) and the statistics not written into any of them. */
static int run_other_child(const char *self, size_t i, int debug) {
  const struct other *o = &others[i];
  char dir[] = "/tmp/hawk-hostile-XXXXXX";
  if (mkdtemp(dir) == NULL) return 0;
  char trace_var[128];
  snprintf(trace_var, sizeof trace_var, "HAWKALLOC_TRACE=%s/t.trace", dir);
  char arg[16];
  snprintf(arg, sizeof arg, "%zu", i);
  char *const argv[] = {(char *)self, "--other", arg, dir, NULL};
  char *env[6] = {debug ? "HAWKALLOC_DEBUG=1" : "HAWKALLOC_DEBUG=0"};
  int k = 1;
  for (int e = 0; e < 3 && o->env[e]; e++) env[k++] = (char *)o->env[e];
  if (o->what == O_DESCRIPTORS) env[k++] = trace_var;
  env[k] = NULL;
  char buf[8192];
  size_t len;
  int status = spawn(argv, env, buf, sizeof buf, &len);
  if (status == -1) return 0;
  int ok = 0;
  const char *why = "crashed";
  if (WIFEXITED(status)) {
    ok = WEXITSTATUS(status) == 0;
    why = "exited with a wrong result";
    /* What it said is only HawkAlloc's one-line notes about the bad values. */
    for (const char *l = buf; ok && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
      if (o->what != O_DESCRIPTORS && strncmp(l, "hawkalloc: ", 11) != 0) {
        ok = 0;
        why = "wrote a line that is not one of HawkAlloc's notes";
      }
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
    ok = (o->what == O_RELEASED || o->what == O_HEAP_HANDLE || o->what == O_API) &&
         one_report_line(buf, len);
    why = "aborted without exactly one \"hawkalloc:\" line";
  }
  if (o->what == O_RELEASED && ok && WIFEXITED(status) == 0) {
    /* Named for what it is: a released large block freed again is a double
     * free; a pointer into the program's own mapping is not HawkAlloc's. */
    const char *want = o->arg == 0 ? "double free" : "not from hawkalloc";
    if (!strstr(buf, want)) {
      ok = 0;
      why = "aborted with the wrong diagnosis";
    }
  }
  /* HawkAlloc's lines hold no control character but their newline: a
   * value's newline, escape or DEL is written as '?'. */
  for (size_t c = 0; ok && o->what != O_DESCRIPTORS && c < len; c++)
    if (((unsigned char)buf[c] < 0x20 && buf[c] != '\n') || buf[c] == 0x7f) {
      ok = 0;
      why = "wrote a control character";
    }
  if (!ok)
    fprintf(stderr, "    %s: %s (status %d); output: %s%s", o->name, why, status, buf,
            len && buf[len - 1] == '\n' ? "" : "\n");
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) ok = 0;
  return ok;
}

/* A write just past the end of a freed block (into the header of the
 * block after it: an overflow after free) of a block on a free list, then
 * mallocs of its size, which take it whole, or a free or a growing realloc
 * of the block before it, which merge it: one of a few values, sizes that
 * the thread cache does not hold (and, with it off, sizes it would). */
#define PE_EX     3
#define PE_VALUES 5
static const size_t pe_sizes[] = {3000, 5000, 20000, 24, 100, 1000};
#define PE_SIZES       (sizeof pe_sizes / sizeof pe_sizes[0])
#define PE_CACHED_FROM 3 /* from here on, run with the thread cache off */

static void past_end_case(int c) {
  size_t n = pe_sizes[c / (PE_VALUES * PE_EX)];
  unsigned char *other = get(64), *blocks[300];
  for (int i = 0; i < 300; i++) blocks[i] = get(n);
  qsort(blocks, 300, sizeof blocks[0], cmp_ptr); /* neighbours in address order */
  size_t u = hawk_usable_size(blocks[150]);
  for (int i = 0; i < 300; i += 2) drop(blocks[i]);
  const uint64_t values[PE_VALUES] = {0, ~(uint64_t)0, (uint64_t)(uintptr_t)other,
                                      0x4141414141414140ull,
                                      (uint64_t)(uintptr_t)other ^ link_secret};
  memcpy(blocks[150] + u, &values[c / PE_EX % PE_VALUES], sizeof(uint64_t));
  if (c % PE_EX == 0) {
    for (int i = 0; i < 300; i++) get(n);
  } else if (c % PE_EX == 1) {
    for (int i = 1; i < 300; i += 2) drop(blocks[i]);
  } else {
    unsigned char *q = hawk_realloc(blocks[149], 2 * n);
    if (q == NULL) wrong("realloc");
    for (int i = 0; i < live_count; i++)
      if (live[i] == blocks[149]) live[i] = NULL;
    take(q, 2 * n);
  }
  final_step(n);
  _exit(0);
}

/* A write at the end of a freed block on a free list, over its footer (the
 * copy of its header the block after it finds it by), then a free of the
 * block after it, which merges backward through the footer, or mallocs of
 * its size first and that free next: a footer of 0, all ones, sizes that
 * lead below the arena or wrap around the address space (the next block's
 * own address, the most a header's size field holds), one that leads into
 * the arena's head, and one that leads inside the freed block.  Before the footer's size was
 * compared with the arena, the values that lead out of it ended in SIGSEGV inside free. */
#define PF_EX     2
#define PF_VALUES 6
static const size_t pf_sizes[] = {3000, 20000, 100};
#define PF_SIZES       (sizeof pf_sizes / sizeof pf_sizes[0])
#define PF_CACHED_FROM 2 /* from here on, run with the thread cache off */

static void footer_case(int c) {
  size_t n = pf_sizes[c / (PF_VALUES * PF_EX)];
  unsigned char *blocks[300];
  for (int i = 0; i < 300; i++) blocks[i] = get(n);
  qsort(blocks, 300, sizeof blocks[0], cmp_ptr); /* neighbours in address order */
  int at = 150;
  while (at < 298 && blocks[at + 1] != blocks[at] + hawk_usable_size(blocks[at]) + 8) at++;
  for (int i = 0; i < 300; i += 2)
    if (i != at + 1) drop(blocks[i]);
  if (at % 2) drop(blocks[at]);
  unsigned char *next = blocks[at + 1];
  uintptr_t arena = (uintptr_t)next & ~(uintptr_t)((4u << 20) - 1);
  const uint64_t values[PF_VALUES] = {0,
                                      ~(uint64_t)0,
                                      (uint64_t)(uintptr_t)next,
                                      (((uint64_t)1 << 48) - 1) & ~(uint64_t)15,
                                      (uint64_t)((uintptr_t)next - 8 - arena) - 8,
                                      32};
  memcpy(next - 16, &values[c / PF_EX % PF_VALUES], sizeof(uint64_t));
  if (c % PF_EX == 1)
    for (int i = 0; i < 40; i++) get(n);
  drop(next);
  final_step(n);
  _exit(0);
}

/* A write before a large block's payload into its mapping's offset of the
 * payload (and its length), with a value that leads past the mapping but
 * stays inside its 4 MiB chunk, or that puts the block header the offset
 * names across the mapping's end: 3 MiB (the block is 2 MiB), the length
 * + 4, the length + 8, 4 MiB - 8, and 3 MiB in both the length and the
 * offset; then a free of the block, a free of its neighbours in the list
 * of large blocks, hawk_check, and hawk_walk (default heaps) or
 * hawk_heap_destroy (created heap).  Found at 30bbb77: a created heap's
 * check of a link read the header the offset named wherever it lay inside
 * the chunk, and hawk_check the header of a default heap's block across
 * the mapping's end: SIGSEGV inside the allocator. */
#define LO_VALUES 5
#define LO_EX     4

static void large_offset_case(int c) {
  int heap = c / (LO_VALUES * LO_EX), value = c / LO_EX % LO_VALUES, ex = c % LO_EX;
  struct hawk_heap *h = heap ? hawk_heap_create(NULL) : hawk_heap_default();
  unsigned char *keep = hawk_heap_malloc(h, 2 * MB), *p = hawk_heap_malloc(h, 2 * MB),
                *keep2 = hawk_heap_malloc(h, 2 * MB);
  if (!keep || !p || !keep2) wrong("malloc");
  uint64_t *base = (uint64_t *)((uintptr_t)p & ~(uintptr_t)((4 * MB) - 1));
  /* the words of the length and the offset: struct large_header
   * (large.h) and struct uh_large (userheap.c) */
  int len_word = heap ? 4 : 1, off_word = heap ? 5 : 2;
  uint64_t len = base[len_word];
  const uint64_t values[LO_VALUES] = {3 * MB, len + 4, len + 8, 4 * MB - 8, 3 * MB};
  base[off_word] = values[value];
  if (value == LO_VALUES - 1) base[len_word] = values[value];
  switch (ex) {
  case 0:
    hawk_free(p);
    break;
  case 1:
    hawk_free(keep);
    hawk_free(keep2);
    break;
  case 2:
    hawk_check(); /* may find problems (lines), never crash */
    _exit(0);
  default:
    if (heap)
      hawk_heap_destroy(h);
    else
      hawk_walk(walk_nothing, NULL);
    _exit(0);
  }
  _exit(0);
}

/* A double free of a block that realloc took back from this thread's cache
 * and grew the block before it over: the freed block's header, inside the
 * grown block, said "allocated" and passed every check, so a free of the
 * stale pointer cached it again and the next malloc handed out memory
 * inside the grown block (found at 30bbb77).  Then free or realloc of the
 * stale pointer: a double free, or at least no malloc of its size that
 * returns memory inside the grown block. */
#define ST_EX 2
static const size_t st_sizes[] = {24, 100, 500, 2000};
#define ST_SIZES (sizeof st_sizes / sizeof st_sizes[0])

static void stale_header_case(int c) {
  size_t n = st_sizes[c / ST_EX];
  unsigned char *lo = NULL, *hi = NULL;
  neighbours(n, &lo, &hi);
  if (hi != lo + hawk_usable_size(lo) + 8) wrong("no neighbours of %zu bytes", n);
  drop(hi); /* into the cache */
  unsigned char *q = hawk_realloc(lo, 2 * n);
  if (q != lo) wrong("realloc(%zu) moved: not the case", 2 * n);
  for (int i = 0; i < live_count; i++)
    if (live[i] == lo) live_size[i] = hawk_usable_size(lo);
  switch (c % ST_EX) {
  case 0:
    hawk_free(hi);
    break;
  default:
    hawk_realloc(hi, n / 2 + 1);
    break;
  }
  for (int i = 0; i < 8; i++) get(n);
  final_step(n);
  _exit(0);
}

/* A write after free that links a cached block back to the one freed after
 * it (a link forged with the secret, and the block's mark bound to the new
 * link as the library binds it: src/block.h, tcache_mark_of), a cycle in
 * the cache list, then the frees of blocks of its size until the list
 * overflows.  Before, the walk that sends other heaps' blocks home
 * (hand_back) followed the cycle for ever (found at 30bbb77, where the
 * mark was not bound to the link and the link alone made the cycle). */
static const size_t cy_sizes[] = {24, 100, 500, 2000};
#define CY_SIZES (sizeof cy_sizes / sizeof cy_sizes[0])

static void cache_cycle_case(int c) {
  size_t n = cy_sizes[c];
  unsigned char *x[400];
  alarm(20); /* a walk caught in the cycle fails in seconds, not minutes */
  for (int k = 0; k < 400; k++) x[k] = get(n);
  unsigned char *a = get(n), *b = get(n);
  drop(a);
  drop(b); /* the list: b, then a */
  uint64_t w[2];
  memcpy(w, a, sizeof w);
  uint64_t mark = w[1] ^ w[0] ^ (uint64_t)(uintptr_t)a; /* the mark, unbound */
  w[0] = (uint64_t)(uintptr_t)b ^ link_secret;          /* a links back to b */
  w[1] = mark ^ w[0] ^ (uint64_t)(uintptr_t)a;
  memcpy(a, w, sizeof w);
  for (int k = 0; k < 400; k++) drop(x[k]);
  final_step(n);
  _exit(0);
}

/* An overflow past the last block of an arena into the header of the
 * arena just above it in memory (arenas are 4 MiB chunks, and the kernel
 * maps a new one right below the last: the older arena's header, its
 * magic, heap, list links and frontier, follows the newer one's epilogue):
 * 32 or 56 bytes of 0x00, 0x41 or 0xff past the end of a block that ends
 * at its arena's epilogue, in the default heaps or a created heap; then
 * hawk_check, hawk_walk, hawk_stats, the heap map, malloc_trim, callocs
 * that reuse blocks freed in the damaged arena (they must read as zero), a
 * malloc the OS refuses (which gives back empty arenas),
 * hawk_heap_destroy of the created heap, or the created heap's own walks
 * of its arenas (hawk_heap_stats; hawk_walk, which walks the created heaps
 * after the default ones).  Found at 30bbb77: every walk of a heap's
 * arenas followed the overwritten link (SIGSEGV or SIGBUS inside the
 * allocator), and calloc trusted the overwritten frontier (memory that
 * was not zero).  The 0x41 and 0xff bytes make that link an address
 * nothing maps, which a walk that follows it faults on; zeros make it
 * NULL, where such a walk only stops early. */
#define AH_VALUES      6
#define AH_EX          14
#define AH_ARENA_MAGIC 0x6177686b6172656eull /* src/arena.h */
static uintptr_t ah_arena, ah_tail_payload;
static size_t ah_tail;

static void ah_find_tail(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  if (b->region == ah_arena && b->state == HAWK_BLOCK_FREE &&
      b->address + b->size == ah_arena + 4 * MB - 8) {
    ah_tail = b->size;
    ah_tail_payload = b->payload;
  }
}

static int ah_mapped(uintptr_t a) {
  unsigned char v;
  return mincore((void *)a, 4096, &v) == 0;
}

static void arena_header_case(int c) {
  int ex = c % AH_EX, value = c / AH_EX % AH_VALUES;
  int created = ex == 7 || ex >= 11; /* the created heap's exercises */
  struct hawk_heap *h = created ? hawk_heap_create(NULL) : hawk_heap_default();
  unsigned char *blk[120], *p = NULL;
  for (int i = 0; i < 120; i++) {
    blk[i] = hawk_heap_malloc(h, 100000);
    if (blk[i] == NULL) wrong("malloc");
    memset(blk[i], 0x77, 100000);
  }
  /* a full arena whose next chunk is an arena of the same heap; its tail
   * taken by one block that ends at its epilogue */
  for (int i = 0; i < 120 && p == NULL; i++) {
    uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(4 * MB - 1), up = a + 4 * MB;
    if (!ah_mapped(up) || *(uint64_t *)up != AH_ARENA_MAGIC) continue;
    int same = 0;
    for (int k = 0; k < 120; k++) same |= ((uintptr_t)blk[k] & ~(uintptr_t)(4 * MB - 1)) == up;
    if (!same) continue;
    ah_arena = a;
    ah_tail = 0;
    hawk_walk(ah_find_tail, NULL);
    if (ah_tail == 0) continue;
    /* the policy in force may find another free block first: those stay live */
    for (int k = 0; k < 64 && (uintptr_t)p != ah_tail_payload; k++)
      p = hawk_heap_malloc(h, ah_tail - 8);
    if ((uintptr_t)p != ah_tail_payload) wrong("the tail of %zu bytes was not taken", ah_tail);
  }
  if (p == NULL) wrong("no arena just below another of its heap");
  size_t u = hawk_usable_size(p);
  if ((uintptr_t)p + u != ah_arena + 4 * MB - 8) wrong("the block does not end at the epilogue");
  if (ex == 5) /* every other block of the arena above, freed before its header is damaged */
    for (int i = 0, k = 0; i < 120; i++)
      if (((uintptr_t)blk[i] & ~(uintptr_t)(4 * MB - 1)) == ah_arena + 4 * MB && k++ % 2 == 0)
        hawk_free(blk[i]);
  static const unsigned char bytes[3] = {0x00, 0x41, 0xff};
  memset(p + u, bytes[value % 3], value < 3 ? 32 : 56);
  switch (ex) {
  case 0:
    hawk_check(); /* may find problems (lines), never crash */
    break;
  case 1:
    hawk_walk(walk_nothing, NULL);
    break;
  case 2: {
    struct hawk_stats st;
    hawk_stats(&st, sizeof st);
    break;
  }
  case 3:
    hawk_stats_print_map(2);
    break;
  case 4:
    hawk_trim();
    break;
  case 5:
    for (int i = 0; i < 10; i++) {
      unsigned char *q = hawk_calloc(1, 100000);
      if (q == NULL) wrong("calloc");
      for (size_t k = 0; k < 100000; k++)
        if (q[k] != 0) wrong("calloc(1, 100000) = %p: byte %zu is 0x%02x", (void *)q, k, q[k]);
    }
    break;
  case 6:
    if (hawk_malloc((size_t)1 << 45) != NULL) wrong("malloc of 32 TiB");
    break;
  case 7:
    hawk_heap_destroy(h);
    break;
  case 12: { /* the created heap's own walks of its arenas */
    struct hawk_stats st;
    hawk_heap_stats(h, &st, sizeof st);
    break;
  }
  case 13:
    hawk_walk(walk_nothing, NULL);
    break;
  default: /* a block of the damaged arena freed, resized, measured */
    for (int i = 0; i < 120; i++) {
      if (((uintptr_t)blk[i] & ~(uintptr_t)(4 * MB - 1)) != ah_arena + 4 * MB) continue;
      if (ex == 9) {
        if (hawk_realloc(blk[i], 150000) == NULL) wrong("realloc");
      } else if (ex == 10) {
        if (hawk_usable_size(blk[i]) < 100000) wrong("usable size");
      } else {
        hawk_free(blk[i]);
      }
      break;
    }
    break;
  }
  _exit(0);
}

/* A write into the header of an empty arena waiting in the cache of empty
 * arenas (the chunk above an arena whose last block overflows, or a stray
 * write): its list link forged (NULL, a byte pattern, all ones, 1, a stack
 * address, a live arena of the heap, the arena itself, an aligned address
 * nothing maps, a mapping of the program's own that carries an arena's
 * magic) or its whole head overwritten; then the mallocs that take cached
 * arenas, hawk_check, malloc_trim, or mallopt(M_TRIM_THRESHOLD) that
 * unmaps those over the limit.  Found at ff3fd6a: the list was followed
 * without a test of the link (SIGSEGV inside malloc, hawk_check,
 * malloc_trim; a live arena laid out again under its blocks). */
#define AC_VALUES 10
#define AC_EX     4
#define AC_BLOCKS 200
static void arena_cache_case(int c) {
  int ex = c % AC_EX, value = c / AC_EX % AC_VALUES;
  unsigned char *blk[AC_BLOCKS];
  for (int i = 0; i < AC_BLOCKS; i++) {
    blk[i] = hawk_malloc(100000);
    if (blk[i] == NULL) wrong("malloc");
    memset(blk[i], 0x77, 100000);
  }
  /* the blocks of arenas other than the first block's freed, arena by
   * arena, until two went to the cache: the second at its head, linked to
   * the first */
  uintptr_t keep = (uintptr_t)blk[0] & ~(uintptr_t)(4 * MB - 1), emptied[2] = {0, 0};
  int n = 0;
  for (int i = AC_BLOCKS - 1; i >= 0 && n < 2; i--) {
    if (blk[i] == NULL) continue;
    uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(4 * MB - 1);
    if (a == keep) continue;
    for (int k = 0; k < AC_BLOCKS; k++)
      if (blk[k] && ((uintptr_t)blk[k] & ~(uintptr_t)(4 * MB - 1)) == a) {
        hawk_free(blk[k]);
        blk[k] = NULL;
      }
    uint64_t *hd = (uint64_t *)a; /* cached: still mapped, its magic, no heap */
    if (ah_mapped(a) && hd[0] == AH_ARENA_MAGIC && hd[1] == 0) emptied[n++] = a;
  }
  if (n < 2) wrong("no two arenas emptied");
  uint64_t *head = (uint64_t *)emptied[1];
  if (head[2] != emptied[0]) wrong("the cache's head does not link to the arena freed first");
  int local;
  void *own = mmap(NULL, 8 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (own == MAP_FAILED) wrong("mmap");
  uint64_t *fake = (uint64_t *)(((uintptr_t)own + 4 * MB - 1) & ~(uintptr_t)(4 * MB - 1));
  fake[0] = AH_ARENA_MAGIC; /* an arena's magic, no heap, no link */
  const uint64_t links[AC_VALUES - 1] = {0,          0x4141414141414141ull, ~0ull,
                                         1,          (uintptr_t)&local,     keep,
                                         emptied[1], (uint64_t)1 << 46,     (uintptr_t)fake};
  if (value < AC_VALUES - 1)
    head[2] = links[value];
  else
    memset(head, 0x41, 32); /* an overflow from the chunk below: magic, heap, links */
  switch (ex) {
  case 0: /* mallocs that take both cached arenas, then map more */
    for (int i = 0; i < 120; i++) {
      unsigned char *q = hawk_malloc(100000);
      if (q == NULL) wrong("malloc");
      memset(q, 0x55, 100000);
    }
    break;
  case 1:
    hawk_check(); /* may find problems (lines), never crash */
    break;
  case 2:
    hawk_trim();
    break;
  default:
    hawk_mallopt(-1 /* M_TRIM_THRESHOLD */, 0);
    break;
  }
  for (int i = 0; i < AC_BLOCKS; i++)
    if (blk[i] && (blk[i][0] != 0x77 || blk[i][99999] != 0x77))
      wrong("live block %p overwritten", (void *)blk[i]);
  _exit(0);
}

/* A write after free that forges the next link of a block on a free list
 * (3,000 bytes: never cached; the head of its list) to lead into a chunk
 * of ours that holds no arena, by a program that learnt the links' key: a
 * live large block of the default heaps (0) or of a created heap (1),
 * there as a block's address (8 modulo 16) whose back link leads to the
 * freed block, as the safe unlink wants it, or a large block whose mapping
 * went back to the OS (2); then a free of the block before it, whose merge
 * unlinks it.  The link must be refused before anything is read or written
 * there: one line, abort.  A link taken for an arena's because the
 * registry knows its chunk (a large block's, a freed one's) made the unlink
 * write the list's end into the large block and put the list's head there
 * (0, 1), or read the unmapped mapping (2: SIGSEGV inside free). */
#define LL_VARIANTS 3
static void link_into_large_case(int c) {
  unsigned char *lo = NULL, *hi = NULL;
  neighbours(3000, &lo, &hi);
  if (hi != lo + hawk_usable_size(lo) + 8) wrong("no neighbours of 3000 bytes");
  get(3000); /* a guard after hi */
  struct hawk_heap *h = c == 1 ? hawk_heap_create(NULL) : hawk_heap_default();
  unsigned char *big = hawk_heap_malloc(h, 2 * MB);
  if (big == NULL) wrong("malloc");
  memset(big, 0x33, 4096);
  drop(hi); /* onto a free list, at the head of its list */
  if (c == 2) {
    hawk_free(big);
    hawk_trim(); /* the spare mapping goes back to the OS */
    if (ah_mapped((uintptr_t)big & ~(uintptr_t)4095)) wrong("the large mapping is still there");
  } else {
    uint64_t back = (uint64_t)(uintptr_t)(hi - 8) ^ link_secret; /* the fake's prev: hi */
    memcpy(big + 40, &back, sizeof back);
  }
  unsigned char before[4096];
  if (c != 2) memcpy(before, big, sizeof before);
  uint64_t forged = (uint64_t)(uintptr_t)(big + 24) ^ link_secret; /* a block's address */
  memcpy(hi, &forged, sizeof forged);
  drop(lo); /* merges hi, which is unlinked */
  if (c != 2 && memcmp(before, big, sizeof before) != 0)
    wrong("the unlink wrote into the large block %p", (void *)big);
  wrong("a free-list link into a large block was followed");
}

/* A write after free into the link of a block waiting on its heap's remote
 * list, the link forged with the key and the cache mark bound to it anew
 * (as cache_cycle_case binds it), so that only where it leads is wrong: 1,
 * 4 or 8 bytes past the block's own payload, inside its own arena, past
 * the arena's head, but no payload's address; then the malloc that drains
 * the list.  The drain must refuse the link itself, and say so ("link was
 * overwritten"): a link into its own arena is taken without a registry
 * lookup, on one mask that tests the arena and the alignment together;
 * with the alignment left out the drain followed it and read a header at
 * the misaligned address (a report of a damaged entry, not of the link,
 * or worse where that header passed).  The blocks reach the remote list
 * from another thread's cache: it frees ML_BLOCKS blocks while this thread
 * holds the heap's lock (in hawk_walk's visitor), more than its list can
 * grow to hold (TCACHE_GROWN_BYTES, config.h: 240 of them), so that its
 * overflows find the lock taken.  Every block it freed is forged: those
 * still in its cache are never read again. */
static const size_t ml_offsets[] = {1, 4, 8};
#define ML_VARIANTS (sizeof ml_offsets / sizeof ml_offsets[0])
#define ML_BLOCKS   600
#define ML_SIZE     256

struct flood {
  unsigned char *blocks[ML_BLOCKS];
  sem_t ready, go, done, finish;
};

static void *flood_main(void *arg) {
  struct flood *fl = arg;
  for (int i = 0; i < ML_BLOCKS; i++) fl->blocks[i] = hawk_malloc(ML_SIZE);
  sem_post(&fl->ready);
  sem_wait(&fl->go);
  for (int i = 0; i < ML_BLOCKS; i++) hawk_free(fl->blocks[i]);
  sem_post(&fl->done);
  sem_wait(&fl->finish); /* never: the case ends first */
  return NULL;
}

static struct flood *flood_now;
static int flood_signalled;

/* hawk_walk's visitor: the flood's frees run while the heap's lock is held. */
static void flood_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  (void)b;
  if (flood_signalled++) return;
  sem_post(&flood_now->go);
  sem_wait(&flood_now->done);
}

static void misaligned_remote_link_case(int c) {
  struct flood *fl = calloc(1, sizeof *fl);
  if (fl == NULL) wrong("calloc");
  sem_init(&fl->ready, 0, 0), sem_init(&fl->go, 0, 0), sem_init(&fl->done, 0, 0);
  sem_init(&fl->finish, 0, 0);
  pthread_t thread;
  if (pthread_create(&thread, NULL, flood_main, fl) != 0) wrong("pthread_create");
  sem_wait(&fl->ready);
  flood_now = fl;
  hawk_walk(flood_visit, NULL);
  if (!flood_signalled) wrong("hawk_walk visited nothing");
  for (int i = 0; i < ML_BLOCKS; i++) {
    unsigned char *p = fl->blocks[i];
    if (p == NULL) wrong("malloc");
    uint64_t w[2];
    memcpy(w, p, sizeof w);
    uint64_t mark = w[1] ^ w[0] ^ (uint64_t)(uintptr_t)p; /* the mark, unbound */
    w[0] = (uint64_t)(uintptr_t)(p + ml_offsets[c]) ^ link_secret;
    w[1] = mark ^ w[0] ^ (uint64_t)(uintptr_t)p;
    memcpy(p, w, sizeof w);
  }
  get(3000); /* the heap drains its remote list */
  wrong("a misaligned link of a remote list was followed");
}

/* hawk_check with fd 2 caught: its result, and what it wrote in text. */
static int check_captured(char *text, size_t size) {
  int fds[2];
  if (pipe(fds) != 0) wrong("pipe");
  int saved = dup(2);
  dup2(fds[1], 2);
  int problems = hawk_check();
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  size_t len = 0;
  ssize_t r;
  while (len < size - 1 && (r = read(fds[0], text + len, size - 1 - len)) > 0) len += (size_t)r;
  text[len] = 0;
  close(fds[0]);
  return problems;
}

/* A write into an empty arena waiting in the cache of empty arenas: a
 * write through a stale pointer just before the payload of the arena's
 * first block, over its header (0x41 bytes, zeros), or an overflow from
 * the chunk below over the arena's magic, or its whole head; then
 * hawk_check, which must find it: problems counted, each one line, one
 * of them "check: cached arena".  A cached arena is in no heap's list:
 * only the check of the cache sees it (else the damage waits there,
 * unreported, for the malloc that takes the arena). */
#define CD_VARIANTS 4
static void cached_arena_damaged_case(int c) {
  unsigned char *blk[AC_BLOCKS];
  for (int i = 0; i < AC_BLOCKS; i++) {
    blk[i] = hawk_malloc(100000);
    if (blk[i] == NULL) wrong("malloc");
  }
  /* the blocks of an arena other than the first block's, one of them its
   * first block, freed: the arena goes to the cache */
  uintptr_t keep = (uintptr_t)blk[0] & ~(uintptr_t)(4 * MB - 1), emptied = 0;
  for (int i = AC_BLOCKS - 1; i >= 0 && emptied == 0; i--) {
    uintptr_t a = (uintptr_t)blk[i] & ~(uintptr_t)(4 * MB - 1);
    int first = 0;
    for (int k = 0; k < AC_BLOCKS; k++)
      first |= (uintptr_t)blk[k] == a + 144; /* past the head (120) and the prologue (16) */
    if (a == keep || !first) continue;
    for (int k = 0; k < AC_BLOCKS; k++)
      if (blk[k] && ((uintptr_t)blk[k] & ~(uintptr_t)(4 * MB - 1)) == a) {
        hawk_free(blk[k]);
        blk[k] = NULL;
      }
    uint64_t *hd = (uint64_t *)a; /* cached: still mapped, its magic, no heap */
    if (ah_mapped(a) && hd[0] == AH_ARENA_MAGIC && hd[1] == 0) emptied = a;
  }
  if (emptied == 0) wrong("no arena emptied into the cache");
  char text[4096];
  if (check_captured(text, sizeof text) != 0) wrong("hawk_check before the damage: %s", text);
  unsigned char *head = (unsigned char *)emptied, *first = head + 144;
  switch (c) {
  case 0:
    memset(first - 8, 0x41, 8);
    break;
  case 1:
    memset(first - 8, 0, 8);
    break;
  case 2:
    memset(head, 0x41, 8);
    break;
  default:
    memset(head, 0x41, 32);
    break;
  }
  int problems = check_captured(text, sizeof text);
  if (problems <= 0) wrong("hawk_check found no problem in the damaged cached arena");
  if (!strstr(text, "check: cached arena")) wrong("hawk_check did not name the arena: %s", text);
  int lines = 0;
  for (const char *l = text; (l = strchr(l, '\n')) != NULL; l++) lines++;
  if (lines != problems) wrong("%d problems, %d lines: %s", problems, lines, text);
  _exit(0);
}

/* Runs the case c of mode in a fresh process, with the variable var if not
 * NULL; the classification of run_child (an exit 0 may have printed
 * hawk_check's problem lines), and an abort's line must hold must_say if
 * not NULL (a diagnosis that names what is known). */
static int run_mode_child(const char *self, int c, const char *mode, char *var,
                          const char *must_say) {
  char arg[16];
  snprintf(arg, sizeof arg, "%d", c);
  char *const argv[] = {(char *)self, (char *)mode, arg, NULL};
  char *const env[] = {var, NULL};
  char buf[4096];
  size_t len;
  int status = spawn(argv, env, buf, sizeof buf, &len);
  int ok = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
           (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && one_report_line(buf, len) &&
            (must_say == NULL || strstr(buf, must_say)));
  if (!ok)
    fprintf(stderr, "    %s %d: %s %d; output: %s%s", mode, c,
            WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), buf,
            len && buf[len - 1] == '\n' ? "" : "\n");
  return ok;
}

/* One case's line: ok, or FAIL with how many of its variants failed. */
static void tally(const char *name, int bad, int ran, int *passed, int *failed) {
  if (bad && ran > 1)
    printf("FAIL %s (%d of %d variants)\n", name, bad, ran);
  else
    printf("%s %s\n", bad ? "FAIL" : "ok  ", name);
  ++*(bad ? failed : passed);
  fflush(stdout);
}

/* The families run through a single-case mode (the modes table of main):
 * the filter of the command line (NULL: every family) and the tally. */
struct families {
  const char *self, *filter;
  int passed, failed;
  const char *must_say; /* run_mode_child's; NULL: any one line */
};

/* Runs family name, count cases of mode starting at case first, step
 * apart, each in a fresh process with the variable var if not NULL; one
 * tally line.  Skipped when the filter does not name it. */
static void family(struct families *f, const char *name, const char *mode, char *var, int first,
                   int step, int count) {
  if (f->filter && !strstr(name, f->filter)) return;
  int bad = 0;
  for (int k = 0; k < count; k++)
    if (!run_mode_child(f->self, first + k * step, mode, var, f->must_say)) bad++;
  tally(name, bad, count, &f->passed, &f->failed);
}

int main(int argc, char **argv) {
  make_groups();
  /* The single-case modes of the families below: a child runs one case. */
  static const struct {
    const char *flag;
    void (*run)(int c);
  } modes[] = {{"--large", large_header_case},
               {"--past-end", past_end_case},
               {"--footer", footer_case},
               {"--large-offset", large_offset_case},
               {"--arena-header", arena_header_case},
               {"--arena-cache", arena_cache_case},
               {"--stale", stale_header_case},
               {"--cycle", cache_cycle_case},
               {"--link-into-large", link_into_large_case},
               {"--misaligned-remote-link", misaligned_remote_link_case},
               {"--cached-arena-damaged", cached_arena_damaged_case}};
  for (size_t m = 0; argc == 3 && m < sizeof modes / sizeof modes[0]; m++)
    if (strcmp(argv[1], modes[m].flag) == 0) {
      struct rlimit none = {0, 0};
      setrlimit(RLIMIT_CORE, &none);
      modes[m].run(atoi(argv[2]));
    }
  if (argc == 4 && strcmp(argv[1], "--other") == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    size_t i = (size_t)atoi(argv[2]);
    if (i >= NOTHERS) return 2;
    run_other(i, argv[3]);
    return 0;
  }
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
    tally(name, bad, ran, &passed, &failed);
  }
  for (size_t i = 0; i < NOTHERS; i++) {
    for (int debug = 0; debug <= 1; debug++) {
      char name[128];
      snprintf(name, sizeof name, "%s%s", others[i].name, debug ? "_debug" : "");
      if (argc > 1 && !strstr(name, argv[1])) continue;
      tally(name, !run_other_child(self, i, debug), 1, &passed, &failed);
    }
  }
  struct families f = {self, argc > 1 ? argv[1] : NULL, 0, 0, NULL};
  char name[128];
  for (int heap = 0; heap <= 1; heap++)
    for (int ex = 0; ex < LH_EX; ex++) {
      snprintf(name, sizeof name, "large_header_overwritten_%s_%s", heap ? "created" : "default",
               lh_ex_names[ex]);
      family(&f, name, "--large", NULL, heap * LH_WORDS * LH_VALUES * LH_EX + ex, LH_EX,
             LH_WORDS * LH_VALUES);
    }
  for (size_t i = 0; i < PE_SIZES; i++) {
    snprintf(name, sizeof name, "write_past_a_freed_block_%zu%s", pe_sizes[i],
             i >= PE_CACHED_FROM ? "_textbook" : "");
    family(&f, name, "--past-end", i >= PE_CACHED_FROM ? "HAWKALLOC_TCACHE=0" : NULL,
           (int)i * PE_VALUES * PE_EX, 1, PE_VALUES * PE_EX);
  }
  for (size_t i = 0; i < PF_SIZES; i++) {
    snprintf(name, sizeof name, "footer_of_a_freed_block_overwritten_%zu%s", pf_sizes[i],
             i >= PF_CACHED_FROM ? "_textbook" : "");
    family(&f, name, "--footer", i >= PF_CACHED_FROM ? "HAWKALLOC_TCACHE=0" : NULL,
           (int)i * PF_VALUES * PF_EX, 1, PF_VALUES * PF_EX);
  }
  static const char *const lo_ex_names[LO_EX] = {"free", "free_its_neighbours", "check",
                                                 "walk_or_destroy"};
  for (int heap = 0; heap <= 1; heap++)
    for (int ex = 0; ex < LO_EX; ex++) {
      snprintf(name, sizeof name, "large_offset_past_its_mapping_%s_%s",
               heap ? "created" : "default", lo_ex_names[ex]);
      family(&f, name, "--large-offset", NULL, heap * LO_VALUES * LO_EX + ex, LO_EX, LO_VALUES);
    }
  static const char *const ah_ex_names[AH_EX] = {
      "check",   "walk", "stats",   "map",         "trim",         "calloc",        "refused",
      "destroy", "free", "realloc", "usable_size", "free_created", "stats_created", "walk_created"};
  for (int ex = 0; ex < AH_EX; ex++) {
    snprintf(name, sizeof name, "arena_header_overwritten_past_the_arena_below_%s",
             ah_ex_names[ex]);
    /* a block of the damaged arena: the line says so, not "double free" */
    f.must_say = ex >= 8 && ex <= 11 ? "arena header overwritten" : NULL;
    family(&f, name, "--arena-header", NULL, ex, AH_EX, AH_VALUES);
  }
  f.must_say = NULL;
  static const char *const ac_ex_names[AC_EX] = {"take", "check", "trim", "limit"};
  for (int ex = 0; ex < AC_EX; ex++) {
    snprintf(name, sizeof name, "cached_empty_arena_link_forged_%s", ac_ex_names[ex]);
    family(&f, name, "--arena-cache", NULL, ex, AC_EX, AC_VALUES);
  }
  static const char *const st_ex_names[ST_EX] = {"free", "realloc"};
  for (int ex = 0; ex < ST_EX; ex++) {
    snprintf(name, sizeof name, "double_free_after_realloc_grew_over_the_cached_block_%s",
             st_ex_names[ex]);
    family(&f, name, "--stale", NULL, ex, ST_EX, (int)ST_SIZES);
  }
  family(&f, "cache_list_forged_into_a_cycle_then_overflow", "--cycle", NULL, 0, 1, (int)CY_SIZES);
  static const char *const ll_names[LL_VARIANTS] = {"default", "created", "released"};
  f.must_say = "heap corruption";
  for (int v = 0; v < LL_VARIANTS; v++) {
    snprintf(name, sizeof name, "free_list_link_forged_into_a_large_block_%s", ll_names[v]);
    family(&f, name, "--link-into-large", NULL, v, 1, 1);
  }
  f.must_say = "link was overwritten";
  family(&f, "remote_list_link_forged_misaligned_in_its_arena", "--misaligned-remote-link",
         "HAWKALLOC_HEAPS=1", 0, 1, (int)ML_VARIANTS);
  f.must_say = NULL;
  family(&f, "cached_empty_arena_overwritten_then_check", "--cached-arena-damaged", NULL, 0, 1,
         CD_VARIANTS);
  passed += f.passed;
  failed += f.failed;
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
