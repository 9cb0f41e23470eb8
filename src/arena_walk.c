/* arena_walk.c - the walk of an arena's blocks, checking the layout
 * invariants as it goes.  See arena.h (arena_walk).  hawk_check, hawk_walk
 * and the heap pictures call it, never an allocation's path: outside the
 * 64 KiB window of the code every process runs (the Makefile's LIB_FIRST). */
#include "arena.h"
#include "report.h"

/* Reports one problem found by the walk. */
static int walk_problem(const block *b, const char *what) {
  report_problem("check: block", b, what);
  return 1;
}

/* Checks one block's own fields; returns problems (0 or 1). */
static int block_verify(const struct arena *a, const block *b, int prev_free) {
  size_t size = block_size(b);
  if (!block_header_ok(b)) return walk_problem(b, "header check tag is wrong (overwritten?)");
  if (size < BLOCK_MIN || size % HAWK_ALIGN != 0) return walk_problem(b, "bad size");
  if ((char *)b + size > (char *)arena_epilogue(a)) return walk_problem(b, "runs past the arena");
  if (block_is_large(b)) return walk_problem(b, "large-block flag inside an arena");
  if (block_prev_alloc(b) == prev_free) return walk_problem(b, "PREV_ALLOC bit disagrees");
  if (!block_is_alloc(b) && *block_footer(b) != *block_word(b))
    return walk_problem(b, "footer differs from header");
  if (!block_is_alloc(b) && prev_free) return walk_problem(b, "two free blocks side by side");
  return 0;
}

int arena_walk(const struct arena *a, void (*visit)(void *ctx, const block *b), void *ctx) {
  const block *pro = arena_prologue(a);
  if (!block_header_ok(pro) || block_size(pro) != HAWK_ALIGN || !block_is_alloc(pro))
    return walk_problem(pro, "prologue damaged");
  int prev_free = 0;
  const block *b = arena_first(a), *end = arena_epilogue(a);
  while (b < end) {
    if (block_verify(a, b, prev_free)) return 1; /* sizes cannot be trusted past here */
    visit(ctx, b);
    prev_free = !block_is_alloc(b);
    b = block_next(b);
  }
  if (b != end) return walk_problem(b, "blocks do not end at the epilogue");
  if (!block_header_ok(end) || block_size(end) != 0 || !block_is_alloc(end))
    return walk_problem(end, "epilogue damaged");
  if (block_prev_alloc(end) == prev_free) return walk_problem(end, "epilogue PREV_ALLOC wrong");
  return 0;
}
