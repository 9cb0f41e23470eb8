/* arena_clean.c - an empty arena taken back from the cache clean.  See
 * arena.h (arena_take_clean) and docs/design.md ("Empty arenas taken back
 * clean").  Outside the 64 KiB window of the code every process runs (the
 * Makefile's LIB_FIRST): only a program that empties an arena and grows
 * again a while later comes here. */
#include <string.h>

#include "arena.h"
#include "counters.h"
#include "decay.h"
#include "os.h"

/* Whether arena a, just taken from the cache, should come back clean: it
 * waited there ARENA_CACHE_CLEAN_EIGHTHS of the decay's period, so the
 * program is not cycling through arenas (bench/frag's steps take them back
 * within milliseconds), and it takes the footprint past its peak, so that
 * its resident pages would add to the program's peak where a new arena
 * adds only the pages the heap fills. */
static int clean_due(const struct arena *a) {
  if (!decay_on || counters_footprint_now() + ARENA_SIZE <= counters_footprint_peak()) return 0;
  uint32_t now = (uint32_t)(os_clock_coarse_ns() / 1000000u);
  return (uint64_t)(uint32_t)(now - a->cached_ms) * 1000000u * 8 >=
         decay_clock.period_ns * ARENA_CACHE_CLEAN_EIGHTHS;
}

int arena_take_clean(struct arena *a) {
  if (!clean_due(a)) return 0;
  /* Its pages past the first go back; the rest of the first page past a
   * new arena's frontier is cleared: a then reads as a new mapping does. */
  size_t page = os_page_size();
  char *from = (char *)arena_first(a) + BLOCK_MIN;
  if (os_discard((char *)a + page, ARENA_SIZE - page) != 0) return 0;
  memset(from, 0, (size_t)((char *)a + page - from));
  counters_purged(ARENA_SIZE - page);
  a->frontier = from;
  return 1;
}
