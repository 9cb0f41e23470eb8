/* report.h - messages to stderr without allocating.
 *
 * Everything is formatted into a fixed buffer on the stack and written with
 * one write(2), so reporting works inside the allocator, under its locks,
 * and when the heap itself is broken.
 */
#ifndef HAWK_REPORT_H
#define HAWK_REPORT_H

#include "config.h"

/* A line being built in a fixed buffer; text past the end is dropped. */
struct line {
  char buf[256];
  size_t len;
};

HAWK_INTERNAL void line_str(struct line *l, const char *s);
/* A value the line quotes (a variable's, a path, a name the program gave):
 * at most LINE_QUOTE_MAX characters, then "...", so that the rest of the
 * line (what is wrong, what is used instead) is never dropped. */
#define LINE_QUOTE_MAX 120
HAWK_INTERNAL void line_quote(struct line *l, const char *s);
HAWK_INTERNAL void line_ptr(struct line *l, const void *p); /* like printf("%p") */
HAWK_INTERNAL void line_hex(struct line *l, uint64_t v);    /* 0x... */
HAWK_INTERNAL void line_dec(struct line *l, uint64_t v);
/* Appends a newline and writes the line to fd in one call. */
HAWK_INTERNAL void line_write(struct line *l, int fd);

/* Remembers which file descriptor 2 is (its device and inode), once, at
 * start-up; a closed descriptor 2 is remembered as closed. */
HAWK_INTERNAL void report_stderr_init(void);

/* Whether fd refers to the file descriptor 2 was at start-up (never when
 * descriptor 2 was closed then).  Allocates nothing; async-signal-safe. */
HAWK_INTERNAL int report_is_stderr(int fd);

/* Like line_write(l, 2), but only while descriptor 2 still is the file it
 * was at start-up: for what is written at exit, from a signal handler or
 * after the program may have closed descriptor 2 and opened a file of its
 * own in its place (docs/security.md).  The line is dropped otherwise. */
HAWK_INTERNAL void line_write_stderr(struct line *l);

/* Writes "hawkalloc: CALL(PTR): PROBLEM" to stderr and aborts.  Callers must
 * hold no lock: a SIGABRT handler may allocate. */
HAWK_INTERNAL _Noreturn HAWK_COLD void report_misuse(const char *call, const void *ptr,
                                                     const char *problem);

/* Writes "hawkalloc: CALL: PROBLEM" to stderr and aborts (no pointer to
 * name).  Callers must hold no lock. */
HAWK_INTERNAL _Noreturn HAWK_COLD void report_fatal(const char *call, const char *problem);

/* Writes "hawkalloc: WHAT" plus a pointer to stderr (used by hawk_check). */
HAWK_INTERNAL void report_problem(const char *what, const void *where, const char *detail);

/* Around the library's writes (its lines on stderr, its trace's and
 * snapshots' files): a pipe's reader may go away (SIGPIPE), a file may
 * reach the process's file-size limit (RLIMIT_FSIZE, `ulimit -f`:
 * SIGXFSZ), and either signal's default action kills the program.
 * quiet_write_begin blocks both in this thread; quiet_write_end(q, err)
 * takes back the one a write that failed with err (EPIPE, EFBIG) raised,
 * unless one was pending before, and restores the mask.  The program is
 * never killed for the library's own write; the failed write is the
 * library's to report, or, for a line on stderr, lost.  Async-signal-safe. */
struct quiet_write {
  uint64_t old;     /* the kernel's signal mask (system calls: no PLT entry in the
                       start-up window) */
  uint64_t pending; /* of the two, those pending before */
};
HAWK_INTERNAL HAWK_COLD void quiet_write_begin(struct quiet_write *q);
HAWK_INTERNAL HAWK_COLD void quiet_write_end(struct quiet_write *q, int err);

/* Writes "hawkalloc: assertion failed at FILE:LINE: COND" to stderr and
 * aborts (HAWK_ASSERT). */
HAWK_INTERNAL _Noreturn HAWK_COLD void report_assert(const char *file, int line, const char *cond);

/* Internal assertions, by level (config.h: HAWK_ASSERT_LEVEL): HAWK_ASSERT
 * for a cheap test on values at hand (level 1 and up), HAWK_ASSERT_EXPENSIVE
 * for one that walks (level 2).  Compiled out below their level: the
 * condition is not evaluated, so it may name what only the test builds
 * compute.  The caller must be able to abort where it stands (a lock held
 * is fine: nothing runs after). */
#define HAWK_ASSERT(cond)                                                                          \
  do {                                                                                             \
    if (HAWK_ASSERT_LEVEL >= 1 && !(cond)) report_assert(__FILE__, __LINE__, #cond);               \
  } while (0)
#define HAWK_ASSERT_EXPENSIVE(cond)                                                                \
  do {                                                                                             \
    if (HAWK_ASSERT_LEVEL >= 2 && !(cond)) report_assert(__FILE__, __LINE__, #cond);               \
  } while (0)

#endif /* HAWK_REPORT_H */
