/* trace.h - recording every allocation call (HAWKALLOC_TRACE=FILE).
 *
 * The file format is in docs/trace-format.md.  Each thread appends records
 * to a buffer of its own, mapped with mmap; a full buffer is written to the
 * file with one write(2).  Nothing here allocates.
 */
#ifndef HAWK_TRACE_H
#define HAWK_TRACE_H

#include "config.h"

enum trace_op {
  TRACE_MALLOC = 1,
  TRACE_FREE = 2,
  TRACE_CALLOC = 3,
  TRACE_REALLOC = 4,
  TRACE_ALIGNED = 5,
  TRACE_HEAP_CREATE = 6,  /* result: the handle, size: the limit */
  TRACE_HEAP_DESTROY = 7, /* result: the handle */
};

/* Set once tracing has started; the API layer tests it on every call. */
HAWK_INTERNAL extern int trace_enabled;

/* Opens the trace file named by HAWKALLOC_TRACE, if any (from init). */
HAWK_INTERNAL void trace_init(void);

/* Appends one record to this thread's buffer; heap: 0 for the default
 * heap, else the created heap's id (hawk_heap_id). */
HAWK_INTERNAL void trace_record(enum trace_op op, const void *result, size_t size, uintptr_t aux,
                                int heap);

/* Records a call of the default heap if tracing is on. */
static inline void trace_note(enum trace_op op, const void *result, size_t size, uintptr_t aux) {
  if (unlikely(trace_enabled)) trace_record(op, result, size, aux, 0);
}

/* Writes every buffer out (at exit, from process.c, and from
 * hawk_trace_flush). */
HAWK_INTERNAL void trace_flush_all(void);
/* trace_flush_all at exit: one line instead when its lock stays held (exit
 * called from a signal handler that interrupted a flush of this thread's). */
HAWK_INTERNAL void trace_flush_at_exit(void);

/* In a forked child: stop tracing (the parent owns the file). */
HAWK_INTERNAL void trace_after_fork_child(void);

#endif /* HAWK_TRACE_H */
