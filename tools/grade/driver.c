/* driver.c - the grader `hawk grade` builds around a malloc-lab allocator
 * (mm.c, with memlib.c): replays one trace from a grade_ops.h file,
 *   1. checked: every block aligned, inside the heap, overlapping no other
 *      live block, its payload intact until it is freed and across
 *      mm_realloc; the peak of live payload bytes and the heap size;
 *   2. timed (ROUNDS times each): the same calls without the checks on a
 *      fresh heap, then on the C library's malloc.
 * It writes one line to the file descriptor RESULT_FD:
 *   ok PEAK HEAPSIZE MM_NS LIBC_NS     (best round's time, 0 without rounds)
 *   fail KIND OP MESSAGE               (KIND: init null misaligned outside
 *                                       overlap corrupted)
 *   crash SIGNAL MESSAGE               (from the signal handler)
 * usage: grader OPS_FILE RESULT_FD ALIGN ROUNDS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grade_ops.h"
#include "memlib.h"
#include "mm.h"

/* One live block as the checker sees it. */
struct grade_live {
  uintptr_t lo, hi; /* [lo, hi): the payload asked for */
  uint32_t slot;
};

static struct grade_header *grade_hdr;
static const char *grade_heap_path; /* OPS_FILE.heap */
static FILE *grade_calls;           /* OPS_FILE.calls, or NULL */
static const struct grade_op *grade_ops;
static int grade_fd;
static size_t grade_align;
static char **grade_ptr;                /* per slot: the payload, or NULL */
static uint64_t *grade_size;            /* per slot: bytes asked for */
static uint64_t *grade_seed;            /* per slot: the pattern's seed */
static struct grade_live *grade_sorted; /* live blocks by address */
static size_t grade_nlive, grade_room;  /* entries in grade_sorted, and its room */
static char **grade_kept;               /* a timed round's blocks allocated over a live one */
static size_t grade_nkept;

/* Memory for the grader's own tables: from mmap, so that neither the
 * student's heap nor the C library's is touched. */
static void *grade_table(size_t n) {
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("grader: mmap");
    exit(3);
  }
  return p;
}

/* The byte at offset k of a block filled with seed. */
static unsigned char grade_byte(uint64_t seed, uint64_t k) {
  return (unsigned char)((seed * 0x9e3779b1u + k * 7u + (k >> 8)) >> 3);
}

static void grade_fill(char *p, uint64_t n, uint64_t seed) {
  for (uint64_t k = 0; k < n; k++) p[k] = (char)grade_byte(seed, k);
}

/* The first offset below n where p differs from seed's pattern, or n. */
static uint64_t grade_differs(const char *p, uint64_t n, uint64_t seed) {
  for (uint64_t k = 0; k < n; k++)
    if ((unsigned char)p[k] != grade_byte(seed, k)) return k;
  return n;
}

static void grade_say(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  if (write(grade_fd, line, (size_t)n) < 0) exit(3);
}

/* An address as an offset into the heap when it is near it. */
static const char *grade_where(const void *p, char *buf, size_t len) {
  uintptr_t a = (uintptr_t)p, lo = (uintptr_t)mem_heap_lo();
  if (a >= lo && a - lo < ((uintptr_t)1 << 30))
    snprintf(buf, len, "heap+0x%lx", (unsigned long)(a - lo));
  else
    snprintf(buf, len, "%p", p);
  return buf;
}

#define GRADE_FAIL(kind, ...)                                                                      \
  do {                                                                                             \
    grade_say("fail " kind " %llu " __VA_ARGS__);                                                  \
    exit(0);                                                                                       \
  } while (0)

/* The index in grade_sorted of the first live block whose hi is above a. */
static size_t grade_search(uintptr_t a) {
  size_t lo = 0, hi = grade_nlive;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (grade_sorted[mid].hi <= a)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void grade_forget(uint32_t slot) {
  uintptr_t a = (uintptr_t)grade_ptr[slot];
  size_t i = grade_search(a);
  while (i < grade_nlive && grade_sorted[i].slot != slot) i++;
  if (i == grade_nlive) return;
  memmove(&grade_sorted[i], &grade_sorted[i + 1], (grade_nlive - i - 1) * sizeof *grade_sorted);
  grade_nlive--;
}

/* Checks a block just handed out for slot (what = "mm_malloc(N)" ...) and
 * records it. */
static void grade_accept(uint64_t op, uint32_t slot, char *p, uint64_t n, const char *what) {
  char b1[64], b2[64], b3[64];
  unsigned long long o = op;
  if (!p) {
    if (n == 0) return;
    GRADE_FAIL("null", "%s returned NULL with the heap at %zu bytes", o, what, mem_heapsize());
  }
  if ((uintptr_t)p % grade_align)
    GRADE_FAIL("misaligned", "%s returned %s, not %zu-byte aligned", o, what,
               grade_where(p, b1, sizeof b1), grade_align);
  uintptr_t lo = (uintptr_t)p, hi = lo + (n ? n : 1);
  if (p < (char *)mem_heap_lo() || hi - 1 > (uintptr_t)mem_heap_hi())
    GRADE_FAIL("outside", "%s returned [%s, +%llu), outside the heap [%s, %s]", o, what,
               grade_where(p, b1, sizeof b1), (unsigned long long)n,
               grade_where(mem_heap_lo(), b2, sizeof b2),
               grade_where(mem_heap_hi(), b3, sizeof b3));
  size_t i = grade_search(lo);
  if (i < grade_nlive && grade_sorted[i].lo < hi) {
    const struct grade_live *v = &grade_sorted[i];
    GRADE_FAIL("overlap", "%s returned [%s, +%llu), which overlaps block %u [%s, +%llu]", o, what,
               grade_where(p, b1, sizeof b1), (unsigned long long)n, v->slot,
               grade_where((void *)v->lo, b2, sizeof b2), (unsigned long long)(v->hi - v->lo));
  }
  if (grade_nlive == grade_room) { /* cannot be: grade_room counts every op that allocates */
    grade_say("fail grader %llu the grader's table of %zu live blocks is full", o, grade_room);
    exit(3);
  }
  memmove(&grade_sorted[i + 1], &grade_sorted[i], (grade_nlive - i) * sizeof *grade_sorted);
  grade_sorted[i] = (struct grade_live){lo, hi, slot};
  grade_nlive++;
}

/* Checks that slot's payload still holds its pattern. */
static void grade_intact(uint64_t op, uint32_t slot, const char *when) {
  char b[64];
  uint64_t n = grade_size[slot], k = grade_differs(grade_ptr[slot], n, grade_seed[slot]);
  if (k < n)
    GRADE_FAIL("corrupted",
               "the payload of block %u (%llu bytes at %s) changed at byte %llu before %s",
               (unsigned long long)op, slot, (unsigned long long)n,
               grade_where(grade_ptr[slot], b, sizeof b), (unsigned long long)k, when);
}

/* Writes the live payloads, as grade_ops.h describes, for hawk grade --map. */
static void grade_heap_write(void) {
  FILE *f = fopen(grade_heap_path, "w");
  if (!f) return;
  uintptr_t lo = (uintptr_t)mem_heap_lo();
  fprintf(f, "heap %zu\n", mem_heapsize());
  for (size_t i = 0; i < grade_nlive; i++)
    fprintf(f, "%lu %lu %u\n", (unsigned long)(grade_sorted[i].lo - lo),
            (unsigned long)(grade_sorted[i].hi - grade_sorted[i].lo), grade_sorted[i].slot);
  fclose(f);
}

/* One line of OPS_FILE.calls: after call i (from 1; 0: mm_init) the payload
 * p (n bytes) was placed, or nothing, and the heap had mem_heapsize() bytes. */
static void grade_call(uint64_t i, const char *p, uint64_t n) {
  if (!grade_calls) return;
  long off = p ? (long)((uintptr_t)p - (uintptr_t)mem_heap_lo()) : -1;
  fprintf(grade_calls, "%llu %ld %llu %zu\n", (unsigned long long)i, off,
          (unsigned long long)(p ? n : 0), mem_heapsize());
}

/* The checked replay; returns the peak of live payload bytes. */
static uint64_t grade_checked(void) {
  uint64_t live = 0, peak = 0, nops = grade_hdr->nops;
  char what[96];
  grade_hdr->phase = GRADE_CHECKING;
  grade_hdr->at = 0;
  if (mm_init() < 0) GRADE_FAIL("init", "mm_init returned -1", 0ULL);
  grade_call(0, NULL, 0);
  for (uint64_t i = 0; i < nops; i++) {
    const struct grade_op *op = &grade_ops[i];
    uint32_t s = op->slot;
    grade_hdr->at = i;
    if (op->kind == GRADE_MALLOC) {
      snprintf(what, sizeof what, "mm_malloc(%llu)", (unsigned long long)op->size);
      char *p = mm_malloc(op->size);
      grade_accept(i, s, p, op->size, what);
      grade_ptr[s] = p;
      grade_size[s] = p ? op->size : 0;
      grade_seed[s] = i + 1;
      if (p) grade_fill(p, op->size, i + 1);
      live += grade_size[s];
      grade_call(i + 1, p, op->size);
    } else if (op->kind == GRADE_FREE) {
      grade_call(i + 1, NULL, 0);
      if (s == UINT32_MAX || !grade_ptr[s]) continue;
      grade_intact(i, s, "it was freed");
      grade_forget(s);
      mm_free(grade_ptr[s]);
      live -= grade_size[s];
      grade_ptr[s] = NULL;
      grade_size[s] = 0;
    } else {
      char *old = grade_ptr[s];
      uint64_t oldn = grade_size[s], oldseed = grade_seed[s];
      if (old) {
        grade_intact(i, s, "it was reallocated");
        grade_forget(s);
      }
      snprintf(what, sizeof what, "mm_realloc(%s, %llu)", old ? "block" : "NULL",
               (unsigned long long)op->size);
      char *p = mm_realloc(old, op->size);
      live -= oldn;
      grade_ptr[s] = NULL;
      grade_size[s] = 0;
      grade_call(i + 1, op->size ? p : NULL, op->size);
      if (op->size == 0) continue;
      grade_accept(i, s, p, op->size, what);
      uint64_t keep = oldn < op->size ? oldn : op->size;
      uint64_t k = grade_differs(p, keep, oldseed);
      if (k < keep)
        GRADE_FAIL("corrupted", "%s did not keep the contents: byte %llu of the first %llu differs",
                   (unsigned long long)i, what, (unsigned long long)k, (unsigned long long)keep);
      grade_ptr[s] = p;
      grade_size[s] = op->size;
      grade_seed[s] = i + 1;
      grade_fill(p, op->size, i + 1);
      live += op->size;
    }
    if (live > peak) peak = live;
    if (i == grade_hdr->map_op) grade_heap_write();
  }
  /* Every block still live, once: the slots the ops use, in their order,
   * each forgotten once checked (the timed rounds start from fresh slots).
   * Not a walk over every slot: a trace's ids may be few and far apart,
   * and the walk would read the pages of slots no op uses, which some
   * kernels then keep resident (512 MiB for one id of 67,108,863). */
  for (uint64_t i = 0; i < nops; i++) {
    uint32_t s = grade_ops[i].slot;
    if (s == UINT32_MAX || !grade_ptr[s]) continue;
    grade_intact(nops, s, "the end of the trace");
    grade_ptr[s] = NULL;
  }
  return peak;
}

static uint64_t grade_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One timed replay without checks, on mm_* (libc 0) or the C library. */
static uint64_t grade_timed(int libc) {
  uint64_t nops = grade_hdr->nops;
  /* Only the slots the ops use: a trace's ids may be few and far apart. */
  for (uint64_t i = 0; i < nops; i++)
    if (grade_ops[i].slot != UINT32_MAX) grade_ptr[grade_ops[i].slot] = NULL;
  if (!libc) {
    mem_reset_brk();
    if (mm_init() < 0) GRADE_FAIL("init", "mm_init returned -1 on a fresh heap", 0ULL);
  }
  grade_nkept = 0;
  uint64_t t0 = grade_now();
  for (uint64_t i = 0; i < nops; i++) {
    const struct grade_op *op = &grade_ops[i];
    uint32_t s = op->slot;
    grade_hdr->at = i;
    if (op->kind == GRADE_MALLOC) {
      if (grade_ptr[s]) grade_kept[grade_nkept++] = grade_ptr[s]; /* at most one per op */
      grade_ptr[s] = libc ? malloc(op->size) : mm_malloc(op->size);
    } else if (op->kind == GRADE_FREE) {
      if (s == UINT32_MAX || !grade_ptr[s]) continue;
      if (libc)
        free(grade_ptr[s]);
      else
        mm_free(grade_ptr[s]);
      grade_ptr[s] = NULL;
    } else {
      grade_ptr[s] = libc ? realloc(grade_ptr[s], op->size) : mm_realloc(grade_ptr[s], op->size);
    }
  }
  uint64_t t = grade_now() - t0;
  if (libc) { /* the blocks still live, once each: the slots the ops use and the kept ones */
    for (uint64_t i = 0; i < nops; i++) {
      uint32_t s = grade_ops[i].slot;
      if (s == UINT32_MAX || !grade_ptr[s]) continue;
      free(grade_ptr[s]);
      grade_ptr[s] = NULL;
    }
    for (size_t k = 0; k < grade_nkept; k++) free(grade_kept[k]);
  }
  return t ? t : 1;
}

/* Writes n decimal or hex digits of v into p; returns the end. */
static char *grade_num(char *p, uint64_t v, unsigned base) {
  char d[24];
  int n = 0;
  do {
    d[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n) *p++ = d[--n];
  return p;
}

static char *grade_str(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

/* A fault in the student's code: one line, then the default action. */
static void grade_signal(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  char line[256], *p = line;
  uintptr_t a = (uintptr_t)si->si_addr, lo = (uintptr_t)mem_heap_lo();
  uintptr_t brk = lo + mem_heapsize();
  p = grade_str(p, "crash ");
  p = grade_num(p, (uint64_t)sig, 10);
  if (sig == SIGSEGV || sig == SIGBUS) {
    if (a >= brk && a - lo < ((uintptr_t)256 << 20)) {
      p = grade_str(p, " touched heap+0x");
      p = grade_num(p, a - lo, 16);
      p = grade_str(p, ", past the end of the heap (heap+0x");
      p = grade_num(p, brk - lo, 16);
      p = grade_str(p, ")");
    } else {
      p = grade_str(p, " touched address 0x");
      p = grade_num(p, a, 16);
      p = grade_str(p, a < 4096 ? " (a null pointer)" : " (outside the heap)");
    }
  }
  *p++ = '\n';
  if (write(grade_fd, line, (size_t)(p - line)) < 0) _exit(3);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void grade_catch(void) {
  static char stack[1 << 16];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = grade_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: grader OPS_FILE RESULT_FD ALIGN ROUNDS (run by hawk grade)\n");
    return 2;
  }
  grade_fd = atoi(argv[2]);
  grade_align = (size_t)strtoul(argv[3], NULL, 10);
  int rounds = atoi(argv[4]);
  int fd = open(argv[1], O_RDWR);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof *grade_hdr) {
    perror(argv[1]);
    return 3;
  }
  void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    perror(argv[1]);
    return 3;
  }
  grade_hdr = map;
  static char heap_path[4200];
  snprintf(heap_path, sizeof heap_path, "%s.heap", argv[1]);
  grade_heap_path = heap_path;
  grade_ops = (const struct grade_op *)(grade_hdr + 1);
  size_t nslots = grade_hdr->nslots ? grade_hdr->nslots : 1;
  grade_ptr = grade_table(nslots * sizeof *grade_ptr);
  grade_size = grade_table(nslots * sizeof *grade_size);
  grade_seed = grade_table(nslots * sizeof *grade_seed);
  /* An allocation into an id that is live leaves the old block allocated
   * (the replay's reading of such a trace: a leak), and it stays in
   * grade_sorted, where no later block may overlap it: the live blocks are
   * at most the ops that allocate, not the slots (one id allocated 2,000
   * times is 2,000 live blocks).  Only the entries used are touched. */
  grade_room = 1;
  for (uint64_t i = 0; i < grade_hdr->nops; i++)
    if (grade_ops[i].kind != GRADE_FREE) grade_room++;
  grade_sorted = grade_table(grade_room * sizeof *grade_sorted);
  grade_kept = grade_table((grade_hdr->nops ? grade_hdr->nops : 1) * sizeof *grade_kept);
  static char calls_path[4200];
  snprintf(calls_path, sizeof calls_path, "%s.calls", argv[1]);
  if (grade_hdr->calls) grade_calls = fopen(calls_path, "w");
  grade_catch();
  mem_init();
  uint64_t peak = grade_checked();
  if (grade_calls) fclose(grade_calls);
  grade_calls = NULL;
  size_t heap = mem_heapsize();
  uint64_t best_mm = 0, best_libc = 0;
  for (int r = 0; r < rounds; r++) {
    grade_hdr->phase = GRADE_TIMING;
    uint64_t t = grade_timed(0);
    if (!best_mm || t < best_mm) best_mm = t;
    grade_hdr->phase = GRADE_LIBC;
    t = grade_timed(1);
    if (!best_libc || t < best_libc) best_libc = t;
  }
  grade_hdr->phase = GRADE_DONE;
  grade_say("ok %llu %zu %llu %llu", (unsigned long long)peak, heap, (unsigned long long)best_mm,
            (unsigned long long)best_libc);
  return 0;
}
