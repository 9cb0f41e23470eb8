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
#include "options.h"
#include "os.h"
#include "report.h"

#define TRACE_VERSION     2
#define TRACE_HEADER_SIZE 32

struct trace_rec {
  uint64_t seq;
  uint32_t thread;
  uint8_t op;
  uint8_t reserved[3];
  uint64_t result;
  uint64_t size;
  uint64_t aux;
  int32_t heap; /* version 2: 0 the default heap, else a created heap's id */
  uint32_t reserved2;
};
_Static_assert(sizeof(struct trace_rec) == 48, "trace record must be 48 bytes");

struct trace_buf {
  struct trace_buf *next; /* every buffer, for the flush at exit */
  uint32_t thread;
  uint32_t count;
  uint32_t tick; /* low 8 bits of seq */
  uint64_t last; /* the thread's last seq */
  struct trace_rec rec[(TRACE_BUFFER_BYTES - 32) / sizeof(struct trace_rec)];
};
#define TRACE_RECORDS (sizeof(((struct trace_buf *)0)->rec) / sizeof(struct trace_rec))

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
} bufs = {PTHREAD_MUTEX_INITIALIZER, NULL};

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

#define SIGPIPE_BIT (1ull << (SIGPIPE - 1)) /* in the kernel's 64-bit signal set */

void quiet_pipe_begin(struct quiet_pipe *q) {
  uint64_t pending = 0, block = SIGPIPE_BIT;
  q->was_pending =
      syscall(SYS_rt_sigpending, &pending, sizeof pending) == 0 && (pending & SIGPIPE_BIT) != 0;
  q->old = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &q->old, sizeof block);
}

void quiet_pipe_end(struct quiet_pipe *q, int epipe) {
  uint64_t only = SIGPIPE_BIT;
  struct timespec zero = {0, 0};
  if (epipe && !q->was_pending) syscall(SYS_rt_sigtimedwait, &only, NULL, &zero, sizeof only);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &q->old, NULL, sizeof q->old);
}

/* Writes len bytes of data into the trace at fd: 0, or the errno value of
 * the write that failed.  Into a FIFO, a reader that went away is EPIPE,
 * never a SIGPIPE that kills the program (trace.h: quiet_pipe). */
static int trace_write(int fd, const void *data, size_t len) {
  struct quiet_pipe q;
  if (trace_fifo) quiet_pipe_begin(&q);
  errno = 0;
  uint64_t done = write_all(fd, data, len);
  int err = done == len ? 0 : errno ? errno : EIO;
  if (trace_fifo) quiet_pipe_end(&q, err == EPIPE);
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
  line_str(&l, option_text(OPTION_TRACE));
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

/* Writes the records of one buffer and empties it (caller holds bufs.lock). */
static void buf_write_locked(struct trace_buf *b) {
  if (b->count == 0 || trace_fd < 0) return;
  int saved = errno;
  int err =
      trace_fd_ok_locked() ? trace_write(trace_fd, b->rec, b->count * sizeof(struct trace_rec)) : 0;
  if (err) {
    close(trace_fd); /* just shown to be the trace's */
    trace_fd = -1;
    __atomic_store_n(&trace_enabled, 0, __ATOMIC_RELEASE);
    trace_say_write_failed(err, 0);
  }
  errno = saved;
  b->count = 0;
}

/* At thread exit: the thread's last records go out. */
static void thread_done(void *arg) {
  struct trace_buf *b = arg;
  pthread_mutex_lock(&bufs.lock);
  buf_write_locked(b);
  pthread_mutex_unlock(&bufs.lock);
}

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
  if (path[0] == 0) return;
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
  uint32_t version = TRACE_VERSION, hsize = TRACE_HEADER_SIZE, rsize = sizeof(struct trace_rec),
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
  pthread_mutex_lock(&bufs.lock);
  b->next = bufs.head;
  bufs.head = b;
  pthread_mutex_unlock(&bufs.lock);
  trace_self = b;
  pthread_setspecific(trace_key, b);
  return b;
}

void trace_record(enum trace_op op, const void *result, size_t size, uintptr_t aux, int heap) {
  struct trace_buf *b = buf_self();
  if (b == NULL) return;
  if (b->count == TRACE_RECORDS) {
    pthread_mutex_lock(&bufs.lock);
    buf_write_locked(b);
    pthread_mutex_unlock(&bufs.lock);
  }
  struct trace_rec *r = &b->rec[b->count];
  uint64_t seq = b->last + 1;
  if (__atomic_load_n(&seq_threads, __ATOMIC_ACQUIRE)) {
    uint64_t clock = ((seq_clock() - seq_start) << 8) | (b->tick++ & 0xff);
    if (clock > seq) seq = clock;
  }
  b->last = r->seq = seq;
  r->thread = b->thread;
  r->op = (uint8_t)op;
  memset(r->reserved, 0, sizeof r->reserved);
  r->result = (uintptr_t)result;
  r->size = size;
  r->aux = aux;
  r->heap = heap;
  r->reserved2 = 0;
  b->count++;
}

void trace_flush_all(void) {
  if (!__atomic_load_n(&trace_enabled, __ATOMIC_ACQUIRE)) return;
  pthread_mutex_lock(&bufs.lock);
  for (struct trace_buf *b = bufs.head; b; b = b->next) buf_write_locked(b);
  pthread_mutex_unlock(&bufs.lock);
}

void trace_after_fork_child(void) {
  /* The parent's records are the parent's to write; the child stops. */
  trace_enabled = 0;
  pthread_mutex_init(&bufs.lock, NULL);
  bufs.head = NULL;
  trace_self = NULL;
  if (is_trace_file(trace_fd)) close(trace_fd); /* not a file of the program's */
  trace_fd = -1;
}

void hawk_trace_flush(void) { trace_flush_all(); }
