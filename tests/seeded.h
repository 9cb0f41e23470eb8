/* seeded.h - the seeded random numbers and block content patterns shared by
 * the stress and thread tests.  HAWK_SEED repeats a run. */
#ifndef HAWK_TEST_SEEDED_H
#define HAWK_TEST_SEEDED_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --- seeded PRNG: splitmix64 to seed, xorshift64* to draw ---------------- */

static inline uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

struct rng {
  uint64_t s;
};

static inline uint64_t rng_next(struct rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1Dull;
}

/* A uniform draw in [0, n); n > 0. */
static inline uint64_t rng_below(struct rng *r, uint64_t n) { return rng_next(r) % n; }

static inline uint64_t env_u64(const char *name, uint64_t fallback) {
  const char *v = getenv(name);
  if (!v || !*v) return fallback;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 0);
  if (errno || *end) {
    fprintf(stderr, "    ignoring %s=%s (not a number)\n", name, v);
    return fallback;
  }
  return x;
}

/* The run's seed, printed once: HAWK_SEED if set (a number), a fixed one
 * by default so that a failure reproduces, or with HAWK_SEED=random one
 * made from the clock (printed, so that run can be repeated). */
#define HAWK_DEFAULT_SEED 0x48617774416c6c6full
static inline uint64_t run_seed(void) {
  static int have;
  static uint64_t seed;
  if (!have) {
    const char *v = getenv("HAWK_SEED");
    if (v && strcmp(v, "random") == 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      uint64_t t =
          (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
      seed = splitmix64(&t);
    } else {
      seed = env_u64("HAWK_SEED", HAWK_DEFAULT_SEED);
    }
    have = 1;
    printf("# HAWK_SEED=0x%016" PRIx64
           " (set it to repeat this run; HAWK_SEED=random for a new one)\n",
           seed);
    fflush(stdout);
  }
  return seed;
}

/* --- content patterns ----------------------------------------------------- */

/* Byte i of a block with key k is byte (i % 8) of pat_word(k, i / 8), so a
 * prefix of a block has the same pattern whatever the block's size: realloc
 * must preserve it. */
typedef uint64_t __attribute__((may_alias)) word_t;

static inline uint64_t key_of(uint64_t a, uint64_t b) {
  uint64_t s = a * 0x100000001B3ull ^ (b << 20) ^ b;
  return splitmix64(&s);
}

static inline uint64_t pat_word(uint64_t key, size_t w) {
  return key ^ ((uint64_t)(w + 1) * 0x9E3779B97F4A7C15ull);
}

static inline unsigned char pat_byte(uint64_t key, size_t i) {
  return (unsigned char)(pat_word(key, i / 8) >> (8 * (i % 8)));
}

/* Writes the pattern of key into p[from..to). p is at least 8-aligned. */
static inline void pat_fill(unsigned char *p, size_t from, size_t to, uint64_t key) {
  size_t i = from;
  for (; i < to && (i & 7); i++) p[i] = pat_byte(key, i);
  for (; i + 8 <= to; i += 8) *(word_t *)(p + i) = pat_word(key, i / 8);
  for (; i < to; i++) p[i] = pat_byte(key, i);
}

/* The first offset in [0, n) where p differs from key's pattern, or n. */
static inline size_t pat_mismatch(const unsigned char *p, size_t n, uint64_t key) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (*(const word_t *)(p + i) != pat_word(key, i / 8)) break;
  for (; i < n; i++)
    if (p[i] != pat_byte(key, i)) return i;
  return n;
}

#endif /* HAWK_TEST_SEEDED_H */
