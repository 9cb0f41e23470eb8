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
HAWK_INTERNAL void line_ptr(struct line *l, const void *p); /* like printf("%p") */
HAWK_INTERNAL void line_hex(struct line *l, uint64_t v);    /* 0x... */
HAWK_INTERNAL void line_dec(struct line *l, uint64_t v);
/* Appends a newline and writes the line to fd in one call. */
HAWK_INTERNAL void line_write(struct line *l, int fd);

/* Writes "hawkalloc: CALL(PTR): PROBLEM" to stderr and aborts.  Callers must
 * hold no lock: a SIGABRT handler may allocate. */
HAWK_INTERNAL _Noreturn void report_misuse(const char *call, const void *ptr, const char *problem);

/* Writes "hawkalloc: CALL: PROBLEM" to stderr and aborts (no pointer to
 * name).  Callers must hold no lock. */
HAWK_INTERNAL _Noreturn void report_fatal(const char *call, const char *problem);

/* Writes "hawkalloc: WHAT" plus a pointer to stderr (used by hawk_check). */
HAWK_INTERNAL void report_problem(const char *what, const void *where, const char *detail);

#endif /* HAWK_REPORT_H */
