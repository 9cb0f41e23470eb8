/* report.c - fixed-buffer formatting and the misuse message.  See report.h. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* What descriptor 2 was at start-up. */
static struct {
  int open;
  dev_t dev;
  ino_t ino;
} start_stderr;

/* fstat without the C library's fstat: that is fstatat(fd, "", ...) with
 * its "" in a part of its read-only data a program that never calls fstat
 * does not touch (the kernel's read of it faulted 64 KiB of it in at
 * start-up), and fstatat lies 24 KiB from anything else such a program
 * runs.  On x86-64 the kernel's struct stat is the C library's, and
 * syscall is the function os.c calls for getrandom; elsewhere, fstatat
 * with an empty path of the library's own. */
static int stat_fd(int fd, struct stat *st) {
#if defined(__x86_64__) && defined(SYS_fstat)
  return syscall(SYS_fstat, fd, st) == 0 ? 0 : -1;
#else
  static const char empty[1] = "";
  return fstatat(fd, empty, st, AT_EMPTY_PATH);
#endif
}

/* First in the file: the one function of it every process runs, at the
 * end of the 64 KiB window of that code (the Makefile's LIB_FIRST). */
void report_stderr_init(void) {
  struct stat st;
  int saved = errno; /* a closed descriptor 2 is the program's business */
  if (stat_fd(2, &st) != 0) {
    errno = saved;
    return;
  }
  start_stderr.dev = st.st_dev;
  start_stderr.ino = st.st_ino;
  start_stderr.open = 1;
}

void line_str(struct line *l, const char *s) {
  while (*s && l->len < sizeof l->buf - 1) l->buf[l->len++] = *s++;
}

void line_quote(struct line *l, const char *s) {
  size_t n = 0;
  while (s[n] && n < LINE_QUOTE_MAX && l->len < sizeof l->buf - 1) l->buf[l->len++] = s[n++];
  if (s[n]) line_str(l, "...");
}

void line_hex(struct line *l, uint64_t v) {
  char digits[17];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  line_str(l, "0x");
  while (n > 0 && l->len < sizeof l->buf - 1) l->buf[l->len++] = digits[--n];
}

void line_ptr(struct line *l, const void *p) {
  if (p == NULL)
    line_str(l, "(nil)");
  else
    line_hex(l, (uint64_t)(uintptr_t)p);
}

void line_dec(struct line *l, uint64_t v) {
  char digits[21];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0 && l->len < sizeof l->buf - 1) l->buf[l->len++] = digits[--n];
}

/* In the kernel's 64-bit signal set. */
#define SIGPIPE_BIT (1ull << (SIGPIPE - 1))
#define SIGXFSZ_BIT (1ull << (SIGXFSZ - 1))

void quiet_write_begin(struct quiet_write *q) {
  uint64_t pending = 0, block = SIGPIPE_BIT | SIGXFSZ_BIT;
  q->pending = syscall(SYS_rt_sigpending, &pending, sizeof pending) == 0 ? pending & block : block;
  q->old = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &q->old, sizeof block);
}

void quiet_write_end(struct quiet_write *q, int err) {
  uint64_t raised = err == EPIPE ? SIGPIPE_BIT : err == EFBIG ? SIGXFSZ_BIT : 0;
  struct timespec zero = {0, 0};
  if (raised & ~q->pending) syscall(SYS_rt_sigtimedwait, &raised, NULL, &zero, sizeof raised);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &q->old, NULL, sizeof q->old);
}

void line_write(struct line *l, int fd) {
  /* One line, whatever a value or path quoted in it holds (an environment
   * variable may hold a newline): control characters become '?'. */
  for (size_t i = 0; i < l->len; i++)
    if ((unsigned char)l->buf[i] < 0x20 || l->buf[i] == 0x7f) l->buf[i] = '?';
  l->buf[l->len++] = '\n';
  const char *p = l->buf;
  size_t left = l->len;
  /* A stderr that is a pipe nobody reads, or a file at the size limit,
   * loses the line: the program goes on (a warning at start-up, the
   * statistics at exit), as under the C library's malloc, which says
   * nothing. */
  int saved = errno, err = 0;
  struct quiet_write q;
  quiet_write_begin(&q);
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : 0;
      break;
    }
    p += n;
    left -= (size_t)n;
  }
  quiet_write_end(&q, err);
  errno = saved;
  l->len = 0;
}

int report_is_stderr(int fd) {
  int saved = errno;
  struct stat st;
  int same = start_stderr.open && fd >= 0 && stat_fd(fd, &st) == 0 &&
             st.st_dev == start_stderr.dev && st.st_ino == start_stderr.ino;
  errno = saved;
  return same;
}

void line_write_stderr(struct line *l) {
  if (report_is_stderr(2))
    line_write(l, 2);
  else
    l->len = 0;
}

/* Writes "hawkalloc: WHAT<open>PTR<close>: DETAIL" to stderr: the one line
 * of a misuse report and of a problem hawk_check found. */
static void line_about(const char *what, const char *open, const void *ptr, const char *close,
                       const char *detail) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: ");
  line_str(&l, what);
  line_str(&l, open);
  line_ptr(&l, ptr);
  line_str(&l, close);
  line_str(&l, ": ");
  line_str(&l, detail);
  line_write(&l, 2);
}

void report_misuse(const char *call, const void *ptr, const char *problem) {
  line_about(call, "(", ptr, ")", problem);
  abort();
}

void report_fatal(const char *call, const char *problem) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: ");
  line_str(&l, call);
  line_str(&l, ": ");
  line_str(&l, problem);
  line_write(&l, 2);
  abort();
}

void report_assert(const char *file, int line, const char *cond) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: assertion failed at ");
  line_str(&l, file);
  line_str(&l, ":");
  line_dec(&l, (uint64_t)line);
  line_str(&l, ": ");
  line_str(&l, cond);
  line_write(&l, 2);
  abort();
}

void report_problem(const char *what, const void *where, const char *detail) {
  line_about(what, " ", where, "", detail);
}
