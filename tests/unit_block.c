/* unit_block.c - the block layer: header encoding, tags, footers, sizes;
 * and the lines of its reports (report.h). */
#include "block.h"
#include "harness.h"
#include "report.h"
#include "unit.h"

/* 16-byte aligned scratch space; blocks start 8 bytes in, like in an arena. */
static _Alignas(16) unsigned char space[4096];
static block *at(size_t off) { return (block *)(space + 8 + off); }

TEST(size_for_rounds_and_has_minimum) {
  CHECK(block_size_for(0) == BLOCK_MIN);
  CHECK(block_size_for(1) == BLOCK_MIN);
  CHECK(block_size_for(24) == BLOCK_MIN);
  CHECK(block_size_for(25) == 48);
  CHECK(block_size_for(40) == 48);
  CHECK(block_size_for(41) == 64);
  for (size_t n = 0; n < 5000; n++) {
    size_t s = block_size_for(n);
    CHECK(s % 16 == 0 && s >= n + BLOCK_HEADER && s < n + BLOCK_HEADER + 16 + BLOCK_MIN);
  }
}

/* Free's one-comparison test: at most max / 8 exactly for an allocated,
 * not large header of at most max bytes, whatever PREV_ALLOC, the spare
 * flag and the tag say, and then the size / 8. */
TEST(word_size8_is_the_size_of_an_allocated_small_block_only) {
  const uint64_t tags[3] = {0, (uint64_t)0xffff << 48, (uint64_t)0x8001 << 48};
  for (uint64_t size = 0; size <= 8192; size += 16)
    for (uint64_t flags = 0; flags < 16; flags++)
      for (int t = 0; t < 3; t++) {
        uint64_t w = size | flags | tags[t], s8 = block_word_size8(w);
        int small = (flags & BLOCK_ALLOC) && !(flags & BLOCK_LARGE) && size <= 2048;
        CHECK((s8 <= 2048 / 8) == small);
        if (small) CHECK(s8 * 8 == size);
      }
}

TEST(alloc_header_round_trips) {
  unit_init();
  block *b = at(0);
  block_set_alloc(b, 96, BLOCK_PREV_ALLOC);
  CHECK(block_size(b) == 96);
  CHECK(block_is_alloc(b));
  CHECK(block_prev_alloc(b));
  CHECK(!block_is_large(b));
  CHECK(block_header_ok(b));
  CHECK(block_usable(b) == 88);
  CHECK(((uintptr_t)block_payload(b) & 15) == 0);
  CHECK(block_of_payload(block_payload(b)) == b);
  CHECK(block_next(b) == at(96));
}

TEST(free_block_has_matching_footer_and_is_found_backwards) {
  unit_init();
  block *b = at(0), *n = at(64);
  block_set_free(b, 64, BLOCK_PREV_ALLOC);
  block_set_alloc(n, 32, 0);
  CHECK(*block_footer(b) == *block_word(b));
  CHECK(!block_is_alloc(b));
  CHECK(block_prev(n) == b);
  CHECK(block_prev_footer(n) == *block_word(b));
}

TEST(set_prev_alloc_keeps_footer_in_step) {
  unit_init();
  block *b = at(128);
  block_set_free(b, 128, BLOCK_PREV_ALLOC);
  block_set_prev_alloc(b, 0);
  CHECK(!block_prev_alloc(b));
  CHECK(block_header_ok(b));
  CHECK(*block_footer(b) == *block_word(b));
  block_set_prev_alloc(b, 1);
  CHECK(block_prev_alloc(b) && block_header_ok(b) && *block_footer(b) == *block_word(b));
}

TEST(tag_catches_changed_size_flags_and_moved_headers) {
  unit_init();
  block *b = at(256);
  block_set_alloc(b, 64, BLOCK_PREV_ALLOC);
  uint64_t good = *block_word(b);
  *block_word(b) = good ^ 16; /* size changed by an overflow */
  CHECK(!block_header_ok(b));
  *block_word(b) = good ^ BLOCK_ALLOC; /* state flipped */
  CHECK(!block_header_ok(b));
  *block_word(b) = good;
  CHECK(block_header_ok(b));
  /* The same word copied to another address does not pass there. */
  block *c = at(512);
  *block_word(c) = good;
  CHECK(!block_header_ok(c));
  /* A few bytes of text written over a header are rejected. */
  memcpy(block_word(b), "AAAAAAAA", 8);
  CHECK(!block_header_ok(b));
}

TEST(tags_are_spread_over_addresses) {
  unit_init();
  /* Headers of the same size at 200 addresses: the tags should differ.
   * Under fixed keys, not the one drawn at start-up: for about 1 secret in
   * 2,300 the tags of evenly spaced addresses repeat with a short period
   * (the top bits of an arithmetic progression times the secret), and a
   * test under the drawn key failed so in CI on 2026-12-06.  Which tags are
   * equal depends on the secret alone (block_tag_mul maps the 16 bits one
   * to one); a tag blind to the address repeats 199 times. */
  const uint64_t secrets[] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0xff51afd7ed558ccdull,
                              0x94d049bb133111ebull};
  uint64_t drawn = block_secret;
  for (size_t k = 0; k < 4; k++) {
    block_secret = secrets[k];
    int same = 0;
    uint64_t first = block_tag(at(0), 64 | BLOCK_ALLOC);
    for (size_t i = 1; i < 200; i++) same += block_tag(at(i * 16), 64 | BLOCK_ALLOC) == first;
    CHECK(same <= 1);
  }
  block_secret = drawn;
}

TEST(exactly_one_tag_passes_for_each_header) {
  unit_init();
  /* For headers of several sizes, flags and addresses, the tag written is
   * the one value of the 65,536 that passes the check. */
  const size_t sizes[] = {32, 48, 2048, (size_t)1 << 20};
  for (size_t i = 0; i < 4; i++)
    for (uint64_t flags = 0; flags < 8; flags++) {
      block *b = at(i * 16 + flags * 256);
      uint64_t sf = sizes[i] | flags, written = block_make_word(b, sizes[i], flags);
      CHECK((written & (((uint64_t)1 << 48) - 1)) == sf);
      CHECK(block_word_ok(b, written));
      unsigned passing = 0;
      for (uint64_t t = 0; t < 65536; t++) passing += block_word_ok(b, sf | t << 48);
      CHECK(passing == 1);
    }
}

/* What line_write puts on a pipe for l (at most 511 bytes), NUL-ended. */
static size_t written(struct line *l, char *out) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  line_write(l, fds[1]);
  close(fds[1]);
  ssize_t n = read(fds[0], out, 511);
  close(fds[0]);
  out[n > 0 ? n : 0] = 0;
  return n > 0 ? (size_t)n : 0;
}

/* A line longer than its buffer (256 bytes) is cut there and still ends
 * with its newline. */
TEST(a_line_longer_than_its_buffer_is_cut_and_ends_its_line) {
  char text[300], out[512];
  memset(text, 'x', sizeof text - 1);
  text[sizeof text - 1] = 0;
  struct line l = {.len = 0};
  line_str(&l, text);
  CHECK(written(&l, out) == 256 && out[255] == '\n' && out[254] == 'x');
}

/* A quoted value: at most LINE_QUOTE_MAX characters, then "...", so the
 * rest of the line fits; a short one whole. */
TEST(a_quoted_value_is_cut_short_with_dots_and_the_line_goes_on) {
  char text[300], out[512], want[512];
  memset(text, 'v', sizeof text - 1);
  text[sizeof text - 1] = 0;
  struct line l = {.len = 0};
  line_str(&l, "a=");
  line_quote(&l, text);
  line_str(&l, ": problem");
  memset(want, 0, sizeof want);
  strcpy(want, "a=");
  memset(want + 2, 'v', LINE_QUOTE_MAX);
  strcat(want, "...: problem\n");
  written(&l, out);
  CHECK(strcmp(out, want) == 0);
  line_str(&l, "a=");
  line_quote(&l, "short");
  line_str(&l, ": problem");
  written(&l, out);
  CHECK(strcmp(out, "a=short: problem\n") == 0);
  text[LINE_QUOTE_MAX] = 0; /* exactly the most: no dots */
  line_quote(&l, text);
  CHECK(written(&l, out) == LINE_QUOTE_MAX + 1 && out[LINE_QUOTE_MAX - 1] == 'v');
}

TEST_MAIN()
