/* unit_arena.c - arena layout, registry, frontier, cache and walk. */
#include <errno.h>

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

/* Wild values as free reads them from memory: opaque to the compiler, so
 * that the registry's range test is the one thing between them and an
 * entry past its top level. */
static volatile uintptr_t wild[] = {~(uintptr_t)0, (uintptr_t)1 << 48, (uintptr_t)1 << 63,
                                    ((uintptr_t)1 << 48) - 1 + ((uintptr_t)1 << 48)};

TEST(registry_knows_nothing_of_foreign_memory) {
  unit_init();
  int local;
  CHECK(registry_lookup(&local) == CHUNK_NONE);
  CHECK(registry_lookup((void *)0x1000) == CHUNK_NONE);
  for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++)
    CHECK(registry_lookup((void *)wild[i]) == CHUNK_NONE);
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
  for (size_t i = 1; i < sizeof wild / sizeof wild[0]; i++) /* 16-aligned, in an arena's chunk */
    CHECK(registry_lookup_payload((void *)((uintptr_t)p | (wild[i] & ~(uintptr_t)15))) ==
          CHUNK_NONE);
  CHECK(registry_lookup_payload(NULL) == CHUNK_NONE);
  /* A range no leaf covers reads the zero leaf, which is no leaf of ours:
   * only the leaves mapped are listed. */
  size_t leaves = 0;
  CHECK(registry_leaves(count_leaf, &leaves) >= 1);
  CHECK(leaves >= 1 && leaves < 8);
  CHECK(registry_lookup((void *)((uintptr_t)1 << 46)) == CHUNK_NONE);
  arena_release(a);
}

/* The index of the first of n neighbouring entries of the top level that
 * no leaf covers yet, from a quarter of the address space up (64 TiB, far
 * from what the kernel maps for a program); 0 if none.  The registry keeps
 * one byte per chunk and reads nothing at the chunks' addresses, so ranges
 * there can be marked with nothing mapped. */
static size_t empty_entries(size_t n) {
  for (size_t i = REGISTRY_TOP / 4; i + n <= REGISTRY_TOP; i++) {
    size_t k = 0;
    while (k < n &&
           __atomic_load_n(&registry_top[i + k], __ATOMIC_ACQUIRE) == REGISTRY_EMPTY(i + k))
      k++;
    if (k == n) return i;
  }
  return 0;
}

/* A large mapping's range across the boundary between two leaves: its
 * first chunk is the kind, every other chunk the follow kind, on both
 * sides; nothing before it or past its end is marked.  A range reaching
 * past the registry's 48 bits is refused and marks nothing. */
TEST(registry_marks_a_range_chunk_by_chunk_across_a_leaf_boundary) {
  unit_init();
  size_t i = empty_entries(2);
  REQUIRE(i != 0);
  char *edge =
      (char *)((uintptr_t)(i + 1) << REGISTRY_TOP_SHIFT); /* the second leaf's first byte */
  char *start = edge - 2 * ARENA_SIZE;
  REQUIRE(registry_mark(start, 4 * ARENA_SIZE, CHUNK_LARGE, CHUNK_LARGE_MORE) == 0);
  CHECK(registry_lookup(start - 1) == CHUNK_NONE);
  CHECK(registry_lookup(start) == CHUNK_LARGE);
  CHECK(registry_lookup(start + ARENA_SIZE - 1) == CHUNK_LARGE);
  CHECK(registry_lookup(start + ARENA_SIZE) == CHUNK_LARGE_MORE);
  CHECK(registry_lookup(edge - 1) == CHUNK_LARGE_MORE);
  CHECK(registry_lookup(edge) == CHUNK_LARGE_MORE);
  CHECK(registry_lookup(edge + 2 * ARENA_SIZE - 1) == CHUNK_LARGE_MORE);
  CHECK(registry_lookup(edge + 2 * ARENA_SIZE) == CHUNK_NONE);
  /* One byte past a whole chunk reaches into the next chunk. */
  REQUIRE(registry_mark(edge, ARENA_SIZE + 1, CHUNK_FREED, CHUNK_FREED) == 0);
  CHECK(registry_lookup(edge - 1) == CHUNK_LARGE_MORE);
  CHECK(registry_lookup(edge) == CHUNK_FREED);
  CHECK(registry_lookup(edge + ARENA_SIZE) == CHUNK_FREED);
  CHECK(registry_lookup(edge + 2 * ARENA_SIZE) == CHUNK_NONE);
  char *top = (char *)(((uintptr_t)1 << ADDRESS_BITS) - ARENA_SIZE);
  CHECK(registry_prepare(top, ARENA_SIZE + 1) == ENOMEM);
  CHECK(registry_mark(top, 2 * ARENA_SIZE, CHUNK_LARGE, CHUNK_LARGE_MORE) == ENOMEM);
  CHECK(registry_lookup(top) == CHUNK_NONE);
  CHECK(registry_mark(start, 4 * ARENA_SIZE, CHUNK_NONE, CHUNK_NONE) == 0);
}

/* registry_runs, in a window of four leaves' entries: a run is of one kind
 * and of neighbouring chunks (across a boundary between two leaves that
 * are both mapped, not across a leaf never mapped); the chunks that are
 * not ours are no run.  The leaves listed grow by those the marks mapped. */
struct runs_seen {
  uintptr_t lo, hi; /* the window */
  size_t n;
  struct {
    uintptr_t addr;
    size_t count;
    enum chunk_kind kind;
  } run[8];
};

static void run_seen(void *ctx, uintptr_t addr, size_t count, enum chunk_kind kind) {
  struct runs_seen *s = ctx;
  if (addr + count * ARENA_SIZE <= s->lo || addr >= s->hi) return;
  if (s->n < 8) {
    s->run[s->n].addr = addr;
    s->run[s->n].count = count;
    s->run[s->n].kind = kind;
  }
  s->n++;
}

TEST(registry_runs_are_of_one_kind_and_of_neighbouring_chunks) {
  unit_init();
  size_t i = empty_entries(4), leaves_before = 0, leaves_after = 0;
  REQUIRE(i != 0);
  registry_leaves(count_leaf, &leaves_before);
  uintptr_t edge = (uintptr_t)(i + 1) << REGISTRY_TOP_SHIFT;
  uintptr_t gap_before = ((uintptr_t)(i + 2) << REGISTRY_TOP_SHIFT) - ARENA_SIZE;
  uintptr_t gap_after = (uintptr_t)(i + 3) << REGISTRY_TOP_SHIFT; /* leaf i + 2 never mapped */
  REQUIRE(registry_mark((void *)(edge - 2 * ARENA_SIZE), 4 * ARENA_SIZE, CHUNK_LARGE,
                        CHUNK_LARGE_MORE) == 0);
  REQUIRE(registry_mark((void *)(edge + 2 * ARENA_SIZE), ARENA_SIZE, CHUNK_ARENA, CHUNK_ARENA) ==
          0);
  REQUIRE(registry_mark((void *)gap_before, ARENA_SIZE, CHUNK_HEAP_ARENA, CHUNK_HEAP_ARENA) == 0);
  REQUIRE(registry_mark((void *)gap_after, ARENA_SIZE, CHUNK_HEAP_ARENA, CHUNK_HEAP_ARENA) == 0);
  registry_leaves(count_leaf, &leaves_after);
  CHECK(leaves_after == leaves_before + 3);
  struct runs_seen s = {.lo = (uintptr_t)i << REGISTRY_TOP_SHIFT,
                        .hi = (uintptr_t)(i + 4) << REGISTRY_TOP_SHIFT};
  registry_runs(run_seen, &s);
  const struct {
    uintptr_t addr;
    size_t count;
    enum chunk_kind kind;
  } want[] = {{edge - 2 * ARENA_SIZE, 1, CHUNK_LARGE},
              {edge - ARENA_SIZE, 3, CHUNK_LARGE_MORE},
              {edge + 2 * ARENA_SIZE, 1, CHUNK_ARENA},
              {gap_before, 1, CHUNK_HEAP_ARENA},
              {gap_after, 1, CHUNK_HEAP_ARENA}};
  CHECK(s.n == sizeof want / sizeof want[0]);
  for (size_t k = 0; k < s.n && k < sizeof want / sizeof want[0]; k++) {
    CHECK(s.run[k].addr == want[k].addr);
    CHECK(s.run[k].count == want[k].count);
    CHECK(s.run[k].kind == want[k].kind);
  }
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
    CHECK(registry_mark((void *)want[k].addr, want[k].count * ARENA_SIZE, CHUNK_NONE, CHUNK_NONE) ==
          0);
}

TEST_MAIN()
