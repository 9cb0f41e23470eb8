/* unit_arena.c - arena layout, registry, frontier, cache and walk. */
#include "arena.h"
#include "harness.h"
#include "registry.h"
#include "unit.h"

static int walked, walked_free;
static void count_block(void *ctx, const block *b) {
  (void)ctx;
  walked++;
  walked_free += !block_is_alloc(b);
}

TEST(new_arena_is_aligned_registered_and_one_free_block) {
  unit_init();
  struct arena *a;
  REQUIRE(arena_create(unit_owner(), &a) == 0);
  CHECK(((uintptr_t)a & (ARENA_SIZE - 1)) == 0);
  CHECK(a->magic == ARENA_MAGIC);
  CHECK(arena_heap(a) == unit_owner());
  CHECK(registry_lookup(a) == CHUNK_ARENA);
  CHECK(registry_lookup((char *)a + ARENA_SIZE - 1) == CHUNK_ARENA);
  CHECK(arena_of((char *)a + 12345) == a);
  block *f = arena_first(a);
  CHECK(((uintptr_t)block_payload(f) & 15) == 0);
  CHECK(!block_is_alloc(f) && block_size(f) == ARENA_SPAN && block_prev_alloc(f));
  CHECK(block_next(f) == arena_epilogue(a));
  walked = walked_free = 0;
  CHECK(arena_walk(a, count_block, NULL) == 0);
  CHECK(walked == 1 && walked_free == 1);
  /* Fresh pages are zero past the first block's header and links. */
  CHECK(a->frontier == (char *)f + BLOCK_MIN);
  arena_release(a);
  arena_cache_flush();
}

TEST(walk_sees_a_split_arena_and_catches_damage) {
  unit_init();
  struct arena *a;
  REQUIRE(arena_create(unit_owner(), &a) == 0);
  block *b1 = arena_first(a);
  block_set_alloc(b1, 64, BLOCK_PREV_ALLOC);
  block *b2 = block_next(b1);
  block_set_free(b2, ARENA_SPAN - 64, BLOCK_PREV_ALLOC);
  walked = walked_free = 0;
  CHECK(arena_walk(a, count_block, NULL) == 0);
  CHECK(walked == 2 && walked_free == 1);
  /* An overflow from b1 into b2's header. */
  uint64_t saved = *block_word(b2);
  ((unsigned char *)b2)[0] ^= 0x40;
  fprintf(stderr, "    (a report of a damaged header is expected next)\n");
  CHECK(arena_walk(a, count_block, NULL) != 0);
  *block_word(b2) = saved;
  /* A wrong PREV_ALLOC bit. */
  block_set_prev_alloc(b2, 0);
  fprintf(stderr, "    (a report of a PREV_ALLOC problem is expected next)\n");
  CHECK(arena_walk(a, count_block, NULL) != 0);
  block_set_prev_alloc(b2, 1);
  CHECK(arena_walk(a, count_block, NULL) == 0);
  block_set_free(arena_first(a), ARENA_SPAN, BLOCK_PREV_ALLOC);
  arena_release(a);
  arena_cache_flush();
}

TEST(frontier_moves_past_handed_out_blocks_only) {
  unit_init();
  struct arena *a;
  REQUIRE(arena_create(unit_owner(), &a) == 0);
  char *start = a->frontier;
  arena_mark_used(a, arena_first(a), 1024);
  CHECK(a->frontier == (char *)arena_first(a) + 1024 + BLOCK_MIN);
  arena_mark_used(a, arena_first(a), 64); /* behind the frontier: no change */
  CHECK(a->frontier == (char *)arena_first(a) + 1024 + BLOCK_MIN);
  arena_mark_used(a, arena_first(a), ARENA_SPAN);
  CHECK(a->frontier == (char *)arena_epilogue(a));
  CHECK(start < a->frontier);
  arena_release(a);
  arena_cache_flush();
}

TEST(cache_keeps_a_few_empty_arenas_and_unmaps_the_rest) {
  unit_init();
  arena_cache_flush();
  struct arena *a[ARENA_CACHE_MAX + 2];
  for (int i = 0; i < ARENA_CACHE_MAX + 2; i++) REQUIRE(arena_create(unit_owner(), &a[i]) == 0);
  for (int i = 0; i < ARENA_CACHE_MAX + 2; i++) arena_release(a[i]);
  CHECK(arena_cache_count() == ARENA_CACHE_MAX);
  CHECK(arena_cache_check() == 0);
  /* The arenas that did not fit in the cache are gone from the registry. */
  int freed = 0;
  for (int i = 0; i < ARENA_CACHE_MAX + 2; i++) freed += registry_lookup(a[i]) == CHUNK_ARENA_FREED;
  CHECK(freed == 2);
  /* Reuse comes from the cache, and a reused arena counts as dirty. */
  struct arena *r;
  REQUIRE(arena_create(unit_owner(), &r) == 0);
  CHECK(arena_cache_count() == ARENA_CACHE_MAX - 1);
  CHECK(r->frontier == (char *)r + ARENA_SIZE);
  CHECK(block_size(arena_first(r)) == ARENA_SPAN);
  arena_release(r);
  CHECK(arena_cache_flush() == ARENA_CACHE_MAX);
  CHECK(arena_cache_count() == 0);
}

TEST(registry_knows_nothing_of_foreign_memory) {
  unit_init();
  int local;
  CHECK(registry_lookup(&local) == CHUNK_NONE);
  CHECK(registry_lookup((void *)0x1000) == CHUNK_NONE);
  CHECK(registry_lookup((void *)~(uintptr_t)0) == CHUNK_NONE);
}

static void count_leaf(void *ctx, const void *leaf, size_t len) {
  (void)leaf;
  (void)len;
  ++*(size_t *)ctx;
}

TEST(payload_lookup_refuses_misaligned_and_high_addresses) {
  unit_init();
  struct arena *a;
  REQUIRE(arena_create(unit_owner(), &a) == 0);
  char *p = (char *)a + 4096;
  CHECK(registry_lookup_payload(p) == CHUNK_ARENA);
  CHECK(registry_lookup_payload(p + 8) == CHUNK_NONE);
  CHECK(registry_lookup_payload(p + 1) == CHUNK_NONE);
  CHECK(registry_lookup_payload((void *)((uintptr_t)p | (uintptr_t)1 << 48)) == CHUNK_NONE);
  CHECK(registry_lookup_payload((void *)((uintptr_t)p | (uintptr_t)1 << 63)) == CHUNK_NONE);
  CHECK(registry_lookup_payload(NULL) == CHUNK_NONE);
  /* A range no leaf covers reads the zero leaf, which is no leaf of ours:
   * only the leaves mapped are listed. */
  size_t leaves = 0;
  CHECK(registry_leaves(count_leaf, &leaves) >= 1);
  CHECK(leaves >= 1 && leaves < 8);
  CHECK(registry_lookup((void *)((uintptr_t)1 << 46)) == CHUNK_NONE);
  arena_release(a);
}

TEST_MAIN()
