/* snapshot.h - the heap snapshot (hawk_map_write) and its two hooks for the
 * core.
 *
 * The library only takes the picture: a compact binary snapshot of the
 * heap and the address space (docs/snapshot-format.md, include/hawksnap.h);
 * the hawk tool draws it (`hawk render`, tools/render.c).  hawk_map_write
 * itself is declared in include/hawkalloc.h.  Nothing here allocates: the
 * snapshot goes through one buffer mapped on first use to write(2), so it
 * can be taken at exit, from a signal handler and under load.
 */
#ifndef HAWK_SNAPSHOT_H
#define HAWK_SNAPSHOT_H

#include "config.h"

/* HAWKALLOC_MAP=PATH: writes a snapshot to PATH.  Call from the library's
 * exit destructor; does nothing when the option is not set. */
HAWK_INTERNAL void map_on_exit(void);

/* HAWKALLOC_MAP=PATH: maps the snapshot's buffer and installs a SIGUSR2
 * handler that writes numbered snapshots next to PATH (PATH-0001.snap,
 * PATH-0002.snap, ... with a trailing ".snap" of PATH taken off first; a
 * forked child writes PATH-PID-0001.snap, ...).  Call once at
 * initialisation, after the options are loaded; it takes no lock and
 * allocates nothing from the heap.  Does nothing when the option is not
 * set.  See snapshot.c for how a frame is taken safely when the signal
 * interrupts the allocator. */
HAWK_INTERNAL void map_install_signal(void);

/* In a fork child: the thread that was writing a snapshot when another
 * thread forked does not exist there, so its claim on the buffer and any
 * frame it left pending are dropped (the child would otherwise wait for it
 * for ever). */
HAWK_INTERNAL void snapshot_after_fork_child(void);

#endif /* HAWK_SNAPSHOT_H */
