/* test_misuse.c - misuse is caught and reported (section H of TESTING.md,
 * cases 29-31).
 *
 * Every case runs the misuse in a child process (EXPECT_ABORT) and checks
 * that the child died of SIGABRT after writing exactly one line of the form
 *     hawkalloc: free(0x7f3a2c001040): double free
 * naming the call by its standard name and the pointer as "%p" prints it.
 * Pointers are made in the parent, so the expected text is known before the
 * fork.  Under the sanitizers (built with -DHAWK_NO_OVERRIDE) the whole
 * program registers no case: ASan would report these itself.
 */
#include "block.h" /* block_make_word: a header with a sound tag, forged */
#include "harness.h"
#include "hawkalloc.h"

#if !defined(HAWK_NO_OVERRIDE) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define KiB         ((size_t)1024)
#define MiB         (1024 * KiB)
#define HEADER_SIZE 8
/* ARENA_SIZE (4 MiB) is config.h's, which block.h includes. */

/* No core files from the hundred aborting children. */
__attribute__((constructor)) static void no_core_files(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

/* ---- running a misuse and reading its report ---------------------------- */

/* Checks the report is exactly one line, "hawkalloc: CALL(PTR): PROBLEM...",
 * where PROBLEM starts with one of the alternatives (NULL-terminated). */
static int one_line_report(void (*fn)(void *), void *arg, const char *call, const void *ptr,
                           const char *const *alternatives) {
  char buf[4096], head[128], ptext[32];
  int status = run_captured(fn, arg, buf, sizeof buf);
  snprintf(head, sizeof head, "hawkalloc: %s(%s): ", call, ptr_text(ptr, ptext));
  int aborted = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  size_t len = strlen(buf);
  int one_line = len > 0 && buf[len - 1] == '\n' && strchr(buf, '\n') == buf + len - 1;
  int head_ok = strncmp(buf, head, strlen(head)) == 0;
  int problem_ok = 0;
  for (const char *const *alt = alternatives; *alt; alt++)
    if (head_ok && strncmp(buf + strlen(head), *alt, strlen(*alt)) == 0) problem_ok = 1;
  if (aborted && one_line && head_ok && problem_ok) return 1;
  fprintf(stderr, "    status %d (aborted %d), one line %d, expected \"%s%s%s...\", got: %s%s",
          status, aborted, one_line, head, alternatives[0], alternatives[1] ? "|..." : "", buf,
          len && buf[len - 1] == '\n' ? "" : "\n");
  return 0;
}

/* The misuse aborts with the fragments (EXPECT_ABORT) and a one-line report. */
#define EXPECT_MISUSE(fn, arg, call, ptr, problem)                                                 \
  do {                                                                                             \
    char ptext_[32];                                                                               \
    ptr_text((ptr), ptext_);                                                                       \
    EXPECT_ABORT((fn), (arg), "hawkalloc: ", call "(", ptext_, problem);                           \
    CHECK(one_line_report((fn), (arg), call, (ptr), (const char *const[]){problem, NULL}));        \
  } while (0)

/* The same when either of two problem texts is acceptable. */
#define EXPECT_MISUSE_EITHER(fn, arg, call, ptr, problem1, problem2)                               \
  CHECK(one_line_report((fn), (arg), call, (ptr), (const char *const[]){problem1, problem2, NULL}))

/* ---- the misuses, run in the child -------------------------------------- */

enum op { OP_FREE, OP_REALLOC, OP_REALLOCARRAY, OP_USABLE };

static const char *op_name(enum op op) {
  return op == OP_FREE           ? "free"
         : op == OP_REALLOC      ? "realloc"
         : op == OP_REALLOCARRAY ? "reallocarray"
                                 : "malloc_usable_size";
}

static volatile size_t sink; /* keeps malloc_usable_size's result alive */

static void apply(enum op op, void *p) {
  switch (op) {
  case OP_FREE:
    hawk_free(p);
    break;
  case OP_REALLOC:
    sink = (size_t)(uintptr_t)hawk_realloc(p, 64);
    break;
  case OP_REALLOCARRAY:
    sink = (size_t)(uintptr_t)hawk_reallocarray(p, 8, 8);
    break;
  case OP_USABLE:
    sink = hawk_usable_size(p);
    break;
  }
}

struct misuse {
  enum op op;
  void *first;  /* freed first (the double free's first free), or NULL */
  void *second; /* freed in between, or NULL */
  void *target; /* what the faulty call gets */
};

static void child_misuse(void *arg) {
  struct misuse *m = arg;
  if (m->first) hawk_free(m->first);
  if (m->second) hawk_free(m->second);
  apply(m->op, m->target);
}

/* ---- H29: double free ----------------------------------------------------- */

TEST(double_free_small_immediate) {
  void *a = hawk_malloc(40);
  REQUIRE(a);
  struct misuse m = {OP_FREE, a, NULL, a};
  EXPECT_MISUSE(child_misuse, &m, "free", a, "double free");
  hawk_free(a);
}

TEST(double_free_small_delayed) {
  void *a = hawk_malloc(40), *b = hawk_malloc(40);
  REQUIRE(a && b);
  struct misuse m = {OP_FREE, a, b, a};
  EXPECT_MISUSE(child_misuse, &m, "free", a, "double free");
  hawk_free(a);
  hawk_free(b);
}

/* Medium blocks go through the heap (coalescing) rather than a cache. */
TEST(double_free_medium_immediate) {
  void *a = hawk_malloc(5000), *guard = hawk_malloc(100);
  REQUIRE(a && guard);
  struct misuse m = {OP_FREE, a, NULL, a};
  EXPECT_MISUSE(child_misuse, &m, "free", a, "double free");
  hawk_free(a);
  hawk_free(guard);
}

TEST(double_free_medium_delayed) {
  void *a = hawk_malloc(5000), *b = hawk_malloc(5000);
  REQUIRE(a && b);
  struct misuse m = {OP_FREE, a, b, a};
  EXPECT_MISUSE(child_misuse, &m, "free", a, "double free");
  hawk_free(a);
  hawk_free(b);
}

/* A freed large block may already be unmapped, so "invalid pointer" is an
 * acceptable diagnosis too; what matters is the abort before any access. */
TEST(double_free_large_immediate) {
  void *a = hawk_malloc(2 * MiB);
  REQUIRE(a);
  struct misuse m = {OP_FREE, a, NULL, a};
  EXPECT_MISUSE_EITHER(child_misuse, &m, "free", a, "double free", "invalid pointer");
  hawk_free(a);
}

TEST(double_free_large_delayed) {
  void *a = hawk_malloc(2 * MiB), *b = hawk_malloc(3 * MiB);
  REQUIRE(a && b);
  struct misuse m = {OP_FREE, a, b, a};
  EXPECT_MISUSE_EITHER(child_misuse, &m, "free", a, "double free", "invalid pointer");
  hawk_free(a);
  hawk_free(b);
}

/* A freed large block kept as a spare mapping: a free of a pointer inside
 * it other than where its payload was is an invalid pointer, not a double
 * free (only the payload's address was ever handed out). */
TEST(free_inside_a_spare_mapping_is_an_invalid_pointer) {
  char *a = hawk_malloc(2 * MiB);
  REQUIRE(a);
  struct misuse m = {OP_FREE, a, NULL, a + 4096};
  EXPECT_MISUSE(child_misuse, &m, "free", a + 4096, "invalid pointer");
  struct misuse again = {OP_FREE, a, NULL, a};
  EXPECT_MISUSE(child_misuse, &again, "free", a, "double free");
  hawk_free(a);
}

/* A resizing call (op) of a block already freed. */
static void resize_after_free_case(enum op op) {
  void *a = hawk_malloc(300), *b = hawk_malloc(300);
  REQUIRE(a && b);
  struct misuse m = {op, a, b, a};
  EXPECT_MISUSE_EITHER(child_misuse, &m, op_name(op), a, "double free", "invalid pointer");
  hawk_free(a);
  hawk_free(b);
}

TEST(realloc_after_free) { resize_after_free_case(OP_REALLOC); }

/* realloc of a freed block to a size it already has room for: the answer
 * would be the pointer itself, without a move, and the block is still
 * seen to be free (in the thread cache, or in the heap). */
struct own_size {
  void *a;
  size_t n;
};

static void child_realloc_own_size(void *arg) {
  struct own_size *o = arg;
  hawk_free(o->a);
  sink = (size_t)(uintptr_t)hawk_realloc(o->a, o->n);
}

TEST(realloc_to_its_own_size_after_free) {
  static const size_t sizes[] = {300, 3000}; /* cached; above the cache */
  for (size_t i = 0; i < 2; i++) {
    struct own_size o = {hawk_malloc(sizes[i]), sizes[i]};
    void *b = hawk_malloc(sizes[i]);
    REQUIRE(o.a && b);
    EXPECT_MISUSE_EITHER(child_realloc_own_size, &o, "realloc", o.a, "double free",
                         "invalid pointer");
    hawk_free(o.a);
    hawk_free(b);
  }
}

/* reallocarray's misuse is reported under its own name, not realloc's (it
 * was, when it called realloc). */
TEST(reallocarray_after_free) { resize_after_free_case(OP_REALLOCARRAY); }

/* Blocks handed out one after the other lie next to each other, and come
 * back from the cache to the heap as one run (heap.c, free_cached_locked):
 * each block of the run, not just the first, must still be known as freed. */
static void child_double_free_in_run(void *arg) {
  void **blocks = arg;
  for (int i = 0; i < 16; i++) hawk_free(blocks[i]);
  hawk_trim(); /* this thread's cache goes back to the heap */
  hawk_free(blocks[9]);
}

TEST(double_free_after_the_cache_gave_a_run_back) {
  void *blocks[16];
  for (int i = 0; i < 16; i++) REQUIRE((blocks[i] = hawk_malloc(200)) != NULL);
  int adjacent = 0;
  for (int i = 1; i < 16; i++)
    adjacent += (char *)blocks[i] == (char *)blocks[i - 1] + hawk_usable_size(blocks[i - 1]) + 8 ||
                (char *)blocks[i - 1] == (char *)blocks[i] + hawk_usable_size(blocks[i]) + 8;
  CHECK(adjacent > 0); /* the test needs a run */
  EXPECT_MISUSE(child_double_free_in_run, blocks, "free", blocks[9], "double free");
  for (int i = 0; i < 16; i++) hawk_free(blocks[i]);
}

/* malloc_usable_size of a block already freed: one in this thread's cache
 * (its mark), and one given back to the heap (its header says free). */
TEST(usable_size_after_free_cached) {
  void *a = hawk_malloc(40), *b = hawk_malloc(40);
  REQUIRE(a && b);
  struct misuse m = {OP_USABLE, a, NULL, a};
  EXPECT_MISUSE(child_misuse, &m, "malloc_usable_size", a, "double free");
  hawk_free(a);
  hawk_free(b);
}

TEST(usable_size_after_free_medium) {
  void *a = hawk_malloc(5000), *b = hawk_malloc(5000);
  REQUIRE(a && b);
  struct misuse m = {OP_USABLE, a, b, a};
  EXPECT_MISUSE(child_misuse, &m, "malloc_usable_size", a, "double free");
  hawk_free(a);
  hawk_free(b);
}

/* The largest size the thread cache holds: 2,040 bytes, a block of 2,048,
 * whose mark has the size's bit 11 set.  Freed into the cache, such a block
 * is still seen as freed by realloc to its own size (which would else
 * return the freed block as it is) and by malloc_usable_size. */
TEST(realloc_and_usable_size_after_free_of_the_largest_cached_size) {
  struct own_size o = {hawk_malloc(2040), 2040};
  void *b = hawk_malloc(2040);
  REQUIRE(o.a && b);
  EXPECT_MISUSE_EITHER(child_realloc_own_size, &o, "realloc", o.a, "double free",
                       "invalid pointer");
  struct misuse m = {OP_USABLE, o.a, NULL, o.a};
  EXPECT_MISUSE(child_misuse, &m, "malloc_usable_size", o.a, "double free");
  hawk_free(o.a);
  hawk_free(b);
}

/* A shrinking realloc that moves takes its new block from this thread's
 * cache (a size the cache holds, by a sixth of the block or more, its
 * neighbour in use): a write after free over the head of that list is
 * reported there, as malloc's pop reports it.  (At 0798ddb the move's pop
 * gave up on the damaged head and refilled the list over it, so the damage
 * was found only at a later pop of that size.)  The child frees the block,
 * writes over its link and mark, then shrinks blocks of 1,000 bytes whose
 * neighbours stay in use to 100, the freed block's size. */

/* Frees freed, writes over its link and mark, then resizes 8 blocks of
 * from bytes to to (the shrink's child here, the growth's below). */
static void resize_onto_damaged_list(unsigned char *freed, size_t from, size_t to) {
  void *kept[8];
  for (int i = 0; i < 8; i++) kept[i] = hawk_malloc(from);
  hawk_free(freed);
  memset(freed, 0x41, 16);
  for (int i = 0; i < 8; i++) kept[i] = hawk_realloc(kept[i], to);
  sink = (size_t)(uintptr_t)kept[0];
}

static void child_shrink_onto_damaged_list(void *arg) { resize_onto_damaged_list(arg, 1000, 100); }

TEST(realloc_shrink_that_moves_onto_a_damaged_cache_list) {
  const char *tcache = getenv("HAWKALLOC_TCACHE");
  if (tcache && strcmp(tcache, "0") == 0)
    SKIP("textbook mode: no thread cache, a shrink cuts in place");
  unsigned char *freed = hawk_malloc(100);
  REQUIRE(freed);
  EXPECT_MISUSE(child_shrink_onto_damaged_list, freed, "realloc", freed,
                "heap corruption (a thread-cached block");
  hawk_free(freed);
}

/* A growing realloc that moves takes its new block from this thread's
 * cache (a size the cache holds, with the headroom a move gives): a write
 * after free over the head of that list is reported there, naming realloc,
 * as the shrink above reports it (before 2026-12-07 realloc's fast path
 * left the damaged head to the move's own allocation, which reported it
 * naming malloc).  The child frees a block of 160 bytes, writes over its
 * link and mark, then grows blocks of 64 bytes to 130, which with an eighth
 * more are blocks of 160. */
static void child_grow_onto_damaged_list(void *arg) { resize_onto_damaged_list(arg, 64, 130); }

TEST(realloc_growth_that_moves_onto_a_damaged_cache_list) {
  const char *tcache = getenv("HAWKALLOC_TCACHE");
  if (tcache && strcmp(tcache, "0") == 0) SKIP("textbook mode: no thread cache");
  unsigned char *freed = hawk_malloc(140);
  REQUIRE(freed);
  EXPECT_MISUSE(child_grow_onto_damaged_list, freed, "realloc", freed,
                "heap corruption (a thread-cached block");
  hawk_free(freed);
}

/* Allocates pairs until one block directly follows the other; misses are
 * freed.  Returns 1 and the pair, lower first. */
static int adjacent_pair(size_t n, unsigned char **lo, unsigned char **hi) {
  void *miss[128];
  int nmiss = 0, found = 0;
  for (int i = 0; i < 64 && !found; i++) {
    unsigned char *a = hawk_malloc(n), *b = hawk_malloc(n);
    if (!a || !b) break;
    if ((uintptr_t)b == (uintptr_t)a + hawk_usable_size(a) + HEADER_SIZE) {
      *lo = a, *hi = b, found = 1;
    } else if ((uintptr_t)a == (uintptr_t)b + hawk_usable_size(b) + HEADER_SIZE) {
      *lo = b, *hi = a, found = 1;
    } else {
      miss[nmiss++] = a;
      miss[nmiss++] = b;
    }
  }
  for (int i = 0; i < nmiss; i++) hawk_free(miss[i]);
  return found;
}

/* b is freed and merged into its freed neighbour a, then freed again: its
 * stale header now lies inside a's free block. */
static void child_free_merged_twice(void *arg) {
  unsigned char **pair = arg;
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  hawk_free(pair[1]);
}

TEST(double_free_of_block_merged_into_neighbour) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  EXPECT_MISUSE_EITHER(child_free_merged_twice, pair, "free", pair[1], "double free",
                       "invalid pointer");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
}

/* b is freed, merged into its freed neighbour a, and the merged space handed
 * out again: b's stale header now lies inside a live block's payload. */
static void child_free_merged(void *arg) {
  unsigned char **pair = arg;
  size_t whole = hawk_usable_size(pair[0]) + HEADER_SIZE + hawk_usable_size(pair[1]);
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  void *c = hawk_malloc(whole);
  if (c) memset(c, 0, whole < 64 ? whole : 64);
  hawk_free(pair[1]);
}

TEST(double_free_after_merge_and_reuse) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  EXPECT_MISUSE_EITHER(child_free_merged, pair, "free", pair[1], "double free", "invalid pointer");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
}

/* A block freed twice while its cache list cannot grow (it overflowed
 * since its last refill: the blocks of 40 bytes freed here outnumber the
 * most a list holds) is a double free, seen by free's slow path from its
 * mark, before that path makes room in the list.  Making room first gives
 * the head of the list back to the heap, and the head is the block itself:
 * it would then be cached again, at once free in the heap and in the
 * cache. */
enum { OVERFLOWING_FREES = 1500 };

static void child_double_free_after_overflow(void *arg) {
  void **blocks = arg;
  for (int i = 0; i < OVERFLOWING_FREES; i++) hawk_free(blocks[i]);
  hawk_free(blocks[OVERFLOWING_FREES - 1]); /* the head of its list */
}

TEST(double_free_after_the_cache_list_overflowed) {
  static void *blocks[OVERFLOWING_FREES];
  for (int i = 0; i < OVERFLOWING_FREES; i++) REQUIRE((blocks[i] = hawk_malloc(40)) != NULL);
  EXPECT_MISUSE(child_double_free_after_overflow, blocks, "free", blocks[OVERFLOWING_FREES - 1],
                "double free");
  for (int i = 0; i < OVERFLOWING_FREES; i++) hawk_free(blocks[i]);
}

/* A block whose arena emptied as it was freed: the arena waits in the
 * cache of empty arenas, its chunk still an arena's, with no heap.  Freed
 * again, the block is a double free, reported before any heap's lock is
 * taken.  Blocks of 900,000 bytes are taken until one makes its heap grow
 * (past the arena of a first block, which the heap keeps): that block is
 * alone in its new arena. */
static void child_free(void *arg) { hawk_free(arg); }

TEST(double_free_after_its_arena_emptied) {
  enum { MOST = 64, EACH = 900000 };
  void *b[MOST], *first = hawk_malloc(3000); /* the heap's first arena stays */
  int n = 0;
  struct hawk_stats s0, s1;
  REQUIRE(first != NULL && hawk_stats(&s0, sizeof s0) == 0);
  s1 = s0;
  while (n < MOST && s1.arenas <= s0.arenas) {
    REQUIRE((b[n++] = hawk_malloc(EACH)) != NULL);
    REQUIRE(hawk_stats(&s1, sizeof s1) == 0);
  }
  REQUIRE(s1.arenas == s0.arenas + 1);
  void *alone = b[--n];
  hawk_free(alone);
  REQUIRE(hawk_stats(&s1, sizeof s1) == 0);
  REQUIRE(s1.arenas == s0.arenas); /* its arena went to the cache */
  EXPECT_MISUSE(child_free, alone, "free", alone, "double free");
  while (n > 0) hawk_free(b[--n]);
  hawk_free(first);
}

/* ---- H30: pointers HawkAlloc never handed out ---------------------------- */

enum kind {
  K_INTERIOR,       /* 16 bytes into a live small block */
  K_INTERIOR_FAKE,  /* the same, with a copy of the real header planted before it */
  K_INTERIOR_LARGE, /* two pages into a live large block */
  K_MISALIGNED,     /* one byte past a live block's start */
  K_HEADER,         /* 8 bytes past a live block's start: 8- but not 16-aligned */
  K_STACK,          /* a 16-aligned stack address */
  K_NEVER_MAPPED,   /* 0x10000 */
  K_UNMAPPED,       /* in a region mapped and unmapped again, 4 MiB-aligned + 64 */
  K_GLIBC,          /* from glibc's malloc, found with dlsym(RTLD_NEXT) */
  K_MMAP,           /* inside a live anonymous mapping */
  K_MMAP_ARENA,     /* 4 MiB-aligned foreign mapping, filled like a heap might be */
  K_ARENA_START,    /* the first byte of a live arena (its header): 16-aligned, in a
                       chunk the registry vouches for, 8 bytes past the chunk before */
  K_ARENA_END,      /* the first byte past a live arena, 8 bytes past its last header */
};

/* Maps len bytes (4 MiB-aligned when len allows) far below where the kernel
 * places mappings by default, so the range was never one of HawkAlloc's
 * arenas: a range HawkAlloc used and released may fairly be diagnosed as a
 * double free rather than as foreign. */
static unsigned char *foreign_map(size_t len) {
  for (uintptr_t hint = (uintptr_t)0x200000000000; hint < (uintptr_t)0x300000000000;
       hint += (uintptr_t)0x10000000000) {
    void *m = mmap((void *)hint, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m != MAP_FAILED) return m;
  }
  return NULL;
}

/* Builds a bad pointer of the given kind; *keep receives what to release
 * afterwards (a live block, a mapping) and *keep_len its length (0: block). */
static void *bad_pointer(enum kind kind, void **keep, size_t *keep_len, void *stack16) {
  *keep = NULL;
  *keep_len = 0;
  switch (kind) {
  case K_INTERIOR:
  case K_MISALIGNED:
  case K_HEADER:
  case K_INTERIOR_FAKE: {
    unsigned char *p = hawk_malloc(256);
    if (!p) return NULL;
    memset(p, 0, 256);
    *keep = p;
    if (kind == K_MISALIGNED) return p + 1;
    if (kind == K_HEADER) return p + 8;
    if (kind == K_INTERIOR_FAKE) memcpy(p + 16 - HEADER_SIZE, p - HEADER_SIZE, HEADER_SIZE);
    return p + 16;
  }
  case K_INTERIOR_LARGE: {
    unsigned char *p = hawk_malloc(2 * MiB);
    if (!p) return NULL;
    *keep = p;
    return p + 2 * 4096;
  }
  case K_STACK:
    return stack16;
  case K_NEVER_MAPPED:
    return (void *)(uintptr_t)0x10000;
  case K_UNMAPPED: {
    unsigned char *m = foreign_map(2 * ARENA_SIZE);
    if (!m) return NULL;
    munmap(m, 2 * ARENA_SIZE);
    uintptr_t a = ((uintptr_t)m + ARENA_SIZE - 1) & ~(uintptr_t)(ARENA_SIZE - 1);
    return (void *)(a + 64);
  }
  case K_GLIBC: {
    void *sym = dlsym(RTLD_NEXT, "malloc");
    Dl_info info;
    if (!sym || !dladdr(sym, &info) || !info.dli_fname || !strstr(info.dli_fname, "libc")) {
      fprintf(stderr, "    dlsym(RTLD_NEXT, \"malloc\") is not glibc's\n");
      return NULL;
    }
    void *(*glibc_malloc)(size_t);
    memcpy(&glibc_malloc, &sym, sizeof sym);
    void *p = glibc_malloc(200); /* deliberately leaked: only glibc may free it */
    if (p) memset(p, 0, 200);
    return p;
  }
  case K_MMAP: {
    unsigned char *m = foreign_map(64 * KiB);
    if (!m) return NULL;
    *keep = m;
    *keep_len = 64 * KiB;
    return m + 16;
  }
  case K_MMAP_ARENA: {
    unsigned char *m = foreign_map(2 * ARENA_SIZE);
    if (!m) return NULL;
    *keep = m;
    *keep_len = 2 * ARENA_SIZE;
    unsigned char *a =
        (unsigned char *)(((uintptr_t)m + ARENA_SIZE - 1) & ~(uintptr_t)(ARENA_SIZE - 1));
    /* The first page of the would-be arena and a plausible header before the
     * pointer: small sizes with low flag bits set, as a block header may be. */
    for (size_t i = 0; i < 4096; i += 8) {
      uint64_t v = 0x31 + (uint64_t)(i % 256);
      memcpy(a + i, &v, 8);
    }
    uint64_t hdr = 0x101; /* 256 bytes, low bit set */
    memcpy(a + 4096 + 64 - HEADER_SIZE, &hdr, 8);
    return a + 4096 + 64;
  }
  case K_ARENA_START: {
    /* What lies before the arena is not ours, and may not be mapped: a
     * header read there (8 bytes before the pointer) would fault.  Whether
     * it is mapped depends on where the kernel put other mappings, so
     * blocks are taken until one lies in an arena whose page before is not
     * mapped (mincore fails there with ENOMEM); the others are freed. */
    enum { TRIES = 48 };
    static unsigned char *tried[TRIES];
    unsigned char *p = NULL;
    int n = 0;
    while (n < TRIES && p == NULL) {
      unsigned char *q = hawk_malloc(n == 0 ? 256 : 900000);
      if (!q) break;
      tried[n++] = q;
      uintptr_t a = (uintptr_t)q & ~(uintptr_t)(ARENA_SIZE - 1);
      unsigned char v;
      if (mincore((void *)(a - 4096), 4096, &v) != 0 && errno == ENOMEM) p = q;
    }
    for (int i = 0; i < n; i++)
      if (tried[i] != p) hawk_free(tried[i]);
    if (!p) return NULL;
    *keep = p;
    return (void *)((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1));
  }
  case K_ARENA_END: {
    unsigned char *p = hawk_malloc(256);
    if (!p) return NULL;
    *keep = p;
    /* The header before it is the arena's last one (its epilogue, a sound
     * header of size 0); what follows the arena may not be mapped. */
    return (void *)(((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1)) + ARENA_SIZE);
  }
  }
  return NULL;
}

static void release(void *keep, size_t keep_len) {
  if (!keep) return;
  if (keep_len)
    munmap(keep, keep_len);
  else
    hawk_free(keep);
}

static void invalid_pointer_case(enum kind kind, enum op op) {
  _Alignas(16) unsigned char stack_buf[64];
  memset(stack_buf, 0, sizeof stack_buf);
  void *keep;
  size_t keep_len;
  void *bad = bad_pointer(kind, &keep, &keep_len, stack_buf + 16);
  REQUIRE(bad);
  struct misuse m = {op, NULL, NULL, bad};
  char ptext[32];
  ptr_text(bad, ptext);
  char call[32];
  snprintf(call, sizeof call, "%s(", op_name(op));
  EXPECT_ABORT(child_misuse, &m, "hawkalloc: ", call, ptext, "invalid pointer");
  /* A misaligned pointer is named as such, before anything near it is read:
   * 8 bytes off too (where a header could lie), not only an odd address. */
  if (kind == K_MISALIGNED || kind == K_HEADER)
    EXPECT_ABORT(child_misuse, &m, "hawkalloc: ", call, ptext, "invalid pointer (misaligned)");
  CHECK(one_line_report(child_misuse, &m, op_name(op), bad,
                        (const char *const[]){"invalid pointer", NULL}));
  release(keep, keep_len);
  CHECK(hawk_check() == 0);
}

#define INVALID_CASE(kind, op, K, O)                                                               \
  TEST(invalid_##kind##_##op) { invalid_pointer_case(K, O); }

INVALID_CASE(interior, free, K_INTERIOR, OP_FREE)
INVALID_CASE(interior, realloc, K_INTERIOR, OP_REALLOC)
INVALID_CASE(interior, usable_size, K_INTERIOR, OP_USABLE)
INVALID_CASE(interior_fake_header, free, K_INTERIOR_FAKE, OP_FREE)
INVALID_CASE(interior_large, free, K_INTERIOR_LARGE, OP_FREE)
INVALID_CASE(interior_large, realloc, K_INTERIOR_LARGE, OP_REALLOC)
INVALID_CASE(misaligned, free, K_MISALIGNED, OP_FREE)
INVALID_CASE(misaligned, usable_size, K_MISALIGNED, OP_USABLE)
INVALID_CASE(header_offset, free, K_HEADER, OP_FREE)
INVALID_CASE(header_offset, realloc, K_HEADER, OP_REALLOC)
INVALID_CASE(header_offset, usable_size, K_HEADER, OP_USABLE)
INVALID_CASE(stack, free, K_STACK, OP_FREE)
INVALID_CASE(stack, realloc, K_STACK, OP_REALLOC)
INVALID_CASE(stack, reallocarray, K_STACK, OP_REALLOCARRAY)
INVALID_CASE(never_mapped, free, K_NEVER_MAPPED, OP_FREE)
INVALID_CASE(never_mapped, realloc, K_NEVER_MAPPED, OP_REALLOC)
INVALID_CASE(never_mapped, usable_size, K_NEVER_MAPPED, OP_USABLE)
INVALID_CASE(unmapped_region, free, K_UNMAPPED, OP_FREE)
INVALID_CASE(glibc_block, free, K_GLIBC, OP_FREE)
INVALID_CASE(glibc_block, realloc, K_GLIBC, OP_REALLOC)
INVALID_CASE(glibc_block, reallocarray, K_GLIBC, OP_REALLOCARRAY)
INVALID_CASE(glibc_block, usable_size, K_GLIBC, OP_USABLE)
INVALID_CASE(foreign_mmap, free, K_MMAP, OP_FREE)
INVALID_CASE(foreign_mmap, usable_size, K_MMAP, OP_USABLE)
INVALID_CASE(foreign_arena_aligned_mmap, free, K_MMAP_ARENA, OP_FREE)
INVALID_CASE(arena_start, free, K_ARENA_START, OP_FREE)
INVALID_CASE(arena_start, realloc, K_ARENA_START, OP_REALLOC)
INVALID_CASE(arena_start, usable_size, K_ARENA_START, OP_USABLE)
INVALID_CASE(arena_end, free, K_ARENA_END, OP_FREE)
INVALID_CASE(arena_end, realloc, K_ARENA_END, OP_REALLOC)
INVALID_CASE(arena_end, usable_size, K_ARENA_END, OP_USABLE)

/* posix_memalign with nowhere to store the block: the NULL named as
 * printf's %p names it, "(nil)". */
static void child_posix_memalign_into_null(void *arg) {
  (void)arg;
  int rc = hawk_posix_memalign(NULL, 64, 100);
  (void)rc;
}

TEST(posix_memalign_into_null_names_the_null) {
  EXPECT_MISUSE(child_posix_memalign_into_null, NULL, "posix_memalign", NULL,
                "invalid pointer (NULL to store into)");
}

/* ---- H31: overflow into the next block's header -------------------------- */

struct overflow {
  unsigned char *lo, *hi; /* hi's header directly follows lo's usable area */
  size_t bytes;           /* how many bytes to write past lo's usable size */
  void *target;           /* which block to free afterwards */
};

static void child_overflow(void *arg) {
  struct overflow *o = arg;
  memset(o->lo + hawk_usable_size(o->lo), 0x41, o->bytes);
  hawk_free(o->target);
}

static void overflow_case(size_t bytes, int free_neighbour) {
  unsigned char *lo, *hi;
  REQUIRE(adjacent_pair(3000, &lo, &hi));
  struct overflow o = {lo, hi, bytes, free_neighbour ? (void *)hi : (void *)lo};
  EXPECT_ABORT(child_overflow, &o, "hawkalloc: ", "free(");
  EXPECT_MISUSE_EITHER(child_overflow, &o, "free", o.target, "heap corruption", "invalid pointer");
  hawk_free(lo);
  hawk_free(hi);
  CHECK(hawk_check() == 0);
}

TEST(overflow_8_bytes_then_free_neighbour) { overflow_case(8, 1); }
TEST(overflow_8_bytes_then_free_block) { overflow_case(8, 0); }
TEST(overflow_3_bytes_then_free_neighbour) { overflow_case(3, 1); }
TEST(overflow_3_bytes_then_free_block) { overflow_case(3, 0); }

/* A block waiting in this thread's cache is written past its end (a write
 * after free over the next block's header): the cache's return of it to
 * the heap checks it as free does, before it coalesces anything. */
static void child_cached_overflow_then_flush(void *arg) {
  unsigned char **pair = arg;
  size_t u = hawk_usable_size(pair[0]);
  hawk_free(pair[0]); /* into this thread's cache */
  memset(pair[0] + u, 0x41, 8);
  hawk_trim(); /* the cache goes back to the heap */
}

TEST(cached_overflow_then_flush) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(200, &pair[0], &pair[1]));
  const char *tcache = getenv("HAWKALLOC_TCACHE");
  if (tcache && strcmp(tcache, "0") == 0) /* textbook mode: no cache, the free coalesced at once */
    EXPECT_ABORT(child_cached_overflow_then_flush, pair, "hawkalloc: malloc_trim(",
                 "heap corruption");
  else
    EXPECT_MISUSE(child_cached_overflow_then_flush, pair, "free", pair[0], "heap corruption");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  CHECK(hawk_check() == 0);
}

/* malloc_usable_size reads a block's size: an overflow into the next
 * block's header is reported there too, as free reports it. */
static void child_overflow_then_usable(void *arg) {
  unsigned char **pair = arg;
  size_t u = hawk_usable_size(pair[0]);
  memset(pair[0] + u, 0x41, 8);
  sink = hawk_usable_size(pair[0]);
}

TEST(overflow_then_usable_size) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  EXPECT_MISUSE(child_overflow_then_usable, pair, "malloc_usable_size", pair[0], "heap corruption");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  CHECK(hawk_check() == 0);
}

/* A header with a sound check tag (as a program that learnt the secret, or
 * one that copied a header of the library's, could write it: here with
 * block_make_word) whose size leads past the block's arena.  The fast path
 * of malloc_usable_size, which takes no lock, must not read a next header
 * there, in memory no arena holds; it leaves the block to the locked path,
 * which reports it.  Where the size leads: a page mapped past the arena,
 * with no access (a read there would fault), or readable with a sound
 * header of an allocated block where the next header would be (the forged
 * size would come back as the usable size). */
struct forged_size {
  unsigned char *p;    /* the block whose header is forged */
  unsigned char *page; /* the page past its arena the forged size leads into */
  int sound_next;      /* a sound header there; else the page has no access */
};

/* Maps a page with protection prot at the first chunk boundary past p's
 * arena where nothing is mapped, chunk by chunk upwards; NULL if there is
 * none in the next 64 GiB. */
static unsigned char *map_past_the_arena(const void *p, int prot) {
  uintptr_t at = ((uintptr_t)p & ~(uintptr_t)(ARENA_SIZE - 1)) + ARENA_SIZE;
  for (int i = 0; i < 16384; i++, at += ARENA_SIZE) {
    void *m =
        mmap((void *)at, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == (void *)at) return m;
    if (m != MAP_FAILED) munmap(m, 4096); /* the address taken as a hint only */
  }
  return NULL;
}

static void child_forged_size_then_usable(void *arg) {
  const struct forged_size *f = arg;
  block *b = block_of_payload(f->p);
  block *next = (block *)(f->page + HEADER_SIZE); /* 8 modulo 16, as every header */
  size_t size = (size_t)((unsigned char *)next - (unsigned char *)b);
  if (f->sound_next)
    block_store(next, block_make_word(next, BLOCK_MIN, BLOCK_ALLOC | BLOCK_PREV_ALLOC));
  block_store(b, block_make_word(b, size, block_load(b) & BLOCK_FLAGS));
  sink = hawk_usable_size(f->p);
}

TEST(sound_header_whose_size_leads_past_its_arena_then_usable_size) {
  unsigned char *p = hawk_malloc(100);
  REQUIRE(p);
  for (int sound_next = 0; sound_next < 2; sound_next++) {
    unsigned char *page = map_past_the_arena(p, sound_next ? PROT_READ | PROT_WRITE : PROT_NONE);
    REQUIRE(page);
    struct forged_size f = {p, page, sound_next};
    EXPECT_MISUSE(child_forged_size_then_usable, &f, "malloc_usable_size", p, "heap corruption");
    munmap(page, 4096);
  }
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* A growing realloc reads the next block's header without the lock to
 * decide whether it can grow in place: an overflow into that header (here
 * with bytes that look like an allocated block's flags) is reported by
 * realloc, as free reports it. */
static void child_overflow_then_grow(void *arg) {
  unsigned char **pair = arg;
  memset(pair[0] + hawk_usable_size(pair[0]), 0x43, 8);
  sink = (size_t)(uintptr_t)hawk_realloc(pair[0], 3500);
}

TEST(overflow_then_growing_realloc) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  EXPECT_MISUSE(child_overflow_then_grow, pair, "realloc", pair[0], "heap corruption");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  CHECK(hawk_check() == 0);
}

/* The neighbour is already free; freeing the overflowed block coalesces with
 * it, reading the overwritten header. */
static void child_overflow_into_free(void *arg) {
  unsigned char **pair = arg;
  hawk_free(pair[1]);
  memset(pair[0] + hawk_usable_size(pair[0]), 0x41, 8);
  hawk_free(pair[0]);
}

TEST(overflow_into_free_neighbour_then_coalesce) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  void *guard = hawk_malloc(3000); /* keeps the freed neighbour a block of its own */
  REQUIRE(guard);
  EXPECT_ABORT(child_overflow_into_free, pair, "hawkalloc: ", "free(");
  EXPECT_MISUSE_EITHER(child_overflow_into_free, pair, "free", pair[0], "heap corruption",
                       "invalid pointer");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
  hawk_free(guard);
  CHECK(hawk_check() == 0);
}

/* Allocates blocks of n bytes until count of them lie side by side, in
 * address order, in run; the others are freed.  Returns 1 when it found
 * them. */
static int adjacent_run(size_t n, int count, unsigned char **run) {
  enum { TRIES = 64 };
  unsigned char *b[TRIES];
  int made = 0, first = -1;
  while (made < TRIES && first < 0) {
    if ((b[made] = hawk_malloc(n)) == NULL) break;
    made++;
    int k = made - 1, len = 1;
    while (k > 0 && b[k] == b[k - 1] + hawk_usable_size(b[k - 1]) + HEADER_SIZE) k--, len++;
    if (len >= count) first = made - count;
  }
  for (int i = 0; i < made; i++) {
    if (first >= 0 && i >= first && i < first + count)
      run[i - first] = b[i];
    else
      hawk_free(b[i]);
  }
  return first >= 0;
}

/* Five blocks side by side: W, P0, X, P1, B.  P0 and P1 are freed, two
 * free blocks with X in use between them.  A write after free over P1's
 * last word, its footer, makes it say that the free block before B starts
 * at P0: a sound free header.  Freeing B would merge P0, X (in use) and P1
 * (still listed) into one free block; the footer must be the header word
 * of the block it leads to, all of it, not only a size that leads to one. */
static void child_footer_leads_to_an_older_free_block(void *arg) {
  unsigned char **run = arg;
  hawk_free(run[1]);
  hawk_free(run[3]);
  uint64_t forged = (uint64_t)(run[4] - run[1]); /* P0's distance, as a free block's size */
  memcpy(run[4] - HEADER_SIZE - 8, &forged, sizeof forged);
  hawk_free(run[4]);
}

TEST(write_after_free_of_a_footer_that_leads_to_an_older_free_block) {
  unsigned char *run[5];
  REQUIRE(adjacent_run(3000, 5, run));
  EXPECT_MISUSE(child_footer_leads_to_an_older_free_block, run, "free", run[4], "heap corruption");
  for (int i = 0; i < 5; i++) hawk_free(run[i]);
  CHECK(hawk_check() == 0);
}

/* malloc_trim walks every block to give free pages back: an overflow that
 * turns a live neighbour's header into a free block's (the allocated bit
 * cleared) must be reported, not taken at its word with the neighbour's
 * pages discarded. */
static void child_overflow_then_trim(void *arg) {
  unsigned char **pair = arg;
  memset(pair[1], 0x5a, hawk_usable_size(pair[1]));
  uint64_t header;
  memcpy(&header, pair[1] - 8, sizeof header);
  header &= ~(uint64_t)1; /* "free" */
  memcpy(pair[1] - 8, &header, sizeof header);
  hawk_trim();
  for (size_t i = 0; i < hawk_usable_size(pair[0]); i += 4096)
    if (pair[1][i] != 0x5a) _exit(3); /* its pages were discarded */
}

TEST(overflow_then_malloc_trim) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(40000, &pair[0], &pair[1]));
  EXPECT_ABORT(child_overflow_then_trim, pair, "hawkalloc: malloc_trim(", "heap corruption");
  hawk_free(pair[0]);
  hawk_free(pair[1]);
}

/* hawk_check sees the overwritten header too, without aborting. */
static void child_check_after_overflow(void *arg) {
  unsigned char **pair = arg;
  memset(pair[0] + hawk_usable_size(pair[0]), 0x41, 8);
  int problems = hawk_check();
  _exit(problems > 0 ? 0 : 1);
}

TEST(overflow_seen_by_hawk_check) {
  unsigned char *pair[2];
  REQUIRE(adjacent_pair(3000, &pair[0], &pair[1]));
  char buf[4096];
  int status = run_captured(child_check_after_overflow, pair, buf, sizeof buf);
  CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* The check names the overwritten header: the one of the next block. */
  char where[32];
  CHECK(strstr(buf, "hawkalloc: check: block ") != NULL);
  CHECK(strstr(buf, ptr_text(pair[1] - 8, where)) != NULL);
  CHECK(strstr(buf, "header check tag is wrong") != NULL);
  hawk_free(pair[0]);
  hawk_free(pair[1]);
}

/* hawk_check covers the large blocks: the header word before a large
 * block's payload overwritten is reported, without aborting. */
static void child_check_after_large_header_overwritten(void *arg) {
  unsigned char *p = arg;
  memset(p - 8, 0x41, 8);
  int problems = hawk_check();
  _exit(problems > 0 ? 0 : 1);
}

TEST(large_block_header_overwritten_seen_by_hawk_check) {
  unsigned char *p = hawk_malloc(3 * MiB);
  REQUIRE(p);
  char buf[4096];
  int status = run_captured(child_check_after_large_header_overwritten, p, buf, sizeof buf);
  CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(strstr(buf, "hawkalloc: check: large block") != NULL);
  hawk_free(p);
}

/* realloc of a freed block to more than PTRDIFF_MAX bytes fails, but the
 * pointer is checked first: the misuse is reported, not an ENOMEM. */
static void child_huge_realloc_after_free(void *arg) {
  hawk_free(arg);
  sink = (size_t)(uintptr_t)hawk_realloc(arg, SIZE_MAX);
}

TEST(realloc_after_free_to_a_size_past_ptrdiff_max) {
  void *a = hawk_malloc(300), *b = hawk_malloc(300);
  REQUIRE(a && b);
  EXPECT_MISUSE_EITHER(child_huge_realloc_after_free, a, "realloc", a, "double free",
                       "invalid pointer");
  hawk_free(a);
  hawk_free(b);
}

/* A large block aligned to a whole chunk (4 MiB) has its payload at a
 * chunk's start, its mapping's header in the chunk before.  Freed, its
 * mapping unmapped by hawk_trim, and freed again: a double free, since
 * nothing has mapped the range since and the payload lay where one of
 * HawkAlloc's can. */
static void child_free_trim_free(void *arg) {
  hawk_free(arg);
  hawk_trim();
  hawk_free(arg);
}

TEST(double_free_of_a_chunk_aligned_large_block_after_trim) {
  void *p = hawk_memalign(ARENA_SIZE, 1000);
  REQUIRE(p);
  REQUIRE(((uintptr_t)p & (ARENA_SIZE - 1)) == 0);
  EXPECT_MISUSE(child_free_trim_free, p, "free", p, "double free");
  hawk_free(p);
}

/* A misuse report whose stderr is a pipe nobody reads (a daemon whose
 * logger went away): the line cannot be delivered, and the program must
 * still end by abort(), not by the SIGPIPE its write raised (at 13dee5f:
 * SIGPIPE, status 13, for a double free of 100 bytes; also a file past the
 * size limit: SIGXFSZ).  The read end is closed before the fork. */
static int misuse_into(int fd, void *p, rlim_t fsize) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit small = {fsize, fsize};
    if (fsize && setrlimit(RLIMIT_FSIZE, &small) != 0) _exit(2);
    dup2(fd, 2);
    struct misuse m = {OP_FREE, p, NULL, p};
    child_misuse(&m);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(a_misuse_report_into_a_pipe_nobody_reads_still_aborts) {
  void *a = hawk_malloc(100);
  REQUIRE(a);
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  close(fd[0]);
  int status = misuse_into(fd[1], a, 0);
  close(fd[1]);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
    fprintf(stderr, "    status %d\n", status);
  hawk_free(a);
}

TEST(a_misuse_report_into_a_file_past_the_size_limit_still_aborts) {
  void *a = hawk_malloc(100);
  REQUIRE(a);
  char path[] = "/tmp/hawk-misuse-fsize-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unlink(path);
  REQUIRE(ftruncate(fd, 4096) == 0);
  REQUIRE(lseek(fd, 4096, SEEK_SET) == 4096);
  int status = misuse_into(fd, a, 4096);
  close(fd);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
    fprintf(stderr, "    status %d\n", status);
  hawk_free(a);
}

/* The list of thread caches has a lock of its own (a new thread's first
 * malloc, a thread's exit, the statistics' totals).  A take that finds it
 * held while the process has one thread waits for its own thread, a call a
 * signal handler interrupted: one line and abort, as for a heap's lock.
 * Until 2026-12-07 it was a plain glibc mutex and the second take slept
 * until the alarm.  Taken here through the library's own call (a whole-archive link):
 * no public call holds it long enough for a signal to land there at will. */
void tcache_lock_all(void);

static void cache_list_taken_twice(void *arg) {
  (void)arg;
  alarm(5);
  tcache_lock_all();
  struct hawk_stats st;
  hawk_stats(&st, sizeof st); /* the handler's call: the caches' totals */
}

static void *cache_list_thread(void *arg) {
  hawk_free(hawk_malloc(100));
  return arg;
}

TEST(a_wait_for_the_thread_caches_list_held_by_its_own_thread_is_reported) {
  const char *name = "a_wait_for_the_thread_caches_list_held_by_its_own_thread_is_reported";
  if (!is_fresh(name)) {
    CHECK(run_fresh(name) == 0);
    return;
  }
  hawk_free(hawk_malloc(100)); /* this thread's cache made */
  EXPECT_ABORT(cache_list_taken_twice, NULL, "hawkalloc: ", "signal handler", "its own thread");
  /* Again once a thread was made and joined: the process counts as
   * threaded, so the library's fork handlers run in EXPECT_ABORT's child and
   * make its locks afresh (mutex_reset), and the take is told from the
   * lock's holder, not from a count of threads. */
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, cache_list_thread, NULL) == 0 && pthread_join(t, NULL) == 0);
  hawk_free(hawk_malloc(100)); /* the fork handlers registered */
  EXPECT_ABORT(cache_list_taken_twice, NULL, "hawkalloc: ", "signal handler", "its own thread");
}

/* A hawk_walk visitor that calls into the library waits for a lock the
 * walk holds: a heap's (a medium block freed) or the large blocks' list (a
 * large block freed, the take failing as an error-checking mutex's).  The
 * line names the walk's callback, not a signal handler. */
static void *walk_victim;
static int walk_freed;

static void visit_and_free(void *ctx, const struct hawk_block_info *b) {
  if (b->state == *(const int *)ctx && !walk_freed++) hawk_free(walk_victim);
}

static void walk_that_frees(void *arg) {
  alarm(5);
  walk_victim = hawk_malloc(*(int *)arg == HAWK_BLOCK_LARGE ? 3 * MiB : 100 * KiB);
  hawk_walk(visit_and_free, arg);
}

TEST(a_walk_visitor_that_frees_a_block_is_told_by_its_callback) {
  static int medium = HAWK_BLOCK_ALLOCATED, large = HAWK_BLOCK_LARGE;
  const char *line = "hawkalloc: hawk_walk: its callback called into the library";
  EXPECT_ABORT(walk_that_frees, &medium, line);
  EXPECT_ABORT(walk_that_frees, &large, line);
}

/* The lock layer's own report (lock.c writes its line itself, below
 * report.c's line_write) into a stderr that is a pipe nobody reads: the
 * program still ends by abort(), not by the SIGPIPE of its write. */
TEST(a_lock_report_into_a_pipe_nobody_reads_still_aborts) {
  static int medium = HAWK_BLOCK_ALLOCATED;
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  close(fd[0]);
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fd[1], 2);
    walk_that_frees(&medium);
    _exit(0);
  }
  close(fd[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
    fprintf(stderr, "    status %d\n", status);
}

/* A recorder's callback that destroys the created heap whose call it is
 * told of: the call holds the heap's lock and goes on in the heap's arenas
 * once the callback returns.  The destroy waits for that lock, as for a
 * call of another thread, and the wait tells the callback: one line, not a
 * call that carries on in unmapped arenas (a SIGSEGV, or with threads a
 * write into whatever was mapped there since; found at 5cc76c9). */
static struct hawk_heap *destroyed_in_callback;

static void destroy_on_its_event(void *ctx, const struct hawk_event *e) {
  (void)ctx;
  struct hawk_heap *h = destroyed_in_callback;
  if (h != NULL && e->heap == hawk_heap_id(h)) {
    destroyed_in_callback = NULL;
    hawk_heap_destroy(h);
  }
}

static void heap_destroyed_by_its_recorder(void *arg) {
  (void)arg;
  alarm(5);
  struct hawk_heap *h = hawk_heap_create(NULL);
  hawk_heap_malloc(h, 200);
  destroyed_in_callback = h;
  hawk_events(destroy_on_its_event, NULL);
  char *p = hawk_heap_malloc(h, 5000);
  if (p != NULL) memset(p, 0x41, 5000);
  _exit(0); /* the call came back: the abort was missed */
}

TEST(a_recorder_that_destroys_the_heap_of_its_event_is_told_by_its_callback) {
  EXPECT_ABORT(heap_destroyed_by_its_recorder, NULL,
               "hawkalloc: hawk_events: its callback called into the library");
}

#endif /* not under a sanitizer */

TEST_MAIN()
