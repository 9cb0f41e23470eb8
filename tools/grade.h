/* grade.h - what grade.c asks of grade_map.c (`hawk grade --map`). */
#ifndef HAWK_GRADE_H
#define HAWK_GRADE_H

#include <stdint.h>

/* Draws the grader's heap file heapfile (grade_ops.h: the heap's size and
 * each live payload) as an SVG picture into svg, titled title, live the
 * payload bytes: rows of the heap, the payloads blue, every other byte grey
 * (the allocator's headers, padding and free blocks: the grader cannot
 * tell them apart).  0, or -1 when a file could not be read or written. */
int grade_draw(const char *heapfile, const char *svg, const char *title, uint64_t live);

#endif /* HAWK_GRADE_H */
