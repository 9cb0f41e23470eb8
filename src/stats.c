/* stats.c - hawk_stats and the printed table.  See stats.h. */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "counters.h"
#include "hawkalloc.h"
#include "large.h"
#include "options.h"
#include "process.h"
#include "report.h"
#include "tcache.h"
#include "userheap.h"

/* The size class of a block (STATS_CLASSES). */
static unsigned class_row(size_t size) {
  unsigned row = 0;
  for (size_t limit = 32; size > limit && row < STATS_CLASSES - 1; limit <<= 1) row++;
  return row;
}

/* What the walk of one heap fills: the process-wide free-block figures,
 * and the heap's own when asked for. */
struct visit_ctx {
  struct hawk_stats *s;
  struct stats_heap *h; /* NULL: not asked for */
};

/* Adds one block met by the arena walk to the free-block figures. */
static void stats_visit(void *ctx, const block *b) {
  struct visit_ctx *v = ctx;
  struct hawk_stats *s = v->s;
  if (block_is_alloc(b)) return;
  size_t size = block_size(b);
  s->free_blocks++;
  s->free_bytes += size;
  if (size > s->largest_free) s->largest_free = size;
  struct stats_heap *h = v->h;
  if (h == NULL) return;
  h->free_blocks++;
  h->free_bytes += size;
  if (size > h->largest_free) h->largest_free = size;
  unsigned row = class_row(size);
  if (h->class_count[row]++ == 0 || size < h->class_min[row]) h->class_min[row] = size;
  if (size > h->class_max[row]) h->class_max[row] = size;
  h->class_bytes[row] += size;
}

/* What stats_snapshot gathers heap by heap. */
struct gather {
  struct hawk_stats *s;
  struct stats_more *more;
  struct stats_heap *heaps; /* NULL: not asked for */
};

/* heaps_each's visit of one heap for stats_snapshot. */
static void gather_one(struct heap *h, unsigned i, void *ctx) {
  struct gather *g = ctx;
  struct hawk_stats *s = g->s;
  struct visit_ctx v = {s, g->heaps ? &g->heaps[i] : NULL};
  if (v.h) memset(v.h, 0, sizeof *v.h);
  for (struct arena *a = h->arenas; a; a = arena_next(a)) arena_walk(a, stats_visit, &v);
  s->arenas += h->arena_count;
  g->more->heaps_in_use += h->in_use;
  s->mallocs += h->mallocs;
  s->frees += h->frees;
  s->splits += h->splits;
  s->coalesces += h->coalesces;
  if (v.h) {
    v.h->arenas = h->arena_count;
    v.h->arena_peak = h->arena_peak;
    v.h->in_use = h->in_use;
    v.h->mallocs = h->mallocs;
    v.h->frees = h->frees;
  }
}

void stats_snapshot(struct hawk_stats *s, struct stats_more *more, struct stats_heap *heaps) {
  memset(s, 0, sizeof *s);
  memset(more, 0, sizeof *more);
  s->version = HAWK_STATS_VERSION;
  s->size = sizeof *s;
  struct gather g = {s, more, heaps};
  heaps_each(gather_one, &g, HEAPS_DRAIN);
  more->large_bytes = __atomic_load_n(&counters.large_in_use, __ATOMIC_RELAXED);
  large_spare_totals(&more->spare_count, &more->spare_bytes);
  s->in_use = more->heaps_in_use + more->large_bytes;
  s->mallocs += __atomic_load_n(&counters.large_mallocs, __ATOMIC_RELAXED);
  s->frees += __atomic_load_n(&counters.large_frees, __ATOMIC_RELAXED);
  s->large_blocks = __atomic_load_n(&counters.large_blocks, __ATOMIC_RELAXED);
  /* The exact figure counts as seen, so the peak never goes below it later. */
  counters_in_use_seen(s->in_use);
  s->in_use_peak = __atomic_load_n(&counters.in_use_peak, __ATOMIC_RELAXED);
  s->mapped = __atomic_load_n(&counters.mapped, __ATOMIC_RELAXED);
  s->mapped_peak = __atomic_load_n(&counters.mapped_peak, __ATOMIC_RELAXED);
  s->footprint = __atomic_load_n(&counters.footprint, __ATOMIC_RELAXED);
  s->footprint_peak = __atomic_load_n(&counters.footprint_peak, __ATOMIC_RELAXED);
  s->purged = __atomic_load_n(&counters.purged, __ATOMIC_RELAXED);
  s->cached_arenas = arena_cache_count();
  struct tcache_totals t;
  tcache_totals(&t);
  s->thread_cached = t.bytes;
  s->heaps = hawk_heap_count;
  s->mallocs += t.allocs;
  s->frees += t.frees;
}

int hawk_stats(struct hawk_stats *out, size_t size) {
  if (out == NULL || size < 2 * sizeof(uint32_t)) return -1;
  hawk_ensure_ready();
  struct hawk_stats s;
  struct stats_more more;
  stats_snapshot(&s, &more, NULL);
  if (size > sizeof s) size = sizeof s;
  s.size = (uint32_t)size;
  memcpy(out, &s, size);
  return 0;
}

/* A row's start: its name, then the values in one column, with at least
 * one space after the longest name (24 characters: "bytes given back
 * (pages)"). */
static void row_name(struct line *l, const char *name) {
  line_str(l, "hawkalloc:   ");
  line_str(l, name);
  size_t n = strlen(name);
  do line_str(l, " ");
  while (++n < 24);
}

/* One "name value" row of the printed table. */
static void print_row(int fd, const char *name, uint64_t value) {
  struct line l = {.len = 0};
  row_name(&l, name);
  line_dec(&l, value);
  line_write(&l, fd);
}

/* One "name  12.3%  (explanation)" row; a zero denominator prints 0%. */
static void print_percent(int fd, const char *name, uint64_t num, uint64_t den, const char *how) {
  uint64_t tenths = den ? (num * 1000 + den / 2) / den : 0;
  struct line l = {.len = 0};
  row_name(&l, name);
  line_dec(&l, tenths / 10);
  line_str(&l, ".");
  line_dec(&l, tenths % 10);
  line_str(&l, "%  (");
  line_str(&l, how);
  line_str(&l, ")");
  line_write(&l, fd);
}

/* Blocks by size class, allocated and free: classes are powers of two, up
 * to 32, 64, ..., 1 MiB, then larger (STATS_CLASSES rows). */
#define CLASS_ROWS STATS_CLASSES
struct class_tally {
  uint64_t alloc_n[CLASS_ROWS], alloc_bytes[CLASS_ROWS];
  uint64_t free_n[CLASS_ROWS], free_bytes[CLASS_ROWS];
};

static void class_visit(void *ctx, const block *b) {
  struct class_tally *t = ctx;
  unsigned row = class_row(block_size(b));
  if (block_is_alloc(b)) {
    t->alloc_n[row]++;
    t->alloc_bytes[row] += block_size(b);
  } else {
    t->free_n[row]++;
    t->free_bytes[row] += block_size(b);
  }
}

/* heaps_each's visit of one heap for the per-size-class table. */
static void classes_one(struct heap *h, unsigned i, void *ctx) {
  (void)i;
  for (struct arena *a = h->arenas; a; a = arena_next(a)) arena_walk(a, class_visit, ctx);
}

/* The per-size-class table (arena blocks; cached blocks count as allocated). */
static void print_classes(int fd) {
  struct class_tally t; /* 544 bytes of stack, not of every process's .bss */
  memset(&t, 0, sizeof t);
  heaps_each(classes_one, &t, 0);
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc:   blocks by size      allocated (bytes)          free (bytes)");
  line_write(&l, fd);
  size_t limit = 32;
  for (unsigned row = 0; row < CLASS_ROWS; row++, limit <<= 1) {
    if (!t.alloc_n[row] && !t.free_n[row]) continue;
    line_str(&l, "hawkalloc:     ");
    line_str(&l, row == CLASS_ROWS - 1 ? "larger  " : "<= ");
    if (row < CLASS_ROWS - 1) line_dec(&l, limit);
    while (l.len < 34) line_str(&l, " ");
    line_dec(&l, t.alloc_n[row]);
    line_str(&l, " (");
    line_dec(&l, t.alloc_bytes[row]);
    line_str(&l, ")");
    while (l.len < 61) line_str(&l, " ");
    line_dec(&l, t.free_n[row]);
    line_str(&l, " (");
    line_dec(&l, t.free_bytes[row]);
    line_str(&l, ")");
    line_write(&l, fd);
  }
}

void hawk_stats_print(int fd) {
  struct hawk_stats s;
  hawk_stats(&s, sizeof s);
  struct line l = {.len = 0};
  /* Which process: several may print into one terminal or log. */
  line_str(&l, "hawkalloc: statistics of ");
  line_str(&l, program_invocation_short_name);
  line_str(&l, " (pid ");
  line_dec(&l, (uint64_t)getpid());
  line_str(&l, "; policy ");
  line_str(&l, hawk_policy_name());
  line_str(&l, ", ");
  line_dec(&l, hawk_heap_count);
  line_str(&l, hawk_heap_count == 1 ? " heap" : " heaps");
  line_str(&l, tcache_disabled ? ", no thread cache)" : ")");
  line_write(&l, fd);
  /* The rows of the table: a name each, and its figure. */
  static const char *const names[] = {"bytes in use",
                                      "bytes in use, peak",
                                      "bytes mapped",
                                      "bytes mapped, peak",
                                      "footprint",
                                      "footprint, peak",
                                      "arenas",
                                      "cached empty arenas",
                                      "large blocks",
                                      "free blocks",
                                      "free bytes",
                                      "largest free block",
                                      "mallocs",
                                      "frees",
                                      "splits",
                                      "coalesces",
                                      "bytes in thread caches",
                                      "bytes given back (pages)"};
  const uint64_t values[] = {
      s.in_use,  s.in_use_peak,   s.mapped,       s.mapped_peak, s.footprint,     s.footprint_peak,
      s.arenas,  s.cached_arenas, s.large_blocks, s.free_blocks, s.free_bytes,    s.largest_free,
      s.mallocs, s.frees,         s.splits,       s.coalesces,   s.thread_cached, s.purged};
  _Static_assert(sizeof names / sizeof names[0] == sizeof values / sizeof values[0],
                 "a name for every figure");
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) print_row(fd, names[i], values[i]);
  print_percent(fd, "external fragmentation", s.free_bytes ? s.free_bytes - s.largest_free : 0,
                s.free_bytes, "1 - largest free / free bytes");
  print_percent(fd, "peak occupancy", s.in_use_peak, s.mapped_peak, "peak in use / peak mapped");
  print_classes(fd);
}

/* --- the heap picture ------------------------------------------------------ */

#define MAP_CELLS  64 /* characters per arena strip: 64 KiB each */
#define MAP_ARENAS 16

/* Allocated bytes per cell of one arena, filled by the walk. */
struct strip {
  const char *base;
  uint64_t used[MAP_CELLS];
};

/* Adds an allocated block's bytes to the cells it covers. */
static void strip_visit(void *ctx, const block *b) {
  struct strip *st = ctx;
  if (!block_is_alloc(b)) return;
  const size_t cell = ARENA_SIZE / MAP_CELLS;
  size_t from = (size_t)((const char *)b - st->base), to = from + block_size(b);
  while (from < to) {
    size_t i = from / cell, end = (i + 1) * cell < to ? (i + 1) * cell : to;
    st->used[i] += end - from;
    from = end;
  }
}

/* One character for how full a cell is. */
static char cell_char(uint64_t used) {
  const uint64_t cell = ARENA_SIZE / MAP_CELLS;
  if (used == 0) return '.';
  if (used * 4 <= cell) return '-';
  if (used * 4 <= cell * 3) return '+';
  return '#';
}

/* print_map's place: the lines written so far and the arenas left out. */
struct map_out {
  int fd;
  unsigned shown, more;
};

/* One line per arena of heap h (its lock held); id >= HEAP_MAX is a
 * created heap's (hawk_heap_id). */
static void map_heap_locked(void *ctx, struct heap *h, int id) {
  struct map_out *m = ctx;
  struct line l = {.len = 0};
  for (struct arena *a = h->arenas; a; a = arena_next(a)) {
    if (m->shown >= MAP_ARENAS) {
      m->more++;
      continue;
    }
    struct strip st = {.base = (const char *)a};
    arena_walk(a, strip_visit, &st);
    line_str(&l, "hawkalloc:   heap ");
    line_dec(&l, (uint64_t)id);
    if (id >= HEAP_MAX) line_str(&l, " (created)");
    line_str(&l, " ");
    line_ptr(&l, a);
    line_str(&l, " |");
    for (int c = 0; c < MAP_CELLS; c++) {
      char ch[2] = {cell_char(st.used[c]), 0};
      line_str(&l, ch);
    }
    line_str(&l, "|");
    line_write(&l, m->fd);
    m->shown++;
  }
}

/* heaps_each's visit of one of the process's heaps for print_map. */
static void map_one(struct heap *h, unsigned i, void *ctx) { map_heap_locked(ctx, h, (int)i); }

/* Prints one line per arena: a strip of 64 cells of 64 KiB each. */
static void print_map(int fd) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: heap map: one line per arena, one character per 64 KiB:");
  line_write(&l, fd);
  line_str(&l, "hawkalloc:   '#' over 3/4 allocated, '+' over 1/4, '-' some, '.' free");
  line_write(&l, fd);
  struct map_out m = {.fd = fd};
  heaps_each(map_one, &m, 0);
  userheap_each_locked(map_heap_locked, &m); /* the created heaps */
  if (m.more) {
    line_str(&l, "hawkalloc:   ... and ");
    line_dec(&l, m.more);
    line_str(&l, " more arenas");
    line_write(&l, fd);
  }
}

int hawk_heap_stats(struct hawk_heap *h, struct hawk_stats *out, size_t size) {
  if (h == userheap_default()) return hawk_stats(out, size);
  userheap_live(h, "hawk_heap_stats");
  if (out == NULL || size < 2 * sizeof(uint32_t)) return -1;
  return userheap_stats(h, out, size);
}

void hawk_stats_print_map(int fd) {
  hawk_ensure_ready();
  print_map(fd);
}

/* heaps_each's visit that only shows the lock could be taken. */
static void lockable_one(struct heap *h, unsigned i, void *ctx) { (void)h, (void)i, (void)ctx; }

int heaps_lockable(void) { return heaps_each(lockable_one, NULL, HEAPS_TRY) == 0; }

static int lockable_now(void) {
  return heaps_lockable() && userheap_lockable(heap_lock_try) && arena_cache_lockable() &&
         large_lockable() && tcache_lockable();
}

int stats_lockable(void) {
  for (int i = 0; i < 20; i++) {
    if (lockable_now()) return 1;
    struct timespec ms = {0, 5000000};
    nanosleep(&ms, NULL);
  }
  return 0;
}

/* Where HAWKALLOC_STATS=1 writes at exit: a copy of stderr taken at start,
 * because programs such as ls and sort close stderr before they exit.  Both
 * the copy and descriptor 2 are used only while they still are the file
 * stderr was at start-up (report.h): a program that closes every descriptor
 * and opens files of its own may have put a data file at either number. */
static int stats_fd = -1;

void stats_init(void) {
  if (option_long(OPTION_STATS) != 1) return;
  int saved = errno;
  stats_fd = fcntl(2, F_DUPFD_CLOEXEC, 64);
  errno = saved;
}

void stats_after_fork_child(void) {
  if (stats_fd < 0) return;
  int saved = errno;
  close(stats_fd);
  stats_fd = -1;
  errno = saved;
}

void stats_at_exit(void) {
  if (option_long(OPTION_STATS) != 1) return;
  int fd = report_is_stderr(stats_fd) ? stats_fd : report_is_stderr(2) ? 2 : -1;
  if (fd < 0) return;
  /* exit() called from a signal handler that interrupted malloc finds this
   * thread holding a lock the table needs: one line rather than a wait for
   * ever. */
  if (!stats_lockable()) {
    static const char busy[] = "hawkalloc: HAWKALLOC_STATS=1: statistics not printed at exit: a "
                               "heap is locked (exit called while the allocator ran: from a "
                               "signal handler?)\n";
    ssize_t w = write(fd, busy, sizeof busy - 1);
    (void)w;
    return;
  }
  hawk_stats_print(fd);
  print_map(fd);
}
