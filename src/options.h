/* options.h - every HAWKALLOC_* environment variable, read once. */
#ifndef HAWK_OPTIONS_H
#define HAWK_OPTIONS_H

#include "config.h"

enum option_id {
  OPTION_POLICY,      /* HAWKALLOC_POLICY: placement policy name */
  OPTION_STATS,       /* HAWKALLOC_STATS: print statistics at exit when set to 1 */
  OPTION_HEAPS,       /* HAWKALLOC_HEAPS: number of heaps (0: two per CPU) */
  OPTION_TRACE,       /* HAWKALLOC_TRACE: file to record every allocation call in */
  OPTION_MAP,         /* HAWKALLOC_MAP: heap snapshot file (at exit; frames on SIGUSR2) */
  OPTION_DEBUG,       /* HAWKALLOC_DEBUG: canaries and fill patterns when 1 */
  OPTION_CHECK_EVERY, /* HAWKALLOC_CHECK_EVERY: run hawk_check every N calls */
  OPTION_TCACHE,      /* HAWKALLOC_TCACHE: 0 turns the thread caches off and uses one
                         heap (textbook mode: every call meets the placement policy) */
  OPTION_DECAY_MS,    /* HAWKALLOC_DECAY_MS: free pages go back to the OS after this
                         many ms (0: never, but by malloc_trim); decay.h */
  OPTION_COUNT
};

/* Reads the environment into the options table and checks every value: a
 * malformed or out-of-range one gets one line on stderr naming the value
 * used instead.  In secure execution (getauxval(AT_SECURE): setuid, setgid,
 * file capabilities) every HAWKALLOC_* variable is ignored, with one line
 * if any was set.  Allocates nothing, so it can run inside the first
 * malloc. */
HAWK_INTERNAL void options_load(void);

/* The option's text as found in the environment; NULL when the variable is
 * not set (or is empty, or in secure execution). */
HAWK_INTERNAL const char *option_text(enum option_id id);

/* A switch (0 or 1) or number option's value, as checked by options_load;
 * HAWKALLOC_HEAPS is the number of heaps (0 and unset made two per CPU). */
HAWK_INTERNAL long option_long(enum option_id id);

#endif /* HAWK_OPTIONS_H */
