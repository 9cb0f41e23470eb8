/* memlib.h - the memory system a malloc-lab allocator runs on under
 * `hawk grade`: one heap, which starts empty at a page boundary and grows
 * only through mem_sbrk, up to 256 MiB.  The bytes past the break cannot be
 * read or written: touching them stops the program (hawk grade reports it). */
#ifndef MEMLIB_H
#define MEMLIB_H

#include <stddef.h>
#include <stdint.h>

/* Grows the heap by incr bytes and returns the old break (the first new
 * byte), or (void *)-1 when incr is negative or the heap would pass its
 * limit (errno ENOMEM). */
void *mem_sbrk(intptr_t incr);

void *mem_heap_lo(void);   /* the first byte of the heap */
void *mem_heap_hi(void);   /* the last byte (mem_heap_lo() - 1 when empty) */
size_t mem_heapsize(void); /* bytes between the two */
size_t mem_pagesize(void); /* the system's page size */

/* Used by the grader, not by an allocator. */
void mem_init(void);      /* reserves the heap; empty */
void mem_reset_brk(void); /* empties the heap again */
void mem_deinit(void);

#endif /* MEMLIB_H */
