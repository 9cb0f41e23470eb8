/* snapshot.c - hawk_map_write and HAWKALLOC_MAP: a snapshot of the heap and
 * of the address space (docs/snapshot-format.md).  The hawk tool draws it.
 *
 * What is taken: the statistics' figures, the program's name and policy,
 * every arena and large mapping as a strip with the sums of its blocks'
 * states, the pieces the strip is drawn with (first SNAP_STRIPS_DRAWN
 * strips only), the registry's runs of chunks and its leaves, and the bytes
 * of /proc/self/maps.  Its size does not grow with the number of blocks: a
 * strip is SNAP_STRIP_PX tenths of a pixel wide and blocks narrower than a
 * pixel are gathered into one-pixel columns, so a strip has at most about a
 * thousand pieces.
 *
 * Nothing here allocates from the heap: the buffer and the two path
 * buffers are one mapping made on first use (from ordinary code: by
 * map_install_signal, hawk_map_write or map_on_exit), so the library's
 * .bss keeps none of it.  The file goes to PATH.PID.tmp (new, 0600) and is
 * renamed over PATH, or copied into what is at PATH when that is not the
 * library's to replace: see map_put.
 *
 * SIGUSR2 frames (HAWKALLOC_MAP=PATH): PATH-0001.snap, PATH-0002.snap, ...
 *  The handler may interrupt a thread that holds a heap lock, and waiting
 *  for that lock would deadlock; hawk_walk and hawk_stats also take locks
 *  only their own files can see.  Decision: the handler takes the snapshot
 *  itself, without hawk_walk and hawk_stats.  It takes each heap lock with
 *  lock_try only, walks the arenas with the arena walker,
 *  finds large mappings through the registry (read without a lock) and
 *  reads the other figures from the global counters.  It never waits for a
 *  lock.  When a heap lock stays busy (most likely the interrupted thread
 *  holds it) or another snapshot is being written, the frame is put off: a
 *  POSIX timer (made with raw syscalls, which allocate nothing) raises
 *  SIGUSR2 again 5 ms later, when the interrupted code has moved on, for up
 *  to two seconds.  Signals that come while a frame is pending do not add
 *  frames, so frames are numbered without gaps.  A forked child (which
 *  inherits the handler but not the timer) makes its own timer and names
 *  its frames PATH-PID-0001.snap.  Every call the handler makes is
 *  async-signal-safe (POSIX.1-2017's list, with the string functions of
 *  its 2016 edition), and so are lock_try and lock_give of a heap lock it
 *  got (lock.h: a compare-and-swap; an exchange and, if a thread sleeps on
 *  the lock, a futex wake).
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h> /* rename only: no stdio stream is used */
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "hawksnap.h"
#include "options.h"
#include "os.h"
#include "process.h"
#include "registry.h"
#include "report.h"
#include "stats.h"
#include "trace.h"
#include "userheap.h"

#define PX    (SNAP_STRIP_PX / 1024) /* tenths of a pixel in a pixel */
#define ALONE (3 * PX)               /* blocks this wide are pieces of their own */

#define PATH_CAP 4200

/* One strip being taken: an arena, or a large block's mapping. */
struct strip {
  uintptr_t region;
  uint64_t span;     /* bytes the strip's width stands for */
  uint64_t next_off; /* end of the last block seen, from the region's start */
  int open, drawn;
  struct snap_strip_end sums;
  /* a column of blocks narrower than a pixel being gathered */
  int run_open;
  int32_t run_x0, run_x1;
  uint64_t run_bytes[SNAP_ST_COUNT];
  /* the piece being extended */
  int piece_open;
  struct snap_piece piece;
};

/* Everything a snapshot needs, mapped on first use.  One at a time
 * (map_busy). */
struct snap_work {
  char buf[1 << 14];
  size_t len;
  int fd;  /* where a full buffer goes */
  int err; /* the first write error (an errno value), 0 if none */
  char tmp[PATH_CAP];
  char frame[PATH_CAP];
  struct strip s;
  struct snap_strip_end tot; /* over every strip of arenas */
  uint64_t arenas, larges, large_mapped;
  unsigned strips;
  struct {
    uintptr_t addr;
    size_t chunks;
  } large; /* signal mode: a large mapping found in the registry, not yet visited */
};

/* The snapshot's reads, writes, opens, closes and naps go to the kernel
 * through syscall(2), not through the C library's functions of those
 * names, which are cancellation points: a thread with a cancellation
 * pending that took a frame (its SIGUSR2 handler, or the exit's snapshot)
 * was cancelled inside it, the snapshot marked busy for ever, and no frame
 * was written again.  The raw call is no cancellation point and is safe in
 * a signal handler.  -1 with errno set, as the functions. */
static ssize_t sys_read(int fd, void *to, size_t n) { return syscall(SYS_read, fd, to, n); }
static ssize_t sys_write(int fd, const void *from, size_t n) {
  return syscall(SYS_write, fd, from, n);
}
static int sys_open(const char *path, int flags, int mode) {
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
static int sys_close(int fd) { return (int)syscall(SYS_close, fd); }

static struct snap_work *snap;
static int map_busy; /* a snapshot is being written (snap is in use) */

/* Maps the state once; the caller holds map_busy or runs before any
 * snapshot can be taken.  0 or an errno value. */
static int state_get(void) {
  if (snap) return 0;
  void *p;
  int err = os_map(sizeof *snap, os_page_size(), &p);
  if (err == 0) snap = p;
  return err;
}

/* --- output: a buffer flushed to the file ---------------------------------- */

static void out_flush(void) {
  size_t done = 0;
  while (done < snap->len && snap->err == 0) {
    ssize_t n = sys_write(snap->fd, snap->buf + done, snap->len - done);
    if (n > 0)
      done += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else
      snap->err = n < 0 ? errno : EIO;
  }
  snap->len = 0;
}

static void out_raw(const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    if (snap->len == sizeof snap->buf) out_flush();
    size_t k = sizeof snap->buf - snap->len;
    if (k > n) k = n;
    memcpy(snap->buf + snap->len, c, k);
    snap->len += k;
    c += k;
    n -= k;
  }
}

static void out_record(uint32_t type, const void *p, size_t n) {
  struct snap_record r = {type, (uint32_t)n};
  out_raw(&r, sizeof r);
  out_raw(p, n);
}

/* A record whose payload fn puts straight into the buffer (at most max
 * bytes; fn returns how many, or a negative value for none). */
static void out_filled(uint32_t type, size_t max, ssize_t (*fn)(char *to, size_t max, void *ctx),
                       void *ctx) {
  struct snap_record r = {type, 0};
  if (snap->len + sizeof r + max > sizeof snap->buf) out_flush();
  ssize_t n = fn(snap->buf + snap->len + sizeof r, max, ctx);
  if (n <= 0) return;
  r.len = (uint32_t)n;
  memcpy(snap->buf + snap->len, &r, sizeof r);
  snap->len += sizeof r + (size_t)n;
}

static ssize_t fill_exe(char *to, size_t max, void *ctx) {
  (void)ctx;
  return readlink("/proc/self/exe", to, max);
}

static ssize_t fill_read(char *to, size_t max, void *ctx) {
  for (;;) {
    ssize_t n = sys_read(*(int *)ctx, to, max);
    if (n >= 0 || errno != EINTR) return n;
  }
}

/* /proc/self/maps as it is, in records of what one read(2) gives. */
static void out_maps(void) {
  int fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return;
  size_t before;
  do {
    before = snap->len;
    out_filled(SNAP_MAPS, 4096, fill_read, &fd);
  } while (snap->len != before && snap->err == 0);
  sys_close(fd);
}

/* --- strips: pieces and sums ----------------------------------------------- */

static int32_t strip_x(const struct strip *s, uint64_t off) {
  if (off >= s->span) return SNAP_STRIP_PX;
  return (int32_t)((off * SNAP_STRIP_PX + s->span / 2) / s->span);
}

/* Writes the piece being extended. */
static void piece_emit(struct strip *s) {
  if (!s->piece_open) return;
  s->piece_open = 0;
  out_record(SNAP_PIECE, &s->piece, sizeof s->piece);
}

/* Adds [xa, xb) in one state: extends the current piece when it can. */
static void piece_add(struct strip *s, int32_t xa, int32_t xb, int state, int alone, uintptr_t addr,
                      uint64_t size) {
  struct snap_piece *p = &s->piece;
  if (s->piece_open && !alone && !p->alone && p->state == state && p->x1 == xa) {
    p->x1 = (uint16_t)xb;
    return;
  }
  piece_emit(s);
  s->piece_open = 1;
  *p = (struct snap_piece){.x0 = (uint16_t)xa,
                           .x1 = (uint16_t)xb,
                           .state = (uint8_t)state,
                           .alone = (uint8_t)alone,
                           .address = addr,
                           .size = size};
}

/* Ends a column of narrow blocks: one piece in the state with most bytes. */
static void run_flush(struct strip *s) {
  if (!s->run_open) return;
  int best = 0;
  for (int i = 1; i < SNAP_ST_COUNT; i++)
    if (s->run_bytes[i] > s->run_bytes[best]) best = i;
  s->run_open = 0;
  memset(s->run_bytes, 0, sizeof s->run_bytes);
  piece_add(s, s->run_x0, s->run_x1, best, 0, 0, 0);
}

static void strip_block(struct strip *s, uint64_t off, uint64_t size, int state, uintptr_t addr) {
  int32_t xa = strip_x(s, off), xb = strip_x(s, off + size);
  if (xb - xa >= PX) {
    run_flush(s);
    piece_add(s, xa, xb, state, xb - xa >= ALONE, addr, size);
    return;
  }
  if (!s->run_open) {
    s->run_open = 1;
    s->run_x0 = xa;
  }
  s->run_x1 = xb;
  s->run_bytes[state] += size;
  if (s->run_x1 - s->run_x0 >= PX) run_flush(s);
}

/* Closes a strip: its last pieces and its sums. */
static void strip_end(struct strip *s) {
  if (!s->open) return;
  run_flush(s);
  piece_emit(s);
  out_record(SNAP_STRIP_END, &s->sums, sizeof s->sums);
  s->open = 0;
}

static void strip_begin(struct strip *s, const struct hawk_block_info *b) {
  int large = b->state == HAWK_BLOCK_LARGE;
  memset(s, 0, sizeof *s);
  s->open = 1;
  s->region = b->region;
  s->span = large && b->region_size > ARENA_SIZE ? b->region_size : ARENA_SIZE;
  s->drawn = snap->strips++ < SNAP_STRIPS_DRAWN;
  if (large) {
    snap->larges++;
    snap->large_mapped += b->region_size;
  } else {
    snap->arenas++;
  }
  struct snap_strip r = {.region = b->region,
                         .region_size = b->region_size,
                         .span = s->span,
                         .heap = b->heap,
                         .large = (uint32_t)large};
  out_record(SNAP_STRIP, &r, sizeof r);
}

/* The visitor: one block of hawk_walk (or of the signal-time walk). */
static void snap_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  struct strip *s = &snap->s;
  if (!s->open || b->region != s->region) {
    strip_end(s);
    strip_begin(s, b);
  }
  int st = b->state == HAWK_BLOCK_ALLOCATED ? SNAP_ST_ALLOC
           : b->state == HAWK_BLOCK_CACHED  ? SNAP_ST_CACHED
           : b->state == HAWK_BLOCK_LARGE   ? SNAP_ST_LARGE
                                            : SNAP_ST_FREE;
  uint64_t off = b->address > b->region ? b->address - b->region : 0;
  struct snap_strip_end *sums[2] = {&s->sums, &snap->tot};
  for (int i = 0; i < 2; i++) {
    sums[i]->bytes[st] += b->size;
    if (st != SNAP_ST_FREE) continue;
    sums[i]->free_blocks++;
    if (b->size > sums[i]->largest_free) sums[i]->largest_free = b->size;
  }
  if (s->drawn) {
    /* The arena header, the prologue, a large mapping's header. */
    if (off > s->next_off)
      strip_block(s, s->next_off, off - s->next_off, SNAP_ST_HEADER, s->region + s->next_off);
    strip_block(s, off, b->size, st, b->address);
  }
  s->next_off = off + b->size;
}

/* --- the walk made from a signal handler ----------------------------------- */

/* Visits the large mapping found in the registry and not visited yet. */
static void large_flush(void) {
  if (snap->large.chunks == 0) return;
  uint64_t size = (uint64_t)snap->large.chunks * ARENA_SIZE;
  struct hawk_block_info info = {.address = snap->large.addr,
                                 .size = size,
                                 .payload = snap->large.addr,
                                 .state = HAWK_BLOCK_LARGE,
                                 .heap = -1,
                                 .region = snap->large.addr,
                                 .region_size = size};
  snap->large.chunks = 0;
  snap_visit(NULL, &info);
}

/* Large mappings in the registry: a CHUNK_LARGE chunk starts one,
 * CHUNK_LARGE_MORE chunks continue it (sizes rounded up to chunks). */
static void signal_large_run(void *ctx, uintptr_t addr, size_t count, enum chunk_kind kind) {
  (void)ctx;
  if (kind == CHUNK_LARGE_MORE && snap->large.chunks &&
      snap->large.addr + snap->large.chunks * ARENA_SIZE == addr) {
    snap->large.chunks += count;
    return;
  }
  large_flush();
  if (kind != CHUNK_LARGE) return;
  for (size_t i = 0; i < count; i++) {
    large_flush();
    snap->large.addr = addr + i * ARENA_SIZE;
    snap->large.chunks = 1;
  }
}

/* heaps_each's visit of one heap for the walk made in a signal handler. */
static void signal_walk_one(struct heap *h, unsigned i, void *ctx) {
  (void)ctx;
  walk_arenas_locked(h, (int)i, snap_visit, NULL);
}

/* Walks every heap with trylock; -1 if a lock stayed busy. */
static int signal_walk(void) {
  if (heaps_each(signal_walk_one, NULL, HEAPS_TRY) != 0) return -1;
  snap->large.chunks = 0;
  registry_runs(signal_large_run, NULL);
  large_flush();
  return userheap_walk_try(snap_visit, NULL, heap_lock_try); /* the created heaps */
}

/* --- the registry ------------------------------------------------------------ */

static void chunks_record(void *ctx, uintptr_t addr, size_t count, enum chunk_kind kind) {
  (void)ctx;
  if (kind != CHUNK_ARENA && kind != CHUNK_LARGE && kind != CHUNK_LARGE_MORE &&
      kind != CHUNK_HEAP_ARENA && kind != CHUNK_HEAP_LARGE && kind != CHUNK_HEAP_TABLE)
    return;
  struct snap_chunks r = {.address = addr, .count = count, .kind = (uint32_t)kind};
  out_record(SNAP_CHUNKS, &r, sizeof r);
}

static void leaf_record(void *ctx, const void *leaf, size_t len) {
  (void)ctx;
  struct snap_range r = {.address = (uintptr_t)leaf, .size = len};
  out_record(SNAP_LEAF, &r, sizeof r);
}

/* --- the figures ------------------------------------------------------------- */

static void figures_from_stats(struct snap_figures *f) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  *f = (struct snap_figures){.in_use = s.in_use,
                             .mapped = s.mapped,
                             .footprint = s.footprint,
                             .thread_cached = s.thread_cached,
                             .arenas = s.arenas,
                             .cached_arenas = s.cached_arenas,
                             .large_blocks = s.large_blocks,
                             .heaps = s.heaps,
                             .free_bytes = s.free_bytes,
                             .free_blocks = s.free_blocks,
                             .largest_free = s.largest_free};
}

/* In a signal handler hawk_stats may not run (see the top of the file): the
 * walk's sums and the lock-free counters. */
static void figures_from_walk(struct snap_figures *f) {
  const struct snap_strip_end *t = &snap->tot;
  *f = (struct snap_figures){
      .in_use = t->bytes[SNAP_ST_ALLOC] + t->bytes[SNAP_ST_CACHED] + snap->large_mapped,
      .mapped = __atomic_load_n(&counters.mapped, __ATOMIC_RELAXED),
      .footprint = counters_footprint_now(),
      .thread_cached = t->bytes[SNAP_ST_CACHED],
      .arenas = snap->arenas,
      .large_blocks = snap->larges,
      .heaps = hawk_heap_count,
      .free_bytes = t->bytes[SNAP_ST_FREE],
      .free_blocks = t->free_blocks,
      .largest_free = t->largest_free,
  };
}

/* --- writing a snapshot ------------------------------------------------------ */

#define MAP_BUSY    (-1) /* a heap lock stayed busy (signal mode only) */
#define MAP_REFUSED (-2) /* the path names something that is not for snapshots */

/* Appends v in decimal at dst; returns the digits written. */
static size_t put_dec(char *dst, uint64_t v, int width) {
  char d[20];
  int n = 0;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v || n < width);
  for (int i = 0; i < n; i++) dst[i] = d[n - 1 - i];
  return (size_t)n;
}

/* PATH.PID.tmp */
static int tmp_path(char *dst, const char *path) {
  size_t n = strlen(path);
  if (n + 32 > PATH_CAP) return 0;
  memcpy(dst, path, n);
  dst[n++] = '.';
  n += put_dec(dst + n, (uint64_t)getpid(), 1);
  memcpy(dst + n, ".tmp", 5);
  return 1;
}

/* Makes the temporary file: new (O_EXCL: never through a symbolic link or
 * into a file someone else put there), 0600.  A file of that name left by a
 * process of the same pid that died is removed once. */
static int open_tmp(const char *tmp) {
  for (int tries = 0;; tries++) {
    int fd = sys_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 || errno != EEXIST || tries > 0 || unlink(tmp) != 0) return fd;
  }
}

/* Copies the finished file fd into to (lseek and read: pread is not on
 * POSIX's list of async-signal-safe functions). */
static int copy_into(int fd, int to) {
  ssize_t n = 0;
  snap->fd = to;
  snap->err = 0;
  if (lseek(fd, 0, SEEK_SET) != 0) return errno;
  while (snap->err == 0 && (n = fill_read(snap->buf, sizeof snap->buf, &fd)) > 0) {
    snap->len = (size_t)n;
    out_flush();
  }
  return snap->err ? snap->err : n < 0 ? errno : 0;
}

/* Whether the snapshot may be written into st, what a path leads to: a
 * device, a FIFO, or a regular file of this user (the snapshot holds the
 * process's addresses: never into another user's file, whatever its mode). */
static int may_write_into(const struct stat *st) {
  return S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode) ||
         (S_ISREG(st->st_mode) && st->st_uid == geteuid());
}

/* Puts the finished snapshot in tmp (open as fd) at path (docs/security.md,
 * "What is at the path").  Where nothing is, or a regular file this user
 * owns with no other link: renamed over it, so a reader never sees half a
 * snapshot.  A symbolic link of this user, a device, a FIFO or a
 * hard-linked regular file of this user is never replaced: the snapshot is
 * copied into what is there (opened without O_CREAT and without O_TRUNC, a
 * regular file emptied only once it is shown to be the one checked;
 * O_NONBLOCK, so that a FIFO with no reader fails rather than waits).
 * Another user's symbolic link or file, a directory or a socket is refused
 * (MAP_REFUSED, EISDIR).  Returns 0 or an errno value; tmp is gone either
 * way. */
static int map_put(int fd, const char *tmp, const char *path) {
  struct stat l, st, at;
  int r = 0, exists = lstat(path, &l) == 0;
  if (!exists && errno != ENOENT) {
    r = errno;
  } else if (!exists || (S_ISREG(l.st_mode) && l.st_uid == geteuid() && l.st_nlink == 1)) {
    if (rename(tmp, path) == 0) return 0;
    r = errno;
  } else if (S_ISLNK(l.st_mode) && l.st_uid != geteuid()) {
    r = MAP_REFUSED; /* another user's link may lead anywhere this user can write */
  } else if (stat(path, &st) != 0) {
    r = errno;
  } else if (!may_write_into(&st)) {
    r = S_ISDIR(st.st_mode) ? EISDIR : MAP_REFUSED;
  } else {
    int to = sys_open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
    if (to < 0 || fstat(to, &at) != 0) {
      r = errno;
    } else if (!may_write_into(&at) || at.st_dev != st.st_dev || at.st_ino != st.st_ino) {
      r = MAP_REFUSED; /* changed since the stat */
    } else if (S_ISREG(at.st_mode) && ftruncate(to, 0) != 0) {
      r = errno;
    } else {
      fcntl(to, F_SETFL, fcntl(to, F_GETFL) & ~O_NONBLOCK);
      r = copy_into(fd, to); /* map_write's quiet_write: EPIPE, never SIGPIPE */
    }
    if (to >= 0 && sys_close(to) != 0 && r == 0) r = errno;
  }
  unlink(tmp);
  return r;
}

/* The records of the snapshot; 0 or MAP_BUSY. */
static int snap_body(enum snap_cause cause) {
  const char *policy = hawk_heaps[0].policy->name;
  out_filled(SNAP_PROGRAM, 4096, fill_exe, NULL);
  out_record(SNAP_POLICY, policy, strlen(policy));
  struct snap_figures f;
  if (cause != SNAP_SIGNAL) figures_from_stats(&f);
  memset(&snap->s, 0, sizeof snap->s);
  memset(&snap->tot, 0, sizeof snap->tot);
  snap->arenas = snap->larges = snap->large_mapped = 0;
  snap->strips = 0;
  if (cause == SNAP_SIGNAL) {
    if (signal_walk() != 0) return MAP_BUSY;
  } else {
    hawk_walk(snap_visit, NULL);
  }
  strip_end(&snap->s);
  if (cause == SNAP_SIGNAL) figures_from_walk(&f);
  out_record(SNAP_FIGURES, &f, sizeof f);
  registry_runs(chunks_record, NULL);
  registry_leaves(leaf_record, NULL);
  out_maps();
  out_record(SNAP_END, NULL, 0);
  out_flush();
  return 0;
}

/* Writes a snapshot to path; the caller holds map_busy and has the state.
 * Returns 0, an errno value, MAP_BUSY or MAP_REFUSED. */
static int map_write(const char *path, enum snap_cause cause, unsigned frame) {
  if (cause == SNAP_SIGNAL && !heaps_lockable()) return MAP_BUSY;
  if (!tmp_path(snap->tmp, path)) return ENAMETOOLONG;
  int fd = open_tmp(snap->tmp);
  if (fd < 0) return errno;
  struct timespec now = {0, 0};
  clock_gettime(CLOCK_REALTIME, &now);
  struct snap_header h = {.version = SNAP_VERSION,
                          .header_size = sizeof h,
                          .flags = cause == SNAP_SIGNAL ? SNAP_FROM_SIGNAL : 0,
                          .cause = cause,
                          .frame = frame,
                          .pid = (int32_t)getpid(),
                          .time = now.tv_sec};
  memcpy(h.magic, SNAP_MAGIC, sizeof h.magic);
  snap->fd = fd;
  snap->err = 0;
  snap->len = 0;
  /* A FIFO's reader may go away, the file reach the file-size limit: EPIPE
   * and EFBIG, never a signal that kills the program (trace.h). */
  struct quiet_write q;
  quiet_write_begin(&q);
  out_raw(&h, sizeof h);
  int result = snap_body(cause);
  if (result == 0) result = snap->err;
  if (result == 0) {
    result = map_put(fd, snap->tmp, path);
    sys_close(fd);
  } else {
    sys_close(fd);
    unlink(snap->tmp);
  }
  quiet_write_end(&q, result);
  return result;
}

/* Takes map_busy, waiting for another thread's snapshot (up to 10 s), and
 * maps the state if needed.  0 or an errno value. */
static int busy_take(void) {
  for (int i = 0; __atomic_exchange_n(&map_busy, 1, __ATOMIC_ACQUIRE); i++) {
    if (i >= 10000) return EBUSY;
    struct timespec ms = {0, 1000000};
    syscall(SYS_nanosleep, &ms, NULL);
  }
  int err = state_get();
  if (err) __atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE);
  return err;
}

static void busy_release(void) { __atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE); }

int hawk_map_write(const char *path) {
  if (path == NULL || path[0] == 0) {
    errno = path ? ENOENT : EINVAL;
    return -1;
  }
  hawk_ensure_ready();
  int saved = errno;
  int r = busy_take();
  if (r == 0) {
    r = map_write(path, SNAP_CALL, 0);
    busy_release();
  }
  if (r != 0) {
    errno = r == MAP_REFUSED ? EINVAL : r;
    return -1;
  }
  errno = saved;
  return 0;
}

/* "hawkalloc: cannot write the heap snapshot PATH (errno N)" on stderr, if
 * descriptor 2 still is the stderr of start-up (report.h). */
static void report_failure(const char *path, int err) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: cannot write the heap snapshot ");
  line_quote(&l, path);
  if (err == MAP_REFUSED) {
    line_str(&l, ": not a regular file, a character device or a FIFO; left alone");
  } else {
    line_str(&l, " (errno ");
    line_dec(&l, (uint64_t)err);
    line_str(&l, ")");
  }
  line_write_stderr(&l);
}

void map_on_exit(void) {
  const char *path = option_text(OPTION_MAP);
  if (path == NULL || path[0] == 0) return;
  int saved = errno;
  /* exit() called from a signal handler that interrupted malloc would find
   * this thread holding a lock: check first rather than deadlock. */
  int lockable = stats_lockable();
  int r = EDEADLK;
  if (lockable && (r = busy_take()) == 0) {
    r = map_write(path, SNAP_EXIT, 0);
    busy_release();
  }
  if (r != 0) report_failure(path, r);
  errno = saved;
}

/* --- SIGUSR2 frames (see the top of the file) ------------------------------ */

#define RETRY_COOKIE 0x4d4150 /* si_value of the retry timer's signals */
#define RETRY_NS     5000000  /* 5 ms */
#define RETRY_MAX    400      /* two seconds */

static int signal_installed;
static int retry_timer = -1; /* the kernel's id of the retry timer */
static int frame_pending;    /* a frame was asked for and not written yet */
static int frame_retries;

void snapshot_after_fork_child(void) {
  __atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&frame_pending, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&frame_retries, 0, __ATOMIC_RELAXED);
}
static unsigned frame_count; /* frames written */
static int frames_pid;       /* the process frame_count and retry_timer belong to */
static int frames_forked;    /* this process is a fork of the one that installed */

/* PATH-0001.snap for frame 1 (a ".snap" ending of PATH taken off first);
 * PATH-PID-0001.snap in a forked child, whose frames would else overwrite
 * its parent's. */
static int frame_path(char *dst, const char *path, unsigned n, int pid) {
  size_t len = strlen(path);
  if (len >= 5 && strcmp(path + len - 5, ".snap") == 0) len -= 5;
  if (len + 48 > PATH_CAP) return 0;
  memcpy(dst, path, len);
  dst[len++] = '-';
  if (pid) {
    len += put_dec(dst + len, (uint64_t)pid, 1);
    dst[len++] = '-';
  }
  len += put_dec(dst + len, n, 4);
  memcpy(dst + len, ".snap", 6);
  return 1;
}

static void retry_later(void) {
  int tries = __atomic_add_fetch(&frame_retries, 1, __ATOMIC_RELAXED);
  if (retry_timer >= 0 && tries <= RETRY_MAX) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = RETRY_NS;
    if (syscall(SYS_timer_settime, retry_timer, 0, &its, NULL) == 0) return;
  }
  __atomic_store_n(&frame_pending, 0, __ATOMIC_RELAXED);
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: SIGUSR2 heap snapshot skipped: the heap stayed locked");
  line_write_stderr(&l);
}

/* The retry timer: SIGUSR2 carrying RETRY_COOKIE.  Raw syscalls, as glibc's
 * timer_create may allocate; the id is the kernel's.  -1 if none. */
static int retry_timer_make(void) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_value.sival_int = RETRY_COOKIE;
  int id = -1;
  return syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) == 0 ? id : -1;
}

static void take_frame(void) {
  if (__atomic_exchange_n(&map_busy, 1, __ATOMIC_ACQUIRE)) {
    retry_later(); /* another snapshot is being written */
    return;
  }
  int pid = (int)getpid();
  if (pid != frames_pid) { /* a forked child: timers are not inherited */
    frames_pid = pid;
    frames_forked = 1;
    frame_count = 0;
    retry_timer = retry_timer_make();
  }
  const char *path = option_text(OPTION_MAP);
  unsigned n = frame_count + 1;
  /* No longer pending from here on: the frame's file appears before this
   * handler returns, and a signal that another thread takes in between
   * asks for the next frame (it finds the writer busy and retries), where
   * it was merged into this one and lost. */
  __atomic_store_n(&frame_pending, 0, __ATOMIC_RELAXED);
  int r = frame_path(snap->frame, path, n, frames_forked ? pid : 0)
              ? map_write(snap->frame, SNAP_SIGNAL, n)
              : ENAMETOOLONG;
  if (r == MAP_BUSY) {
    __atomic_store_n(&frame_pending, 1, __ATOMIC_RELAXED);
    busy_release();
    retry_later();
    return;
  }
  if (r == 0) frame_count = n;
  __atomic_store_n(&frame_retries, 0, __ATOMIC_RELAXED);
  busy_release();
  if (r != 0) report_failure(snap->frame, r);
}

static void on_sigusr2(int sig, siginfo_t *info, void *uctx) {
  (void)sig;
  (void)uctx;
  int saved = errno;
  int retry = info && info->si_code == SI_TIMER && info->si_value.sival_int == RETRY_COOKIE;
  if (!retry && !__atomic_exchange_n(&frame_pending, 1, __ATOMIC_RELAXED))
    __atomic_store_n(&frame_retries, 0, __ATOMIC_RELAXED);
  if (__atomic_load_n(&frame_pending, __ATOMIC_RELAXED)) take_frame();
  errno = saved;
}

void map_install_signal(void) {
  const char *path = option_text(OPTION_MAP);
  if (path == NULL || path[0] == 0) return;
  if (__atomic_exchange_n(&signal_installed, 1, __ATOMIC_RELAXED)) return;
  int saved = errno;
  /* The handler never maps: the state is made here, before it can run. */
  int err = busy_take();
  if (err) {
    report_failure(path, err);
    errno = saved;
    return;
  }
  busy_release();
  frames_pid = (int)getpid();
  retry_timer = retry_timer_make();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigusr2;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
  errno = saved;
}
