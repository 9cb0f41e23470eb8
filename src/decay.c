/* decay.c - the decay's clock.  See decay.h; what an epoch's advance
 * starts elsewhere is in process.c (decay_elsewhere). */
#include "decay.h"

#include "counters.h"
#include "os.h"

int decay_on;
struct decay_clock decay_clock = {.epoch = 2};

/* Clock checks (decay_advance calls) since the epoch last moved. */
static uint64_t checks_since;

void decay_init(uint64_t period_ms) {
  decay_clock.period_ns = period_ms * 1000000u;
  /* 0: the first decay_advance starts the clock.  Not read here: the C
   * library's clock_gettime lies where a program that never reaches a
   * heap's 64th locked operation has touched nothing else, and cost it up
   * to 64 KiB of resident code (docs/performance.md, "Fixed memory of a
   * process"). */
  decay_clock.advanced_ns = 0;
  decay_on = period_ms > 0;
}

/* Whether the heaps' arenas (up to their frontiers) span more than
 * DECAY_SPREAD_NUM / DECAY_SPREAD_DEN times the peak of bytes in use: free
 * memory spread over arenas the data never needed at once (config.h). */
static int decay_spread(void) {
  uint64_t footprint = counters_footprint_now();
  uint64_t large = __atomic_load_n(&counters.large_in_use, __ATOMIC_RELAXED);
  uint64_t peak = __atomic_load_n(&counters.in_use_peak, __ATOMIC_RELAXED);
  uint64_t arenas = footprint > large ? footprint - large : 0;
  return arenas / DECAY_SPREAD_NUM > peak / DECAY_SPREAD_DEN;
}

/* Whether the epoch may move on for the work done since it last moved,
 * before a period has passed (config.h: DECAY_EPOCH_CHECKS). */
static int decay_busy(uint64_t checks) {
  return DECAY_EPOCH_CHECKS > 0 && checks >= DECAY_EPOCH_CHECKS && decay_spread();
}

int decay_advance(void) {
  uint64_t checks = __atomic_add_fetch(&checks_since, 1, __ATOMIC_RELAXED);
  uint64_t now = os_clock_coarse_ns();
  uint64_t last = __atomic_load_n(&decay_clock.advanced_ns, __ATOMIC_RELAXED);
  if (unlikely(last == 0)) { /* the first read: the period starts now */
    uint64_t none = 0;
    __atomic_compare_exchange_n(&decay_clock.base_ns, &none, now, 0, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
    __atomic_store_n(&decay_clock.seen_ns, now, __ATOMIC_RELAXED);
    __atomic_compare_exchange_n(&decay_clock.advanced_ns, &last, now, 0, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
    return 0;
  }
  /* Never back: a thread that read the clock earlier may store after one
   * that read it later. */
  uint64_t seen = __atomic_load_n(&decay_clock.seen_ns, __ATOMIC_RELAXED);
  while (now > seen && !__atomic_compare_exchange_n(&decay_clock.seen_ns, &seen, now, 1,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  int timed = now - last >= decay_clock.period_ns && now >= last;
  if (!timed && !decay_busy(checks)) return 0;
  /* One reader wins the advance; the others see the new time and wait for
   * the next period (or the next DECAY_EPOCH_CHECKS checks). */
  if (!__atomic_compare_exchange_n(&decay_clock.advanced_ns, &last, now, 0, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return 0;
  __atomic_store_n(&checks_since, 0, __ATOMIC_RELAXED);
  if (timed) __atomic_add_fetch(&decay_clock.timed, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&decay_clock.epoch, 1, __ATOMIC_RELAXED);
  return 1;
}
