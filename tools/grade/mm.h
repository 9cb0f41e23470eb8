/* mm.h - the interface a malloc-lab allocator implements, as `hawk grade`
 * compiles it (written for HawkAlloc's lab).
 *
 *   mm_init     sets the allocator up on a fresh, empty heap; 0, or -1
 *   mm_malloc   a payload of at least size bytes, aligned (16 bytes unless
 *               hawk grade --align says otherwise), inside the heap; NULL
 *               only when the heap cannot grow
 *   mm_free     gives back a block mm_malloc or mm_realloc returned
 *   mm_realloc  as realloc: NULL acts as mm_malloc, size 0 as mm_free; the
 *               first min(old, new) bytes are preserved
 *
 * The heap is the one memlib.h describes: it grows only through mem_sbrk. */
#ifndef MM_H
#define MM_H

#include <stddef.h>

int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *ptr);
void *mm_realloc(void *ptr, size_t size);

/* Some course kits ask for a team record in mm.c; the grader prints its
 * name when there is one and needs none. */
typedef struct {
  char *teamname;
  char *name1;
  char *id1;
  char *name2;
  char *id2;
} team_t;

#endif /* MM_H */
