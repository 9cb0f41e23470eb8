/* mm.c - a small malloc-lab allocator: an implicit free list searched first
 * fit, with boundary tags and immediate coalescing.  The reference example
 * of `hawk grade` (docs/lab.md, "Grade an allocator"):
 *
 *   build/hawk grade examples/mm.c
 *
 * The heap, from mem_heap_lo(), in 8-byte words:
 *
 *   | pad | prologue hdr | prologue ftr | block | block | ... | epilogue hdr |
 *
 * Every block starts with a header word (its size, a multiple of 16, with
 * bit 0 set when it is allocated) and ends with a copy of it, the footer.
 * The payload follows the header, so it is 16-byte aligned when the header
 * sits 8 bytes past a multiple of 16.  The prologue (an allocated block of
 * 16 bytes) and the epilogue (a header of size 0, allocated) spare the code
 * every test for the heap's two ends.  The free blocks are found by walking
 * all blocks from the start: simple, and slow when there are many. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memlib.h"
#include "mm.h"

#define WORD      8u  /* header and footer size */
#define ALIGN     16u /* payload alignment */
#define MIN_BLOCK 32u
#define CHUNK     4096u /* the least the heap grows by */

static char *first_block; /* the payload of the prologue */

static size_t word_get(const char *p) {
  size_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static void word_put(char *p, size_t v) { memcpy(p, &v, sizeof v); }

/* Header and footer of the block whose payload is bp. */
static char *header(char *bp) { return bp - WORD; }
static size_t block_size(char *bp) { return word_get(header(bp)) & ~(size_t)0xf; }
static int is_allocated(char *bp) { return (int)(word_get(header(bp)) & 1); }
static char *footer(char *bp) { return bp + block_size(bp) - 2 * WORD; }
static char *next_block(char *bp) { return bp + block_size(bp); }
static char *prev_block(char *bp) { return bp - (word_get(bp - 2 * WORD) & ~(size_t)0xf); }

/* Writes header and footer of the block at bp. */
static void mark(char *bp, size_t size, int allocated) {
  word_put(header(bp), size | (size_t)allocated);
  word_put(footer(bp), size | (size_t)allocated);
}

/* Merges the free block bp with its free neighbours; returns the result. */
static char *coalesce(char *bp) {
  size_t size = block_size(bp);
  char *next = next_block(bp), *prev = prev_block(bp);
  if (!is_allocated(next)) size += block_size(next);
  if (!is_allocated(prev)) {
    size += block_size(prev);
    bp = prev;
  }
  mark(bp, size, 0);
  return bp;
}

/* Grows the heap by bytes (a multiple of 16): a new free block where the
 * epilogue was, then a new epilogue.  Returns the block, coalesced. */
static char *extend(size_t bytes) {
  char *bp = mem_sbrk((intptr_t)bytes);
  if (bp == (void *)-1) return NULL;
  mark(bp, bytes, 0);
  word_put(header(next_block(bp)), 1);
  return coalesce(bp);
}

int mm_init(void) {
  char *p = mem_sbrk(4 * WORD);
  if (p == (void *)-1) return -1;
  word_put(p, 0);                   /* padding */
  word_put(p + WORD, 2 * WORD | 1); /* prologue header */
  word_put(p + 2 * WORD, 2 * WORD | 1);
  word_put(p + 3 * WORD, 1); /* epilogue header */
  first_block = p + 2 * WORD;
  return 0;
}

/* The block size for a request: header and footer, rounded to 16. */
static size_t adjusted(size_t size) {
  size_t a = (size + 2 * WORD + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  return a < MIN_BLOCK ? MIN_BLOCK : a;
}

/* First fit: the first free block of at least asize bytes, or NULL. */
static char *find_fit(size_t asize) {
  for (char *bp = first_block; block_size(bp) > 0; bp = next_block(bp))
    if (!is_allocated(bp) && block_size(bp) >= asize) return bp;
  return NULL;
}

/* Allocates asize bytes at the start of the free block bp; the rest, when
 * it can make a block, stays free. */
static void place(char *bp, size_t asize) {
  size_t size = block_size(bp);
  if (size - asize >= MIN_BLOCK) {
    mark(bp, asize, 1);
    mark(next_block(bp), size - asize, 0);
  } else {
    mark(bp, size, 1);
  }
}

void *mm_malloc(size_t size) {
  if (size == 0 || size > ((size_t)1 << 40)) return NULL;
  size_t asize = adjusted(size);
  char *bp = find_fit(asize);
  if (!bp) {
    bp = extend(asize > CHUNK ? asize : CHUNK);
    if (!bp) return NULL;
  }
  place(bp, asize);
  return bp;
}

void mm_free(void *ptr) {
  if (!ptr) return;
  char *bp = ptr;
  mark(bp, block_size(bp), 0);
  coalesce(bp);
}

/* Shrinks in place, grows into a free next block when it is big enough,
 * else moves. */
void *mm_realloc(void *ptr, size_t size) {
  if (!ptr) return mm_malloc(size);
  if (size == 0) {
    mm_free(ptr);
    return NULL;
  }
  char *bp = ptr;
  size_t asize = adjusted(size), have = block_size(bp);
  if (asize <= have) return bp;
  char *next = next_block(bp);
  if (!is_allocated(next) && have + block_size(next) >= asize) {
    size_t total = have + block_size(next);
    if (total - asize >= MIN_BLOCK) {
      mark(bp, asize, 1);
      mark(next_block(bp), total - asize, 0);
    } else {
      mark(bp, total, 1);
    }
    return bp;
  }
  char *np = mm_malloc(size);
  if (!np) return NULL;
  memcpy(np, bp, have - 2 * WORD);
  mm_free(bp);
  return np;
}
