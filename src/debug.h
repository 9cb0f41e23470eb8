/* debug.h - HAWKALLOC_DEBUG=1 and HAWKALLOC_CHECK_EVERY=N.
 *
 * With HAWKALLOC_DEBUG=1 every block carries, after the bytes the program
 * asked for, an 8-byte canary and (in its last 8 bytes) the size asked for:
 *
 *   payload: | requested bytes (filled with 0xab) | canary 0xca x 8 | ... | n |
 *
 * free checks the canary (an overflow past the end is reported), freed
 * memory is filled with 0xdb and checked when the heap hands it out again
 * (a write after free is reported), and the thread cache is off so every
 * free goes through those checks.  malloc_usable_size then answers exactly
 * the size asked for.  HAWKALLOC_CHECK_EVERY=N runs hawk_check every N
 * calls and stops the program on the first problem.
 */
#ifndef HAWK_DEBUG_H
#define HAWK_DEBUG_H

#include <string.h>

#include "config.h"

#define DEBUG_ALLOC_FILL 0xab
#define DEBUG_FREE_FILL  0xdb
#define DEBUG_CANARY     0xca
/* Bytes a debug block needs beyond the request: the canary and the size. */
#define DEBUG_EXTRA ((size_t)16)

HAWK_INTERNAL extern int debug_enabled;
HAWK_INTERNAL extern long debug_check_every;

/* mallopt(M_PERTURB), as glibc: 0 (off), or a value whose low byte fills
 * the bytes of every block freed and whose low byte XOR 0xff fills the
 * bytes malloc and the aligned calls hand out (not calloc's).  Changed at
 * any time (api.c puts every call on the slow path while it is set). */
HAWK_INTERNAL extern int debug_perturb;

static inline int debug_perturb_now(void) {
  return __atomic_load_n(&debug_perturb, __ATOMIC_RELAXED);
}

/* Fills n bytes handed out at p, when M_PERTURB is set. */
static inline void debug_perturb_alloc(void *p, size_t n) {
  int v = debug_perturb_now();
  if (unlikely(v != 0)) memset(p, (v ^ 0xff) & 0xff, n);
}

/* Fills n bytes being freed at p, when M_PERTURB is set. */
static inline void debug_perturb_free(void *p, size_t n) {
  int v = debug_perturb_now();
  if (unlikely(v != 0)) memset(p, v & 0xff, n);
}

/* Reads HAWKALLOC_DEBUG and HAWKALLOC_CHECK_EVERY (from init). */
HAWK_INTERNAL void debug_init(void);

/* Writes the canary after n bytes at p and n into the block's last word
 * (usable is the block's usable size); fills the n bytes unless zeroed. */
HAWK_INTERNAL void debug_mark(void *p, size_t n, size_t usable, int zeroed);

/* The size asked for of a debug block, after checking its canary; reports
 * an overflow and aborts.  call names the API function. */
HAWK_INTERNAL size_t debug_requested(const void *p, size_t usable, const char *call);

/* Fills freed memory with the free pattern. */
static inline void debug_fill_free(void *p, size_t n) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++) c[i] = DEBUG_FREE_FILL;
}

/* The offset of the first byte of [p, p + n) that is not the free pattern,
 * or n when all are. */
HAWK_INTERNAL size_t debug_find_write(const void *p, size_t n);

#endif /* HAWK_DEBUG_H */
