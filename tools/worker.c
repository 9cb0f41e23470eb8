/* worker.c - the hidden `hawk __worker`: replays one trace in this process
 * against whatever allocator LD_PRELOAD put in place, and reports through a
 * pipe.  Started by child.c, one per (trace, allocator), so each replay meets
 * a fresh allocator.
 *
 *   hawk __worker FD MODE ROUNDS OUT TRACE PRELOAD API
 *
 * FD is the pipe to write the struct worker_result to; MODE "replay",
 * "map" or "map@N" (the snapshot after op N instead of at the peak; with it,
 * OUT.blocks: the blocks hawk_walk visits, for zoomed pictures), or "events" /
 * "events-check" (hawk view: OUT receives the library's events of every call,
 * record.c); ROUNDS the timing rounds; OUT the
 * heap snapshot to write at the peak (map: hawk map draws it) or "-"; PRELOAD the library
 * LD_PRELOAD should have loaded, or "-"; API "hawk" when that library has HawkAlloc's functions
 * (looked up with dlsym only then: a dlsym that fails calls malloc for its message).
 *
 * Only the replayed calls may reach the allocator: the trace, the slots and
 * every buffer here come from mmap or the stack, and nothing uses stdio.
 *
 * Pass 1 replays with verification: every block is filled with a pattern
 * derived from its slot and allocation number; before a free or realloc the
 * whole block is checked, after a realloc the kept prefix is checked, and
 * calloc'ed memory must be zero.  The peak of live bytes (found beforehand
 * by trace_peak) is where the statistics (and the map) are taken; the peak
 * footprint is read after pass 1.  Then ROUNDS timing rounds replay the calls
 * alone; the fastest counts. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"

struct slot {
  unsigned char *p;
  uint64_t size;
  uint64_t base;  /* the pattern's seed */
  uint64_t where; /* the op that wrote the pattern */
};

static struct worker_result res;
static int result_fd = -1;
static const struct optrace *trace;

static void report(void) {
  res.magic = RESULT_MAGIC;
  const char *p = (const char *)&res;
  size_t left = sizeof res;
  while (left) {
    ssize_t n = write(result_fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= (size_t)n;
  }
}

/* Reports a failure and ends the worker at once (the heap may be broken). */
__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res.message, sizeof res.message, fmt, ap);
  va_end(ap);
  res.failed = 1;
  report();
  _exit(1);
}

/* --- patterns --------------------------------------------------------------- */

static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t pattern_word(uint64_t base, uint64_t i) {
  return base ^ (i * 0x9e3779b97f4a7c15ull);
}

static void fill(unsigned char *p, uint64_t size, uint64_t base) {
  uint64_t words = size / 8, i;
  for (i = 0; i < words; i++) {
    uint64_t w = pattern_word(base, i);
    memcpy(p + 8 * i, &w, 8);
  }
  if (size % 8) {
    uint64_t w = pattern_word(base, i);
    memcpy(p + 8 * i, &w, size % 8);
  }
}

/* Returns the offset of the first byte of [p, p+size) that differs from the
 * pattern, or size when all are right. */
static uint64_t check(const unsigned char *p, uint64_t size, uint64_t base) {
  uint64_t words = size / 8, i;
  for (i = 0; i < words; i++) {
    uint64_t w = pattern_word(base, i), got;
    memcpy(&got, p + 8 * i, 8);
    if (got != w) break;
  }
  for (uint64_t off = 8 * i; off < size; off++) {
    uint64_t w = pattern_word(base, off / 8);
    if (p[off] != (unsigned char)(w >> (8 * (off % 8)))) return off;
  }
  return size;
}

static unsigned char expected_byte(uint64_t base, uint64_t off) {
  return (unsigned char)(pattern_word(base, off / 8) >> (8 * (off % 8)));
}

/* Checks a slot's block (its first n bytes) and fails with a message naming
 * the op, the block and the first wrong byte. */
static void verify(const struct op *o, uint32_t id, const struct slot *s, uint64_t n,
                   const char *when) {
  uint64_t off = check(s->p, n, s->base);
  if (off == n) return;
  fail("contents changed: %s %llu: block %u (%llu bytes at %p, written at %s %llu) %s: byte %llu "
       "is 0x%02x, expected 0x%02x",
       trace->where, (unsigned long long)o->where, id, (unsigned long long)s->size, (void *)s->p,
       trace->where, (unsigned long long)s->where, when, (unsigned long long)off, s->p[off],
       expected_byte(s->base, off));
}

/* --- the replay --------------------------------------------------------------- */

static uint64_t serial;
static int recording; /* hawk view: the library's events of every call */

/* The blocks of the ops marked onto_live, which allocate into a slot whose
 * block is still live: the old block is kept here until release_all frees
 * it, so that the timing rounds do not pile up the blocks the trace leaks.
 * Each marked op runs once per pass: the trace's leaked count is room
 * enough. */
static void **kept_blocks;
static size_t nkept;

/* posix_memalign at align rounded up to a power of two of at least a
 * pointer's size; NULL for an alignment above OP_ALIGN_MAX (the loader
 * refuses those: the doubling stops there instead of wrapping to 0). */
static void *aligned(uint64_t align, uint64_t size) {
  size_t a = sizeof(void *);
  while (a < align && a < OP_ALIGN_MAX) a *= 2;
  if (a < align) return NULL;
  void *p = NULL;
  return posix_memalign(&p, a, size) == 0 ? p : NULL;
}

static void nonnull(const struct op *o, const void *p, const char *call) {
  if (!p && o->size)
    fail("%s %llu: %s(%llu) returned NULL", trace->where, (unsigned long long)o->where, call,
         (unsigned long long)o->size);
}

/* Pass 1: every call, with the contents verified. */
static void replay_verified(struct slot *slots, int64_t peak_op, void (*at_peak)(void)) {
  const struct optrace *t = trace;
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    struct slot *s = o->slot == SLOT_NULL ? NULL : &slots[o->slot];
    const void *before = s ? s->p : NULL;
    unsigned char *p;
    switch (o->kind) {
    case OP_MALLOC:
    case OP_CALLOC:
    case OP_ALIGNED:
      if (s->p) res.leaked++; /* allocated again without a free: the old block stays */
      if (o->onto_live) kept_blocks[nkept++] = s->p;
      if (o->kind == OP_MALLOC) {
        p = malloc(o->size);
        nonnull(o, p, "malloc");
      } else if (o->kind == OP_CALLOC) {
        p = calloc(o->size, 1);
        nonnull(o, p, "calloc");
        for (uint64_t k = 0; k < o->size; k++)
          if (p[k])
            fail("%s %llu: calloc(%llu) returned %p whose byte %llu is 0x%02x, not 0", t->where,
                 (unsigned long long)o->where, (unsigned long long)o->size, (void *)p,
                 (unsigned long long)k, p[k]);
      } else {
        p = aligned(o->align, o->size);
        nonnull(o, p, "aligned allocation");
        if (o->align && (uintptr_t)p % o->align)
          fail("%s %llu: aligned allocation of %llu bytes at %p is not %llu-aligned", t->where,
               (unsigned long long)o->where, (unsigned long long)o->size, (void *)p,
               (unsigned long long)o->align);
      }
      s->p = p;
      s->size = p ? o->size : 0;
      s->base = mix((uint64_t)o->slot << 32 ^ ++serial);
      s->where = o->where;
      if (p) fill(p, o->size, s->base);
      break;
    case OP_FREE:
      if (s && s->p) {
        verify(o, o->slot, s, s->size, "before free");
        free(s->p);
        s->p = NULL;
        s->size = 0;
      } else {
        free(NULL);
      }
      break;
    case OP_REALLOC: {
      if (s->p) verify(o, o->slot, s, s->size, "before realloc");
      p = realloc(s->p, o->size);
      nonnull(o, p, "realloc");
      struct slot old = *s;
      old.p = p;
      uint64_t kept = old.size < o->size ? old.size : o->size;
      if (p && kept) verify(o, o->slot, &old, kept, "kept by realloc");
      s->p = p;
      s->size = p ? o->size : 0;
      s->base = mix((uint64_t)o->slot << 32 ^ ++serial);
      s->where = o->where;
      if (p) fill(p, o->size, s->base);
      break;
    }
    }
    if (recording) record_op(i, before, s ? s->p : NULL);
    if ((int64_t)i == peak_op) at_peak();
  }
  if (peak_op < 0) at_peak();
}

/* Checks and frees every block still allocated (not timed): the slots the
 * ops use, in the order of the ops.  Not a walk over every slot: a .rep's
 * ids may be few and far apart, and the walk would read the pages of slots
 * no op uses, which some kernels then keep resident (2 GiB for one id of
 * 67,108,863). */
static void release_all(struct slot *slots, int verified) {
  for (size_t i = 0; i < trace->nops; i++) {
    uint32_t k = trace->ops[i].slot;
    if (k == SLOT_NULL || !slots[k].p) continue;
    if (verified) {
      struct op end = {.where = trace->nops ? trace->ops[trace->nops - 1].where : 0};
      verify(&end, k, &slots[k], slots[k].size, "at the end of the trace");
    }
    free(slots[k].p);
    slots[k].p = NULL;
  }
  for (size_t i = 0; i < nkept; i++) free(kept_blocks[i]);
  nkept = 0;
}

/* A timing round: the calls alone.  Returns the seconds taken. */
static double replay_timed(struct slot *slots) {
  const struct optrace *t = trace;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    struct slot *s = o->slot == SLOT_NULL ? NULL : &slots[o->slot];
    void *p;
    switch (o->kind) {
    case OP_MALLOC:
      if (o->onto_live) kept_blocks[nkept++] = s->p;
      s->p = p = malloc(o->size);
      nonnull(o, p, "malloc");
      break;
    case OP_CALLOC:
      if (o->onto_live) kept_blocks[nkept++] = s->p;
      s->p = p = calloc(o->size, 1);
      nonnull(o, p, "calloc");
      break;
    case OP_ALIGNED:
      if (o->onto_live) kept_blocks[nkept++] = s->p;
      s->p = p = aligned(o->align, o->size);
      nonnull(o, p, "aligned allocation");
      break;
    case OP_FREE:
      free(s ? s->p : NULL);
      if (s) s->p = NULL;
      break;
    case OP_REALLOC:
      p = realloc(s->p, o->size);
      nonnull(o, p, "realloc");
      s->p = p;
      break;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}

/* --- measuring ---------------------------------------------------------------- */

typedef int (*stats_fn)(struct hawk_stats *, size_t);
typedef const char *(*policy_fn)(void);
typedef int (*map_fn)(const char *);

static stats_fn get_stats;
static int measure_resident; /* not HawkAlloc: its footprint is resident memory */
static uint64_t resident_at_peak;
static map_fn map_write;
static const char *map_out;
static int map_errno;
typedef size_t (*walk_fn)(hawk_visit_fn, void *);
static walk_fn map_walk;

/* hawk_stats carries footprint_peak (the library may predate it). */
static int stats_have_footprint(const struct hawk_stats *s) {
  return s->size >= offsetof(struct hawk_stats, footprint_peak) + sizeof s->footprint_peak;
}

static uint64_t resident_now(void);

static void at_peak(void) {
  if (measure_resident) resident_at_peak = resident_now();
  if (get_stats) {
    struct hawk_stats s;
    memset(&s, 0, sizeof s);
    if (get_stats(&s, sizeof s) == 0) {
      res.have_stats = 1;
      res.arenas = s.arenas;
      res.free_blocks = s.free_blocks;
      res.free_bytes = s.free_bytes;
      res.largest_free = s.largest_free;
    }
  }
  if (map_write && map_out) {
    res.map_written = map_write(map_out) == 0;
    if (!res.map_written) map_errno = errno;
    /* The blocks, beside the snapshot; a picture without them is drawn
     * at the snapshot's own scale. */
    char path[4096];
    size_t n = strlen(map_out);
    if (map_walk && n < sizeof path - 8) {
      memcpy(path, map_out, n);
      memcpy(path + n, ".blocks", 8);
      blocks_write(path, map_walk);
    }
  }
}

/* The number after "key" in a /proc file, times 1024 (the files say kB); 0 if
 * absent. */
static uint64_t proc_kb(const char *file, const char *key) {
  char buf[8192];
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *line = strstr(buf, key);
  if (!line) return 0;
  uint64_t kb = 0;
  for (char *c = line + strlen(key); *c && *c != '\n'; c++)
    if (*c >= '0' && *c <= '9') kb = kb * 10 + (uint64_t)(*c - '0');
  return kb * 1024;
}

/* The peak resident size (VmHWM): kept by the kernel from counters that may
 * lag behind by some pages. */
static uint64_t peak_resident(void) { return proc_kb("/proc/self/status", "VmHWM:"); }

/* The resident size now, counted exactly by walking the page tables. */
static uint64_t resident_now(void) { return proc_kb("/proc/self/smaps_rollup", "\nRss:"); }

/* Resets VmHWM to the current resident size (Linux 4.0+).  Returns 0 on success. */
static int reset_peak_resident(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok ? 0 : -1;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Maps in every page of every file mapping (the code and data of the
 * program, the C library, the allocator), so that the resident memory the
 * replay adds is the allocator's, not the first run of its code. */
static void prefault_files(void) {
  size_t cap = 1 << 20, len = 0;
  char *buf = mm_alloc(cap);
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (!buf || fd < 0) {
    if (fd >= 0) close(fd);
    mm_free(buf, cap);
    return;
  }
  ssize_t n;
  while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = 0;
  for (char *line = buf; *line;) {
    char *end = strchr(line, '\n');
    if (end) *end = 0;
    unsigned long lo, hi;
    char perms[8];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) == 3 && path_at &&
        line[path_at] == '/' && perms[0] == 'r')
      madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
    if (!end) break;
    line = end + 1;
  }
  mm_free(buf, cap);
}

static const char *expected_preload;
static int preload_found;

static int find_object(struct dl_phdr_info *info, size_t size, void *ctx) {
  (void)size;
  (void)ctx;
  if (info->dlpi_name && strcmp(info->dlpi_name, expected_preload) == 0) preload_found = 1;
  return 0;
}

static int parse_count(const char *s, long *out) {
  long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > 1000000) return -1;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

/* An op number (map@N): any long, as hawk map's --at takes; -1 for
 * anything else. */
static int parse_op(const char *s, long *out) {
  long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (LONG_MAX - (*s - '0')) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return 0;
}

int cmd_worker(int argc, char **argv) {
  long fd, rounds;
  if (argc != 8 || parse_count(argv[1], &fd) != 0 || parse_count(argv[3], &rounds) != 0) {
    static const char usage[] = "hawk: __worker is started by hawk replay and hawk map\n";
    if (write(2, usage, sizeof usage - 1) < 0) return 2;
    return 2;
  }
  result_fd = (int)fd;
  int map_mode = strncmp(argv[2], "map", 3) == 0;
  long map_at = -1;
  if (map_mode && argv[2][3] == '@' && parse_op(argv[2] + 4, &map_at) != 0)
    fail("bad worker mode %s", argv[2]);
  int events_mode = strncmp(argv[2], "events", 6) == 0;
  const char *path = argv[5];
  if (strcmp(argv[6], "-") != 0) {
    expected_preload = argv[6];
    dl_iterate_phdr(find_object, NULL);
    if (!preload_found) fail("%s was not loaded through LD_PRELOAD", expected_preload);
  }

  /* The library's own functions, if the allocator is HawkAlloc. */
  policy_fn policy = NULL;
  if (strcmp(argv[7], "hawk") == 0) {
    get_stats = (stats_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_stats");
    policy = (policy_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_policy_name");
  }
  if (map_mode && !get_stats) fail("the preloaded library is not HawkAlloc");
  if (map_mode) {
    map_write = (map_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_map_write");
    map_out = argv[4];
    if (!map_write) fail("the preloaded library has no hawk_map_write (not built in yet?)");
    map_walk = (walk_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_walk");
  }

  if (policy) snprintf(res.policy, sizeof res.policy, "%s", policy());

  static struct optrace t;
  char err[512];
  if (trace_load(path, &t, err, sizeof err) != 0) fail("%s", err);
  trace = &t;
  snprintf(res.format, sizeof res.format, "%s", t.format);
  res.ops = t.nops;
  res.skipped = t.skipped;
  res.repaired = t.repaired;
  res.rounds = (int32_t)rounds;
  if (trace_peak(&t, &res.peak_live, &res.peak_op) != 0) fail("out of memory (mmap)");
  /* Every live byte gets the pattern: a trace whose peak needs more than
   * half the memory the machine has available (a few records can ask for
   * terabytes, or all of it) is refused before anything is allocated. */
  uint64_t available = proc_kb("/proc/meminfo", "MemAvailable:");
  if (available && res.peak_live > available / 2)
    fail("%s %llu: the trace's peak of %llu live bytes is more than half the %llu bytes of "
         "memory available: not replayed",
         t.where, (unsigned long long)t.ops[res.peak_op].where, (unsigned long long)res.peak_live,
         (unsigned long long)available);

  size_t slot_bytes = ((size_t)t.nslots + 1) * sizeof(struct slot);
  struct slot *slots = mm_alloc(slot_bytes);
  if (!slots) fail("out of memory (mmap) for %u slots", t.nslots);
  /* The slots' pages are touched before the replay (their page faults are
   * not the allocator's): only those of the slots the ops use, as a .rep's
   * ids may be few and far apart (one id 67,108,863: 2 GiB of slots). */
  for (size_t i = 0; i < t.nops; i++)
    if (t.ops[i].slot != SLOT_NULL) mm_touch(&slots[t.ops[i].slot], sizeof *slots);
  size_t kept_bytes = (t.leaked ? t.leaked : 1) * sizeof *kept_blocks;
  kept_blocks = mm_alloc(kept_bytes);
  if (!kept_blocks) fail("out of memory (mmap) for %llu kept blocks", (unsigned long long)t.leaked);
  mm_touch(kept_blocks, kept_bytes);

  struct hawk_stats before;
  memset(&before, 0, sizeof before);
  int hawk = get_stats && get_stats(&before, sizeof before) == 0 && stats_have_footprint(&before);
  res.mallocs_before = before.mallocs;

  /* Resident memory: the growth of the peak (VmHWM, reset to the current
   * size first), or, if more, the exact growth at the peak of live bytes. */
  uint64_t peak0 = 0, now0 = 0;
  measure_resident = !hawk;
  if (!hawk) {
    prefault_files();
    reset_peak_resident();
    peak0 = peak_resident();
    now0 = resident_now();
  }
  if (map_at >= 0 && (map_at < 1 || (uint64_t)map_at > t.nops))
    fail("--at %ld: the trace has ops 1 to %llu", map_at, (unsigned long long)t.nops);
  if (events_mode) {
    if (!get_stats) fail("the preloaded library is not HawkAlloc");
    const char *why = record_start(strcmp(argv[2], "events-check") == 0);
    if (why) fail("%s", why);
    recording = 1;
  }
  replay_verified(slots, map_at >= 0 ? map_at - 1 : res.peak_op, at_peak);
  if (events_mode) {
    recording = 0;
    if (record_write(argv[4]) != 0) fail("cannot write %s: %s", argv[4], strerror(errno));
  }
  if (hawk) {
    struct hawk_stats s;
    memset(&s, 0, sizeof s);
    get_stats(&s, sizeof s);
    res.footprint_kind = 1;
    res.footprint = s.footprint_peak;
  } else {
    uint64_t peak = peak_resident();
    uint64_t grown = peak > peak0 ? peak - peak0 : 0;
    if (now0 && resident_at_peak > now0 && resident_at_peak - now0 > grown)
      grown = resident_at_peak - now0;
    res.footprint_kind = peak0 || now0 ? 2 : 0;
    res.footprint = grown;
  }
  release_all(slots, 1);
  if (map_mode && !res.map_written)
    fail("hawk_map_write(%s) failed: %s", map_out, strerror(map_errno));

  for (long r = 0; r < rounds; r++) {
    double s = replay_timed(slots);
    if (r == 0 || s < res.best_seconds) res.best_seconds = s;
    release_all(slots, 0);
  }
  report();
  return 0;
}
