/* map.h - the heap picture (hawk_map_write) and its two hooks for the core.
 *
 * hawk_map_write itself is declared in include/hawkalloc.h.  Nothing here
 * allocates: the picture is formatted into a static buffer and written with
 * write(2), so it can run at exit, from a signal handler and under load.
 */
#ifndef HAWK_MAP_H
#define HAWK_MAP_H

#include "config.h"

/* HAWKALLOC_MAP=PATH: writes the picture to PATH.  Call from the library's
 * exit destructor; does nothing when the option is not set. */
HAWK_INTERNAL void map_on_exit(void);

/* HAWKALLOC_MAP=PATH: installs a SIGUSR2 handler that writes numbered frames
 * next to PATH (PATH-0001.svg, PATH-0002.svg, ... with a trailing ".svg" of
 * PATH taken off first; a forked child writes PATH-PID-0001.svg, ...).  Call
 * once at initialisation, after the options are loaded; it allocates
 * nothing.  Does nothing when the option is not set.  See map.c for how a
 * frame is taken safely when the signal interrupts the allocator. */
HAWK_INTERNAL void map_install_signal(void);

#endif /* HAWK_MAP_H */
