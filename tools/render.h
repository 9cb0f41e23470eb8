/* render.h - what the two files of a heap picture share: render.c draws
 * the page, its figures and view 1 (the arenas), render_space.c view 2
 * (the address space).  Only those two include it.
 */
#ifndef HAWK_RENDER_H
#define HAWK_RENDER_H

#include <stdint.h>

#include "hawksnap.h"
#include "svg.h"

#define CANVAS_W    1500
#define ARENA_BYTES ((uint64_t)4 << 20) /* an arena: what a strip is drawn to */

/* View 2: a region of the address space. */
enum region_kind {
  K_PROGRAM,
  K_BRK,
  K_LIB,
  K_FILE,
  K_ANON,
  K_ARENA,
  K_LARGE,
  K_CACHED,
  K_REGISTRY,
  K_KERNEL,
  K_STACK,
  K_COUNT
};

/* View 2 starts empty for snapshot s (render_svg_opts). */
void space_begin(const struct snapshot *s);
/* One of HawkAlloc's regions (an arena, a large mapping...) for view 2. */
void hawk_region_add(uintptr_t start, uint64_t size, int kind, uint32_t count);
/* The snapshot's copy of /proc/self/maps, read into view 2's regions. */
void maps_read(void);
/* Draws view 2 from y = top; returns the y below it. */
int view2(struct out *o, int top);
/* The last component of path. */
const char *base_name(const char *path);

#endif /* HAWK_RENDER_H */
