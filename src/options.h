/* options.h - every HAWKALLOC_* environment variable, read once. */
#ifndef HAWK_OPTIONS_H
#define HAWK_OPTIONS_H

#include "config.h"

enum option_id {
  OPTION_POLICY,      /* HAWKALLOC_POLICY: placement policy name */
  OPTION_STATS,       /* HAWKALLOC_STATS: print statistics at exit when set to 1 */
  OPTION_HEAPS,       /* HAWKALLOC_HEAPS: number of heaps (0: two per CPU) */
  OPTION_TRACE,       /* HAWKALLOC_TRACE: file to record every allocation call in */
  OPTION_MAP,         /* HAWKALLOC_MAP: SVG file for heap pictures (at exit, on SIGUSR2) */
  OPTION_DEBUG,       /* HAWKALLOC_DEBUG: canaries and fill patterns when 1 */
  OPTION_CHECK_EVERY, /* HAWKALLOC_CHECK_EVERY: run hawk_check every N calls */
  OPTION_COUNT
};

/* Reads the environment into the options table.  Allocates nothing, so it
 * can run inside the first malloc. */
HAWK_INTERNAL void options_load(void);

/* The option's text as found in the environment, or its default. */
HAWK_INTERNAL const char *option_text(enum option_id id);

/* The option read as a non-negative integer (0 when not a number). */
HAWK_INTERNAL long option_long(enum option_id id);

#endif /* HAWK_OPTIONS_H */
