/* walk.c - hawk_walk: every block of every arena and every large block,
 * described for tools (the heap snapshot, the lab).  Built on the same
 * arena walker as hawk_check and the statistics. */
#include "hawk.h"
#include "hawkalloc.h"
#include "large.h"
#include "process.h"
#include "userheap.h"

/* Calls the visitor with lock_callback naming hawk_walk: a visitor that
 * calls into the library and waits for a lock the walk holds is reported,
 * not left waiting for ever (lock.h). */
static void walk_call(hawk_visit_fn visit, void *ctx, const struct hawk_block_info *info) {
  const char *was = lock_callback;
  lock_callback = "hawk_walk";
  visit(ctx, info);
  lock_callback = was;
}

struct walk_ctx {
  hawk_visit_fn visit;
  void *ctx;
  int heap;
  const struct arena *arena;
  size_t count;
};

/* Describes one arena block to the visitor. */
static void walk_visit(void *ctx, const block *b) {
  struct walk_ctx *w = ctx;
  struct hawk_block_info info = {
      .address = (uintptr_t)b,
      .size = block_size(b),
      .payload = (uintptr_t)block_payload(b),
      .state = HAWK_BLOCK_FREE,
      .heap = w->heap,
      .region = (uintptr_t)w->arena,
      .region_size = ARENA_SIZE,
  };
  if (block_is_alloc(b)) {
    /* A freed block waiting in a thread cache (or on a remote list) is
     * allocated in the heap's eyes; its mark in the payload tells. */
    int cached = block_size(b) <= TCACHE_MAX_BLOCK && tcache_marked(block_payload(b));
    info.state = cached ? HAWK_BLOCK_CACHED : HAWK_BLOCK_ALLOCATED;
  }
  walk_call(w->visit, w->ctx, &info);
  w->count++;
}

void walk_large_mapping(hawk_visit_fn visit, void *ctx, int heap, const void *map,
                        size_t payload_off, size_t map_len) {
  const block *b = block_of_payload((const char *)map + payload_off);
  struct hawk_block_info info = {
      .address = (uintptr_t)b,
      .size = map_len - payload_off + BLOCK_HEADER,
      .payload = (uintptr_t)block_payload(b),
      .state = HAWK_BLOCK_LARGE,
      .heap = heap,
      .region = (uintptr_t)map,
      .region_size = map_len,
  };
  walk_call(visit, ctx, &info);
}

/* Describes one large block to the visitor. */
static void walk_large(void *ctx, const struct large_header *l) {
  struct walk_ctx *w = ctx;
  walk_large_mapping(w->visit, w->ctx, -1, l, l->payload_off, l->map_len);
  w->count++;
}

size_t walk_arenas_locked(const struct heap *h, int id, hawk_visit_fn visit, void *ctx) {
  struct walk_ctx w = {.visit = visit, .ctx = ctx, .heap = id};
  for (const struct arena *a = h->arenas; a; a = arena_next(a)) {
    w.arena = a;
    arena_walk(a, walk_visit, &w);
  }
  return w.count;
}

/* heaps_each's visit of one heap for hawk_walk. */
static void walk_one(struct heap *h, unsigned i, void *ctx) {
  struct walk_ctx *w = ctx;
  w->count += walk_arenas_locked(h, (int)i, w->visit, w->ctx);
}

size_t hawk_walk(hawk_visit_fn visit, void *ctx) {
  hawk_ensure_ready();
  struct walk_ctx w = {.visit = visit, .ctx = ctx};
  heaps_each(walk_one, &w, 0);
  large_each(walk_large, &w);
  w.count += userheap_walk(visit, ctx);
  return w.count;
}
