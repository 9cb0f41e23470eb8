/* test_api.c - the public allocation API: errno, sizes, calloc, realloc and
 * the alignment family (sections A-D of TESTING.md, cases 1-17).
 *
 * Everything goes through the hawk_* names, so this program also runs under
 * ASan/UBSan with -DHAWK_NO_OVERRIDE, where the standard names belong to the
 * sanitizer.  Nothing here assumes one placement policy.
 */
#include <sys/mman.h>

#include "harness.h"
#include "hawkalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define KiB       ((size_t)1024)
#define MiB       (1024 * KiB)
#define LARGE_MIN MiB /* requests this big or bigger get their own mapping... */
#define LARGE_ALWAYS                                                                               \
  (2 * MiB)                      /* ...this big or bigger always: below, memory the heap           \
                                    has used already serves one first, if it holds it */
#define ARENA_SIZE     (4 * MiB) /* arenas are 4 MiB, aligned to 4 MiB */
#define HEADER_SIZE    8         /* block header just before the payload */
#define ERRNO_SENTINEL 4242      /* a value no allocator would ever store in errno */

/* Runs stmt with errno set to a sentinel and fails the case if errno changed. */
#define CHECK_ERRNO_KEPT(stmt)                                                                     \
  do {                                                                                             \
    errno = ERRNO_SENTINEL;                                                                        \
    stmt;                                                                                          \
    int errno_now_ = errno;                                                                        \
    if (errno_now_ != ERRNO_SENTINEL) {                                                            \
      fprintf(stderr, "    %s:%d: errno changed to %d by: %s\n", __FILE__, __LINE__, errno_now_,   \
              #stmt);                                                                              \
      test_failures_in_case++;                                                                     \
    }                                                                                              \
  } while (0)

/* Counts a failure in a long loop, printing only the first few. */
#define TALLY(bad, cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if ((bad)++ < 5) {                                                                           \
        fprintf(stderr, "    %s:%d: %s failed: ", __FILE__, __LINE__, #cond);                      \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
      }                                                                                            \
    }                                                                                              \
  } while (0)

/* ---- helpers ----------------------------------------------------------- */

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  CHECK(hawk_stats(&s, sizeof s) == 0);
  return s;
}

static int is_aligned(const void *p, size_t alignment) {
  return ((uintptr_t)p & (alignment - 1)) == 0;
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* A byte pattern that depends on the position and on a per-block seed. */
static unsigned char pattern_byte(size_t i, unsigned seed) {
  return (unsigned char)((i ^ (i >> 8) ^ (i >> 16)) * 31u + seed * 101u + 7u);
}

static void fill(void *p, size_t n, unsigned seed) {
  unsigned char *b = p;
  for (size_t i = 0; i < n; i++) b[i] = pattern_byte(i, seed);
}

/* 1 if the first n bytes still hold the pattern written by fill(p, n, seed). */
static int intact(const void *p, size_t n, unsigned seed) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern_byte(i, seed)) return 0;
  return 1;
}

static int all_bytes(const void *p, size_t n, unsigned char v) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != v) return 0;
  return 1;
}

static uint64_t rng_state = 1;
static void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static size_t rng_below(size_t n) { return (size_t)(rng() % n); }

/* Allocates pairs of n-byte blocks until one block directly follows the other
 * (the lower one's usable area ends where the upper one's header starts).
 * Misses are freed.  Returns 1 and the pair (lower first) when found. */
static int adjacent_pair(size_t n, unsigned char **lo, unsigned char **hi) {
  void *miss[128];
  int nmiss = 0, found = 0;
  for (int i = 0; i < 64 && !found; i++) {
    unsigned char *a = hawk_malloc(n), *b = hawk_malloc(n);
    if (!a || !b) {
      hawk_free(a);
      hawk_free(b);
      break;
    }
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

/* ---- A. Basic API and errno -------------------------------------------- */

/* A1: malloc(0) returns distinct, freeable minimum blocks (usable 24). */
TEST(malloc_zero_distinct_freeable) {
  enum { N = 64 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    CHECK_ERRNO_KEPT(p[i] = hawk_malloc(0));
    REQUIRE(p[i] != NULL);
    CHECK(is_aligned(p[i], 16));
    CHECK(hawk_usable_size(p[i]) >= 24);
    memset(p[i], 0x5A, hawk_usable_size(p[i]));
    for (int j = 0; j < i; j++) CHECK(p[j] != p[i]);
  }
  CHECK(hawk_check() == 0);
  for (int i = 0; i < N; i += 2) CHECK_ERRNO_KEPT(hawk_free(p[i]));
  CHECK(hawk_check() == 0);
  for (int i = 1; i < N; i += 2) CHECK_ERRNO_KEPT(hawk_free(p[i]));
  CHECK(hawk_check() == 0);
}

/* A2: free(NULL) does nothing at all. */
TEST(free_null_is_noop) {
  struct hawk_stats before = stats_now();
  CHECK_ERRNO_KEPT(hawk_free(NULL));
  errno = ENOMEM;
  hawk_free(NULL);
  CHECK(errno == ENOMEM);
  struct hawk_stats after = stats_now();
  CHECK(after.frees == before.frees);
  CHECK(after.in_use == before.in_use);
  CHECK(hawk_check() == 0);
}

/* A2: free leaves errno alone on every path, including unmapping a large
 * block and emptying whole arenas. */
TEST(free_keeps_errno_every_path) {
  static const size_t sizes[] = {0, 24, 100, 4000, 100000, MiB - 1, MiB, MiB + 1, 8 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    void *p = hawk_malloc(sizes[i]);
    REQUIRE(p);
    CHECK_ERRNO_KEPT(hawk_free(p));
  }
  void *a = hawk_memalign(4096, 100), *b = hawk_memalign(MiB, 3 * MiB), *c = hawk_valloc(5000);
  REQUIRE(a && b && c);
  CHECK_ERRNO_KEPT(hawk_free(a));
  CHECK_ERRNO_KEPT(hawk_free(b));
  CHECK_ERRNO_KEPT(hawk_free(c));
  /* Fill several arenas with near-threshold blocks, then empty them. */
  enum { N = 16 };
  void *big[N];
  for (int i = 0; i < N; i++) REQUIRE((big[i] = hawk_malloc(900 * KiB)) != NULL);
  for (int i = 0; i < N; i++) CHECK_ERRNO_KEPT(hawk_free(big[i]));
  hawk_trim();
  CHECK(hawk_check() == 0);
}

/* A2: a successful call never changes errno, on any entry point or path. */
TEST(success_keeps_errno_every_entry_point) {
  static const size_t sizes[] = {0, 1, 100, 5000, 300000, MiB - 1, MiB, 3 * MiB + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    void *p = NULL, *q = NULL;
    CHECK_ERRNO_KEPT(p = hawk_malloc(n));
    REQUIRE(p);
    CHECK_ERRNO_KEPT(hawk_usable_size(p));
    CHECK_ERRNO_KEPT(p = hawk_realloc(p, n + 5000)); /* grow */
    REQUIRE(p);
    CHECK_ERRNO_KEPT(p = hawk_realloc(p, n / 2 + 1)); /* shrink */
    REQUIRE(p);
    CHECK_ERRNO_KEPT(p = hawk_realloc(p, 2 * MiB)); /* to a large block */
    REQUIRE(p);
    CHECK_ERRNO_KEPT(p = hawk_realloc(p, n + 1)); /* and back */
    REQUIRE(p);
    CHECK_ERRNO_KEPT(p = hawk_reallocarray(p, n + 1, 2));
    REQUIRE(p);
    hawk_free(p);
    CHECK_ERRNO_KEPT(q = hawk_calloc(1, n));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_calloc(n, 1));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_realloc(NULL, n));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_reallocarray(NULL, 1, n));
    REQUIRE(q);
    hawk_free(q);
    int rc = -1;
    CHECK_ERRNO_KEPT(rc = hawk_posix_memalign(&q, 64, n));
    REQUIRE(rc == 0);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_aligned_alloc(4096, n));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_memalign(MiB, n));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_valloc(n));
    REQUIRE(q);
    hawk_free(q);
    CHECK_ERRNO_KEPT(q = hawk_pvalloc(n));
    REQUIRE(q);
    hawk_free(q);
  }
  /* Growth by new arenas: four 1000000-byte blocks fill a 4 MiB arena. */
  enum { N = 20 };
  void *big[N];
  for (int i = 0; i < N; i++) {
    CHECK_ERRNO_KEPT(big[i] = hawk_malloc(1000000));
    REQUIRE(big[i]);
  }
  for (int i = 0; i < N; i++) hawk_free(big[i]);
  CHECK(hawk_check() == 0);
}

/* A3: sizes no allocator can satisfy: SIZE_MAX and below, PTRDIFF_MAX + 1 and
 * above, PTRDIFF_MAX and below, the points where adding a header, a page, an
 * alignment or an arena would wrap, and sizes beyond the address space. */
#define HUGE_MAX 12000
static size_t huge_sizes[HUGE_MAX];
static int huge_count;

static void huge_add(size_t n) {
  if (huge_count < HUGE_MAX) huge_sizes[huge_count++] = n;
}

static void huge_init(void) {
  if (huge_count) return;
  for (size_t k = 0; k <= 4160; k++) huge_add(SIZE_MAX - k);
  for (size_t k = 0; k <= 4160; k++) huge_add((size_t)PTRDIFF_MAX + 1 + k);
  for (size_t k = 0; k <= 64; k++) huge_add((size_t)PTRDIFF_MAX - k);
  for (int j = 13; j <= 23; j++) {
    size_t edge = SIZE_MAX - ((size_t)1 << j) + 1;
    for (size_t d = 0; d <= 80; d++) huge_add(edge - 40 + d);
    size_t twice = SIZE_MAX - ((size_t)2 << j) + 1;
    for (size_t d = 0; d <= 16; d++) huge_add(twice - 8 + d);
  }
  for (int j = 12; j <= 23; j++) {
    size_t edge = (size_t)PTRDIFF_MAX + 1 - ((size_t)1 << j);
    for (size_t d = 0; d <= 16; d++) huge_add(edge - 8 + d);
  }
  for (int j = 48; j <= 63; j++) {
    huge_add(((size_t)1 << j) - 1);
    huge_add((size_t)1 << j);
    huge_add(((size_t)1 << j) + 1);
  }
}

/* 1 when the result is a clean failure: NULL with errno == ENOMEM. */
static int enomem(void *r) {
  int ok = r == NULL && errno == ENOMEM;
  if (r) hawk_free(r);
  return ok;
}

static char out_marker; /* what posix_memalign's *out holds before the call */
static void *victim;    /* the live block handed to realloc in the sweeps */

typedef int (*huge_try_fn)(size_t n, size_t arg);

static int try_malloc(size_t n, size_t arg) {
  (void)arg;
  return enomem(hawk_malloc(n));
}
static int try_calloc(size_t n, size_t arg) {
  if (!enomem(hawk_calloc(1, n))) return 0;
  errno = 0;
  if (!enomem(hawk_calloc(n, 1))) return 0;
  errno = 0;
  return enomem(hawk_calloc(arg, n)); /* arg >= 2: the product overflows too */
}
static int try_realloc_null(size_t n, size_t arg) {
  (void)arg;
  return enomem(hawk_realloc(NULL, n));
}
static int try_realloc_victim(size_t n, size_t arg) {
  (void)arg;
  void *r = hawk_realloc(victim, n);
  if (r) victim = r;
  return r == NULL && errno == ENOMEM;
}
static int try_reallocarray_victim(size_t n, size_t arg) {
  void *r = hawk_reallocarray(victim, n, 1);
  if (r) victim = r;
  if (r || errno != ENOMEM) return 0;
  errno = 0;
  r = hawk_reallocarray(victim, arg, n);
  if (r) victim = r;
  return r == NULL && errno == ENOMEM;
}
static int try_reallocarray_null(size_t n, size_t arg) {
  if (!enomem(hawk_reallocarray(NULL, 1, n))) return 0;
  errno = 0;
  if (!enomem(hawk_reallocarray(NULL, n, 1))) return 0;
  errno = 0;
  return enomem(hawk_reallocarray(NULL, n, arg));
}
static int try_posix_memalign(size_t n, size_t alignment) {
  void *out = &out_marker;
  int rc = hawk_posix_memalign(&out, alignment, n);
  if (rc == 0) hawk_free(out);
  return rc == ENOMEM && out == &out_marker;
}
static int try_aligned_alloc(size_t n, size_t alignment) {
  return enomem(hawk_aligned_alloc(alignment, n));
}
static int try_memalign(size_t n, size_t alignment) { return enomem(hawk_memalign(alignment, n)); }
static int try_valloc(size_t n, size_t arg) {
  (void)arg;
  return enomem(hawk_valloc(n));
}
static int try_pvalloc(size_t n, size_t arg) {
  (void)arg;
  return enomem(hawk_pvalloc(n));
}

/* Runs fn over every huge size; each must fail cleanly with ENOMEM. */
static void sweep_huge(const char *what, huge_try_fn fn, size_t arg) {
  huge_init();
  int bad = 0;
  for (int i = 0; i < huge_count; i++) {
    errno = 0;
    TALLY(bad, fn(huge_sizes[i], arg), "%s(%#zx) [arg %zu] errno %d", what, huge_sizes[i], arg,
          errno);
  }
  CHECK(bad == 0);
}

static const size_t sweep_alignments[] = {8, 16, 64, 4096, MiB, 4 * MiB};
#define N_SWEEP_ALIGNMENTS (sizeof sweep_alignments / sizeof *sweep_alignments)

/* After a failure sweep, the heap still works and success keeps errno. */
static void after_sweep(void) {
  void *p = NULL;
  CHECK_ERRNO_KEPT(p = hawk_malloc(100));
  CHECK(p != NULL);
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

TEST(huge_malloc_enomem) {
  sweep_huge("malloc", try_malloc, 0);
  after_sweep();
}

TEST(huge_calloc_enomem) {
  sweep_huge("calloc", try_calloc, 2);
  after_sweep();
}

TEST(huge_realloc_null_enomem) {
  sweep_huge("realloc(NULL)", try_realloc_null, 0);
  after_sweep();
}

/* A3 + C11: realloc(p, huge) fails and leaves p intact and freeable, for a
 * small, a medium and a large p. */
TEST(huge_realloc_keeps_block) {
  static const size_t sizes[] = {100, 5000, 2 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    victim = hawk_malloc(sizes[i]);
    REQUIRE(victim);
    void *orig = victim;
    size_t usable = hawk_usable_size(victim);
    fill(victim, usable, (unsigned)i);
    sweep_huge("realloc(p)", try_realloc_victim, 0);
    CHECK(victim == orig);
    CHECK(hawk_usable_size(victim) == usable);
    CHECK(intact(victim, usable, (unsigned)i));
    CHECK(hawk_check() == 0);
    hawk_free(victim);
    victim = NULL;
  }
  after_sweep();
}

TEST(huge_reallocarray_enomem) {
  sweep_huge("reallocarray(NULL)", try_reallocarray_null, 3);
  static const size_t sizes[] = {100, 2 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    victim = hawk_malloc(sizes[i]);
    REQUIRE(victim);
    void *orig = victim;
    fill(victim, sizes[i], 3);
    sweep_huge("reallocarray(p)", try_reallocarray_victim, 2);
    CHECK(victim == orig);
    CHECK(intact(victim, sizes[i], 3));
    hawk_free(victim);
    victim = NULL;
  }
  after_sweep();
}

TEST(huge_posix_memalign_enomem_out_untouched) {
  for (size_t i = 0; i < N_SWEEP_ALIGNMENTS; i++)
    sweep_huge("posix_memalign", try_posix_memalign, sweep_alignments[i]);
  after_sweep();
}

TEST(huge_aligned_alloc_enomem) {
  for (size_t i = 0; i < N_SWEEP_ALIGNMENTS; i++)
    sweep_huge("aligned_alloc", try_aligned_alloc, sweep_alignments[i]);
  after_sweep();
}

TEST(huge_memalign_enomem) {
  for (size_t i = 0; i < N_SWEEP_ALIGNMENTS; i++)
    sweep_huge("memalign", try_memalign, sweep_alignments[i]);
  after_sweep();
}

TEST(huge_valloc_enomem) {
  sweep_huge("valloc", try_valloc, 0);
  after_sweep();
}

/* pvalloc rounds up to a page: SIZE_MAX - small must not wrap to 0. */
TEST(huge_pvalloc_enomem) {
  sweep_huge("pvalloc", try_pvalloc, 0);
  after_sweep();
}

/* A3: valid power-of-two alignments too big for the address space: a clean
 * NULL (ENOMEM, or EINVAL if the library treats them as unsupported), never a
 * wrapped computation, and *out untouched. */
TEST(huge_alignment_values_fail_cleanly) {
  static const size_t sizes[] = {1, 100, 5 * MiB};
  int bad = 0;
  for (int j = 48; j <= 63; j++) {
    size_t a = (size_t)1 << j;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
      size_t n = sizes[i];
      void *out = &out_marker;
      int rc = hawk_posix_memalign(&out, a, n);
      TALLY(bad, (rc == ENOMEM || rc == EINVAL) && out == &out_marker,
            "posix_memalign(2^%d, %zu) rc %d", j, n, rc);
      if (rc == 0) hawk_free(out);
      errno = 0;
      void *r = hawk_aligned_alloc(a, n);
      TALLY(bad, r == NULL && (errno == ENOMEM || errno == EINVAL), "aligned_alloc(2^%d, %zu)", j,
            n);
      hawk_free(r);
      errno = 0;
      r = hawk_memalign(a, n);
      TALLY(bad, r == NULL && (errno == ENOMEM || errno == EINVAL), "memalign(2^%d, %zu)", j, n);
      hawk_free(r);
    }
  }
  CHECK(bad == 0);
  after_sweep();
}

/* malloc_usable_size answers without the heap's lock for a block in use
 * whose predecessor is free (programs that count their memory call it on
 * every malloc and free).  Asked from inside a hawk_walk visitor, at the
 * block's own visit, while the walk holds that heap's lock: a call that
 * waited for the lock would be reported as the visitor's misuse (lock.h)
 * and abort the child. */
struct usable_in_walk {
  unsigned char *p;
  size_t got;
  int asked;
};

static void ask_usable(void *ctx, const struct hawk_block_info *info) {
  struct usable_in_walk *u = ctx;
  if (u->asked || info->payload != (uintptr_t)u->p) return;
  u->asked = 1;
  u->got = hawk_usable_size(u->p);
}

static void usable_in_walk_child(void *arg) {
  (void)arg;
  unsigned char *lo, *hi;
  int found = adjacent_pair(3000, &lo, &hi); /* above the thread cache */
  CHECK(found);
  if (!found) return;
  size_t want = hawk_usable_size(hi);
  hawk_free(lo); /* hi's predecessor is free now */
  struct usable_in_walk u = {hi, 0, 0};
  hawk_walk(ask_usable, &u);
  CHECK(u.asked == 1);
  CHECK(u.got == want);
  hawk_free(hi);
}

TEST(usable_size_after_a_free_block_answers_without_the_lock) {
  CHECK(run_in_child(usable_in_walk_child, NULL) == 0);
}

/* A4: every size 1..4096 at once: 16-aligned, usable >= n (and usable = block
 * size - 8 with 16-byte block sizes), the whole usable area writable without
 * touching any neighbour: each block holds its own pattern, checked after all
 * were written. */
TEST(sizes_1_to_4096_live_no_overlap) {
  enum { N = 4096 };
  static unsigned char *p[N + 1];
  int bad = 0;
  for (size_t n = 1; n <= N; n++) {
    p[n] = hawk_malloc(n);
    REQUIRE(p[n]);
    size_t u = hawk_usable_size(p[n]);
    TALLY(bad, is_aligned(p[n], 16), "malloc(%zu) = %p", n, (void *)p[n]);
    TALLY(bad, u >= n, "usable %zu for %zu", u, n);
    TALLY(bad, u % 16 == 8, "usable %zu for %zu is not block size - 8", u, n);
    TALLY(bad, u < 2 * n + 64, "usable %zu for %zu is wasteful", u, n);
    fill(p[n], u, (unsigned)n);
    if (n % 512 == 0) CHECK(hawk_check() == 0);
  }
  for (size_t n = 1; n <= N; n++)
    TALLY(bad, intact(p[n], hawk_usable_size(p[n]), (unsigned)n), "block of %zu overwritten", n);
  CHECK(hawk_check() == 0);
  for (size_t n = 1; n <= N; n += 2) hawk_free(p[n]);
  CHECK(hawk_check() == 0);
  for (size_t n = 2; n <= N; n += 2)
    TALLY(bad, intact(p[n], hawk_usable_size(p[n]), (unsigned)n), "block of %zu overwritten", n);
  for (size_t n = 2; n <= N; n += 2) hawk_free(p[n]);
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* A4: the same on recycled memory: free every third block, refill the holes
 * with sizes in reverse order, check every live block, free in random order. */
TEST(sizes_1_to_4096_recycled_no_overlap) {
  enum { N = 4096 };
  static unsigned char *p[N + 1];
  static unsigned char *q[N + 1];
  int bad = 0;
  for (size_t n = 1; n <= N; n++) {
    REQUIRE((p[n] = hawk_malloc(n)) != NULL);
    fill(p[n], hawk_usable_size(p[n]), (unsigned)n);
  }
  for (size_t n = 1; n <= N; n += 3) {
    hawk_free(p[n]);
    p[n] = NULL;
  }
  CHECK(hawk_check() == 0);
  for (size_t n = N; n >= 1; n--) {
    if (n % 3 != 1) continue;
    REQUIRE((q[n] = hawk_malloc(n)) != NULL);
    size_t u = hawk_usable_size(q[n]);
    TALLY(bad, is_aligned(q[n], 16) && u >= n, "recycled malloc(%zu)", n);
    fill(q[n], u, (unsigned)n + 7777u);
  }
  for (size_t n = 1; n <= N; n++) {
    if (p[n]) TALLY(bad, intact(p[n], hawk_usable_size(p[n]), (unsigned)n), "old %zu", n);
    if (q[n]) TALLY(bad, intact(q[n], hawk_usable_size(q[n]), (unsigned)n + 7777u), "new %zu", n);
  }
  CHECK(hawk_check() == 0);
  rng_seed(4096);
  for (int left = 2 * N; left > 0; left--) { /* random frees, then sweep the rest */
    size_t n = 1 + rng_below(N);
    unsigned char **slot = rng() & 1 ? &p[n] : &q[n];
    hawk_free(*slot);
    *slot = NULL;
    if (left % 1024 == 0) CHECK(hawk_check() == 0);
  }
  for (size_t n = 1; n <= N; n++) {
    hawk_free(p[n]);
    hawk_free(q[n]);
    p[n] = q[n] = NULL;
  }
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* A5: one size on each path: tiny, medium, just under, at and over the
 * large-block threshold, several arenas' worth, and 64 MiB. */
static const size_t path_sizes[] = {
    0,     1,      15,       16,      17,  24,      25,          100,     1000,        4096,
    65536, 262144, MiB - 16, MiB - 1, MiB, MiB + 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 64 * MiB};
#define N_PATH_SIZES (sizeof path_sizes / sizeof *path_sizes)

/* Whether the block whose allocation took the statistics from s0 to s1
 * went where the large-block threshold says: below it, into an arena; at
 * LARGE_ALWAYS and up, into a mapping of its own; in between, into a
 * mapping of its own or into memory the heap had used already (no mapping
 * added, the footprint unchanged).  Returns 1 for a mapping of its own. */
static int check_placed(size_t n, const struct hawk_stats *s0, const struct hawk_stats *s1) {
  int own = s1->large_blocks == s0->large_blocks + 1;
  CHECK(own || s1->large_blocks == s0->large_blocks);
  if (n < LARGE_MIN) CHECK(!own);
  if (n >= LARGE_ALWAYS) CHECK(own);
  if (n >= LARGE_MIN && !own) CHECK(s1->mapped <= s0->mapped && s1->footprint == s0->footprint);
  return own;
}

TEST(path_sizes_malloc) {
  for (size_t i = 0; i < N_PATH_SIZES; i++) {
    size_t n = path_sizes[i];
    struct hawk_stats s0 = stats_now();
    unsigned char *p = hawk_malloc(n);
    REQUIRE(p);
    struct hawk_stats s1 = stats_now();
    size_t u = hawk_usable_size(p);
    CHECK(is_aligned(p, 16));
    CHECK(u >= n);
    check_placed(n, &s0, &s1);
    if (n >= LARGE_MIN) CHECK(s1.in_use >= s0.in_use + n);
    fill(p, u, (unsigned)i);
    CHECK(intact(p, u, (unsigned)i));
    CHECK(hawk_check() == 0);
    hawk_free(p);
    struct hawk_stats s2 = stats_now();
    CHECK(s2.large_blocks == s0.large_blocks);
    CHECK(hawk_check() == 0);
  }
}

TEST(path_sizes_calloc) {
  for (size_t i = 0; i < N_PATH_SIZES; i++) {
    size_t n = path_sizes[i];
    struct hawk_stats s0 = stats_now();
    unsigned char *p = hawk_calloc(1, n);
    REQUIRE(p);
    struct hawk_stats s1 = stats_now();
    CHECK(is_aligned(p, 16));
    CHECK(hawk_usable_size(p) >= n);
    CHECK(all_bytes(p, n, 0));
    check_placed(n, &s0, &s1);
    fill(p, hawk_usable_size(p), 9);
    hawk_free(p);
    CHECK(hawk_check() == 0);
  }
}

/* A5: the threshold is exact through malloc, calloc and realloc(NULL), in a
 * fresh process whose heap has used no memory that could hold a block at
 * the threshold (check_placed): the biggest size first. */
TEST(large_threshold_exact) {
  if (!is_fresh("large_threshold_exact")) {
    CHECK(run_fresh("large_threshold_exact") == 0);
    return;
  }
  static const size_t sizes[] = {MiB + 1, MiB, MiB - 1};
  for (size_t i = 0; i < 3; i++) {
    size_t n = sizes[i];
    int large = n >= LARGE_MIN;
    void *p[3];
    struct hawk_stats s0 = stats_now();
    p[0] = hawk_malloc(n);
    p[1] = hawk_calloc(n, 1);
    p[2] = hawk_realloc(NULL, n);
    REQUIRE(p[0] && p[1] && p[2]);
    struct hawk_stats s1 = stats_now();
    CHECK(s1.large_blocks == s0.large_blocks + 3 * (uint64_t)large);
    for (int k = 0; k < 3; k++) {
      CHECK(hawk_usable_size(p[k]) >= n);
      memset(p[k], 0x33, n);
      hawk_free(p[k]);
    }
    CHECK(stats_now().large_blocks == s0.large_blocks);
    CHECK(hawk_check() == 0);
  }
}

/* A request at the threshold or above (and below LARGE_ALWAYS) takes a free
 * block in memory the heap has used already before a mapping of its own,
 * as glibc serves one above its mmap threshold from its free lists: those
 * pages are resident already, where a mapping adds its own (sqlite's peak
 * RSS, docs/design.md).  In a fresh process seven freed blocks of 300,000
 * bytes, kept apart from the arena's untouched tail by an eighth, are one
 * free block of 2,100,112 bytes; the tail (about 1.79 MB) was never
 * touched.  1.85 MB, which only the used block holds, goes there from
 * malloc and from calloc (which clears it) under every policy.  1.5 MB fits
 * in the tail too, whose size class comes first: the segregated policy
 * looks on to the used block; another policy's own choice stands (the
 * tail: a mapping of its own). */
static void check_in_used_memory(char *p, size_t n, char *from, char *to,
                                 const struct hawk_stats *s0) {
  struct hawk_stats s1 = stats_now();
  CHECK(s1.large_blocks == s0->large_blocks && s1.mapped == s0->mapped);
  CHECK(s1.footprint == s0->footprint);
  CHECK(p >= from && p + n <= to);
}

TEST(a_large_request_takes_free_memory_the_heap_has_used) {
  if (!is_fresh("a_large_request_takes_free_memory_the_heap_has_used")) {
    CHECK(run_fresh("a_large_request_takes_free_memory_the_heap_has_used") == 0);
    return;
  }
  enum { N = 7, EACH = 300000, ONLY_USED = 1850000, TAIL_TOO = 1500000 };
  char *b[N];
  for (int i = 0; i < N; i++) {
    REQUIRE((b[i] = hawk_malloc(EACH)) != NULL);
    memset(b[i], 0x5A, EACH);
  }
  char *guard = hawk_malloc(EACH);
  REQUIRE(guard != NULL);
  for (int i = 0; i < N; i++) hawk_free(b[i]);
  struct hawk_stats s0 = stats_now();
  char *p = hawk_malloc(ONLY_USED);
  REQUIRE(p != NULL);
  check_in_used_memory(p, ONLY_USED, b[0], guard, &s0);
  memset(p, 0x77, ONLY_USED);
  hawk_free(p);
  char *z = hawk_calloc(1, ONLY_USED);
  REQUIRE(z != NULL);
  check_in_used_memory(z, ONLY_USED, b[0], guard, &s0);
  CHECK(all_bytes(z, ONLY_USED, 0));
  hawk_free(z);
  if (strcmp(hawk_policy_name(), "segregated") == 0) {
    char *q = hawk_malloc(TAIL_TOO);
    REQUIRE(q != NULL);
    check_in_used_memory(q, TAIL_TOO, b[0], guard, &s0);
    hawk_free(q);
  }
  hawk_free(guard);
  CHECK(hawk_check() == 0);
}

/* Used memory serves a large request only from a free block that holds
 * it.  In a fresh process two freed blocks of 550,000 bytes are one free
 * block of 1,100,032, in the size class of a request of 1,200,000 (1 to
 * 1.25 MiB), and the guard in use after it keeps the arena's frontier past
 * where the request would end if it started there.  The request goes to
 * the arena's untouched tail or to a mapping of its own, never over the
 * guard. */
TEST(a_large_request_takes_no_used_block_too_small_for_it) {
  if (!is_fresh("a_large_request_takes_no_used_block_too_small_for_it")) {
    CHECK(run_fresh("a_large_request_takes_no_used_block_too_small_for_it") == 0);
    return;
  }
  enum { EACH = 550000, GUARD = 300000, ASK = 1200000 };
  char *a = hawk_malloc(EACH), *b = hawk_malloc(EACH), *guard = hawk_malloc(GUARD);
  REQUIRE(a && b && guard);
  memset(guard, 0x5A, GUARD);
  hawk_free(a);
  hawk_free(b);
  char *p = hawk_malloc(ASK);
  REQUIRE(p != NULL);
  CHECK(p + ASK <= guard - 8 || p >= guard + GUARD);
  memset(p, 0x77, ASK);
  CHECK(all_bytes(guard, GUARD, 0x5A));
  hawk_free(p);
  hawk_free(guard);
  CHECK(hawk_check() == 0);
}

/* A block that grows past the threshold (below LARGE_ALWAYS) grows in place
 * into a free neighbour in memory the heap has used already, as a new
 * request of that size would take it; past what that memory holds it
 * moves to a mapping of its own, its bytes kept; freed, that mapping is
 * kept and serves the next request it holds.  In a fresh process the block
 * and its five freed neighbours of 300,016 bytes are 1,800,096. */
TEST(a_block_growing_past_the_threshold_grows_into_used_memory) {
  if (!is_fresh("a_block_growing_past_the_threshold_grows_into_used_memory")) {
    CHECK(run_fresh("a_block_growing_past_the_threshold_grows_into_used_memory") == 0);
    return;
  }
  enum { N = 5, EACH = 300000 };
  unsigned char *a = hawk_malloc(EACH);
  REQUIRE(a != NULL);
  memset(a, 0x3C, EACH);
  char *b[N];
  for (int i = 0; i < N; i++) REQUIRE((b[i] = hawk_malloc(EACH)) != NULL);
  char *guard = hawk_malloc(EACH);
  REQUIRE(guard != NULL);
  for (int i = 0; i < N; i++) hawk_free(b[i]);
  struct hawk_stats s0 = stats_now();
  unsigned char *q = hawk_realloc(a, 1500000);
  CHECK(q == a);
  CHECK(stats_now().large_blocks == s0.large_blocks && stats_now().footprint == s0.footprint);
  CHECK(all_bytes(q, EACH, 0x3C));
  unsigned char *r = hawk_realloc(q, 1950000); /* more than a's block and its neighbour */
  REQUIRE(r != NULL);
  CHECK(r != q && stats_now().large_blocks == s0.large_blocks + 1);
  CHECK(all_bytes(r, EACH, 0x3C));
  hawk_free(r); /* kept as a spare mapping */
  /* A spare that holds a request comes before used memory: its pages are
   * resident too, and the arenas keep their free blocks for what only an
   * arena can hold. */
  unsigned char *s = hawk_malloc(1500000);
  CHECK(s == r);
  hawk_free(s);
  hawk_free(guard);
  CHECK(hawk_check() == 0);
}

/* A5: a 64 MiB block is counted while it lives and gone after free. */
TEST(huge_block_64mib_accounted) {
  struct hawk_stats s0 = stats_now();
  unsigned char *p = hawk_malloc(64 * MiB);
  REQUIRE(p);
  struct hawk_stats s1 = stats_now();
  CHECK(s1.in_use >= s0.in_use + 64 * MiB);
  CHECK(s1.mapped >= s0.mapped + 64 * MiB);
  CHECK(s1.mapped >= s1.in_use);
  CHECK(s1.in_use_peak >= s1.in_use);
  memset(p, 0x77, 64 * MiB);
  CHECK(p[0] == 0x77 && p[64 * MiB - 1] == 0x77);
  hawk_free(p);
  struct hawk_stats s2 = stats_now();
  CHECK(s2.in_use == s0.in_use);
  CHECK(s2.large_blocks == s0.large_blocks);
  CHECK(hawk_check() == 0);
}

/* ---- B. calloc ---------------------------------------------------------- */

/* B6: calloc zeroes blocks recycled from dirty (0xAA-filled) freed memory. */
TEST(calloc_zeroes_recycled_small) {
  static const size_t sizes[] = {1, 8, 24, 40, 100, 256, 1000, 4000, 65536, 500000};
  enum { K = 32 };
  int bad = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    void *p[K];
    for (int k = 0; k < K; k++) {
      REQUIRE((p[k] = hawk_malloc(n)) != NULL);
      memset(p[k], 0xAA, hawk_usable_size(p[k]));
    }
    for (int k = K - 1; k >= 0; k--) hawk_free(p[k]);
    for (int round = 0; round < 3; round++) {
      for (int k = 0; k < K; k++) {
        REQUIRE((p[k] = hawk_calloc(1, n)) != NULL);
        TALLY(bad, all_bytes(p[k], n, 0), "calloc(1, %zu) round %d block %d", n, round, k);
        memset(p[k], 0xAA, hawk_usable_size(p[k]));
      }
      for (int k = 0; k < K; k++) hawk_free(p[k]);
    }
    CHECK(hawk_check() == 0);
  }
  CHECK(bad == 0);
}

TEST(calloc_zeroes_recycled_large) {
  static const size_t sizes[] = {MiB - 1, MiB, MiB + 1, 3 * MiB, 9 * MiB};
  int bad = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    for (int round = 0; round < 8; round++) {
      unsigned char *d = hawk_malloc(n);
      REQUIRE(d);
      memset(d, 0xAA, hawk_usable_size(d));
      hawk_free(d);
      unsigned char *p = hawk_calloc(n, 1);
      REQUIRE(p);
      TALLY(bad, all_bytes(p, n, 0), "calloc(%zu, 1) round %d", n, round);
      memset(p, 0xAA, hawk_usable_size(p));
      hawk_free(p);
    }
    CHECK(hawk_check() == 0);
  }
  CHECK(bad == 0);
}

/* A freed large mapping serves a later large request: a smaller one takes
 * it whole while it is at most LARGE_SPARE_FIT (4) times its need, and
 * beyond that the tail past the need goes back to the OS; a bigger one
 * grows it (in place, or a new mapping when the space after it is taken),
 * and calloc still gets zeros.  (2 MiB, always a mapping of its own, needs
 * 2 MiB + 4 KiB of mapping with its headers; 6 MiB is less than four times
 * that, 10 MiB more.) */
TEST(freed_large_mappings_are_reused_and_resized) {
  hawk_trim(); /* no spare mappings from earlier tests */
  struct hawk_stats s0 = stats_now();
  unsigned char *p = hawk_malloc(6 * MiB);
  REQUIRE(p);
  memset(p, 0xAA, 6 * MiB);
  hawk_free(p);
  unsigned char *q = hawk_malloc(LARGE_ALWAYS);
  REQUIRE(q);
  CHECK(q == p); /* the same mapping, whole: its pages were touched */
  CHECK(stats_now().mapped - s0.mapped >= 6 * MiB);
  CHECK(hawk_usable_size(q) >= 6 * MiB && hawk_usable_size(q) < 6 * MiB + 64 * KiB);
  hawk_free(q);
  hawk_trim();
  p = hawk_malloc(10 * MiB);
  REQUIRE(p);
  memset(p, 0xAA, 10 * MiB);
  hawk_free(p);
  q = hawk_malloc(LARGE_ALWAYS);
  REQUIRE(q);
  CHECK(q == p); /* the same mapping, its tail unmapped */
  CHECK(stats_now().mapped - s0.mapped < LARGE_ALWAYS + 64 * KiB);
  CHECK(hawk_usable_size(q) >= LARGE_ALWAYS && hawk_usable_size(q) < LARGE_ALWAYS + 64 * KiB);
  hawk_free(q);
  unsigned char *r = hawk_calloc(1, 6 * MiB);
  REQUIRE(r);
  CHECK(all_bytes(r, 6 * MiB, 0));
  CHECK(hawk_usable_size(r) >= 6 * MiB);
  hawk_free(r);
  CHECK(hawk_check() == 0);
  hawk_trim();
  CHECK(stats_now().mapped == s0.mapped);
}

/* A large request takes the smallest spare mapping that holds it: with
 * spares of 6 and 3 MiB (each at most four times the need, so kept whole),
 * a request of 2 MiB takes the 3 MiB one, and the 6 MiB one serves a
 * request only it holds. */
TEST(a_large_request_takes_the_smallest_spare_that_holds_it) {
  hawk_trim(); /* no spare mappings from earlier tests */
  unsigned char *six = hawk_malloc(6 * MiB), *three = hawk_malloc(3 * MiB);
  REQUIRE(six && three);
  hawk_free(six);
  hawk_free(three);
  unsigned char *a = hawk_malloc(LARGE_ALWAYS);
  REQUIRE(a);
  CHECK(a == three);
  unsigned char *b = hawk_malloc(5 * MiB);
  REQUIRE(b);
  CHECK(b == six);
  hawk_free(a);
  hawk_free(b);
  CHECK(hawk_check() == 0);
  hawk_trim();
}

/* With no spare mapping big enough for a large request, the biggest spare
 * grows (the fewest new pages), in place.  In a fresh copy, where mappings
 * are placed one below the other: a 3 MiB block below a 16 MiB one, a 2
 * MiB block below that; the 16 MiB one is unmapped (room after the 3 MiB
 * mapping), the 3 MiB mapping is in the way of the 2 MiB one's growth.
 * Both freed, a request of 6 MiB takes the 3 MiB mapping, grown. */
TEST(a_large_request_no_spare_holds_grows_the_biggest_spare) {
  if (!is_fresh("a_large_request_no_spare_holds_grows_the_biggest_spare")) {
    CHECK(run_fresh("a_large_request_no_spare_holds_grows_the_biggest_spare") == 0);
    return;
  }
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  char *room = hawk_malloc(16 * MiB), *three = hawk_malloc(3 * MiB), *two = hawk_malloc(2 * MiB);
  REQUIRE(room && three && two);
  REQUIRE(two < three && three < room && three - two < 6 * (ptrdiff_t)MiB);
  hawk_free(room);
  hawk_trim(); /* its mapping is unmapped */
  hawk_free(three);
  hawk_free(two);
  char *six = hawk_malloc(6 * MiB);
  REQUIRE(six);
  CHECK(six == three);
  memset(six, 0x6c, 6 * MiB);
  CHECK(hawk_check() == 0);
  hawk_free(six);
  /* The growth was counted in the bytes mapped: all of it goes at the trim. */
  hawk_trim();
  CHECK(stats_now().mapped == s0.mapped);
}

/* A spare that cannot grow in place (the next mapping is in the way) stays
 * a spare: the request gets a mapping of its own, the 2 MiB spare is
 * handed out again, and after a trim the bytes mapped are what they were.
 * In a fresh copy, where the 2 MiB mapping is the only spare. */
TEST(a_spare_that_cannot_grow_stays_a_spare) {
  if (!is_fresh("a_spare_that_cannot_grow_stays_a_spare")) {
    CHECK(run_fresh("a_spare_that_cannot_grow_stays_a_spare") == 0);
    return;
  }
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  char *after = hawk_malloc(2 * MiB), *two = hawk_malloc(2 * MiB);
  REQUIRE(after && two);
  REQUIRE(two < after && after - two < 6 * (ptrdiff_t)MiB); /* no room for 6 MiB */
  hawk_free(two);
  char *six = hawk_malloc(6 * MiB);
  REQUIRE(six);
  CHECK(six != two);
  char *again = hawk_malloc(2 * MiB);
  CHECK(again == two);
  hawk_free(again);
  hawk_free(six);
  hawk_free(after);
  hawk_trim();
  struct hawk_stats s1 = stats_now();
  CHECK(s1.mapped == s0.mapped);
  if (s1.mapped != s0.mapped)
    fprintf(stderr, "    mapped %llu, before %llu\n", (unsigned long long)s1.mapped,
            (unsigned long long)s0.mapped);
}

/* At most 16 freed large mappings are kept: freeing 17 unmaps the oldest. */
TEST(spare_large_mappings_are_bounded) {
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  void *p[17];
  for (int i = 0; i < 17; i++) REQUIRE((p[i] = hawk_malloc(LARGE_ALWAYS)) != NULL);
  uint64_t one = (stats_now().mapped - s0.mapped) / 17;
  CHECK(stats_now().mapped == s0.mapped + 17 * one);
  for (int i = 0; i < 17; i++) hawk_free(p[i]);
  CHECK(stats_now().mapped == s0.mapped + 16 * one);
  /* The newest are the ones kept: the last freed is the first reused. */
  void *again = hawk_malloc(LARGE_ALWAYS);
  CHECK(again == p[16] || again == p[1]);
  hawk_free(again);
  hawk_trim();
  CHECK(stats_now().mapped == s0.mapped);
}

/* A block that has to move to grow gets room to spare, so a buffer growing
 * in small steps with a neighbour allocated after it each time does not
 * move at every step. */
TEST(realloc_growth_moves_rarely) {
  enum { STEPS = 100 };
  void *blocker[STEPS];
  unsigned char *p = hawk_malloc(2000);
  REQUIRE(p);
  memset(p, 0x5A, 2000);
  int moves = 0, bad = 0;
  for (int i = 0; i < STEPS; i++) {
    size_t n = 2000 + 16 * (size_t)(i + 1);
    unsigned char *q = hawk_realloc(p, n);
    REQUIRE(q);
    moves += q != p;
    TALLY(bad, all_bytes(q, 2000, 0x5A), "realloc to %zu", n);
    p = q;
    REQUIRE((blocker[i] = hawk_malloc(3000)) != NULL);
  }
  CHECK(bad == 0);
  CHECK(moves <= 20);
  for (int i = 0; i < STEPS; i++) hawk_free(blocker[i]);
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* B6: dirty memory coalesced back into a big free region (maybe the arena's
 * untouched-looking tail) must not be taken for fresh zero pages. */
TEST(calloc_zeroes_after_dirty_region_freed) {
  enum { BIG = 3, SMALL = 4000 };
  void *big[BIG];
  for (int i = 0; i < BIG; i++) {
    REQUIRE((big[i] = hawk_malloc(MiB - 16)) != NULL);
    memset(big[i], 0xAA, hawk_usable_size(big[i]));
  }
  for (int i = 0; i < BIG; i++) hawk_free(big[i]);
  static void *p[SMALL];
  int bad = 0;
  for (int i = 0; i < SMALL; i++) {
    size_t n = 100 + (size_t)(i % 13) * 97;
    REQUIRE((p[i] = hawk_calloc(n, 1)) != NULL);
    TALLY(bad, all_bytes(p[i], n, 0), "calloc(%zu) #%d", n, i);
  }
  for (int i = 0; i < SMALL; i++) hawk_free(p[i]);
  unsigned char *q = hawk_calloc(1, MiB - 1);
  REQUIRE(q);
  CHECK(all_bytes(q, MiB - 1, 0));
  hawk_free(q);
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* B6: calloc of memory the heap never handed out writes nothing to it:
 * fresh pages read as zero already, and clearing them would make them
 * resident.  In a fresh process 600 KB (a heap block, below the large
 * threshold) come from a new arena past its frontier; every whole page of
 * the payload after the first must still be untouched (not resident). */
TEST(calloc_leaves_fresh_memory_untouched) {
  if (!is_fresh("calloc_leaves_fresh_memory_untouched")) {
    CHECK(run_fresh("calloc_leaves_fresh_memory_untouched") == 0);
    return;
  }
  size_t pg = page_size(), n = 600 * 1000;
  char *p = hawk_calloc(1, n);
  REQUIRE(p != NULL);
  /* Past the first page (the block's header and links are there). */
  CHECK(resident_pages(p + pg, n - pg) == 0);
  for (size_t i = 0; i < n; i += 4096) CHECK(p[i] == 0);
  hawk_free(p);
}

/* calloc of a large block is served by a fresh mapping, not by a spare one
 * a freed block left: the spare would have to be cleared, every page
 * written and resident, where fresh pages read as zero untouched. */
TEST(large_calloc_after_a_free_leaves_its_pages_untouched) {
  hawk_trim(); /* no spare mappings from earlier tests */
  size_t pg = page_size(), n = LARGE_ALWAYS + 4 * pg;
  unsigned char *p = hawk_malloc(n);
  REQUIRE(p != NULL);
  memset(p, 0xAA, n);
  hawk_free(p); /* kept as a spare, every page resident */
  unsigned char *q = hawk_calloc(1, n);
  REQUIRE(q != NULL);
  /* Past the header's page, its first 2 MiB (resident_pages looks at 512). */
  CHECK(resident_pages((char *)q + pg, LARGE_ALWAYS - 2 * pg) == 0);
  CHECK(all_bytes(q, n, 0));
  hawk_free(q);
  /* malloc still reuses the spare. */
  unsigned char *r = hawk_malloc(n);
  REQUIRE(r != NULL);
  CHECK(r == p || r == q);
  hawk_free(r);
  CHECK(hawk_check() == 0);
  hawk_trim();
}

/* B6: the one word of fresh arena memory that is written before it is
 * handed out: the footer of the arena's last free block, in the arena's
 * last 8 bytes.  In a fresh process four blocks of 900,016 bytes leave
 * 4,194,160 - 3,600,064 = 594,096 bytes; calloc(594,088) takes all of them
 * (594,088 + 8-byte header) and must clear that footer too. */
TEST(calloc_clears_the_footer_at_the_end_of_an_arena) {
  if (!is_fresh("calloc_clears_the_footer_at_the_end_of_an_arena")) {
    CHECK(run_fresh("calloc_clears_the_footer_at_the_end_of_an_arena") == 0);
    return;
  }
  void *fill[4];
  for (int i = 0; i < 4; i++) fill[i] = hawk_malloc(900000);
  unsigned char *p = hawk_calloc(1, 594088);
  REQUIRE(p != NULL);
  REQUIRE(((uintptr_t)p + 594088 + 8) % (4 << 20) == 0); /* it ends the arena */
  int nonzero = 0;
  for (size_t i = 594088 - 64; i < 594088; i++) nonzero += p[i] != 0;
  CHECK(nonzero == 0);
  hawk_free(p);
  for (int i = 0; i < 4; i++) hawk_free(fill[i]);
}

/* B6: the tail split off by a shrinking realloc is dirty too. */
TEST(calloc_zeroes_after_realloc_shrink) {
  int bad = 0;
  for (int round = 0; round < 16; round++) {
    unsigned char *p = hawk_malloc(64 * KiB);
    REQUIRE(p);
    memset(p, 0xAA, hawk_usable_size(p));
    p = hawk_realloc(p, 64);
    REQUIRE(p);
    void *q[8];
    for (int i = 0; i < 8; i++) {
      size_t n = 1000 * (size_t)(i + 1);
      REQUIRE((q[i] = hawk_calloc(1, n)) != NULL);
      TALLY(bad, all_bytes(q[i], n, 0), "calloc(1, %zu) after shrink, round %d", n, round);
    }
    for (int i = 0; i < 8; i++) hawk_free(q[i]);
    hawk_free(p);
  }
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* B6: still zero after hawk_trim released pages. */
TEST(calloc_zeroes_after_trim) {
  enum { N = 64 };
  void *p[N];
  for (int i = 0; i < N; i++) {
    REQUIRE((p[i] = hawk_malloc(200 * KiB)) != NULL);
    memset(p[i], 0xAA, hawk_usable_size(p[i]));
  }
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(hawk_trim() == 1); /* 12.8 MB of free pages to give back */
  int bad = 0;
  for (int i = 0; i < N; i++) {
    REQUIRE((p[i] = hawk_calloc(200, KiB)) != NULL);
    TALLY(bad, all_bytes(p[i], 200 * KiB, 0), "calloc #%d after trim", i);
  }
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* B7: overflowing products fail with ENOMEM, including ones that wrap to a
 * small number (SIZE_MAX/3 + 1 times 3 wraps to 2) or to 0. */
TEST(calloc_overflow_enomem) {
  static const size_t pairs[][2] = {
      {SIZE_MAX / 2, 3},
      {(size_t)1 << 33, (size_t)1 << 33},
      {SIZE_MAX, SIZE_MAX},
      {SIZE_MAX, 2},
      {SIZE_MAX / 2 + 1, 2},
      {SIZE_MAX / 3 + 1, 3},
      {SIZE_MAX / 16 + 1, 16},
      {((size_t)1 << 32) + 1, (size_t)1 << 32},
      {(size_t)PTRDIFF_MAX / 2 + 1, 2},
      {(size_t)1 << 32, (size_t)1 << 32},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    errno = 0;
    TALLY(bad, enomem(hawk_calloc(pairs[i][0], pairs[i][1])), "calloc(%#zx, %#zx)", pairs[i][0],
          pairs[i][1]);
    errno = 0;
    TALLY(bad, enomem(hawk_calloc(pairs[i][1], pairs[i][0])), "calloc(%#zx, %#zx)", pairs[i][1],
          pairs[i][0]);
  }
  for (size_t b = 2; b <= 4096; b++) {
    size_t wrap = SIZE_MAX / b + 1;            /* wrap * b overflows */
    size_t over = (size_t)PTRDIFF_MAX / b + 1; /* over * b > PTRDIFF_MAX */
    errno = 0;
    TALLY(bad, enomem(hawk_calloc(wrap, b)), "calloc(%#zx, %zu)", wrap, b);
    errno = 0;
    TALLY(bad, enomem(hawk_calloc(b, wrap)), "calloc(%zu, %#zx)", b, wrap);
    errno = 0;
    TALLY(bad, enomem(hawk_calloc(over, b)), "calloc(%#zx, %zu)", over, b);
  }
  CHECK(bad == 0);
  after_sweep();
}

/* B8: a zero count or size with a huge other factor: no crash, a freeable
 * non-NULL minimum block (the same choice as malloc(0)), errno untouched. */
TEST(calloc_zero_times_huge) {
  static const size_t pairs[][2] = {
      {0, SIZE_MAX}, {SIZE_MAX, 0}, {0, 0}, {0, (size_t)PTRDIFF_MAX + 1}, {(size_t)1 << 40, 0}};
  for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
    void *p = NULL;
    CHECK_ERRNO_KEPT(p = hawk_calloc(pairs[i][0], pairs[i][1]));
    CHECK(p != NULL);
    if (p) {
      CHECK(is_aligned(p, 16));
      memset(p, 0x11, hawk_usable_size(p));
    }
    CHECK_ERRNO_KEPT(hawk_free(p));
  }
  CHECK(hawk_check() == 0);
}

/* ---- C. realloc and reallocarray ---------------------------------------- */

/* C9: realloc(NULL, n) is malloc(n). */
TEST(realloc_null_is_malloc) {
  static const size_t sizes[] = {0, 1, 100, 5000, 2 * MiB};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    struct hawk_stats s0 = stats_now();
    void *p = NULL;
    CHECK_ERRNO_KEPT(p = hawk_realloc(NULL, n));
    REQUIRE(p);
    struct hawk_stats s1 = stats_now();
    CHECK(s1.mallocs >= s0.mallocs + 1);
    CHECK(is_aligned(p, 16));
    CHECK(hawk_usable_size(p) >= n);
    CHECK(s1.large_blocks == s0.large_blocks + (n >= LARGE_MIN));
    fill(p, hawk_usable_size(p), 5);
    hawk_free(p);
  }
  CHECK(hawk_check() == 0);
}

/* C9: realloc(p, 0) frees p and returns NULL (the glibc choice). */
TEST(realloc_zero_frees) {
  void *p = hawk_malloc(100);
  REQUIRE(p);
  struct hawk_stats s0 = stats_now();
  CHECK(hawk_realloc(p, 0) == NULL);
  struct hawk_stats s1 = stats_now();
  CHECK(s1.frees == s0.frees + 1);
  void *big = hawk_malloc(3 * MiB);
  REQUIRE(big);
  s0 = stats_now();
  CHECK(hawk_realloc(big, 0) == NULL);
  s1 = stats_now();
  CHECK(s1.large_blocks == s0.large_blocks - 1);
  CHECK(s1.in_use + 3 * MiB <= s0.in_use);
  CHECK(s1.frees == s0.frees + 1);
  CHECK(hawk_check() == 0);
}

/* C10: contents survive growing and shrinking across every path,
 * small -> large -> small.  A block resized in place keeps its kind; a block
 * that moves is a new allocation and follows the large-block threshold. */
TEST(realloc_contents_small_large_small) {
  static const size_t chain[] = {10,      100,      1000,    100000, MiB - 1, MiB,    MiB + 1,
                                 8 * MiB, 20 * MiB, MiB + 1, MiB,    MiB - 1, 100000, 1000,
                                 100,     10,       1,       3000,   2 * MiB, 24};
  struct hawk_stats base = stats_now();
  unsigned char *p = hawk_malloc(chain[0]);
  REQUIRE(p);
  fill(p, hawk_usable_size(p), 1);
  size_t prev = hawk_usable_size(p);
  uint64_t large_prev = base.large_blocks;
  for (size_t i = 1; i < sizeof chain / sizeof *chain; i++) {
    size_t n = chain[i];
    unsigned char *q = NULL;
    CHECK_ERRNO_KEPT(q = hawk_realloc(p, n));
    REQUIRE(q);
    int moved = q != p;
    p = q;
    CHECK(is_aligned(p, 16));
    CHECK(hawk_usable_size(p) >= n);
    size_t keep = prev < n ? prev : n;
    if (!intact(p, keep, 1)) {
      fprintf(stderr, "    contents lost going to %zu bytes (step %zu)\n", n, i);
      test_failures_in_case++;
    }
    uint64_t large_now = stats_now().large_blocks;
    if (moved ? large_now != base.large_blocks + (n >= LARGE_MIN) : large_now != large_prev) {
      fprintf(stderr, "    step %zu to %zu bytes (%s): %llu large blocks, expected %llu\n", i, n,
              moved ? "moved" : "in place", (unsigned long long)large_now,
              (unsigned long long)(moved ? base.large_blocks + (n >= LARGE_MIN) : large_prev));
      test_failures_in_case++;
    }
    large_prev = large_now;
    prev = hawk_usable_size(p);
    fill(p, prev, 1);
    CHECK(hawk_check() == 0);
  }
  hawk_free(p);
  CHECK(stats_now().large_blocks == base.large_blocks);
}

/* C10: a large block grown by doubling up to 64 MiB and shrunk back. */
/* A large block shrunk in place gives its tail's pages back to the OS: the
 * range past the new end is no longer mapped (mincore says ENOMEM), not
 * only counted as given back. */
TEST(realloc_shrinking_a_large_block_in_place_unmaps_its_tail) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  char *p = hawk_malloc(8 * MiB);
  REQUIRE(p);
  memset(p, 1, 8 * MiB);
  char *q = hawk_realloc(p, 2 * MiB);
  REQUIRE(q);
  CHECK(q == p); /* own mappings shrink in place */
  unsigned char v;
  char *probe = (char *)(((uintptr_t)p + 5 * MiB) & ~(uintptr_t)(pg - 1));
  errno = 0;
  CHECK(mincore(probe, pg, &v) != 0 && errno == ENOMEM);
  CHECK(q[2 * MiB - 1] == 1);
  hawk_free(q);
}

TEST(realloc_large_doubling_and_back) {
  size_t n = MiB;
  unsigned char *p = hawk_malloc(n);
  REQUIRE(p);
  fill(p, n, 2);
  for (; n < 64 * MiB; n *= 2) {
    unsigned char *q = hawk_realloc(p, 2 * n);
    REQUIRE(q);
    p = q;
    CHECK(intact(p, n, 2));
    fill(p, 2 * n, 2);
  }
  for (; n >= MiB / 4; n /= 4) {
    unsigned char *q = hawk_realloc(p, n);
    REQUIRE(q);
    p = q;
    CHECK(intact(p, n, 2));
  }
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* C10: growing into a freed physical neighbour happens in place. */
static void grow_into_neighbour(size_t n) {
  unsigned char *lo = NULL, *hi = NULL;
  if (!adjacent_pair(n, &lo, &hi)) {
    fprintf(stderr, "    no two adjacent blocks of %zu bytes in 128 tries\n", n);
    test_failures_in_case++;
    return;
  }
  size_t ulo = hawk_usable_size(lo), uhi = hawk_usable_size(hi);
  fill(lo, ulo, 11);
  hawk_free(hi);
  size_t want = ulo + uhi; /* fits in lo + hi's header + hi's payload */
  unsigned char *r = hawk_realloc(lo, want);
  REQUIRE(r);
  if (r != lo) {
    fprintf(stderr, "    realloc(%p, %zu) over a freed %zu-byte neighbour moved to %p\n",
            (void *)lo, want, n, (void *)r);
    test_failures_in_case++;
  }
  CHECK(hawk_usable_size(r) >= want);
  CHECK(intact(r, ulo, 11));
  fill(r, hawk_usable_size(r), 12);
  CHECK(hawk_check() == 0);
  hawk_free(r);
  CHECK(hawk_check() == 0);
}

TEST(realloc_grows_in_place_into_freed_neighbour) {
  grow_into_neighbour(2000);
  grow_into_neighbour(100000);
}

TEST(realloc_grows_in_place_into_freed_neighbour_small) { grow_into_neighbour(64); }

/* A growth that the free neighbour holds exactly (its header and payload
 * become the block's: the new size is the two blocks' whole) is made in
 * place too.  In a fresh process three blocks of 100,000 bytes (above the
 * thread cache's sizes) lie side by side; the middle one is freed, a free
 * block between two in use, and the first grows over it to the byte. */
TEST(realloc_grows_in_place_into_a_neighbour_that_holds_it_exactly) {
  if (!is_fresh("realloc_grows_in_place_into_a_neighbour_that_holds_it_exactly")) {
    CHECK(run_fresh("realloc_grows_in_place_into_a_neighbour_that_holds_it_exactly") == 0);
    return;
  }
  unsigned char *a = hawk_malloc(100000), *b = hawk_malloc(100000), *c = hawk_malloc(100000);
  REQUIRE(a && b && c);
  size_t ua = hawk_usable_size(a), ub = hawk_usable_size(b);
  REQUIRE(b == a + ua + HEADER_SIZE && c == b + ub + HEADER_SIZE);
  fill(a, ua, 21);
  hawk_free(b);
  unsigned char *r = hawk_realloc(a, ua + HEADER_SIZE + ub);
  REQUIRE(r);
  CHECK(r == a);
  CHECK(hawk_usable_size(r) == ua + HEADER_SIZE + ub);
  CHECK(intact(r, ua, 21));
  hawk_free(r);
  hawk_free(c);
  CHECK(hawk_check() == 0);
}

/* C10: shrinking splits off the tail in place; the tail is at once a free
 * block (counted in free_bytes) that the block can grow back into. */
TEST(realloc_shrink_tail_free_and_reusable) {
  unsigned char *p = hawk_malloc(8000);
  REQUIRE(p);
  fill(p, 8000, 7);
  size_t u_old = hawk_usable_size(p);
  struct hawk_stats s1 = stats_now();
  unsigned char *q = hawk_realloc(p, 100);
  REQUIRE(q);
  struct hawk_stats s2 = stats_now();
  CHECK(q == p);
  CHECK(intact(q, 100, 7));
  size_t u_new = hawk_usable_size(q);
  CHECK(u_new >= 100 && u_new < 100 + 64);
  CHECK(s2.free_bytes + 16 >= s1.free_bytes + (u_old - u_new));
  CHECK(hawk_check() == 0);
  unsigned char *r = hawk_realloc(q, 8000);
  REQUIRE(r);
  CHECK(r == q);
  CHECK(intact(r, 100, 7));
  hawk_free(r);
  CHECK(hawk_check() == 0);
}

/* C10: a buffer that realloc grows keeps the headroom it was given: a small
 * further step, or a shrink by less than an eighth, leaves the block as it
 * is, while a shrink by more gives the tail back.  Blocks are grown while
 * their neighbours are held, so most of them move and get the headroom. */
TEST(realloc_small_steps_keep_their_headroom) {
  enum { N = 20, SIZE = 4000 };
  unsigned char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = hawk_malloc(SIZE);
    REQUIRE(p[i]);
    fill(p[i], SIZE, (unsigned)i);
  }
  int roomy = 0;
  for (int i = 0; i < N; i++) {
    size_t n = SIZE + 64;
    unsigned char *q = hawk_realloc(p[i], n);
    REQUIRE(q);
    p[i] = q;
    CHECK(intact(q, SIZE, (unsigned)i));
    size_t u = hawk_usable_size(q);
    if (u < n + 128) continue; /* grew in place without headroom */
    roomy++;
    CHECK(hawk_realloc(q, n + 64) == q);
    CHECK(hawk_usable_size(q) == u);
    CHECK(hawk_realloc(q, u) == q);
    CHECK(hawk_usable_size(q) == u);
    CHECK(hawk_realloc(q, u - u / 16) == q);
    CHECK(hawk_usable_size(q) == u);
    CHECK(hawk_realloc(q, u / 2) == q);
    CHECK(hawk_usable_size(q) < u / 2 + 64);
    CHECK(intact(q, SIZE < u / 2 ? SIZE : u / 2, (unsigned)i));
  }
  CHECK(roomy >= N / 2);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(hawk_check() == 0);
}

/* C10: the exact bounds of the spare room a shrink keeps (api.c,
 * realloc_spare_kept): a block keeps less than BLOCK_MIN (32) bytes, or
 * less than an eighth of the new size when that is more, and gives back a
 * tail of that much or more.  Worked out by hand from the block format (a
 * request of n bytes is a block of n + 8 rounded up to 16):
 *   malloc(152), a 160-byte block: to 136 (144: 16 spare) it stays; to
 *   120 (128: 32 spare, the least a free block holds) its tail goes;
 *   malloc(568), a 576-byte block: to 520 (528: 48 spare, under 528 / 8 =
 *   66) it stays; to 504 (512: 64 spare, 512 / 8) its tail goes.
 * realloc decides on its own fast path, reallocarray in resize_core: both
 * give every answer. */
TEST(realloc_shrink_keeps_less_spare_than_a_free_block_or_an_eighth) {
  static const struct {
    size_t from, to, usable;
  } cases[] = {
      {152, 136, 152},
      {152, 120, 120},
      {568, 520, 568},
      {568, 504, 504},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    for (int array = 0; array < 2; array++) {
      unsigned char *p = hawk_malloc(cases[i].from);
      REQUIRE(p);
      CHECK(hawk_usable_size(p) == cases[i].from);
      fill(p, cases[i].from, (unsigned)i);
      unsigned char *q =
          array ? hawk_reallocarray(p, 1, cases[i].to) : hawk_realloc(p, cases[i].to);
      REQUIRE(q);
      size_t u = hawk_usable_size(q);
      if (u != cases[i].usable)
        fprintf(stderr, "    %s(malloc(%zu), %zu): %zu usable bytes, not %zu\n",
                array ? "reallocarray" : "realloc", cases[i].from, cases[i].to, u, cases[i].usable);
      CHECK(u == cases[i].usable);
      CHECK(intact(q, cases[i].to, (unsigned)i));
      hawk_free(q);
    }
  }
  CHECK(hawk_check() == 0);
}

/* C10: many random reallocs over live slots, contents checked each time. */
TEST(realloc_random_walk) {
  enum { SLOTS = 64, OPS = 3000 };
  unsigned char *p[SLOTS] = {0};
  size_t n[SLOTS] = {0};
  rng_seed(0x5eed);
  int bad = 0;
  for (int op = 0; op < OPS; op++) {
    int s = (int)rng_below(SLOTS);
    size_t want = (size_t)1 << rng_below(rng_below(8) == 0 ? 22 : 16);
    want += rng_below(want);
    if (p[s]) TALLY(bad, intact(p[s], n[s], (unsigned)s), "slot %d (%zu bytes) op %d", s, n[s], op);
    unsigned char *q = hawk_realloc(p[s], want);
    REQUIRE(q);
    size_t keep = n[s] < want ? n[s] : want;
    if (p[s]) TALLY(bad, intact(q, keep, (unsigned)s), "realloc %zu -> %zu op %d", n[s], want, op);
    p[s] = q;
    n[s] = want;
    fill(q, want, (unsigned)s);
    if (op % 200 == 0) CHECK(hawk_check() == 0);
  }
  for (int s = 0; s < SLOTS; s++) {
    if (p[s]) TALLY(bad, intact(p[s], n[s], (unsigned)s), "slot %d at the end", s);
    hawk_free(p[s]);
  }
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* C12: realloc(p, usable_size(p)) and realloc(p, same size) do not move. */
TEST(realloc_to_usable_size_does_not_move) {
  static const size_t sizes[] = {1, 24, 100, 1000, 65536, MiB - 1, MiB, 5 * MiB + 3};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i];
    unsigned char *p = hawk_malloc(n);
    REQUIRE(p);
    size_t u = hawk_usable_size(p);
    fill(p, u, (unsigned)i);
    unsigned char *q = NULL;
    CHECK_ERRNO_KEPT(q = hawk_realloc(p, u));
    REQUIRE(q);
    if (q != p) fprintf(stderr, "    realloc(p, usable %zu) of a %zu block moved\n", u, n);
    CHECK(q == p);
    CHECK(hawk_usable_size(q) >= u);
    CHECK(intact(q, u, (unsigned)i));
    unsigned char *r = hawk_realloc(q, n);
    REQUIRE(r);
    CHECK(r == q);
    CHECK(intact(r, n, (unsigned)i));
    hawk_free(r);
  }
  CHECK(hawk_check() == 0);
}

/* C13: reallocarray overflow fails with ENOMEM and leaves the block alone,
 * including products that wrap to 0 or to a small size. */
TEST(reallocarray_overflow_keeps_block) {
  static const size_t pairs[][2] = {
      {SIZE_MAX / 2, 3},
      {SIZE_MAX / 3 + 1, 3},
      {(size_t)1 << 33, (size_t)1 << 33},
      {SIZE_MAX / 16 + 1, 16},
      {SIZE_MAX, SIZE_MAX},
      {((size_t)1 << 32) + 1, (size_t)1 << 32},
      {(size_t)PTRDIFF_MAX / 2 + 1, 2},
  };
  static const size_t sizes[] = {100, 3 * MiB};
  for (size_t s = 0; s < 2; s++) {
    unsigned char *p = hawk_malloc(sizes[s]);
    REQUIRE(p);
    size_t u = hawk_usable_size(p);
    fill(p, u, 13);
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
      for (int swap = 0; swap < 2; swap++) {
        size_t a = pairs[i][swap], b = pairs[i][!swap];
        errno = 0;
        void *r = hawk_reallocarray(p, a, b);
        if (r != NULL || errno != ENOMEM) {
          fprintf(stderr, "    reallocarray(p, %#zx, %#zx) = %p, errno %d\n", a, b, r, errno);
          test_failures_in_case++;
          if (r) return; /* p may be gone: stop before touching it */
        }
        errno = 0;
        CHECK(enomem(hawk_reallocarray(NULL, a, b)));
      }
    }
    CHECK(hawk_usable_size(p) == u);
    CHECK(intact(p, u, 13));
    hawk_free(p);
  }
  CHECK(hawk_check() == 0);
}

/* C13: reallocarray without overflow behaves as realloc(p, count * size). */
TEST(reallocarray_acts_as_realloc) {
  unsigned char *p = NULL;
  CHECK_ERRNO_KEPT(p = hawk_reallocarray(NULL, 10, 10));
  REQUIRE(p);
  CHECK(hawk_usable_size(p) >= 100);
  fill(p, 100, 4);
  CHECK_ERRNO_KEPT(p = hawk_reallocarray(p, 1000, 100));
  REQUIRE(p);
  CHECK(hawk_usable_size(p) >= 100000);
  CHECK(intact(p, 100, 4));
  fill(p, 100000, 4);
  CHECK_ERRNO_KEPT(p = hawk_reallocarray(p, 3, MiB));
  REQUIRE(p);
  CHECK(hawk_usable_size(p) >= 3 * MiB);
  CHECK(intact(p, 100000, 4));
  CHECK_ERRNO_KEPT(p = hawk_reallocarray(p, 5, 5));
  REQUIRE(p);
  CHECK(intact(p, 25, 4));
  hawk_free(p);
  CHECK(hawk_check() == 0);
}

/* ---- D. Alignment family ------------------------------------------------ */

/* D14: posix_memalign rejects alignments that are 0, not powers of two or not
 * multiples of sizeof(void *) with EINVAL, leaving *out untouched. */
TEST(posix_memalign_einval_out_untouched) {
  static const size_t bad_alignments[] = {0,
                                          1,
                                          2,
                                          3,
                                          4,
                                          5,
                                          6,
                                          7,
                                          12,
                                          20,
                                          24,
                                          40,
                                          48,
                                          96,
                                          100,
                                          1000,
                                          4095,
                                          4097,
                                          3 * 4096,
                                          MiB + 8,
                                          SIZE_MAX,
                                          SIZE_MAX - 7,
                                          SIZE_MAX / 2,
                                          ((size_t)1 << 63) + 8};
  static const size_t sizes[] = {0, 1, 100, 5 * MiB};
  int bad = 0;
  for (size_t i = 0; i < sizeof bad_alignments / sizeof *bad_alignments; i++) {
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
      void *out = &out_marker;
      int rc = hawk_posix_memalign(&out, bad_alignments[i], sizes[j]);
      TALLY(bad, rc == EINVAL, "posix_memalign(%#zx, %zu) returned %d", bad_alignments[i], sizes[j],
            rc);
      TALLY(bad, out == &out_marker, "posix_memalign(%#zx, %zu) wrote *out", bad_alignments[i],
            sizes[j]);
      if (rc == 0) hawk_free(out);
    }
  }
  CHECK(bad == 0);
  CHECK(hawk_check() == 0);
}

/* D14: every valid alignment from sizeof(void *) to 4 MiB; size 0 too. */
TEST(posix_memalign_valid_alignments) {
  for (size_t a = sizeof(void *); a <= 4 * MiB; a *= 2) {
    static const size_t mult[] = {0, 1, 3};
    for (size_t k = 0; k < 3; k++) {
      size_t n = a * mult[k] + (k == 2 ? 5 : 0);
      void *out = &out_marker;
      int rc = -1;
      CHECK_ERRNO_KEPT(rc = hawk_posix_memalign(&out, a, n));
      REQUIRE(rc == 0);
      CHECK(out != &out_marker);
      if (n == 0 && out == NULL) continue; /* size 0 may give NULL */
      REQUIRE(out != NULL);
      CHECK(is_aligned(out, a));
      CHECK(is_aligned(out, 16));
      CHECK(hawk_usable_size(out) >= n);
      memset(out, 0x42, hawk_usable_size(out));
      hawk_free(out);
    }
  }
  CHECK(hawk_check() == 0);
}

/* Non-power-of-two alignments for aligned_alloc and memalign. */
static const size_t not_powers_of_two[] = {3,
                                           5,
                                           6,
                                           7,
                                           12,
                                           24,
                                           48,
                                           100,
                                           4095,
                                           4097,
                                           3 * 4096,
                                           MiB + 16,
                                           SIZE_MAX,
                                           SIZE_MAX / 2,
                                           ((size_t)1 << 63) + 16};
#define N_NOT_POW2 (sizeof not_powers_of_two / sizeof *not_powers_of_two)

/* D15: aligned_alloc rejects a non-power-of-two alignment with EINVAL. */
TEST(aligned_alloc_bad_alignment_einval) {
  static const size_t sizes[] = {1, 64, 100, 5 * MiB};
  int bad = 0;
  for (size_t i = 0; i < N_NOT_POW2; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
      errno = 0;
      void *r = hawk_aligned_alloc(not_powers_of_two[i], sizes[j]);
      TALLY(bad, r == NULL && errno == EINVAL, "aligned_alloc(%#zx, %zu) = %p errno %d",
            not_powers_of_two[i], sizes[j], r, errno);
      hawk_free(r);
    }
  CHECK(bad == 0);
}

/* D15: C17 aligned_alloc accepts any size, and small power-of-two
 * alignments (1..8) give ordinary 16-aligned blocks. */
TEST(aligned_alloc_any_size) {
  static const size_t sizes[] = {1, 3, 17, 100, 1000, 4097, 65535, MiB + 3};
  for (size_t a = 1; a <= 256 * KiB; a *= 2) {
    for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
      size_t n = sizes[j];
      void *p = NULL;
      CHECK_ERRNO_KEPT(p = hawk_aligned_alloc(a, n));
      REQUIRE(p);
      CHECK(is_aligned(p, a));
      CHECK(is_aligned(p, 16));
      CHECK(hawk_usable_size(p) >= n);
      fill(p, n, (unsigned)j);
      CHECK(intact(p, n, (unsigned)j));
      hawk_free(p);
    }
  }
  CHECK(hawk_check() == 0);
}

/* D16: memalign follows glibc (docs/design.md): an alignment of 0..16 is
 * malloc's, one that is not a power of two is rounded up to the next power
 * of two, and only one above SIZE_MAX / 2 + 1 (no power of two is) fails
 * with EINVAL. */
TEST(memalign_alignments_as_glibc) {
  for (size_t a = 1; a <= 4 * MiB; a *= 2) {
    void *p = NULL;
    CHECK_ERRNO_KEPT(p = hawk_memalign(a, 100));
    REQUIRE(p);
    CHECK(is_aligned(p, a) && is_aligned(p, 16));
    CHECK(hawk_usable_size(p) >= 100);
    memset(p, 0x21, 100);
    hawk_free(p);
  }
  /* Each alignment with the power of two it is rounded up to, worked out
   * by hand. */
  static const struct {
    size_t asked, rounded;
  } rounded[] = {{0, 16},
                 {3, 16},
                 {5, 16},
                 {6, 16},
                 {7, 16},
                 {12, 16},
                 {24, 32},
                 {48, 64},
                 {100, 128},
                 {4095, 4096},
                 {4097, 8192},
                 {3 * 4096, 16384},
                 {MiB + 16, 2 * MiB}};
  int bad = 0;
  for (size_t i = 0; i < sizeof rounded / sizeof *rounded; i++) {
    errno = 0;
    char *r = NULL;
    CHECK_ERRNO_KEPT(r = hawk_memalign(rounded[i].asked, 100));
    TALLY(bad, r != NULL && is_aligned(r, rounded[i].rounded), "memalign(%#zx, 100) = %p",
          rounded[i].asked, (void *)r);
    if (r) memset(r, 0x5a, 100);
    hawk_free(r);
  }
  /* Above SIZE_MAX / 2 + 1 nothing is a power of two: EINVAL, as glibc. */
  static const size_t beyond[] = {SIZE_MAX, ((size_t)1 << 63) + 16, ((size_t)1 << 63) + 1};
  for (size_t i = 0; i < sizeof beyond / sizeof *beyond; i++) {
    errno = 0;
    void *r = hawk_memalign(beyond[i], 100);
    TALLY(bad, r == NULL && errno == EINVAL, "memalign(%#zx, 100) = %p errno %d", beyond[i], r,
          errno);
  }
  /* SIZE_MAX / 2 rounds up to 2^63: a valid alignment no mapping can have. */
  errno = 0;
  CHECK(hawk_memalign(SIZE_MAX / 2, 100) == NULL && errno == ENOMEM);
  CHECK(bad == 0);
  CHECK(hawk_check() == 0);
}

/* Alignments above an arena's 4 MiB, each right after mappings aligned
 * only to 4 MiB (the OS layer tries a new mapping below the last one
 * first: that place must be aligned for the request at hand). */
TEST(large_alignments_after_arena_aligned_mappings) {
  for (size_t a = 8 * MiB; a <= 64 * MiB; a *= 2) {
    void *before = hawk_malloc(2 * MiB);
    void *p = hawk_aligned_alloc(a, 2 * MiB), *q = hawk_memalign(a, 1);
    void *r = NULL;
    CHECK(hawk_posix_memalign(&r, a, 100) == 0);
    CHECK(p && is_aligned(p, a) && q && is_aligned(q, a) && r && is_aligned(r, a));
    hawk_free(p);
    hawk_free(q);
    hawk_free(r);
    hawk_free(before);
  }
  CHECK(hawk_check() == 0);
}

/* D16: valloc gives page-aligned blocks. */
TEST(valloc_page_aligned) {
  size_t pg = page_size();
  const size_t sizes[] = {1, 100, pg - 1, pg, pg + 1, 10 * pg + 5, MiB - 1, MiB, 3 * MiB + 7};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = NULL;
    CHECK_ERRNO_KEPT(p = hawk_valloc(sizes[i]));
    REQUIRE(p);
    CHECK(is_aligned(p, pg));
    CHECK(hawk_usable_size(p) >= sizes[i]);
    fill(p, hawk_usable_size(p), (unsigned)i);
    CHECK(intact(p, hawk_usable_size(p), (unsigned)i));
    hawk_free(p);
  }
  CHECK(hawk_check() == 0);
}

/* D16: pvalloc gives page-aligned blocks with the size rounded up to whole
 * pages, all of it usable. */
TEST(pvalloc_rounds_up_to_pages) {
  size_t pg = page_size();
  const size_t sizes[] = {1, pg - 1, pg, pg + 1, 10000, MiB - 1, MiB + 1};
  void *live[sizeof sizes / sizeof *sizes];
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t rounded = round_up(sizes[i], pg);
    unsigned char *p = NULL;
    CHECK_ERRNO_KEPT(p = hawk_pvalloc(sizes[i]));
    REQUIRE(p);
    CHECK(is_aligned(p, pg));
    CHECK(hawk_usable_size(p) >= rounded);
    fill(p, rounded, (unsigned)i);
    live[i] = p;
  }
  CHECK(hawk_check() == 0);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    CHECK(intact(live[i], round_up(sizes[i], pg), (unsigned)i));
    hawk_free(live[i]);
  }
  CHECK(hawk_check() == 0);
}

/* pvalloc(0) gives a whole page, as glibc's: 0 rounded up to pages is 0,
 * and a page is the least pvalloc hands out. */
TEST(pvalloc_zero_gives_a_whole_page) {
  size_t pg = page_size();
  unsigned char *p = NULL;
  CHECK_ERRNO_KEPT(p = hawk_pvalloc(0));
  REQUIRE(p);
  CHECK(is_aligned(p, pg));
  CHECK(hawk_usable_size(p) >= pg);
  memset(p, 0x3c, pg);
  CHECK(hawk_check() == 0);
  hawk_free(p);
}

/* memalign's alignments follow glibc: 2^63 is a power of two, supported
 * but too big for any block (ENOMEM); only one above it is EINVAL. */
TEST(memalign_of_the_top_power_of_two_is_enomem) {
  size_t top = (size_t)1 << 63;
  errno = 0;
  CHECK(hawk_memalign(top, 1) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(hawk_memalign(top, 100) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(hawk_memalign(top + 1, 1) == NULL && errno == EINVAL);
  errno = 0;
  CHECK(hawk_memalign(SIZE_MAX, 1) == NULL && errno == EINVAL);
}

/* D17: aligned allocation through the three aligned entry points in turn. */
static void *alloc_aligned(int how, size_t alignment, size_t n) {
  void *p = NULL;
  switch (how % 3) {
  case 0:
    if (hawk_posix_memalign(&p, alignment, n) != 0) p = NULL;
    return p;
  case 1:
    return hawk_aligned_alloc(alignment, n);
  default:
    return hawk_memalign(alignment, n);
  }
}

/* Frees the k-th victim of n in one of four orders. */
static size_t free_order_index(int order, size_t k, size_t n, const size_t *perm) {
  switch (order) {
  case 0:
    return k;
  case 1:
    return n - 1 - k;
  case 2:
    return k < (n + 1) / 2 ? 2 * k : 2 * (k - (n + 1) / 2) + 1;
  default:
    return perm[k];
  }
}

/* Several blocks of one alignment, sizes 1..3*alignment, live at once, then
 * freed in the given order with checks half-way. */
static void alignment_round(size_t a, int order) {
  enum { MAXB = 16 };
  size_t sizes[MAXB];
  size_t k = 0;
  sizes[k++] = 1;
  sizes[k++] = 2;
  sizes[k++] = a / 2 ? a / 2 : 1;
  sizes[k++] = a - 1 ? a - 1 : 1;
  sizes[k++] = a;
  sizes[k++] = a + 1;
  sizes[k++] = 2 * a - 1;
  sizes[k++] = 2 * a;
  sizes[k++] = 2 * a + 1;
  sizes[k++] = 3 * a - 1;
  sizes[k++] = 3 * a;
  while (k < MAXB) sizes[k++] = 1 + rng_below(3 * a);
  void *p[MAXB];
  size_t perm[MAXB];
  int bad = 0;
  for (size_t i = 0; i < MAXB; i++) {
    p[i] = alloc_aligned((int)i + order, a, sizes[i]);
    TALLY(bad, p[i] != NULL, "aligned %zu size %zu failed", a, sizes[i]);
    if (!p[i]) continue;
    TALLY(bad, is_aligned(p[i], a) && is_aligned(p[i], 16), "align %zu size %zu got %p", a,
          sizes[i], p[i]);
    TALLY(bad, hawk_usable_size(p[i]) >= sizes[i], "align %zu size %zu usable %zu", a, sizes[i],
          hawk_usable_size(p[i]));
    fill(p[i], hawk_usable_size(p[i]), (unsigned)(i + a));
    perm[i] = i;
  }
  for (size_t i = MAXB - 1; i > 0; i--) { /* Fisher-Yates */
    size_t j = rng_below(i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (size_t i = 0; i < MAXB; i++)
    if (p[i])
      TALLY(bad, intact(p[i], hawk_usable_size(p[i]), (unsigned)(i + a)), "align %zu size %zu", a,
            sizes[i]);
  CHECK(hawk_check() == 0);
  for (size_t k2 = 0; k2 < MAXB; k2++) {
    size_t i = free_order_index(order, k2, MAXB, perm);
    hawk_free(p[i]);
    p[i] = NULL;
    if (k2 == MAXB / 2) {
      CHECK(hawk_check() == 0);
      for (size_t j = 0; j < MAXB; j++)
        if (p[j])
          TALLY(bad, intact(p[j], hawk_usable_size(p[j]), (unsigned)(j + a)),
                "align %zu size %zu after frees", a, sizes[j]);
    }
  }
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

TEST(alignment_sweep_8b_to_64k) {
  rng_seed(17);
  int order = 0;
  for (size_t a = 8; a <= 64 * KiB; a *= 2) {
    alignment_round(a, order++ % 4);
    alignment_round(a, order++ % 4);
  }
}

TEST(alignment_sweep_128k_to_4m) {
  rng_seed(18);
  int order = 1;
  for (size_t a = 128 * KiB; a <= 4 * MiB; a *= 2) {
    alignment_round(a, order++ % 4);
    alignment_round(a, order++ % 4);
  }
}

/* D17: mixed alignments and sizes live together, freed and refilled at random. */
TEST(alignment_mixed_random_live) {
  enum { SLOTS = 256, OPS = 4000 };
  void *p[SLOTS] = {0};
  size_t n[SLOTS] = {0}, al[SLOTS] = {0};
  rng_seed(99);
  int bad = 0;
  for (int op = 0; op < OPS; op++) {
    size_t s = rng_below(SLOTS);
    if (p[s]) {
      TALLY(bad, intact(p[s], n[s], (unsigned)s), "slot %zu (align %zu size %zu)", s, al[s], n[s]);
      hawk_free(p[s]);
      p[s] = NULL;
      continue;
    }
    al[s] = (size_t)8 << rng_below(15); /* 8 .. 128 KiB */
    n[s] = 1 + rng_below(3 * al[s] < 256 * KiB ? 3 * al[s] : 256 * KiB);
    p[s] = alloc_aligned(op, al[s], n[s]);
    REQUIRE(p[s]);
    TALLY(bad, is_aligned(p[s], al[s]), "align %zu got %p", al[s], p[s]);
    fill(p[s], n[s], (unsigned)s);
    if (op % 500 == 0) CHECK(hawk_check() == 0);
  }
  for (size_t s = 0; s < SLOTS; s++) {
    if (p[s]) TALLY(bad, intact(p[s], n[s], (unsigned)s), "slot %zu at the end", s);
    hawk_free(p[s]);
  }
  CHECK(hawk_check() == 0);
  CHECK(bad == 0);
}

/* D17: repeated aligned allocation (a ring of live aligned blocks plus some
 * small churn) reaches a steady state: the leading pads are reused, so the
 * mapped memory stops growing. */
TEST(aligned_repeat_mapped_bounded) {
  static const size_t aligns[] = {64, 4096, 65536, MiB, 4 * MiB};
  enum { RING = 4 };
  for (size_t ai = 0; ai < sizeof aligns / sizeof *aligns; ai++) {
    size_t a = aligns[ai];
    size_t n = a / 2 + 40;
    int iters = a >= MiB ? 300 : 3000;
    void *ring[RING] = {0}, *small[RING] = {0};
    uint64_t base = 0, worst = 0;
    for (int i = 0; i < iters; i++) {
      int slot = i % RING;
      hawk_free(ring[slot]);
      hawk_free(small[slot]);
      ring[slot] = alloc_aligned(i, a, n);
      small[slot] = hawk_malloc(24 + (size_t)(i % 7) * 16);
      REQUIRE(ring[slot] && small[slot]);
      CHECK(is_aligned(ring[slot], a));
      if (i == iters / 10) base = stats_now().mapped;
      if (i > iters / 10 && i % 50 == 0) {
        uint64_t m = stats_now().mapped;
        if (m > worst) worst = m;
      }
    }
    uint64_t end = stats_now().mapped;
    if (end > worst) worst = end;
    if (worst > base + 2 * ARENA_SIZE) {
      fprintf(stderr, "    alignment %zu: mapped grew from %llu to %llu\n", a,
              (unsigned long long)base, (unsigned long long)worst);
      test_failures_in_case++;
    }
    for (int s = 0; s < RING; s++) {
      hawk_free(ring[s]);
      hawk_free(small[s]);
    }
    CHECK(hawk_check() == 0);
  }
}

/* D17: aligned blocks resized with realloc keep their contents. */
TEST(aligned_blocks_realloc_keep_contents) {
  for (size_t a = 32; a <= MiB; a *= 4) {
    unsigned char *p = alloc_aligned((int)a, a, 100);
    REQUIRE(p);
    fill(p, 100, 3);
    unsigned char *q = hawk_realloc(p, 5000);
    REQUIRE(q);
    CHECK(intact(q, 100, 3));
    fill(q, 5000, 3);
    q = hawk_realloc(q, 2 * MiB);
    REQUIRE(q);
    CHECK(intact(q, 5000, 3));
    q = hawk_realloc(q, 50);
    REQUIRE(q);
    CHECK(intact(q, 50, 3));
    hawk_free(q);
    CHECK(hawk_check() == 0);
  }
}

/* ---- hawk_walk ---------------------------------------------------------- */

/* What hawk_walk said of the block whose payload is `payload` (state -1:
 * not met), and what it saw of every block and of the large ones. */
struct walk_seen {
  uintptr_t payload;
  int state;
  size_t size;
  size_t visits, large;
};

static void walk_seen_visit(void *ctx, const struct hawk_block_info *b) {
  struct walk_seen *w = ctx;
  w->visits++;
  if (b->state == HAWK_BLOCK_LARGE) w->large++;
  if (b->payload == w->payload) {
    w->state = b->state;
    w->size = b->size;
  }
}

/* A freed block of the largest size the thread cache holds (2,048 bytes,
 * header included: malloc(2040)) waits in this thread's cache, and
 * hawk_walk reports it cached, not allocated: the walk's "is it a cache
 * size" bound includes its top size (a `<` there called such a block
 * allocated, and tools that sum the walk's states counted it in use). */
TEST(walk_reports_a_cached_block_of_the_largest_cached_size_as_cached) {
  void *p = hawk_malloc(2040);
  REQUIRE(p);
  struct walk_seen w = {.payload = (uintptr_t)p, .state = -1};
  hawk_walk(walk_seen_visit, &w);
  CHECK(w.state == HAWK_BLOCK_ALLOCATED);
  CHECK(w.size == 2048); /* the largest size the cache holds, exactly */
  hawk_free(p);          /* into this thread's cache */
  struct hawk_stats s;
  REQUIRE(hawk_stats(&s, sizeof s) == 0);
  if (s.thread_cached == 0)
    SKIP("no thread cache (HAWKALLOC_TCACHE=0, debug mode): the block is free");
  w = (struct walk_seen){.payload = (uintptr_t)p, .state = -1};
  hawk_walk(walk_seen_visit, &w);
  CHECK(w.state == HAWK_BLOCK_CACHED);
  CHECK(w.size == 2048);
  CHECK(hawk_check() == 0);
}

/* hawk_walk returns the number of blocks it visited, large blocks (each in
 * a mapping of its own) included: with three live, the count it returns is
 * the number of calls its visitor had (a walk that did not count the large
 * blocks returned three fewer). */
TEST(walk_counts_the_large_blocks_it_visits) {
  enum { N = 3 };
  void *big[N];
  for (int i = 0; i < N; i++) {
    big[i] = hawk_malloc(LARGE_ALWAYS + (size_t)i * MiB);
    REQUIRE(big[i]);
  }
  struct walk_seen w = {.payload = (uintptr_t)big[1], .state = -1};
  size_t n = hawk_walk(walk_seen_visit, &w);
  CHECK(w.state == HAWK_BLOCK_LARGE);
  CHECK(w.large >= N);
  CHECK(n == w.visits);
  for (int i = 0; i < N; i++) hawk_free(big[i]);
  CHECK(hawk_check() == 0);
}

/* ---- statistics, policy, trim ------------------------------------------- */

/* hawk_stats fills the versioned struct, a shorter prefix only, or refuses. */
TEST(stats_version_size_and_prefix) {
  struct hawk_stats s;
  memset(&s, 0xEE, sizeof s);
  CHECK(hawk_stats(&s, sizeof s) == 0);
  CHECK(s.version == HAWK_STATS_VERSION);
  CHECK(s.size == sizeof s);
  CHECK(s.in_use <= s.mapped);
  CHECK(s.in_use_peak >= s.in_use);
  CHECK(s.mapped_peak >= s.mapped);
  CHECK(s.largest_free <= s.free_bytes);
  CHECK(s.frees <= s.mallocs);
  enum { PREFIX = 16 };
  memset(&s, 0xEE, sizeof s);
  CHECK(hawk_stats(&s, PREFIX) == 0);
  CHECK(s.version == HAWK_STATS_VERSION);
  CHECK(s.size <= PREFIX);
  CHECK(all_bytes((unsigned char *)&s + PREFIX, sizeof s - PREFIX, 0xEE));
  memset(&s, 0xEE, sizeof s);
  CHECK(hawk_stats(&s, 0) == -1);
  CHECK(hawk_stats(&s, 4) == -1);
}

/* hawk_stats_print writes a table to the descriptor it is given. */
TEST(stats_print_writes_to_fd) {
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  fcntl(fd[1], F_SETFL, O_NONBLOCK);
  hawk_stats_print(fd[1]);
  close(fd[1]);
  char buf[512];
  ssize_t got = read(fd[0], buf, sizeof buf);
  close(fd[0]);
  CHECK(got > 0);
}

/* The policy is one of the two known names, the one asked for if any. */
TEST(policy_name_known) {
  const char *name = hawk_policy_name();
  REQUIRE(name != NULL);
  static const char *const policies[] = {"segregated", "first-fit", "next-fit", "best-fit"};
  int known = 0, env_known = 0;
  const char *env = getenv("HAWKALLOC_POLICY");
  for (size_t i = 0; i < sizeof policies / sizeof *policies; i++) {
    known |= strcmp(name, policies[i]) == 0;
    env_known |= env && strcmp(env, policies[i]) == 0;
  }
  CHECK(known);
  if (env_known) CHECK(strcmp(name, env) == 0);
  if (!env) CHECK(strcmp(name, "segregated") == 0); /* the default */
}

/* The process's address space (VmSize of /proc/self/status), in bytes,
 * read without an allocation; 0 if unreadable. */
static uint64_t address_space(void) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *v = strstr(buf, "\nVmSize:");
  return v ? strtoull(v + 9, NULL, 10) * 1024 : 0;
}

/* An arena is mapped aligned to its size out of a mapping with slack
 * around it, and the slack goes back, before and after the arena: the
 * address space grows by what the statistics say is mapped.  In a fresh
 * process whose first arena (and the registry's leaf) is made before it
 * measures; a mapping of the test's own, 1 MiB and a page, lies right
 * below that arena, so that the next arena, mapped below it, is not
 * aligned where its slack begins or ends; 4 arenas more. */
TEST(arenas_take_the_address_space_they_map_and_no_more) {
  if (UNDER_SANITIZER) SKIP("a sanitizer maps memory of its own as the program runs");
  if (!is_fresh("arenas_take_the_address_space_they_map_and_no_more")) {
    CHECK(run_fresh("arenas_take_the_address_space_they_map_and_no_more") == 0);
    return;
  }
  enum { MAX = 40 };
  static void *p[MAX];
  int n = 0;
  REQUIRE((p[n++] = hawk_malloc(900000)) != NULL);
  size_t own_len = MiB + 4096;
  uintptr_t first = (uintptr_t)p[0] & ~(uintptr_t)(ARENA_SIZE - 1);
  void *own = mmap((void *)(first - own_len), own_len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (own == MAP_FAILED) /* something of the process's there: anywhere */
    own = mmap(NULL, own_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(own != MAP_FAILED);
  struct hawk_stats s0, s1;
  memset(&s0, 0, sizeof s0);
  memset(&s1, 0, sizeof s1);
  hawk_stats(&s0, sizeof s0);
  uint64_t before = address_space();
  REQUIRE(before != 0);
  do {
    REQUIRE((p[n++] = hawk_malloc(900000)) != NULL);
    hawk_stats(&s1, sizeof s1);
  } while (n < MAX && s1.arenas < s0.arenas + 4);
  uint64_t after = address_space();
  CHECK(s1.arenas == s0.arenas + 4);
  printf("     address space %llu bytes more, mapped %llu more\n",
         (unsigned long long)(after - before), (unsigned long long)(s1.mapped - s0.mapped));
  CHECK(after - before == s1.mapped - s0.mapped);
  for (int i = 0; i < n; i++) hawk_free(p[i]);
  munmap(own, own_len);
}

/* hawk_trim returns 1 after a big free (it gave memory back), leaves no
 * cached arenas, and the heap stays usable and sound. */
TEST(trim_after_big_free) {
  enum { N = 40000 };
  static void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = hawk_malloc(1000)) != NULL);
  struct hawk_stats peak = stats_now();
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  CHECK(hawk_trim() == 1);
  struct hawk_stats after = stats_now();
  CHECK(after.cached_arenas == 0);
  CHECK(after.mapped < peak.mapped);
  CHECK(hawk_check() == 0);
  for (int i = 0; i < 1000; i++) REQUIRE((p[i] = hawk_malloc(1000)) != NULL);
  for (int i = 0; i < 1000; i++) hawk_free(p[i]);
  CHECK(hawk_check() == 0);
}

/* hawk_trim returns 0 when it had nothing to give back: in a fresh copy
 * (no free blocks of earlier cases), a second trim right after the one that
 * unmapped a spare large mapping. */
TEST(trim_with_nothing_to_give_back_returns_0) {
  if (!is_fresh("trim_with_nothing_to_give_back_returns_0")) {
    CHECK(run_fresh("trim_with_nothing_to_give_back_returns_0") == 0);
    return;
  }
  void *p = hawk_malloc(6 * MiB), *guard = hawk_malloc(100);
  REQUIRE(p && guard);
  hawk_free(p); /* kept as a spare mapping */
  CHECK(hawk_trim() == 1);
  CHECK(hawk_trim() == 0);
  CHECK(hawk_trim() == 0);
  hawk_free(guard);
}

/* A trim gives back the pages of a free block once: a second trim finds
 * them gone, returns 0 and counts nothing more.  Free blocks of 12,000
 * bytes (below the 16 KiB a block needs to be marked as given back) and of
 * 100,000 bytes, in fresh copies with the decay on and off (the mark is the
 * decay's): each trim after the first gave the small blocks' pages "back"
 * again, returned 1 and added them to the bytes purged. */
TEST(a_second_trim_gives_back_nothing_the_first_did) {
  if (!is_fresh("a_second_trim_gives_back_nothing_the_first_did")) {
    char decay_off[] = "HAWKALLOC_DECAY_MS=0", out[256];
    char *const on[] = {NULL}, *const off[] = {decay_off, NULL};
    CHECK(run_fresh_env("a_second_trim_gives_back_nothing_the_first_did", on, out, sizeof out) ==
          0);
    CHECK(run_fresh_env("a_second_trim_gives_back_nothing_the_first_did", off, out, sizeof out) ==
          0);
    return;
  }
  static const size_t sizes[] = {12000, 100000};
  enum { N = 4 };
  unsigned char *freed[2][N], *kept[2][N + 1];
  for (int s = 0; s < 2; s++) {
    for (int i = 0; i < N; i++) {
      REQUIRE((kept[s][i] = hawk_malloc(100)) != NULL);
      REQUIRE((freed[s][i] = hawk_malloc(sizes[s])) != NULL);
      memset(freed[s][i], 0x5a, sizes[s]);
    }
    REQUIRE((kept[s][N] = hawk_malloc(100)) != NULL);
  }
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < N; i++) hawk_free(freed[s][i]);
  struct hawk_stats s0, s1, s2;
  hawk_stats(&s0, sizeof s0);
  CHECK(hawk_trim() == 1);
  hawk_stats(&s1, sizeof s1);
  CHECK(hawk_trim() == 0);
  hawk_stats(&s2, sizeof s2);
  CHECK(s1.purged > s0.purged);
  CHECK(s2.purged == s1.purged);
  if (s2.purged != s1.purged)
    fprintf(stderr, "    purged %llu, after one trim %llu, after two %llu\n",
            (unsigned long long)s0.purged, (unsigned long long)s1.purged,
            (unsigned long long)s2.purged);
  for (int s = 0; s < 2; s++)
    for (int i = 0; i <= N; i++) hawk_free(kept[s][i]);
}

/* A free block with one whole page inside it (8,100 bytes: fewer than two
 * pages of payload, too small for the decay's mark) has that page given
 * back and counted by the first trim: the count of pages still resident
 * takes a range of exactly one page too.  In a fresh copy with the decay
 * off, where nothing else is free. */
TEST(a_trim_counts_the_one_page_inside_a_free_block) {
  if (!is_fresh("a_trim_counts_the_one_page_inside_a_free_block")) {
    char decay_off[] = "HAWKALLOC_DECAY_MS=0", out[256];
    char *const off[] = {decay_off, NULL};
    CHECK(run_fresh_env("a_trim_counts_the_one_page_inside_a_free_block", off, out, sizeof out) ==
          0);
    return;
  }
  /* Blocks of the same size side by side, every other one freed: blocks
   * in use keep the free ones apart (no merge). */
  enum { N = 13 };
  unsigned char *b[N];
  size_t pages = 0, page = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < N; i++) {
    REQUIRE((b[i] = hawk_malloc(8100)) != NULL);
    memset(b[i], 0x5a, 8100);
  }
  for (int i = 1; i < N; i += 2) {
    /* The block's whole pages past its header, links and stamp (32 bytes
     * from the block, 24 from the payload) and before its footer. */
    size_t size = hawk_usable_size(b[i]) + 8;
    uintptr_t lo = (uintptr_t)b[i] + 24, hi = (uintptr_t)b[i] - 8 + size - 8;
    uintptr_t start = (lo + page - 1) & ~(uintptr_t)(page - 1), end = hi & ~(uintptr_t)(page - 1);
    pages += end > start ? (end - start) / page : 0;
    hawk_free(b[i]);
  }
  REQUIRE(pages > 0); /* an interval of 8,072 bytes holds one whole page most times */
  struct hawk_stats s0, s1;
  hawk_stats(&s0, sizeof s0);
  CHECK(hawk_trim() == 1);
  hawk_stats(&s1, sizeof s1);
  CHECK(s1.purged - s0.purged >= pages * page);
  if (s1.purged - s0.purged < pages * page)
    fprintf(stderr, "    purged %llu for %zu pages\n", (unsigned long long)(s1.purged - s0.purged),
            pages);
  for (int i = 0; i < N; i += 2) hawk_free(b[i]);
}

/* hawk_trim gives back the pages of free blocks only: blocks in use of a
 * page and more, next to blocks just freed, keep every byte. */
TEST(trim_keeps_the_bytes_of_blocks_in_use) {
  static const size_t sizes[] = {5000, 40000, 300000};
  enum { N = sizeof sizes / sizeof sizes[0] };
  unsigned char *kept[N], *freed[N];
  for (int i = 0; i < N; i++) {
    REQUIRE((freed[i] = hawk_malloc(sizes[i])) != NULL);
    REQUIRE((kept[i] = hawk_malloc(sizes[i])) != NULL);
    memset(kept[i], 0xA5, sizes[i]);
  }
  for (int i = 0; i < N; i++) hawk_free(freed[i]);
  hawk_trim();
  for (int i = 0; i < N; i++) {
    CHECK(all_bytes(kept[i], sizes[i], 0xA5));
    hawk_free(kept[i]);
  }
  CHECK(hawk_check() == 0);
}

TEST_MAIN()
