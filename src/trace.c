/* trace.c - per-thread trace buffers and the trace file.  See trace.h and
 * docs/trace-format.md. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hawkalloc.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "report.h"

#define TRACE_VERSION     3
#define TRACE_HEADER_SIZE 32

/* Version 3 (docs/trace-format.md): each buffer goes to the file as one
 * chunk, a 32-byte chunk header and the records that follow it, each of
 * variable length.  Within a chunk a record's seq is a delta from the
 * record before (from the chunk's base seq for the first), its pointers
 * deltas from the record before's result (0 for the first); a chunk is
 * read on its own, whatever the threads' chunks around it. */
#define CHUNK_HEADER 32
#define CHUNK_MARK   "HTC3"
/* The longest record: the op byte, four 10-byte varints (seq delta,
 * result, size, aux) and a 5-byte one (heap). */
#define RECORD_MAX 46

enum {
  REC_OP = 0x07,     /* bits 0-2: the op */
  REC_SEQ = 0x08,    /* seq delta is not 1: the delta follows */
  REC_RESULT = 0x10, /* result differs from the record before's: its delta follows */
  REC_SIZE = 0x20,   /* size is not 0: it follows */
  REC_AUX = 0x40,    /* aux is not 0: it follows (realloc: a delta from result) */
  REC_HEAP = 0x80,   /* heap is not 0: it follows, zigzag */
};

/* A buffer's fill: the bytes of records in the chunk (low 32 bits) and
 * their count (high 32).  Its thread stores it, after the record's bytes,
 * with release order: another thread that writes the buffer out (at exit,
 * hawk_trace_flush) reads a count and the bytes that hold those records. */
#define FILL_BYTES(f) ((uint32_t)(f))
#define FILL_COUNT(f) ((uint32_t)((f) >> 32))

struct trace_buf {
  struct trace_buf *next; /* every buffer, for the flush at exit */
  uint32_t thread;
  uint32_t tick;    /* low 8 bits of seq */
  uint32_t written; /* records of the chunk already in the file (another thread wrote them) */
  uint32_t pad;
  uint64_t fill; /* bytes and count of the chunk's records (FILL_*) */
  uint64_t last; /* the thread's last seq */
  uint64_t base; /* the thread's last seq before the chunk */
  uint64_t prev; /* the result of the chunk's last record (0 before the first) */
  unsigned char chunk[TRACE_BUFFER_BYTES - 56]; /* chunk header, records */
};
#define CHUNK_ROOM (sizeof(((struct trace_buf *)0)->chunk) - CHUNK_HEADER)
_Static_assert(sizeof(struct trace_buf) == TRACE_BUFFER_BYTES, "one buffer, one mapping");

int trace_enabled;
static int trace_fd = -1;
/* The trace file's identity: trace_fd is written to only while it still
 * refers to this file (the program may close it and open a file of its own
 * that gets the same number).  A regular file must also be as long as what
 * was written to it: a file removed and closed frees its inode number for
 * the next new file, which may be the program's, at the same descriptor. */
static dev_t trace_dev;
static ino_t trace_ino;
static int trace_regular;
static int trace_fifo;       /* the trace is a FIFO (or a pipe): its reader may go away */
static uint64_t trace_bytes; /* written to a regular trace file so far */
static uint64_t trace_start_ns;
static uint32_t next_thread = 1;
static pthread_key_t trace_key;
static struct {
  pthread_mutex_t lock;
  struct trace_buf *head;
} bufs = {HAWK_MUTEX_INIT, NULL};

/* Takes bufs.lock (lock.h: a take by the thread that holds it, a signal
 * handler's malloc whose record finds a chunk full while its thread writes
 * it out, is one line and abort). */
static HAWK_NOINLINE void bufs_take(void) { mutex_take(&bufs.lock); }

static __thread struct trace_buf *trace_self __attribute__((tls_model("initial-exec")));

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The clock of seq (docs/trace-format.md).  On x86-64, when the kernel keeps
 * its own time with the time stamp counter (its clocksource is "tsc": the
 * counter runs at a constant rate and in step on every CPU), the counter
 * itself, read with rdtscp so that it is not taken before the calls it
 * follows: about 15 ns here (a loop of reads), against 22 for
 * clock_gettime.  Waiting for the calls before it, the read is still about a
 * third of what tracing costs a program that allocates all the time (perf,
 * the bash case of the preload suite).  Else CLOCK_MONOTONIC nanoseconds. */
static int seq_uses_tsc;
static uint64_t seq_start;

/* Set when a second thread is about to record.  Until then seq needs no
 * clock at all: the one thread's records are numbered 1, 2, 3...  From then
 * on every record reads the clock, and its seq is never below its thread's
 * last one.  The numbers stay below any clock value that follows them (a
 * record takes at least a tick of either clock, and clock values are
 * shifted left by 8), so the order holds across the switch.  A thread that
 * uses another's block has seen the flag: it was set before that thread's
 * first record, which came before the block could be handed over. */
static int seq_threads;

static int kernel_clock_is_tsc(void) {
#if defined(__x86_64__)
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char name[8] = {0};
  ssize_t n = read(fd, name, sizeof name - 1);
  close(fd);
  return n == 4 && memcmp(name, "tsc\n", 4) == 0;
#else
  return 0;
#endif
}

static uint64_t seq_clock(void) {
#if defined(__x86_64__)
  if (seq_uses_tsc) {
    unsigned int cpu;
    return __builtin_ia32_rdtscp(&cpu);
  }
#endif
  return now_ns();
}

/* Writes all of len bytes, or gives up on an error; returns what it wrote. */
static uint64_t write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  uint64_t done = 0;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    len -= (size_t)n;
    done += (uint64_t)n;
  }
  return done;
}

/* Writes len bytes of data into the trace at fd: 0, or the errno value of
 * the write that failed.  Into a FIFO, a reader that went away is EPIPE;
 * past the file-size limit, EFBIG: never a signal that kills the program
 * (report.h: quiet_write). */
static int trace_write(int fd, const void *data, size_t len) {
  struct quiet_write q;
  quiet_write_begin(&q);
  errno = 0;
  uint64_t done = write_all(fd, data, len);
  int err = done == len ? 0 : errno ? errno : EIO;
  quiet_write_end(&q, err);
  trace_bytes += done;
  return err;
}

/* Whether fd refers to the trace file. */
static int is_trace_file(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == trace_dev && st.st_ino == trace_ino &&
         (!trace_regular || (S_ISREG(st.st_mode) && (uint64_t)st.st_size == trace_bytes));
}

/* Moves fd to a number of 64 or more, away from the low numbers a program
 * expects open(2) to give it (after closing descriptor 0, say).  Keeps fd
 * where it is if that fails. */
static int fd_high(int fd) {
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 64);
  if (high < 0) return fd;
  close(fd);
  return high;
}

/* "hawkalloc: HAWKALLOC_TRACE=PATH: PROBLEM". */
static void trace_say(const char *problem, int err, int at_start) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: HAWKALLOC_TRACE=");
  line_quote(&l, option_text(OPTION_TRACE));
  line_str(&l, ": ");
  line_str(&l, problem);
  if (err) {
    line_str(&l, " (errno ");
    line_dec(&l, (uint64_t)err);
    line_str(&l, ")");
  }
  line_str(&l, "; not tracing");
  if (at_start)
    line_write(&l, 2);
  else
    line_write_stderr(&l);
}

/* The trace's write failed with err: one line, not tracing from here on. */
static void trace_say_write_failed(int err, int at_start) {
  trace_say(trace_fifo && err == EPIPE ? "the FIFO's reader went away" : "cannot write", err,
            at_start);
}

/* Whether trace_fd still is the trace file (caller holds bufs.lock).  If the
 * program closed it, the file is opened again by its path (appending, never
 * created or truncated) if the path still names the same file; else tracing
 * stops with one line.  The old number is never closed: it may be the
 * program's now. */
static int trace_fd_ok_locked(void) {
  if (is_trace_file(trace_fd)) return 1;
  /* O_NONBLOCK: a FIFO nobody reads any more fails rather than waits. */
  int fd = open(option_text(OPTION_TRACE), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd >= 0 && is_trace_file(fd)) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    trace_fd = fd_high(fd);
    return 1;
  }
  if (fd >= 0) close(fd);
  trace_fd = -1;
  __atomic_store_n(&trace_enabled, 0, __ATOMIC_RELEASE);
  trace_say("the program closed the trace's descriptor and the path no longer names the trace", 0,
            0);
  return 0;
}

/* Writes the records of one buffer not yet in the file (caller holds
 * bufs.lock).  own: the caller is the buffer's thread (or the thread is
 * gone), which then empties it: the next chunk starts afresh, its deltas
 * from its own base.  Another thread's buffer may be growing as this runs:
 * it is written as far as its fill says and left as it is, and the chunk
 * header's `skip` tells a reader that its first records are already in the
 * file, when the chunk goes out again, longer (its records decode from the
 * chunk's start). */
static void buf_write_locked(struct trace_buf *b, int own) {
  uint64_t fill = __atomic_load_n(&b->fill, __ATOMIC_ACQUIRE);
  uint32_t bytes = FILL_BYTES(fill), count = FILL_COUNT(fill), skip = b->written, zero = 0;
  if (count > skip && trace_fd >= 0) {
    int saved = errno;
    memcpy(b->chunk, CHUNK_MARK, 4);
    memcpy(b->chunk + 4, &bytes, 4);
    memcpy(b->chunk + 8, &count, 4);
    memcpy(b->chunk + 12, &b->thread, 4);
    memcpy(b->chunk + 16, &skip, 4);
    memcpy(b->chunk + 20, &zero, 4);
    memcpy(b->chunk + 24, &b->base, 8);
    int err = trace_fd_ok_locked() ? trace_write(trace_fd, b->chunk, CHUNK_HEADER + bytes) : 0;
    if (err) {
      close(trace_fd); /* just shown to be the trace's */
      trace_fd = -1;
      __atomic_store_n(&trace_enabled, 0, __ATOMIC_RELEASE);
      trace_say_write_failed(err, 0);
    }
    errno = saved;
    b->written = count;
  }
  if (!own) return;
  b->written = 0;
  __atomic_store_n(&b->fill, 0, __ATOMIC_RELAXED);
  b->base = b->last;
  b->prev = 0;
}

/* The trace's write(2), open(2), close(2) and nanosleep are cancellation
 * points; malloc is none (POSIX).  A thread with a cancellation pending
 * that wrote a chunk from malloc was cancelled there, inside the
 * allocator, with the trace's lock held: its own exit and every other
 * thread's next chunk then waited for the lock for ever.  Each piece of
 * work that reaches those calls runs with cancellation off (no signal
 * handler runs these: the exit-time flush may, and the call is one
 * store of the thread's own state in the C library). */
static int cancel_off(void) {
  int old = PTHREAD_CANCEL_ENABLE;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}

static void cancel_restore(int old) {
  int ignored;
  pthread_setcancelstate(old, &ignored);
}

/* Writes b out under the lock, with cancellation off (cancel_off). */
static void buf_write_own(struct trace_buf *b) {
  int old = cancel_off();
  bufs_take();
  buf_write_locked(b, 1);
  pthread_mutex_unlock(&bufs.lock);
  cancel_restore(old);
}

/* At thread exit: the thread's last records go out. */
static void thread_done(void *arg) { buf_write_own(arg); }

/* Whether the file at fd already holds the trace of another live process
 * (a parent that passed HAWKALLOC_TRACE on to this one). */
static int owned_by_another(int fd) {
  unsigned char h[TRACE_HEADER_SIZE];
  if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "HAWKTRC", 8) != 0) return 0;
  uint32_t pid;
  memcpy(&pid, h + 20, sizeof pid);
  return (pid_t)pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Opens the FIFO at path (st: what stat said) for writing.  Never for reading
 * and writing: the library would be the FIFO's reader itself and wait for
 * ever once the pipe is full, and a reader waiting for a writer would see
 * the end of the file when it closes the descriptor again.  Not at all when
 * nobody reads (O_NONBLOCK: ENXIO); the writes wait for the reader. */
static int open_fifo(const char *path, const struct stat *st) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat now;
  if (fd < 0) return -1;
  if (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
    close(fd);
    errno = ENXIO; /* another file put there since the stat */
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

#define OPEN_SILENT (-2) /* open_empty: another process's trace (not a failure) */

/* Opens the trace file at path empty, or returns -1 with errno set (no
 * access), or OPEN_SILENT (another process's trace).  A regular file with
 * data in it (the trace of an earlier run) is replaced by a new file rather
 * than truncated: on a file system that journals data order (ext4),
 * truncating a file whose pages are still being written back waits for
 * them, a millisecond or more at every start of a traced program (and a
 * second hard link keeps the old trace).  Only a file that is the
 * library's to replace is: a regular file, not a symbolic link, owned by
 * this user (a file of another user is not made this user's).  Any other
 * regular file is truncated in place; a device is written to as it is, a
 * FIFO as open_fifo says.  Nothing else is ever removed.  A file made here is 0600
 * (docs/security.md). */
static int open_empty(const char *path) {
  struct stat st, link;
  if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) return open_fifo(path, &st);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return -1;
  if (owned_by_another(fd)) {
    close(fd);
    return OPEN_SILENT;
  }
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0 && lstat(path, &link) == 0 && S_ISREG(link.st_mode) &&
      link.st_ino == st.st_ino && link.st_dev == st.st_dev && link.st_uid == geteuid() &&
      unlink(path) == 0) {
    close(fd);
    /* Exclusive: of two processes starting at once, one traces. */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    return fd < 0 && errno == EEXIST ? OPEN_SILENT : fd;
  }
  if (S_ISFIFO(st.st_mode)) {
    close(fd); /* a FIFO put there since the stat: never the library's own reader */
    errno = ENXIO;
    return -1;
  }
  if (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

void trace_init(void) {
  const char *path = option_text(OPTION_TRACE);
  if (path == NULL) return;
  int saved = errno;
  int fd = open_empty(path);
  struct stat st;
  if (fd == -1) trace_say("cannot open", errno, 1);
  if (fd < 0 || fstat(fd, &st) != 0 || pthread_key_create(&trace_key, thread_done) != 0) {
    if (fd >= 0) close(fd);
    errno = saved;
    return;
  }
  trace_dev = st.st_dev;
  trace_ino = st.st_ino;
  trace_regular = S_ISREG(st.st_mode);
  trace_fifo = S_ISFIFO(st.st_mode);
  trace_start_ns = now_ns();
  seq_uses_tsc = kernel_clock_is_tsc();
  seq_start = seq_clock();
  unsigned char h[TRACE_HEADER_SIZE] = "HAWKTRC";
  uint32_t version = TRACE_VERSION, hsize = TRACE_HEADER_SIZE, rsize = 0 /* variable */,
           pid = (uint32_t)getpid();
  memcpy(h + 8, &version, 4);
  memcpy(h + 12, &hsize, 4);
  memcpy(h + 16, &rsize, 4);
  memcpy(h + 20, &pid, 4);
  memcpy(h + 24, &trace_start_ns, 8);
  trace_bytes = 0;
  int err = trace_write(fd, h, sizeof h);
  if (err) {
    close(fd);
    trace_say_write_failed(err, 1);
    errno = saved;
    return;
  }
  lseek(fd, 0, SEEK_END);
  trace_fd = fd_high(fd);
  errno = saved;
  __atomic_store_n(&trace_enabled, 1, __ATOMIC_RELEASE);
}

/* This thread's buffer, mapped on first use; NULL if the OS refuses. */
static struct trace_buf *buf_self(void) {
  if (trace_self) return trace_self;
  void *p;
  if (os_map(sizeof(struct trace_buf), os_page_size(), &p) != 0) return NULL;
  struct trace_buf *b = p;
  b->thread = __atomic_fetch_add(&next_thread, 1, __ATOMIC_RELAXED);
  if (b->thread >= 2) __atomic_store_n(&seq_threads, 1, __ATOMIC_SEQ_CST);
  bufs_take();
  b->next = bufs.head;
  bufs.head = b;
  pthread_mutex_unlock(&bufs.lock);
  trace_self = b;
  pthread_setspecific(trace_key, b);
  return b;
}

static inline unsigned char *put_varint(unsigned char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (unsigned char)v;
  return p;
}

/* A pointer's delta d as a varint's value: d shifted right by 4
 * (arithmetic), its low 4 bits moved into the top 4 (exclusive or), then
 * zigzag.  A delta between 16-byte aligned pointers takes the varint of
 * |d| / 8; any other is still exact (about 9 bytes). */
static inline uint64_t ptr_code(uint64_t d) {
  uint64_t x = (uint64_t)((int64_t)d >> 4) ^ (d << 60);
  return x << 1 ^ (uint64_t)((int64_t)x >> 63);
}

void trace_record(enum trace_op op, const void *result, size_t size, uintptr_t aux, int heap) {
  struct trace_buf *b = buf_self();
  if (b == NULL) return;
  uint64_t fill = b->fill; /* only this thread changes it (others read it) */
  if (FILL_BYTES(fill) > CHUNK_ROOM - RECORD_MAX) {
    buf_write_own(b);
    fill = 0;
  }
  uint64_t seq = b->last + 1;
  if (__atomic_load_n(&seq_threads, __ATOMIC_ACQUIRE)) {
    uint64_t clock = ((seq_clock() - seq_start) << 8) | (b->tick++ & 0xff);
    if (clock > seq) seq = clock;
  }
  unsigned char *start = b->chunk + CHUNK_HEADER + FILL_BYTES(fill), *p = start + 1;
  unsigned flags = (unsigned)op;
  uint64_t res = (uintptr_t)result;
  if (seq - b->last != 1) {
    flags |= REC_SEQ;
    p = put_varint(p, seq - b->last);
  }
  if (res != b->prev) {
    flags |= REC_RESULT;
    p = put_varint(p, ptr_code(res - b->prev));
  }
  if (size != 0) {
    flags |= REC_SIZE;
    p = put_varint(p, size);
  }
  if (aux != 0) {
    flags |= REC_AUX;
    p = put_varint(p, op == TRACE_REALLOC ? ptr_code((uint64_t)aux - res) : aux);
  }
  if (heap != 0) {
    flags |= REC_HEAP;
    p = put_varint(p, (uint64_t)(((uint32_t)heap << 1) ^ (uint32_t)(heap >> 31)));
  }
  *start = (unsigned char)flags;
  b->last = seq;
  b->prev = res;
  __atomic_store_n(&b->fill, fill + (uint64_t)(p - start) + ((uint64_t)1 << 32), __ATOMIC_RELEASE);
}

/* Writes every buffer out (caller holds bufs.lock). */
static void flush_all_locked(void) {
  for (struct trace_buf *b = bufs.head; b; b = b->next) buf_write_locked(b, b == trace_self);
}

void trace_flush_all(void) {
  if (!__atomic_load_n(&trace_enabled, __ATOMIC_ACQUIRE)) return;
  int old = cancel_off();
  bufs_take();
  flush_all_locked();
  pthread_mutex_unlock(&bufs.lock);
  cancel_restore(old);
}

void trace_flush_at_exit(void) {
  if (!__atomic_load_n(&trace_enabled, __ATOMIC_ACQUIRE)) return;
  /* exit() called from a signal handler that interrupted a flush finds this
   * thread holding the lock: one line rather than a wait for ever.  Another
   * thread's hold ends soon, so look a few times. */
  int old = cancel_off();
  for (int i = 0; i < 20; i++) {
    if (pthread_mutex_trylock(&bufs.lock) == 0) {
      flush_all_locked();
      pthread_mutex_unlock(&bufs.lock);
      cancel_restore(old);
      return;
    }
    struct timespec ms = {0, 5000000};
    nanosleep(&ms, NULL);
  }
  cancel_restore(old);
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: HAWKALLOC_TRACE=");
  line_quote(&l, option_text(OPTION_TRACE));
  line_str(&l, ": the last records not written at exit: the trace is locked (exit called while "
               "the allocator ran: from a signal handler?)");
  line_write_stderr(&l);
}

void trace_after_fork_child(void) {
  /* The parent's records are the parent's to write; the child stops. */
  trace_enabled = 0;
  mutex_reset(&bufs.lock);
  bufs.head = NULL;
  trace_self = NULL;
  if (is_trace_file(trace_fd)) close(trace_fd); /* not a file of the program's */
  trace_fd = -1;
}

void hawk_trace_flush(void) { trace_flush_all(); }
