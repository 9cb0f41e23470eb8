/* unit_heap.c - the heap: split, coalesce both ways, grow, shrink, release.
 * Every step is followed by heap_check(), the checker behind hawk_check(). */
#include "harness.h"
#include "heap.h"
#include "large.h"
#include "placement.h"
#include "placement_segregated.h"
#include "unit.h"

static struct heap h;

static void fresh_heap(void) {
  unit_init_heap();
  heap_init(&h, unit_policy());
}

static void *take(size_t n) { return heap_alloc(&h, n, HAWK_ALIGN, NULL, HEAP_GROW); }
static block *blk(void *p) { return block_of_payload(p); }

/* Frees everything still allocated in a list and checks the heap ends empty. */
static void drain(void **ps, int n) {
  for (int i = 0; i < n; i++)
    if (ps[i]) heap_free(ps[i], "free");
}

TEST(first_allocation_maps_an_arena_and_splits) {
  fresh_heap();
  void *p = take(100);
  REQUIRE(p != NULL);
  CHECK(((uintptr_t)p & 15) == 0);
  CHECK(h.arena_count == 1);
  CHECK(block_size(blk(p)) == block_size_for(100));
  CHECK(h.splits == 1 && h.free.count == 1);
  CHECK(h.in_use == block_size_for(100));
  CHECK(heap_check(&h) == 0);
  heap_free(p, "free");
  CHECK(h.in_use == 0 && h.free.count == 1);
  CHECK(heap_check(&h) == 0);
}

TEST(free_coalesces_forward_backward_and_both) {
  fresh_heap();
  void *p[5];
  for (int i = 0; i < 5; i++) p[i] = take(64);
  CHECK(heap_check(&h) == 0);
  size_t s = block_size(blk(p[0]));
  heap_free(p[1], "free"); /* neighbours allocated: no merge */
  CHECK(h.coalesces == 0 && h.free.count == 2);
  CHECK(heap_check(&h) == 0);
  heap_free(p[2], "free"); /* backward into p[1] */
  CHECK(h.coalesces == 1 && h.free.count == 2);
  CHECK(!block_is_alloc(blk(p[1])) && block_size(blk(p[1])) == 2 * s);
  CHECK(heap_check(&h) == 0);
  heap_free(p[0], "free"); /* forward into p[1]+p[2] */
  CHECK(h.coalesces == 2 && block_size(blk(p[0])) == 3 * s);
  CHECK(heap_check(&h) == 0);
  heap_free(p[4], "free"); /* forward into the arena's tail */
  CHECK(h.coalesces == 3);
  CHECK(heap_check(&h) == 0);
  heap_free(p[3], "free"); /* both ways at once: back to one block */
  CHECK(h.coalesces == 5 && h.free.count == 1);
  CHECK(block_size(blk(p[0])) == ARENA_SPAN);
  CHECK(heap_check(&h) == 0);
}

TEST(freed_block_is_reused_first_fit) {
  fresh_heap();
  void *a = take(200), *b = take(200), *c = take(200);
  heap_free(b, "free");
  void *d = take(180); /* fits the hole left by b */
  CHECK(d == b);
  CHECK(heap_check(&h) == 0);
  void *ps[] = {a, c, d};
  drain(ps, 3);
  CHECK(heap_check(&h) == 0);
}

TEST(small_remainder_is_not_split) {
  fresh_heap();
  void *a = take(200), *b = take(200), *c = take(200);
  size_t bs = block_size(blk(b));
  heap_free(b, "free");
  /* Leaves less than a minimum block: the whole hole is taken. */
  void *d = take(bs - BLOCK_HEADER - 16);
  CHECK(d == b && block_size(blk(d)) == bs);
  CHECK(heap_check(&h) == 0);
  void *ps[] = {a, c, d};
  drain(ps, 3);
}

TEST(resize_grows_into_the_free_neighbour_and_shrinks_by_splitting) {
  fresh_heap();
  void *a = take(100), *b = take(300), *c = take(100);
  heap_free(b, "free");
  CHECK(heap_resize(a, 350, LARGE_THRESHOLD, "realloc", NULL) == 1);
  CHECK(block_usable(blk(a)) >= 350);
  CHECK(heap_check(&h) == 0);
  /* Nothing free after it any more beyond the small rest: growing far fails. */
  size_t usable = 0;
  CHECK(heap_resize(a, 5000, LARGE_THRESHOLD, "realloc", &usable) == 0);
  CHECK(usable == heap_usable(a, "realloc") && usable >= 350);
  CHECK(heap_check(&h) == 0);
  size_t before = h.free.bytes;
  CHECK(heap_resize(a, 40, LARGE_THRESHOLD, "realloc", NULL) == 1);
  CHECK(block_size(blk(a)) == block_size_for(40));
  CHECK(h.free.bytes > before); /* the tail is free at once */
  void *d = take(200);          /* and reusable */
  CHECK((char *)d > (char *)a && (char *)d < (char *)c);
  CHECK(heap_check(&h) == 0);
  void *ps[] = {a, c, d};
  drain(ps, 3);
  CHECK(heap_check(&h) == 0);
}

TEST(aligned_allocation_leaves_a_reusable_pad) {
  fresh_heap();
  void *first = take(16);
  for (size_t align = 32; align <= 65536; align *= 2) {
    void *p = heap_alloc(&h, 100, align, NULL, HEAP_GROW);
    REQUIRE(p != NULL);
    CHECK(((uintptr_t)p & (align - 1)) == 0);
    CHECK(heap_check(&h) == 0);
    heap_free(p, "free");
    CHECK(heap_check(&h) == 0);
  }
  heap_free(first, "free");
  CHECK(h.free.count == 1 && h.arena_count == 1);
}

TEST(heap_grows_by_arenas_and_releases_empty_ones) {
  fresh_heap();
  enum { N = 40 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = take(512 * 1024 - 64);
  CHECK(h.arena_count >= 5);
  CHECK(heap_check(&h) == 0);
  for (int i = 0; i < N; i++) heap_free(p[i], "free");
  CHECK(h.arena_count == 1); /* the last empty arena stays */
  CHECK(h.in_use == 0);
  CHECK(heap_check(&h) == 0);
  CHECK(arena_cache_count() <= ARENA_CACHE_MAX);
  CHECK(arena_cache_check() == 0);
}

TEST(dirty_bytes_cover_recycled_memory_only) {
  arena_cache_flush(); /* the next arena is a new mapping, never written */
  fresh_heap();
  size_t dirty = 99;
  void *a = heap_alloc(&h, 1000, HAWK_ALIGN, &dirty, HEAP_GROW);
  REQUIRE(a != NULL);
  /* Brand-new arena memory: only the free block's links and the room the
   * frontier keeps for them (BLOCK_MIN past the block's start) were ever
   * written: 24 bytes of payload to zero, not 1000. */
  CHECK(dirty == BLOCK_MIN - BLOCK_HEADER);
  void *c = heap_alloc(&h, 3000, HAWK_ALIGN, &dirty, HEAP_GROW);
  CHECK(dirty == BLOCK_MIN - BLOCK_HEADER); /* the next block, past the frontier: the same */
  heap_free(c, "free");
  memset(a, 0xAB, 1000);
  heap_free(a, "free");
  void *b = heap_alloc(&h, 500, HAWK_ALIGN, &dirty, HEAP_GROW);
  CHECK(b == a && dirty == 500); /* recycled: all of it may be dirty */
  heap_free(b, "free");
}

/* The next block says this one is free (a header with a right tag, as no
 * overflow can forge: only a bug of the heap's own could leave it): free
 * refuses to go on rather than coalesce on a lie. */
static void *lied_about;
static void free_after_the_lie(void *arg) {
  (void)arg;
  heap_free(lied_about, "free");
}

TEST(free_refuses_a_next_block_that_says_this_one_is_free) {
  fresh_heap();
  void *a = take(100), *b = take(100);
  block_set_prev_alloc(blk(b), 0);
  lied_about = a;
  EXPECT_ABORT(free_after_the_lie, NULL, "hawkalloc: free(", "next block's header");
  block_set_prev_alloc(blk(b), 1);
  heap_free(a, "free");
  heap_free(b, "free");
  CHECK(heap_check(&h) == 0);
}

TEST(check_reports_a_counter_that_lies) {
  fresh_heap();
  void *a = take(64);
  h.in_use += 16;
  fprintf(stderr, "    (a report of a counter mismatch is expected next)\n");
  CHECK(heap_check(&h) != 0);
  h.in_use -= 16;
  CHECK(heap_check(&h) == 0);
  heap_free(a, "free");
}

#if HAWK_ASSERT_LEVEL >= 2
static void trim_the_heap(void *arg) {
  (void)arg;
  heap_trim(&h);
}

/* The test builds compile the expensive assertions in (config.h): a trim
 * verifies the whole heap before it lets go of the lock, so a counter that
 * lies stops the program there, not at the next hawk_check. */
TEST(a_trim_of_a_heap_whose_counter_lies_fails_an_assertion) {
  fresh_heap();
  void *a = take(64);
  h.in_use += 16;
  EXPECT_ABORT(trim_the_heap, NULL, "assertion failed at", "heap_give.c",
               "heap_check_locked(h) == 0");
  h.in_use -= 16;
  heap_trim(&h);
  CHECK(heap_check(&h) == 0);
  heap_free(a, "free");
}
#endif

TEST(cached_blocks_wait_on_the_remote_list_while_the_lock_is_busy) {
  fresh_heap();
  void *p[8];
  for (int i = 0; i < 8; i++) {
    p[i] = take(48);
    tcache_mark_set(p[i], tcache_key); /* as if they came out of a thread cache */
  }
  uint64_t in_use = h.in_use;
  lock_take(&h.lock); /* the owner is busy: trylock fails */
  heap_release_cached(p, 8);
  lock_give(&h.lock);
  CHECK(h.in_use == in_use); /* nothing freed yet */
  CHECK(h.remote != NULL);
  for (int i = 0; i < 8; i++) CHECK(tcache_marked(p[i])); /* a second free is still caught */
  CHECK(heap_check(&h) == 0);
  heap_drain(&h);
  CHECK(h.remote == NULL);
  CHECK(h.in_use == 0);
  CHECK(h.free.count == 1);
  CHECK(heap_check(&h) == 0);
}

/* A block waiting on the remote list whose header is overwritten (a write
 * past the end of the block before it) is reported by the drain, before
 * anything is freed: the drain tests its header once (remote_entry_ok),
 * and the free that follows does not test it again. */
static void drain_with_overwritten_header(void *arg) {
  fresh_heap();
  void *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = take(48);
    tcache_mark_set(p[i], tcache_key); /* as if they came out of a thread cache */
  }
  lock_take(&h.lock); /* the owner is busy: they wait */
  heap_release_cached(p, 4);
  lock_give(&h.lock);
  uint64_t *w = block_word(blk(p[0])); /* the first the drain meets */
  *w ^= (uint64_t)(uintptr_t)arg;      /* another size, or the allocated bit cleared */
  heap_drain(&h);
}

TEST(remote_block_with_an_overwritten_header_is_reported) {
  EXPECT_ABORT(drain_with_overwritten_header, (void *)(uintptr_t)0x40, "hawkalloc: free(",
               "waiting to be given back was overwritten");
  EXPECT_ABORT(drain_with_overwritten_header, (void *)(uintptr_t)BLOCK_ALLOC, "hawkalloc: free(",
               "waiting to be given back was overwritten");
  EXPECT_ABORT(drain_with_overwritten_header, (void *)(uintptr_t)0x7f0, "hawkalloc: free(",
               "waiting to be given back was overwritten");
}

/* Blocks left on the remote list are freed by whoever next takes the lock
 * to allocate, one block or a batch, not only by heap_drain. */
static void park_remote(void **p, int n, size_t size) {
  for (int i = 0; i < n; i++) {
    p[i] = take(size);
    tcache_mark_set(p[i], tcache_key);
  }
  lock_take(&h.lock);
  heap_release_cached(p, (size_t)n);
  lock_give(&h.lock);
}

TEST(remote_blocks_are_freed_by_the_next_allocation) {
  fresh_heap();
  void *p[8];
  park_remote(p, 8, 48);
  REQUIRE(h.remote != NULL && h.in_use == 8 * block_size_for(48));
  void *n = take(200);
  CHECK(h.remote == NULL);
  CHECK(h.in_use == block_size_for(200)); /* the eight were freed first */
  park_remote(p, 8, 48);
  REQUIRE(h.remote != NULL);
  void *out[4];
  CHECK(heap_alloc_batch(&h, block_size_for(64), out, 4, 1) == 4);
  CHECK(h.remote == NULL);
  CHECK(h.in_use == block_size_for(200) + 4 * block_size_for(64));
  CHECK(heap_check(&h) == 0);
  for (int i = 0; i < 4; i++) heap_free(out[i], "free");
  heap_free(n, "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* A block waiting on the remote list whose header is sound but whose cache
 * mark (its payload's second word) was overwritten after its free: it is
 * no longer a block that came out of a thread cache as the library left
 * it, and its link (the first word) may be such a write too.  The next
 * allocation, which drains the list under the heap's lock, reports it
 * rather than freeing it. */
static void drain_with_overwritten_mark(void *arg) {
  (void)arg;
  fresh_heap();
  void *p[4];
  park_remote(p, 4, 48);
  ((uint64_t *)p[0])[1] ^= 0x4141414141414141ull; /* the first the drain meets */
  (void)take(200);
}

TEST(remote_block_with_an_overwritten_mark_is_reported) {
  EXPECT_ABORT(drain_with_overwritten_mark, NULL, "hawkalloc: free(",
               "waiting to be given back was overwritten");
}

TEST(cached_blocks_are_freed_at_once_when_the_lock_is_free) {
  fresh_heap();
  void *p[4];
  for (int i = 0; i < 4; i++) {
    p[i] = take(200);
    tcache_mark_set(p[i], tcache_key);
  }
  heap_release_cached(p, 4);
  CHECK(h.remote == NULL && h.in_use == 0);
  for (int i = 0; i < 4; i++) CHECK(!tcache_marked(p[i]) || !block_is_alloc(blk(p[i])));
  CHECK(heap_check(&h) == 0);
}

/* A batch of cached blocks with a run of neighbours, single blocks, and
 * blocks kept in between: exactly the bytes given back leave the count of
 * bytes in use (counted once for the whole batch), every freed block is
 * free, every kept one allocated, and the heap checks. */
TEST(a_cached_batch_counts_exactly_its_bytes_out_of_use) {
  fresh_heap();
  void *p[7];
  size_t sizes[7] = {48, 64, 100, 48, 300, 80, 48};
  for (int i = 0; i < 7; i++) p[i] = take(sizes[i]);
  uint64_t before = h.in_use;
  /* p[1], p[0] (a run, in falling address order), p[3], p[5] go back; p[2],
   * p[4] and p[6] stay. */
  void *batch[4] = {p[1], p[0], p[3], p[5]};
  size_t back = 0;
  for (int i = 0; i < 4; i++) {
    tcache_mark_set(batch[i], tcache_key);
    back += block_size(blk(batch[i]));
  }
  heap_release_cached(batch, 4);
  CHECK(h.in_use == before - back);
  for (int i = 0; i < 7; i++) CHECK(block_is_alloc(blk(p[i])) == (i == 2 || i == 4 || i == 6));
  CHECK(heap_check(&h) == 0);
  heap_free(p[2], "free");
  heap_free(p[4], "free");
  heap_free(p[6], "free");
  CHECK(h.in_use == 0 && h.free.count == 1 && heap_check(&h) == 0);
}

/* A batch is checked block by block as its runs are freed: a block whose
 * neighbour was freed earlier in the same batch is checked against that
 * free neighbour (its boundary tag), and they end as one free block. */
TEST(a_cached_batch_block_next_to_one_it_freed_earlier_coalesces) {
  fresh_heap();
  void *p[5];
  for (int i = 0; i < 5; i++) p[i] = take(48);
  /* p[1] alone, then p[3] and p[2] as one run whose first block's
   * predecessor, p[1], is free by the time it is checked. */
  void *batch[3] = {p[1], p[3], p[2]};
  for (int i = 0; i < 3; i++) tcache_mark_set(batch[i], tcache_key);
  uint64_t in_use = h.in_use;
  heap_release_cached(batch, 3);
  CHECK(h.in_use == in_use - 3 * block_size(blk(p[0])));
  CHECK(!block_is_alloc(blk(p[1])) && block_size(blk(p[1])) == 3 * block_size(blk(p[0])));
  CHECK(block_is_alloc(blk(p[0])) && block_is_alloc(blk(p[4])));
  CHECK(heap_check(&h) == 0);
  heap_free(p[0], "free");
  heap_free(p[4], "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* A batch that holds a block twice (a cache list bent into a cycle by a
 * write after free) is a double free, also when the first copy was freed
 * earlier in the same batch, alone or in a run. */
static void *twice[4];
static void release_twice(void *arg) {
  size_t n = (size_t)(uintptr_t)arg;
  for (size_t i = 0; i < n; i++) tcache_mark_set(twice[i], tcache_key);
  heap_release_cached(twice, n);
}

TEST(a_cached_batch_that_holds_a_block_twice_is_a_double_free) {
  fresh_heap();
  void *p[4];
  for (int i = 0; i < 4; i++) p[i] = take(48);
  char name[32];
  twice[0] = p[0], twice[1] = p[2], twice[2] = p[0]; /* freed alone, then met again */
  EXPECT_ABORT(release_twice, (void *)(uintptr_t)3, "hawkalloc: free(", ptr_text(p[0], name),
               "double free");
  twice[0] = p[0], twice[1] = p[1], twice[2] = p[0]; /* freed in a run, then met again */
  EXPECT_ABORT(release_twice, (void *)(uintptr_t)3, "hawkalloc: free(", ptr_text(p[0], name),
               "double free");
  for (int i = 0; i < 4; i++) heap_free(p[i], "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

TEST(without_growth_only_memory_already_used_serves) {
  fresh_heap();
  arena_cache_flush(); /* the arena comes fresh from the OS, not from the cache */
  /* An empty heap has nothing: no arena is mapped. */
  CHECK(heap_alloc(&h, 100, HAWK_ALIGN, NULL, HEAP_USED) == NULL);
  void *out[4];
  CHECK(heap_alloc_batch(&h, block_size_for(100), out, 4, 0) == 0);
  CHECK(h.arena_count == 0);
  void *a = take(1000), *b = take(16);
  REQUIRE(a && b);
  char *frontier = arena_of(blk(b))->frontier;
  heap_free(a, "free");
  /* The hole a left serves without growth; a bigger request does not, and
   * the frontier stays where it was. */
  void *c = heap_alloc(&h, 500, HAWK_ALIGN, NULL, HEAP_USED);
  CHECK(c == a);
  CHECK(heap_alloc(&h, 2000, HAWK_ALIGN, NULL, HEAP_USED) == NULL);
  CHECK(heap_alloc_batch(&h, block_size_for(2000), out, 4, 0) == 0);
  CHECK(arena_of(blk(b))->frontier == frontier);
  /* A batch whose first block fits in used memory may go on past it. */
  heap_free(c, "free");
  size_t got = heap_alloc_batch(&h, block_size_for(400), out, 4, 0);
  /* (Next fit may offer the top of the arena first: that would be growth.) */
  if (strcmp(h.policy->name, "next-fit") != 0) CHECK(got == 4);
  if (got > 0) CHECK(got == 4 && out[0] == a);
  CHECK(heap_check(&h) == 0);
  for (size_t i = 0; i < got; i++) heap_free(out[i], "free");
  heap_free(b, "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* Holes of exactly one refill's size (free blocks between allocated ones)
 * serve a batch first, whole, in the order the policy finds them (for the
 * segregated policy: its exact class's list, newest first), then the batch
 * goes on past them; each block handed out is allocated, its successor told
 * (PREV_ALLOC), and exactly the bytes handed out are counted in use. */
TEST(a_batch_takes_exact_holes_in_the_policys_order_then_goes_on) {
  fresh_heap();
  size_t size = block_size_for(100);
  void *hole[4], *keep[5];
  for (int i = 0; i < 4; i++) {
    keep[i] = take(24);
    hole[i] = take(100);
  }
  keep[4] = take(24);
  REQUIRE(keep[4] != NULL);
  int order[4] = {2, 0, 3, 1};
  for (int i = 0; i < 4; i++) heap_free(hole[order[i]], "free");
  uint64_t in_use = h.in_use;
  /* What single allocations would get, one after the other. */
  void *want[6];
  for (int i = 0; i < 6; i++)
    want[i] = heap_alloc(&h, size - BLOCK_HEADER, HAWK_ALIGN, NULL, HEAP_GROW);
  for (int i = 0; i < 6; i++) heap_free(want[5 - i], "free");
  CHECK(h.in_use == in_use && heap_check(&h) == 0);
  void *out[6];
  REQUIRE(heap_alloc_batch(&h, size, out, 6, 1) == 6);
  for (int i = 0; i < 6; i++) {
    CHECK(out[i] == want[i]);
    CHECK(block_is_alloc(blk(out[i])) && block_size(blk(out[i])) == size);
    CHECK(block_prev_alloc(block_next(blk(out[i]))));
  }
  CHECK(h.in_use == in_use + 6 * size);
  CHECK(heap_check(&h) == 0);
  for (int i = 0; i < 6; i++) heap_free(out[i], "free");
  drain(keep, 5);
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* Every block of a batch but the first is exactly the size asked for: a
 * run whose last block would keep a remainder too small to split off (16
 * bytes) stops one block short, and a hole of size + 16 bytes is taken only
 * as the first block (the one the refill hands to its caller).  A thread
 * cache lists the others, and free's test for a cached block compares one
 * mark, that of the list the header's size names. */
TEST(a_batch_hands_out_no_block_bigger_than_asked_but_its_first) {
  fresh_heap();
  size_t size = block_size_for(100);
  void *keep[3], *two = NULL, *one = NULL;
  keep[0] = take(24);
  two = take(2 * size + HAWK_ALIGN - BLOCK_HEADER); /* room for two and 16 bytes */
  keep[1] = take(24);
  one = take(size + HAWK_ALIGN - BLOCK_HEADER); /* room for one and 16 bytes */
  keep[2] = take(24);
  REQUIRE(keep[2] != NULL && block_size(blk(two)) == 2 * size + HAWK_ALIGN &&
          block_size(blk(one)) == size + HAWK_ALIGN);
  heap_free(two, "free");
  heap_free(one, "free");
  void *out[6];
  size_t got = heap_alloc_batch(&h, size, out, 6, 1);
  REQUIRE(got >= 2);
  for (size_t i = 1; i < got; i++) CHECK(block_size(blk(out[i])) == size);
  CHECK(block_size(blk(out[0])) <= size + HAWK_ALIGN);
  CHECK(heap_check(&h) == 0);
  for (size_t i = 0; i < got; i++) heap_free(out[i], "free");
  drain(keep, 3);
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

static void *exact_hole;

static void batch_of_one_size(void *arg) {
  void *out[4];
  heap_alloc_batch(&h, (size_t)(uintptr_t)arg, out, 4, 1);
}

/* A hole taken whole by a batch tells the block after it, whose header a
 * write past the end of the hole (a write after free) may have changed:
 * the batch stops with a report before it writes that header. */
TEST(a_batch_taking_a_hole_whole_checks_the_next_header) {
  fresh_heap();
  void *a = take(24), *b = take(100), *c = take(24);
  REQUIRE(a && b && c);
  exact_hole = b;
  heap_free(b, "free");
  *block_word(blk(c)) ^= (uint64_t)1 << 40; /* c's size, in the tag's eyes */
  char name[32];
  EXPECT_ABORT(batch_of_one_size, (void *)(uintptr_t)block_size_for(100), "hawkalloc: malloc(",
               ptr_text(exact_hole, name), "next block's header overwritten");
  *block_word(blk(c)) ^= (uint64_t)1 << 40;
  heap_free(a, "free");
  heap_free(c, "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* Segregated fit skips a range class's list when its fit bound says that
 * nothing there fits (seg_fit_bound): a search that walked the list and
 * found nothing lowers the bound, and a block freed into the list later
 * raises it, so the next search finds that block, as a walk would. */
TEST(a_range_class_search_finds_a_block_freed_after_a_search_found_none) {
  fresh_heap();
  if (h.policy != &placement_segregated) SKIP("segregated fit's own bound");
  void *a = take(1100), *s1 = take(24), *b = take(1200), *s2 = take(24), *c = take(1150),
       *s3 = take(24);
  REQUIRE(a && s1 && b && s2 && c && s3);
  unsigned cls = seg_class(block_size(blk(b)));
  REQUIRE(cls >= SEG_RANGE_FIRST && cls == seg_class(block_size(blk(a))) &&
          cls == seg_class(block_size(blk(c))));
  heap_free(a, "free");
  heap_free(c, "free");
  heap_free(b, "free");
  /* b fits exactly; the bound stays at b's size, above what is left. */
  void *e = take(1200);
  CHECK(e == b);
  CHECK(h.free.fit_bound[cls - SEG_RANGE_FIRST] == block_size(blk(b)));
  /* Neither a nor c fits: the list is walked, the bound lowered, and the
   * block comes from the arena's tail. */
  void *d = take(1200);
  REQUIRE(d != NULL);
  CHECK(d != a && d != c);
  CHECK(h.free.fit_bound[cls - SEG_RANGE_FIRST] < block_size(blk(d)));
  CHECK(heap_check(&h) == 0);
  /* Freed again, b raises the bound, and the next search finds it. */
  heap_free(e, "free");
  CHECK(h.free.fit_bound[cls - SEG_RANGE_FIRST] >= block_size(blk(d)));
  e = take(1200);
  CHECK(e == b);
  CHECK(heap_check(&h) == 0);
  /* A bound below a listed block's size is a broken invariant. */
  uint32_t kept = h.free.fit_bound[cls - SEG_RANGE_FIRST];
  h.free.fit_bound[cls - SEG_RANGE_FIRST] = (uint32_t)block_size(blk(a)); /* below c */
  CHECK(heap_check(&h) == 1);
  h.free.fit_bound[cls - SEG_RANGE_FIRST] = kept;
  void *rest[5] = {s1, e, s2, d, s3};
  drain(rest, 5);
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
}

/* What a growing resize into a cached neighbour left (offsets in the arena). */
struct grown {
  int done;
  size_t p_size, free_count, free_bytes, in_use, coalesces, splits;
};

/* p (100 bytes) grows to want bytes into q, the block after it, which a
 * thread cache gave back; the block after q is free when after_free.  With
 * into, heap_resize_into does it in one step; without, q is freed and p
 * resized, the two steps it stands for. */
static struct grown grow_into_cached(int into, int after_free, size_t want) {
  fresh_heap();
  void *p = take(100), *q = take(100), *r = take(300), *s = take(24);
  CHECK(p && q && r && s);
  if (after_free) heap_free(r, "free");
  struct grown g;
  if (into) {
    g.done = heap_resize_into(p, q, want, 1 << 20, "realloc", NULL);
  } else {
    heap_free_internal(q, "free");
    g.done = heap_resize(p, want, 1 << 20, "realloc", NULL);
  }
  CHECK(heap_check(&h) == 0);
  g.p_size = block_size(blk(p));
  g.free_count = h.free.count;
  g.free_bytes = h.free.bytes;
  g.in_use = h.in_use;
  g.coalesces = h.coalesces;
  g.splits = h.splits;
  heap_free(p, "free");
  if (!after_free) heap_free(r, "free");
  heap_free(s, "free");
  CHECK(h.in_use == 0 && heap_check(&h) == 0);
  return g;
}

TEST(growing_into_a_cached_neighbour_ends_as_its_free_and_a_resize_would) {
  const size_t wants[] = {150, 200, 400, 500, 900};
  for (int after_free = 0; after_free < 2; after_free++)
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
      struct grown one = grow_into_cached(1, after_free, wants[i]);
      struct grown two = grow_into_cached(0, after_free, wants[i]);
      CHECK(one.done == two.done && one.p_size == two.p_size);
      CHECK(one.free_count == two.free_count && one.free_bytes == two.free_bytes);
      CHECK(one.in_use == two.in_use);
      CHECK(one.coalesces == two.coalesces && one.splits == two.splits);
    }
}

/* A cache batch whose blocks belong to two heaps, interleaved: each block
 * goes back to its own heap (the first heap's under one lock, the loop
 * stopping at the other heap's blocks, then the second's). */
TEST(a_cached_batch_of_two_heaps_frees_each_block_into_its_own) {
  fresh_heap();
  static struct heap other;
  heap_init(&other, h.policy);
  void *p[6];
  for (int i = 0; i < 6; i++) {
    p[i] = i % 3 == 1 ? heap_alloc(&other, 64, HAWK_ALIGN, NULL, HEAP_GROW) : take(64);
    REQUIRE(p[i] != NULL);
    tcache_mark_set(p[i], tcache_key);
  }
  void *batch[6] = {p[0], p[1], p[2], p[3], p[4], p[5]}; /* h, other, h, h, other, h */
  heap_release_cached(batch, 6);
  CHECK(h.in_use == 0 && other.in_use == 0);
  CHECK(h.remote == NULL && other.remote == NULL);
  CHECK(heap_check(&h) == 0 && heap_check(&other) == 0);
  heap_release_empty(&other);
}

/* The large blocks' list and the cache of empty arenas have locks of their
 * own, taken inside malloc and free as the heaps' are.  A take by the
 * thread that holds one (a signal handler's malloc that interrupted the
 * allocator) is one line and abort, as for a heap's lock (unit_lock), not
 * a wait for ever.  Until 2026-12-07 both were plain glibc mutexes, and
 * the second take slept until the alarm ended the child. */
static void large_list_taken_twice(void *arg) {
  (void)arg;
  alarm(5);
  unit_init_heap();
  int dirty = 0;
  large_lock();
  void *p = large_alloc((size_t)2 << 20, HAWK_ALIGN, 0, &dirty); /* the handler's malloc */
  (void)p;
}

static void arena_cache_taken_twice(void *arg) {
  (void)arg;
  alarm(5);
  unit_init_heap();
  arena_cache_lock();
  (void)arena_cache_count(); /* any call that takes the cache's lock */
}

TEST(a_wait_for_the_large_list_or_the_arena_cache_held_by_its_own_thread_is_reported) {
  const char *name =
      "a_wait_for_the_large_list_or_the_arena_cache_held_by_its_own_thread_is_reported";
  if (!is_fresh(name)) {
    CHECK(run_fresh(name) == 0);
    return;
  }
  EXPECT_ABORT(large_list_taken_twice, NULL, "hawkalloc: ", "signal handler", "its own thread");
  EXPECT_ABORT(arena_cache_taken_twice, NULL, "hawkalloc: ", "signal handler", "its own thread");
}

TEST_MAIN()
