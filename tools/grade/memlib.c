/* memlib.c - the heap of memlib.h.  256 MiB of address space are reserved
 * with no access; mem_sbrk opens whole pages up to the new break, so a
 * stray write past the heap faults where it happens. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memlib.h"

#define MEM_MAX_HEAP ((size_t)256 << 20)

static char *mem_lo;    /* start of the reservation */
static char *mem_brk;   /* the break: one past the last heap byte */
static char *mem_open;  /* one past the last accessible byte */
static size_t mem_page; /* page size */

void mem_init(void) {
  long page = sysconf(_SC_PAGESIZE);
  mem_page = page > 0 ? (size_t)page : 4096;
  void *p = mmap(NULL, MEM_MAX_HEAP, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    perror("memlib: cannot reserve the heap");
    exit(3);
  }
  mem_lo = mem_brk = mem_open = p;
}

void mem_deinit(void) {
  munmap(mem_lo, MEM_MAX_HEAP);
  mem_lo = mem_brk = mem_open = NULL;
}

/* Empties the heap: its pages become inaccessible again. */
void mem_reset_brk(void) {
  if (mem_open > mem_lo) {
    mprotect(mem_lo, (size_t)(mem_open - mem_lo), PROT_NONE);
    madvise(mem_lo, (size_t)(mem_open - mem_lo), MADV_DONTNEED);
  }
  mem_brk = mem_open = mem_lo;
}

void *mem_sbrk(intptr_t incr) {
  if (incr < 0 || (size_t)incr > MEM_MAX_HEAP - (size_t)(mem_brk - mem_lo)) {
    errno = ENOMEM;
    return (void *)-1;
  }
  char *old = mem_brk;
  char *end = mem_brk + incr;
  if (end > mem_open) {
    size_t want = ((size_t)(end - mem_lo) + mem_page - 1) / mem_page * mem_page;
    if (mprotect(mem_open, (size_t)(mem_lo + want - mem_open), PROT_READ | PROT_WRITE) != 0) {
      errno = ENOMEM;
      return (void *)-1;
    }
    mem_open = mem_lo + want;
  }
  mem_brk = end;
  return old;
}

void *mem_heap_lo(void) { return mem_lo; }
void *mem_heap_hi(void) { return mem_brk - 1; }
size_t mem_heapsize(void) { return (size_t)(mem_brk - mem_lo); }
size_t mem_pagesize(void) { return mem_page; }
