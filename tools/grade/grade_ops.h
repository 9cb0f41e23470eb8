/* grade_ops.h - the file through which `hawk grade` hands a trace to the
 * grader it compiled (the student's mm.c with memlib.c and driver.c): a
 * header, then one record per call.  The grader writes the op it is at
 * into the header as it goes, so that hawk can say where a crash or a hang
 * happened.  OPS_FILE.heap, when asked for, is text: "heap SIZE" (the heap's
 * bytes then), then "OFFSET LENGTH SLOT" for each live payload in address
 * order, offsets from mem_heap_lo().  OPS_FILE.calls, when asked for (header
 * field calls), is text with one line per call of the checked replay,
 * "OP OFFSET LENGTH HEAP": the payload the call placed (offset from
 * mem_heap_lo(), -1 and 0 for a free or a NULL result) and the heap's size
 * (mem_sbrk's break) after it; the record a `hawk grade --view` page is
 * to be built from. */
#ifndef GRADE_OPS_H
#define GRADE_OPS_H

#include <stdint.h>

#define GRADE_MAGIC "HAWKGRD1"

enum grade_kind { GRADE_MALLOC = 1, GRADE_FREE = 2, GRADE_REALLOC = 3 };

enum grade_phase { GRADE_CHECKING = 1, GRADE_TIMING = 2, GRADE_LIBC = 3, GRADE_DONE = 4 };

struct grade_header {
  char magic[8];
  uint64_t nops;
  uint64_t nslots;
  volatile uint64_t at;    /* the op being run (written by the grader) */
  volatile uint64_t phase; /* enum grade_phase */
  uint64_t map_op;         /* after this op (0-based), the grader writes the
                              heap's live payloads to OPS_FILE.heap; or
                              UINT64_MAX: never */
  uint64_t calls;          /* nonzero: write OPS_FILE.calls */
};

struct grade_op {
  uint32_t kind; /* enum grade_kind */
  uint32_t slot; /* the block's id; UINT32_MAX: free(NULL) */
  uint64_t size;
};

#endif /* GRADE_OPS_H */
