/* fuzz_ops.c - a libFuzzer harness for the prefixed API.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined together with the
 * library's core sources and -DHAWK_NO_OVERRIDE: the sanitizer owns malloc,
 * HawkAlloc is reached through the hawk_* names only (tests/fuzz/run.sh).
 *
 * The input is a sequence of operations on a table of NSLOTS slots.  Every
 * operation starts with an opcode byte (taken modulo OP_COUNT) followed by
 * its operands; reading past the end of the input yields zero bytes, so any
 * input is valid.  The encoding (tests/fuzz/make-corpus.py writes it):
 *
 *   slot    1 byte, modulo NSLOTS
 *   size    1 byte category (modulo 16), then what draw_size() reads
 *   align   2 bytes: a category (modulo 8) and a value byte, see draw_align()
 *
 *   0 malloc          slot size
 *   1 calloc          slot mode(%6) ...         see op_calloc()
 *   2 realloc         slot mode(%8) ...         see op_realloc(); an empty slot is realloc(NULL, n)
 *   3 reallocarray    slot mode(%4) ...         see op_reallocarray()
 *   4 posix_memalign  slot align size
 *   5 aligned_alloc   slot align size
 *   6 memalign        slot align size
 *   7 valloc          slot size
 *   8 pvalloc         slot size
 *   9 free            slot                      an empty slot is free(NULL)
 *  10 usable_size     slot                      an empty slot is usable_size(NULL)
 *  11 trim
 *  12 stats           mode(%5)
 *  13 burst           slot count(%16+1) size    malloc of one size into consecutive slots
 *  14 free some       slot stride(%4+1) count(%16+1)
 *  15 walk                                      hawk_walk agrees with the table
 *  16 write after free  slot offset(%33) kind(%8) value(8 bytes, kind 6 and 7)
 *                                               frees the slot's block, then writes 8 bytes
 *                                               into its first 32 (offset 0-24), or over its
 *                                               last 8 (25-32: a free block's footer there)
 *                                               (see op_waf)
 *
 * Every live block carries a pattern (a window of a fixed pseudo-random
 * sequence, starting at the block's own seed) over its whole usable size,
 * or over samples of it for big blocks.  The harness checks the pattern
 * before every free and realloc (and the preserved prefix after realloc),
 * that calloc memory is zero, alignment, usable size, that no two live
 * blocks overlap, the errno rules (ENOMEM on failure, EINVAL for a bad
 * alignment, unchanged on success and by free), and runs hawk_check() after
 * every operation.  Any violation prints one line and traps.  At the end of
 * an input every block is freed, hawk_trim() empties the thread cache (so
 * the next input starts from the same heap) and the heap must check clean.
 *
 * Misuse (double free, foreign pointers) is never passed: the allocator
 * aborts on it by design.  The one exception is op 16, a write after free:
 * the first one of an input forks; the child does the write and the rest of
 * the input and must end either normally or with the allocator's one-line
 * "hawkalloc: ..." report and SIGABRT.  The child runs hawk_check only at
 * the end of the input (after every operation it would see the damage
 * before the allocator meets it), and problems found then end it normally;
 * anything else (a crash, a violation, no
 * report) makes the parent trap with the child's output.  The parent skips
 * the rest of the input and cleans up its own intact heap.  libFuzzer sees
 * no coverage of what the child runs.  The placement policy is the process's
 * HAWKALLOC_POLICY; HAWK_FUZZ_VERBOSE=1 prints every operation (to replay a
 * crashing input by hand).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h" /* LARGE_SPARE_FIT */
#include "hawkalloc.h"

#define NSLOTS     32
#define KIB        ((size_t)1 << 10)
#define MIB        ((size_t)1 << 20)
#define LARGE      MIB                 /* the allocator's large threshold */
#define MAX_OK     ((size_t)32 << 20)  /* requests up to this must succeed */
#define FAIL_MIN   ((size_t)1 << 47)   /* requests from this on must fail: 48-bit address space */
#define ALIGN_OK   ((size_t)8 << 20)   /* alignments up to this must be honoured */
#define FULL_LIMIT ((size_t)256 << 10) /* blocks up to this are patterned in full */
#define SAMPLE_END ((size_t)16 << 10)  /* bigger ones: this much at each end ... */
#define SAMPLE_GAP ((size_t)64 << 10)  /* ... and 64 bytes across 64 KiB boundaries, at most */
#define SAMPLES    16                  /* ... this many of them */
#define ERRNO_MARK 4242                /* errno before every call */
#define PAT_LEN    4093                /* period of the pattern: prime, not a page multiple */
#define MAX_OPS    1024

enum op {
  OP_MALLOC,
  OP_CALLOC,
  OP_REALLOC,
  OP_REALLOCARRAY,
  OP_POSIX_MEMALIGN,
  OP_ALIGNED_ALLOC,
  OP_MEMALIGN,
  OP_VALLOC,
  OP_PVALLOC,
  OP_FREE,
  OP_USABLE,
  OP_TRIM,
  OP_STATS,
  OP_BURST,
  OP_FREE_SOME,
  OP_WALK,
  OP_WAF,
  OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "malloc",   "calloc", "realloc",   "reallocarray", "posix_memalign",  "aligned_alloc",
    "memalign", "valloc", "pvalloc",   "free",         "usable_size",     "trim",
    "stats",    "burst",  "free_some", "walk",         "write_after_free"};

struct slot {
  unsigned char *p; /* NULL: empty */
  size_t req;       /* bytes the caller is entitled to */
  size_t usable;    /* hawk_usable_size when it was handed out */
  size_t align;     /* alignment promised */
  uint32_t seed;    /* start of its pattern window */
};

static struct slot slots[NSLOTS];
static unsigned char pattern[2 * PAT_LEN];
static unsigned char zeros[4096];
static size_t page;
static uint32_t next_seed;
static int verbose;
static int op_index;
static const char *op_name = "setup";

/* --- reporting ----------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fuzz_ops: VIOLATION at op %d (%s), policy %s: ", op_index, op_name,
          hawk_policy_name());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  __builtin_trap();
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...) {
  if (!verbose) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "  #%d %s: ", op_index, op_name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Set in the child of a write after free (op_waf). */
static int waf_child;

static void heap_check(void) {
  int problems = hawk_check();
  if (problems != 0 && waf_child) _exit(0); /* the damage is seen: an expected end */
  if (problems != 0) fail("hawk_check() found %d problem(s)", problems);
}

/* --- input --------------------------------------------------------------- */

struct input {
  const uint8_t *data;
  size_t size, pos;
};

static uint8_t u8(struct input *in) { return in->pos < in->size ? in->data[in->pos++] : 0; }

static uint16_t u16(struct input *in) {
  uint16_t lo = u8(in);
  uint16_t hi = u8(in);
  return (uint16_t)(lo | hi << 8);
}

static uint32_t u32(struct input *in) {
  uint32_t lo = u16(in);
  uint32_t hi = u16(in);
  return lo | hi << 16;
}

/* Sizes that cannot be satisfied (all at least FAIL_MIN). */
static size_t draw_huge(struct input *in) {
  uint8_t kind = u8(in) % 8;
  size_t x = u8(in);
  switch (kind) {
  case 0:
    return SIZE_MAX - x;
  case 1:
    return (size_t)PTRDIFF_MAX - x * 16;
  case 2:
    return (size_t)PTRDIFF_MAX + 1 + x;
  case 3:
    return FAIL_MIN + x * 4096;
  case 4:
    return (size_t)1 << (47 + x % 17);
  case 5:
    return (SIZE_MAX & ~(size_t)4095) - x * 16;
  case 6:
    return FAIL_MIN - 1 + ((size_t)1 << (x % 47)); /* at least FAIL_MIN */
  default:
    return SIZE_MAX / 3 + x;
  }
}

static size_t draw_size(struct input *in) {
  uint8_t category = u8(in) % 16;
  switch (category) {
  case 0:
    return 0;
  case 1:
    return 1 + u8(in) % 16; /* tiny */
  case 2:
    return 8 + u8(in) % 33; /* around 16, 24, 32 */
  case 3:
    return u8(in); /* small */
  case 4:
    return 1 + u16(in) % 1100; /* up to the cache limit and past it */
  case 5:
    return 992 + u8(in) % 64; /* 1016 (cache limit) and 1024 */
  case 6:
    return u16(in); /* exact, below 64 KiB */
  case 7:
    return 64 * KIB + u32(in) % (LARGE - 64 * KIB);
  case 8:
    return LARGE - 80 + u8(in) % 160; /* the large threshold */
  case 9:
    return LARGE + u32(in) % (7 * MIB);
  case 10: { /* page multiples, give or take */
    size_t pages = 1 + u8(in) % 64;
    size_t delta = u8(in) % 33;
    return pages * 4096 - 16 + delta;
  }
  case 11: { /* powers of two, give or take */
    size_t shift = u8(in) % 23;
    size_t delta = u8(in) % 17;
    size_t n = ((size_t)1 << shift) + delta;
    return n >= 8 ? n - 8 : 0;
  }
  case 12: { /* the segregated policy's class bounds: four per power of two */
    size_t shift = u8(in) % 11;
    size_t quarter = u8(in) % 4;
    size_t delta = u8(in) % 49;
    return (KIB << shift) / 4 * (4 + quarter) - 24 + delta;
  }
  case 13:
    return draw_huge(in);
  case 14:
    return 16 * (1 + (size_t)(u8(in) % 64)); /* multiples of 16 up to 1 KiB */
  default:
    return u16(in) % 4096;
  }
}

static const size_t bad_aligns[16] = {
    0,    3,    5,    6,        12,      24,       48,           100,
    1000, 4095, 4097, MIB + 16, 3 * MIB, SIZE_MAX, SIZE_MAX - 1, ((size_t)1 << 63) + 16};

static size_t draw_align(struct input *in) {
  uint8_t category = u8(in) % 8;
  size_t x = u8(in);
  switch (category) {
  case 0:
    return (size_t)1 << (x % 5); /* 1 .. 16 */
  case 1:
  case 2:
    return (size_t)1 << (5 + x % 8); /* 32 .. 4096 */
  case 3:
    return (size_t)1 << (13 + x % 11); /* 8 KiB .. 8 MiB */
  case 4:
    return bad_aligns[x % 16]; /* not a power of two */
  case 5:
    return (size_t)1 << (48 + x % 16); /* cannot be satisfied */
  case 6:
    return 16;
  default:
    return page;
  }
}

/* --- patterns ------------------------------------------------------------ */

enum pat_mode { PAT_FILL, PAT_CHECK, PAT_ZERO };

/* Fills, checks or zero-checks [lo, hi) of block p with the window of seed.
 * Returns the offset of the first wrong byte, or SIZE_MAX. */
static size_t pat_range(unsigned char *p, size_t lo, size_t hi, uint32_t seed, enum pat_mode m) {
  for (size_t at = lo; at < hi;) {
    size_t pos = (seed + at) % PAT_LEN;
    size_t len = hi - at < PAT_LEN ? hi - at : PAT_LEN;
    if (m == PAT_FILL) {
      memcpy(p + at, pattern + pos, len);
    } else {
      const unsigned char *want = m == PAT_ZERO ? zeros : pattern + pos;
      if (m == PAT_ZERO && len > sizeof zeros) len = sizeof zeros;
      if (memcmp(p + at, want, len) != 0) {
        for (size_t i = 0; i < len; i++)
          if (p[at + i] != want[i]) return at + i;
      }
    }
    at += len;
  }
  return SIZE_MAX;
}

/* Applies m to the patterned part of an n-byte block, cut at limit: all of
 * it up to FULL_LIMIT, else both ends and a window across every 64 KiB (or
 * 128, 256 ... KiB: at most SAMPLES windows). */
static size_t pat_apply(unsigned char *p, size_t n, size_t limit, uint32_t seed, enum pat_mode m) {
  size_t bad;
  if (limit > n) limit = n;
  if (n <= FULL_LIMIT) return pat_range(p, 0, limit, seed, m);
  if ((bad = pat_range(p, 0, limit < SAMPLE_END ? limit : SAMPLE_END, seed, m)) != SIZE_MAX)
    return bad;
  size_t gap = SAMPLE_GAP;
  while (n / gap > SAMPLES) gap *= 2;
  for (size_t at = gap; at + 32 <= n - SAMPLE_END && at + 32 <= limit; at += gap)
    if ((bad = pat_range(p, at - 32, at + 32, seed, m)) != SIZE_MAX) return bad;
  size_t tail = n - SAMPLE_END;
  if (tail < limit && (bad = pat_range(p, tail, limit, seed, m)) != SIZE_MAX) return bad;
  return SIZE_MAX;
}

/* The block in s still carries its pattern (up to limit bytes of it, at q). */
static void check_contents(const struct slot *s, unsigned char *q, size_t limit, const char *when) {
  size_t bad = pat_apply(q, s->usable, limit, s->seed, PAT_CHECK);
  if (bad != SIZE_MAX)
    fail("%s: block %p (was %p, %zu bytes asked, %zu usable) changed at offset %zu: 0x%02x, "
         "want 0x%02x",
         when, (void *)q, (void *)s->p, s->req, s->usable, bad, q[bad],
         pattern[(s->seed + bad) % PAT_LEN]);
}

/* --- expectations -------------------------------------------------------- */

enum expect { EXPECT_OK, EXPECT_ENOMEM, EXPECT_EINVAL, EXPECT_SKIP };

static enum expect expect_size(size_t n) {
  return n <= MAX_OK ? EXPECT_OK : n >= FAIL_MIN ? EXPECT_ENOMEM : EXPECT_SKIP;
}

static int pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

static enum expect expect_aligned(size_t align, size_t n, int posix) {
  if (!pow2(align) || (posix && align < sizeof(void *))) return EXPECT_EINVAL;
  if (n >= FAIL_MIN || align >= FAIL_MIN) return EXPECT_ENOMEM;
  if (n <= MAX_OK && align <= ALIGN_OK) return EXPECT_OK;
  return EXPECT_SKIP;
}

static void expect_errno(int want, const char *call) {
  int got = errno;
  if (got != want) fail("%s: errno is %d, want %d", call, got, want);
}

/* A failed allocation: NULL with the right errno. */
static void check_failed(void *p, enum expect e, const char *call) {
  if (p != NULL) fail("%s returned %p, want NULL", call, p);
  expect_errno(e == EXPECT_EINVAL ? EINVAL : ENOMEM, call);
}

/* --- slots --------------------------------------------------------------- */

/* Frees the block of slot i after checking its pattern. */
static void release(int i) {
  struct slot *s = &slots[i];
  if (s->p == NULL) return;
  check_contents(s, s->p, SIZE_MAX, "before free");
  errno = ERRNO_MARK;
  hawk_free(s->p);
  expect_errno(ERRNO_MARK, "free");
  s->p = NULL;
}

/* Verifies a block just handed out for slot i (not yet recorded there):
 * alignment, usable size, no overlap with another live block. */
static size_t verify_new(int i, unsigned char *p, size_t req, size_t align, const char *call) {
  size_t want = align < 16 ? 16 : align;
  if ((uintptr_t)p % want != 0)
    fail("%s(%zu) = %p: not aligned to %zu", call, req, (void *)p, want);
  errno = ERRNO_MARK;
  size_t u = hawk_usable_size(p);
  expect_errno(ERRNO_MARK, "usable_size");
  size_t base = req < 24 ? 24 : req;
  int own_mapping = req >= LARGE || align > LARGE;
  /* An own mapping may be a reused one of up to LARGE_SPARE_FIT times the
   * mapping the block needs, its request and a page of headers rounded up
   * to pages (large.c); a block that realloc grew gets up to an eighth
   * more (api.c, heap.c). */
  size_t most = LARGE_SPARE_FIT * ((req ? req : 1) + 2 * page) + page;
  size_t slack = strncmp(call, "realloc", 7) == 0 ? base / 8 : 0;
  if (u < req || (u > base + slack + 31 && !(own_mapping && u < most)))
    fail("%s(%zu) = %p: usable size %zu", call, req, (void *)p, u);
  for (int j = 0; j < NSLOTS; j++) {
    const struct slot *o = &slots[j];
    if (j == i || o->p == NULL) continue;
    if (p < o->p + o->usable && o->p < p + u)
      fail("%s(%zu) = %p (+%zu) overlaps slot %d's live block %p (+%zu)", call, req, (void *)p, u,
           j, (void *)o->p, o->usable);
  }
  return u;
}

/* Records p in slot i (already emptied or being replaced) and patterns it. */
static void adopt(int i, unsigned char *p, size_t req, size_t usable, size_t align) {
  struct slot *s = &slots[i];
  s->p = p;
  s->req = req;
  s->usable = usable;
  s->align = align < 16 ? 16 : align;
  s->seed = next_seed;
  next_seed = (next_seed + 2654435761u) % PAT_LEN;
  note("-> slot %d: %p, %zu bytes asked, %zu usable", i, (void *)p, req, usable);
  pat_apply(p, usable, SIZE_MAX, s->seed, PAT_FILL);
}

/* The result of an allocation that had expectation e, for slot i. */
static void take(int i, void *p, size_t req, size_t align, enum expect e, int zeroed,
                 const char *call) {
  if (e != EXPECT_OK) {
    check_failed(p, e, call);
    return;
  }
  if (p == NULL)
    fail("%s(%zu, align %zu) failed (errno %d), want success", call, req, align, errno);
  expect_errno(ERRNO_MARK, call);
  size_t u = verify_new(i, p, req, align, call);
  if (zeroed) {
    size_t bad = pat_apply(p, req, SIZE_MAX, 0, PAT_ZERO);
    if (bad != SIZE_MAX)
      fail("%s(%zu) = %p: byte %zu is 0x%02x, not zero", call, req, p, bad,
           ((unsigned char *)p)[bad]);
  }
  adopt(i, p, req, u, align);
}

/* --- operations ---------------------------------------------------------- */

static void op_malloc(int i, size_t n) {
  enum expect e = expect_size(n);
  note("slot %d, %zu bytes", i, n);
  if (e == EXPECT_SKIP) return;
  release(i);
  errno = ERRNO_MARK;
  void *p = hawk_malloc(n);
  take(i, p, n, 16, e, 0, "malloc");
}

static const size_t calloc_overflows[6][2] = {
    {SIZE_MAX, 2},
    {2, SIZE_MAX},
    {(size_t)1 << 32, (size_t)1 << 32},
    {SIZE_MAX / 16 + 1, 16},
    {(size_t)1 << 40, (size_t)1 << 30},
    {SIZE_MAX / 3 + 1, 3},
};

static void op_calloc(struct input *in, int i) {
  uint8_t mode = u8(in) % 6;
  size_t count, size;
  switch (mode) {
  case 0:
    count = 1;
    size = draw_size(in);
    break;
  case 1:
    count = draw_size(in);
    size = 1;
    break;
  case 2:
    count = 1 + u8(in) % 16;
    size = draw_size(in);
    break;
  case 3: {
    const size_t *o = calloc_overflows[u8(in) % 6];
    count = o[0];
    size = o[1];
    break;
  }
  case 4: {
    uint8_t which = u8(in);
    count = draw_size(in);
    size = 0;
    if (which & 1) {
      size = count;
      count = 0;
    }
    break;
  }
  default:
    count = 1 + u8(in) % 64;
    size = 1 + u8(in) % 64;
    break;
  }
  size_t total;
  enum expect e = __builtin_mul_overflow(count, size, &total) ? EXPECT_ENOMEM : expect_size(total);
  note("slot %d, %zu x %zu", i, count, size);
  if (e == EXPECT_SKIP) return;
  release(i);
  errno = ERRNO_MARK;
  void *p = hawk_calloc(count, size);
  take(i, p, e == EXPECT_OK ? total : 0, 16, e, 1, "calloc");
}

/* realloc(slot i, n) (or reallocarray when reallocarray is set, with the
 * same outcome rules), checking what it kept. */
static void do_realloc(int i, size_t n, int overflow, size_t count, size_t size, int reallocarray) {
  struct slot *s = &slots[i];
  struct slot old = *s;
  const char *call = reallocarray ? "reallocarray" : "realloc";
  enum expect e = overflow ? EXPECT_ENOMEM : expect_size(n);
  note("slot %d (%p, %zu bytes) to %zu%s", i, (void *)old.p, old.req, n,
       overflow ? " (count x size overflows)" : "");
  if (e == EXPECT_SKIP) return;
  if (old.p) check_contents(&old, old.p, SIZE_MAX, "before realloc");
  errno = ERRNO_MARK;
  void *q = reallocarray ? hawk_reallocarray(old.p, count, size) : hawk_realloc(old.p, n);
  if (old.p && n == 0 && !overflow) { /* frees, returns NULL (glibc's rule) */
    if (q != NULL) fail("%s(%p, 0) returned %p, want NULL", call, (void *)old.p, q);
    expect_errno(ERRNO_MARK, call);
    s->p = NULL;
    return;
  }
  if (e != EXPECT_OK) {
    check_failed(q, e, call);
    if (old.p) { /* the block is untouched */
      check_contents(&old, old.p, SIZE_MAX, "after failed realloc");
      errno = ERRNO_MARK;
      size_t u = hawk_usable_size(old.p);
      if (u != old.usable) fail("usable size %zu after failed %s, was %zu", u, call, old.usable);
    }
    return;
  }
  if (q == NULL) fail("%s(%p, %zu) failed (errno %d), want success", call, (void *)old.p, n, errno);
  expect_errno(ERRNO_MARK, call);
  if (old.p) s->p = NULL; /* gone or moved: q is what counts now */
  size_t u = verify_new(i, q, n, 16, call);
  if (old.p) check_contents(&old, q, old.req < n ? old.req : n, "after realloc");
  adopt(i, q, n, u, 16);
}

static void op_realloc(struct input *in, int i) {
  size_t req = slots[i].p ? slots[i].req : 0, n;
  uint8_t mode = u8(in) % 8;
  switch (mode) {
  case 1:
    n = req + 1 + u8(in);
    break;  /* grow a little */
  case 2: { /* shrink a little */
    size_t d = u8(in);
    n = req > d + 1 ? req - d - 1 : req / 2;
    break;
  }
  case 3:
    n = req * 2 + 1;
    break;
  case 4:
    n = 0;
    break;
  case 5:
    n = req / 2;
    break;
  case 6:
    n = draw_huge(in);
    break;
  default:
    n = draw_size(in);
    break;
  }
  do_realloc(i, n, 0, 0, 0, 0);
}

static void op_reallocarray(struct input *in, int i) {
  uint8_t mode = u8(in) % 4;
  size_t count, size;
  switch (mode) {
  case 0:
    count = u8(in) % 17;
    size = draw_size(in);
    break;
  case 1: {
    const size_t *o = calloc_overflows[u8(in) % 6];
    count = o[0];
    size = o[1];
    break;
  }
  case 2:
    count = draw_size(in);
    size = 1;
    break;
  default:
    count = 1;
    size = draw_size(in);
    break;
  }
  size_t total = 0;
  int overflow = __builtin_mul_overflow(count, size, &total);
  do_realloc(i, total, overflow, count, size, 1);
}

/* posix_memalign, aligned_alloc, memalign, valloc and pvalloc. */
static void op_aligned(enum op kind, int i, size_t align, size_t n) {
  int posix = kind == OP_POSIX_MEMALIGN;
  size_t req = n;
  if (kind == OP_VALLOC || kind == OP_PVALLOC) align = page;
  /* memalign rounds the alignment up to a power of two (at least 16), as
   * glibc does; past SIZE_MAX / 2 + 1 none is, and it fails with EINVAL. */
  if (kind == OP_MEMALIGN && align <= SIZE_MAX / 2 + 1) {
    size_t a = 16;
    while (a < align) a <<= 1;
    align = a;
  }
  enum expect e = expect_aligned(align, n, posix);
  if (kind == OP_PVALLOC && e == EXPECT_OK) req = n == 0 ? page : (n + page - 1) & ~(page - 1);
  if (kind == OP_PVALLOC && e == EXPECT_OK && req > MAX_OK) e = EXPECT_SKIP;
  note("slot %d, align %zu, %zu bytes", i, align, n);
  if (e == EXPECT_SKIP) return;
  release(i);
  errno = ERRNO_MARK;
  void *p = NULL;
  switch (kind) {
  case OP_POSIX_MEMALIGN: {
    void *const untouched = (void *)(uintptr_t)0x5eed;
    p = untouched;
    int rc = hawk_posix_memalign(&p, align, n);
    expect_errno(ERRNO_MARK, "posix_memalign"); /* never touches errno */
    int want = e == EXPECT_OK ? 0 : e == EXPECT_EINVAL ? EINVAL : ENOMEM;
    if (rc != want) fail("posix_memalign(align %zu, %zu) returned %d, want %d", align, n, rc, want);
    if (rc != 0) {
      if (p != untouched) fail("posix_memalign failed but changed *out to %p", p);
      return;
    }
    break;
  }
  case OP_ALIGNED_ALLOC:
    p = hawk_aligned_alloc(align, n);
    break;
  case OP_MEMALIGN:
    p = hawk_memalign(align, n);
    break;
  case OP_VALLOC:
    p = hawk_valloc(n);
    break;
  default:
    p = hawk_pvalloc(n);
    break;
  }
  take(i, p, req, align, e, 0, op_names[kind]);
}

static void op_usable(int i) {
  const struct slot *s = &slots[i];
  errno = ERRNO_MARK;
  size_t u = hawk_usable_size(s->p);
  expect_errno(ERRNO_MARK, "usable_size");
  note("slot %d (%p): %zu", i, (void *)s->p, u);
  if (s->p == NULL && u != 0) fail("usable_size(NULL) = %zu", u);
  if (s->p && u != s->usable) fail("usable_size(%p) = %zu, was %zu", (void *)s->p, u, s->usable);
  if (s->p && (uintptr_t)s->p % s->align != 0)
    fail("slot %d: %p lost its alignment", i, (void *)s->p);
}

static void op_trim(void) {
  errno = ERRNO_MARK;
  int r = hawk_trim();
  expect_errno(ERRNO_MARK, "trim");
  note("returned %d", r);
  if (r != 0 && r != 1) fail("trim returned %d", r);
}

static void op_stats(uint8_t mode) {
  struct {
    struct hawk_stats s;
    unsigned char after[32];
  } buf;
  memset(&buf, 0xa5, sizeof buf);
  size_t sizes[5] = {sizeof buf.s, 8, 4, sizeof buf, 0};
  size_t want_filled = mode == 0 ? sizeof buf.s : mode == 1 ? 8 : mode == 3 ? sizeof buf.s : 0;
  errno = ERRNO_MARK;
  int rc = hawk_stats(mode == 4 ? NULL : &buf.s, sizes[mode]);
  expect_errno(ERRNO_MARK, "stats");
  note("mode %d: %d", mode, rc);
  if (rc != (want_filled ? 0 : -1)) fail("hawk_stats(size %zu) returned %d", sizes[mode], rc);
  const unsigned char *bytes = (const unsigned char *)&buf;
  for (size_t k = want_filled; k < sizeof buf; k++)
    if (bytes[k] != 0xa5) fail("hawk_stats(size %zu) wrote byte %zu", sizes[mode], k);
  if (!want_filled) return;
  const struct hawk_stats *s = &buf.s;
  if (s->version != HAWK_STATS_VERSION || s->size != want_filled)
    fail("hawk_stats: version %u size %u", s->version, s->size);
  if (want_filled < sizeof *s) return;
  uint64_t live = 0;
  for (int i = 0; i < NSLOTS; i++)
    if (slots[i].p) live += slots[i].usable + 8;
  if (s->in_use > s->in_use_peak || s->mapped > s->mapped_peak ||
      s->footprint > s->footprint_peak || s->footprint > s->mapped || s->in_use < live ||
      s->free_bytes < s->largest_free || (s->free_blocks == 0) != (s->free_bytes == 0) ||
      s->heaps < 1)
    fail("hawk_stats inconsistent: in_use %llu (peak %llu, live blocks %llu) mapped %llu (peak "
         "%llu) footprint %llu (peak %llu) free %llu blocks %llu bytes, largest %llu",
         (unsigned long long)s->in_use, (unsigned long long)s->in_use_peak,
         (unsigned long long)live, (unsigned long long)s->mapped,
         (unsigned long long)s->mapped_peak, (unsigned long long)s->footprint,
         (unsigned long long)s->footprint_peak, (unsigned long long)s->free_blocks,
         (unsigned long long)s->free_bytes, (unsigned long long)s->largest_free);
}

struct walk_state {
  int seen[NSLOTS];
  size_t blocks;
};

static void walk_visit(void *ctx, const struct hawk_block_info *b) {
  struct walk_state *w = ctx;
  w->blocks++;
  for (int i = 0; i < NSLOTS; i++) {
    const struct slot *s = &slots[i];
    if (s->p == NULL) continue;
    uintptr_t p = (uintptr_t)s->p;
    if (b->payload == p) {
      w->seen[i]++;
      if ((b->state != HAWK_BLOCK_ALLOCATED && b->state != HAWK_BLOCK_LARGE) ||
          b->size < s->usable + 8 || b->address + 8 != p)
        fail("walk: slot %d's block %p shown with state %d size %zu address %#lx", i, (void *)s->p,
             b->state, b->size, (unsigned long)b->address);
    } else if (b->address < p + s->usable && p < b->address + b->size) {
      fail("walk: block %#lx (+%zu, state %d) overlaps slot %d's block %p (+%zu)",
           (unsigned long)b->address, b->size, b->state, i, (void *)s->p, s->usable);
    }
  }
}

static void op_walk(void) {
  /* After a write after free, hawk_walk stops at the damage it meets (a
   * footer that differs from its header), as hawk_check reports it: an
   * expected end (heap_check), not a walk that disagrees with the table. */
  if (waf_child) heap_check();
  struct walk_state w;
  memset(&w, 0, sizeof w);
  size_t n = hawk_walk(walk_visit, &w);
  note("%zu blocks", n);
  if (n != w.blocks) fail("hawk_walk returned %zu, visited %zu", n, w.blocks);
  for (int i = 0; i < NSLOTS; i++)
    if (slots[i].p && w.seen[i] != 1)
      fail("walk: slot %d's block %p seen %d times", i, (void *)slots[i].p, w.seen[i]);
}

/* Whether p's page is mapped (a freed block's arena may be unmapped). */
static int mapped(const void *p) {
  uintptr_t pg = (uintptr_t)p & ~(uintptr_t)(page - 1);
  return msync((void *)pg, page, MS_ASYNC) == 0;
}

/* Where op_waf writes when asked for the block's last 8 bytes: a block on
 * a free list keeps its footer there, which the free of the block after it
 * follows backward. */
#define WAF_LAST_WORD SIZE_MAX

/* Write after free: frees slot i's block and writes 8 bytes (value kind
 * k: 0, all ones, a stack address, another slot's block, 1, 0x10, raw,
 * raw low) at offset off of it (WAF_LAST_WORD: its last 8 bytes), within
 * its usable size; not into a block of its own mapping.  The first one of an input runs in a forked
 * child (see the top of the file); returns 1 when the parent must skip the rest of the input. */
static int op_waf(int i, size_t off, uint8_t k, uint64_t raw) {
  struct slot *s = &slots[i];
  if (off == WAF_LAST_WORD) off = s->usable >= 8 ? s->usable - 8 : 0;
  note("slot %d (%p), offset %zu, kind %u", i, (void *)s->p, off, k);
  if (s->p == NULL || s->req >= LARGE || s->align > LARGE || off + 8 > s->usable) return 0;
  if (!waf_child) {
    int fd[2];
    if (pipe(fd) != 0) return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", strerror(errno));
    if (pid == 0) {
      close(fd[0]);
      dup2(fd[1], 2);
      close(fd[1]);
      waf_child = 1;
      /* Die of the signal itself rather than libFuzzer's report in the
       * child: the parent judges (ASan keeps SIGSEGV, with its report). */
      signal(SIGABRT, SIG_DFL);
      signal(SIGILL, SIG_DFL);
      signal(SIGBUS, SIG_DFL);
      signal(SIGFPE, SIG_DFL);
    } else {
      close(fd[1]);
      static char out[8192];
      size_t len = 0;
      ssize_t r;
      /* libFuzzer's timer (SIGALRM, every second) interrupts the read: go
       * on until the child closes its end, else it dies of SIGPIPE. */
      while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0 && (len += (size_t)r) == sizeof out - 1) len = 0; /* keep the end */
      out[len] = 0;
      close(fd[0]);
      int status = 0;
      pid_t waited;
      /* The timer interrupts the wait too (the child closed its end, but
       * may not have exited yet). */
      while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) continue;
      if (waited != pid) fail("waitpid: %s", strerror(errno));
      int reported = strstr(out, "hawkalloc: ") != NULL;
      if (verbose) fputs(out, stderr);
      if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
          (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && reported))
        return 1;
      fprintf(stderr, "%s", out);
      fail("the child that wrote after free ended with %s %d%s",
           WIFSIGNALED(status) ? "signal" : "exit",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
           WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT ? " without a hawkalloc report" : "");
    }
  }
  unsigned char *p = s->p;
  release(i);
  if (!mapped(p + off) || !mapped(p + off + 7)) return 0;
  uint64_t stack_word = 0, v;
  const struct slot *o = &slots[(i + 1 + raw % (NSLOTS - 1)) % NSLOTS];
  switch (k) {
  case 0:
    v = 0;
    break;
  case 1:
    v = ~(uint64_t)0;
    break;
  case 2:
    v = (uint64_t)(uintptr_t)&stack_word;
    break;
  case 3:
    v = (uint64_t)(uintptr_t)o->p;
    break;
  case 4:
    v = 1;
    break;
  case 5:
    v = 0x10;
    break;
  case 6:
    v = raw;
    break;
  default:
    v = raw & 0xffff;
    break;
  }
  memcpy(p + off, &v, sizeof v);
  __asm__ volatile("" : : "r"(&stack_word) : "memory");
  return 0;
}

/* --- libFuzzer entry points ---------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  long ps = sysconf(_SC_PAGESIZE);
  page = ps > 0 ? (size_t)ps : 4096;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < PAT_LEN; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pattern[i] = (unsigned char)(x >> 24);
  }
  memcpy(pattern + PAT_LEN, pattern, PAT_LEN);
  const char *v = getenv("HAWK_FUZZ_VERBOSE");
  verbose = v && *v && *v != '0';
  /* The policy is read at start-up: make sure the one asked for is in force. */
  const char *want = getenv("HAWKALLOC_POLICY");
  if (want && *want && strcmp(want, hawk_policy_name()) != 0) {
    fprintf(stderr, "fuzz_ops: HAWKALLOC_POLICY=%s but the policy is %s\n", want,
            hawk_policy_name());
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct input in = {data, size, 0};
  op_index = 0;
  op_name = "start";
  next_seed = size % PAT_LEN;
  if (verbose) fprintf(stderr, "fuzz_ops: %zu bytes, policy %s\n", size, hawk_policy_name());
  heap_check();
  int skip_rest = 0;
  for (; in.pos < in.size && op_index < MAX_OPS; op_index++) {
    enum op kind = (enum op)(u8(&in) % OP_COUNT);
    op_name = op_names[kind];
    switch (kind) {
    case OP_MALLOC: {
      int i = u8(&in) % NSLOTS;
      op_malloc(i, draw_size(&in));
      break;
    }
    case OP_CALLOC:
      op_calloc(&in, u8(&in) % NSLOTS);
      break;
    case OP_REALLOC:
      op_realloc(&in, u8(&in) % NSLOTS);
      break;
    case OP_REALLOCARRAY:
      op_reallocarray(&in, u8(&in) % NSLOTS);
      break;
    case OP_POSIX_MEMALIGN:
    case OP_ALIGNED_ALLOC:
    case OP_MEMALIGN: {
      int i = u8(&in) % NSLOTS;
      size_t align = draw_align(&in);
      op_aligned(kind, i, align, draw_size(&in));
      break;
    }
    case OP_VALLOC:
    case OP_PVALLOC: {
      int i = u8(&in) % NSLOTS;
      op_aligned(kind, i, page, draw_size(&in));
      break;
    }
    case OP_FREE: {
      int i = u8(&in) % NSLOTS;
      note("slot %d (%p)", i, (void *)slots[i].p);
      if (slots[i].p) {
        release(i);
      } else {
        errno = ERRNO_MARK;
        hawk_free(NULL);
        expect_errno(ERRNO_MARK, "free(NULL)");
      }
      break;
    }
    case OP_USABLE:
      op_usable(u8(&in) % NSLOTS);
      break;
    case OP_TRIM:
      op_trim();
      break;
    case OP_STATS:
      op_stats(u8(&in) % 5);
      break;
    case OP_BURST: {
      int i = u8(&in) % NSLOTS;
      int count = 1 + u8(&in) % 16;
      size_t n = draw_size(&in);
      for (int k = 0; k < count; k++) op_malloc((i + k) % NSLOTS, n);
      break;
    }
    case OP_FREE_SOME: {
      int i = u8(&in) % NSLOTS;
      int stride = 1 + u8(&in) % 4;
      int count = 1 + u8(&in) % 16;
      note("from slot %d, stride %d, %d slots", i, stride, count);
      for (int k = 0; k < count; k++) release((i + k * stride) % NSLOTS);
      break;
    }
    case OP_WAF: {
      int i = u8(&in) % NSLOTS;
      size_t off = u8(&in) % 33;
      if (off >= 25) off = WAF_LAST_WORD;
      uint8_t k = u8(&in) % 8;
      uint64_t raw = k >= 6 ? (uint64_t)u32(&in) | (uint64_t)u32(&in) << 32 : 0;
      skip_rest = op_waf(i, off, k, raw);
      break;
    }
    default:
      op_walk();
      break;
    }
    if (skip_rest) break;
    if (!waf_child) heap_check(); /* the child lets the allocator meet the damage */
  }
  op_name = "free everything";
  for (int i = 0; i < NSLOTS; i++) {
    release(i);
    heap_check();
  }
  /* Back to (nearly) the state every input starts from, so that an input
   * does the same thing whatever ran before it: the thread cache emptied
   * into the heap, cached arenas unmapped. */
  hawk_trim();
  heap_check();
  struct hawk_stats s;
  if (hawk_stats(&s, sizeof s) != 0 || s.large_blocks != 0 || s.thread_cached != 0)
    fail("after freeing everything and trim: %llu large blocks live, %llu bytes thread-cached",
         (unsigned long long)s.large_blocks, (unsigned long long)s.thread_cached);
  if (waf_child) _exit(0); /* the end of a write after free's child */
  return 0;
}
