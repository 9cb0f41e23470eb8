/* unit_check.c - the checker is itself checked: every invariant violation
 * heap_check (behind hawk_check) claims to detect is built in a real heap,
 * and the check must report it, by name, and only then.
 *
 * Each case damages a heap of its own in one way, with everything else kept
 * consistent (counts, lists, tags), so that the one problem is the one the
 * checker must name. */
#include "harness.h"
#include "heap.h"
#include "placement_segregated.h"
#include "unit.h"

static struct heap h;

static void fresh_heap(void) {
  unit_init_heap();
  heap_init(&h, unit_policy());
}

static void *take(size_t n) { return heap_alloc(&h, n, HAWK_ALIGN, NULL, HEAP_GROW); }
static block *blk(void *p) { return block_of_payload(p); }

/* Runs heap_check with fd 2 captured; returns its result and leaves what it
 * reported in text. */
static int check_captured(char *text, size_t size) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(stderr);
  int saved = dup(2);
  dup2(p[1], 2);
  int problems = heap_check(&h);
  dup2(saved, 2);
  close(saved);
  close(p[1]);
  size_t len = 0;
  ssize_t n;
  while (len < size - 1 && (n = read(p[0], text + len, size - 1 - len)) > 0) len += (size_t)n;
  text[len] = 0;
  close(p[0]);
  return problems;
}

/* The heap is sound now, and after damage() the check names what. */
static void expect_reported(void (*damage)(void), const char *what) {
  char text[4096];
  REQUIRE(check_captured(text, sizeof text) == 0);
  CHECK(text[0] == 0);
  damage();
  int problems = check_captured(text, sizeof text);
  CHECK(problems > 0);
  if (!strstr(text, what)) fprintf(stderr, "    expected \"%s\", the check said: %s\n", what, text);
  CHECK(strstr(text, what) != NULL);
  /* each problem counted is one line of the report, and each line a problem */
  int lines = 0;
  for (const char *l = text; (l = strchr(l, '\n')) != NULL; l++) lines++;
  if (lines != problems) fprintf(stderr, "    %d problems, %d lines: %s", problems, lines, text);
  CHECK(lines == problems);
}

/* Three allocated blocks a, b, c in a row, then the arena's free tail. */
static void *a, *b, *c;
static void three_blocks(void) {
  fresh_heap();
  a = take(100);
  b = take(100);
  c = take(100);
}

/* b becomes free beside free a without merging: everything else agrees. */
static void make_neighbours_free(void) {
  heap_free(a, "free");
  block *bb = blk(b);
  size_t size = block_size(bb);
  block_set_free(bb, size, 0); /* the block before it is free: PREV_ALLOC clear */
  block_set_prev_alloc(blk(c), 0);
  placement_insert(h.policy, &h.free, bb);
  h.in_use -= size;
}

TEST(check_reports_two_free_blocks_side_by_side) {
  three_blocks();
  expect_reported(make_neighbours_free, "two free blocks side by side");
}

static void damage_footer(void) {
  heap_free(b, "free"); /* between a and c: stays a block of its own */
  *block_footer(blk(b)) ^= 16;
}

TEST(check_reports_a_footer_that_differs_from_its_header) {
  three_blocks();
  expect_reported(damage_footer, "footer differs from header");
}

/* c says its neighbour b is free while b is allocated (tag kept right). */
static void clear_prev_alloc(void) {
  block *cc = blk(c);
  block_set_alloc(cc, block_size(cc), block_flags(cc) & ~BLOCK_PREV_ALLOC & ~BLOCK_ALLOC);
}

TEST(check_reports_a_wrong_prev_alloc_bit) {
  three_blocks();
  expect_reported(clear_prev_alloc, "PREV_ALLOC bit disagrees");
}

static void damage_tag(void) { *block_word(blk(b)) ^= (uint64_t)1 << 60; }

TEST(check_reports_a_header_whose_tag_is_wrong) {
  three_blocks();
  expect_reported(damage_tag, "header check tag is wrong");
}

/* The arena's epilogue, the header of no size marked allocated after its
 * last block (which a free block's merge forward stops at), rewritten: with
 * a sound tag and a size, or marked free, or with its tag wrong.  Each is
 * the one damage of its heap. */
static block *epilogue_of_a(void) { return (block *)arena_epilogue(arena_of(a)); }
static void epilogue_with_a_size(void) {
  block *e = epilogue_of_a();
  block_store(e, block_make_word(e, 16, block_flags(e)));
}
static void epilogue_marked_free(void) {
  block *e = epilogue_of_a();
  block_store(e, block_make_word(e, 0, block_flags(e) & ~BLOCK_ALLOC));
}
static void epilogue_tag_wrong(void) { *block_word(epilogue_of_a()) ^= (uint64_t)1 << 60; }

TEST(check_reports_a_damaged_epilogue) {
  void (*damage[])(void) = {epilogue_with_a_size, epilogue_marked_free, epilogue_tag_wrong};
  for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
    three_blocks();
    expect_reported(damage[i], "epilogue damaged");
  }
}

/* A listed block's prev link points at itself. */
static void damage_prev_link(void) {
  heap_free(a, "free");
  heap_free(c, "free"); /* merges with the tail: two free blocks listed */
  free_set_prev(blk(a), blk(a));
}

TEST(check_reports_a_broken_list_link) {
  three_blocks();
  expect_reported(damage_prev_link, "prev link does not point at its predecessor");
}

/* a freed between blocks in use; the last block of its list gets a next
 * link to an address outside every arena (a's next link, under every
 * policy a list no longer than the free block count, leads to b, a block
 * in use). */
static _Alignas(16) char outside[64];

static void link_outside_every_arena(void) {
  heap_free(a, "free");
  block *t = blk(a);
  while (free_next(t)) t = free_next(t);
  free_set_next(t, (block *)(void *)(outside + 8));
}

TEST(check_reports_a_list_link_outside_every_arena) {
  three_blocks();
  expect_reported(link_outside_every_arena, "points outside every arena");
}

static void link_to_a_block_in_use(void) {
  heap_free(a, "free");
  free_set_next(blk(a), blk(b));
}

TEST(check_reports_a_listed_block_in_use) {
  three_blocks();
  expect_reported(link_to_a_block_in_use, "is not a sound free block");
}

/* A free block the walk finds that no list holds. */
static void unlist_a_free_block(void) {
  heap_free(b, "free");
  placement_remove(h.policy, &h.free, blk(b));
}

TEST(check_reports_a_free_block_missing_from_the_lists) {
  three_blocks();
  expect_reported(unlist_a_free_block, "free blocks walked vs listed");
}

static void lie_in_use(void) { h.in_use += 16; }
static void lie_free_count(void) { h.free.count++; }
static void lie_free_bytes(void) { h.free.bytes += 16; }
static void lie_arena_count(void) { h.arena_count++; }

TEST(check_reports_each_counter_that_lies) {
  three_blocks();
  expect_reported(lie_in_use, "check: bytes in use");
  three_blocks();
  expect_reported(lie_free_count, "check: free list count");
  three_blocks();
  expect_reported(lie_free_bytes, "check: free list bytes");
  three_blocks();
  expect_reported(lie_arena_count, "check: heap arena count");
}

static void lie_bitmap(void) {
  unsigned cls = seg_class(block_size(blk(b)));
  h.free.bitmap[cls / 64] |= (uint64_t)1 << (cls % 64); /* b is allocated: its class is empty */
}

TEST(check_reports_a_size_class_bitmap_that_lies) {
  three_blocks();
  if (h.policy != &placement_segregated) return; /* the others keep no bitmap */
  expect_reported(lie_bitmap, "size class bitmap");
}

static void damage_size(void) {
  block *bb = blk(b);
  block_set_alloc(bb, block_size(bb) + 16, block_flags(bb)); /* runs into c's header */
}

TEST(check_reports_a_block_whose_size_is_wrong) {
  three_blocks();
  expect_reported(damage_size, "check: block");
}

TEST_MAIN()
