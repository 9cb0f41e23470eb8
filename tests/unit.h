/* unit.h - what a unit test of a layer below the process state runs instead
 * of the library's initialisation (process.c), which it does not link: each
 * unit test builds with its layer and the layers below it only
 * (docs/design.md, "Unit tests by layer"). */
#ifndef HAWK_TEST_UNIT_H
#define HAWK_TEST_UNIT_H

#include "block.h"
#include "decay.h"
#include "options.h"
#include "os.h"
#include "placement.h"

/* The options and the keys of the block format, once: blocks made by an
 * earlier case must keep their tags. */
static inline void unit_init(void) {
  static int done;
  if (done || block_secret != 0) return; /* or the whole library's start-up ran */
  done = 1;
  options_load();
  block_keys_init();
}

/* unit_init and the decay's clock, as the library starts them (for the
 * heap's tests: the decay stamps free blocks). */
static inline void unit_init_heap(void) {
  static int done;
  if (done) return;
  done = 1;
  if (block_secret != 0) return; /* the whole library's start-up ran */
  unit_init();
  decay_init((uint64_t)option_long(OPTION_DECAY_MS));
}

/* The runner's placement policy (HAWKALLOC_POLICY), or the library's default
 * when the variable is not set (process.c's). */
static inline const struct placement *unit_policy(void) {
  const char *name = option_text(OPTION_POLICY);
  return name ? placement_by_name(name) : &placement_segregated;
}

/* An opaque owner for arenas made outside any heap (the arena layer keeps
 * only the pointer). */
struct heap;
static inline struct heap *unit_owner(void) {
  static _Alignas(128) unsigned char space[128];
  return (struct heap *)(void *)space;
}

#endif /* HAWK_TEST_UNIT_H */
