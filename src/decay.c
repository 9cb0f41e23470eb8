/* decay.c - the decay's clock.  See decay.h; what an epoch's advance
 * starts elsewhere is in process.c (decay_elsewhere). */
#include "decay.h"

#include "os.h"

int decay_on;
struct decay_clock decay_clock = {.epoch = 2};

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

int decay_advance(void) {
  uint64_t now = os_clock_coarse_ns();
  uint64_t last = __atomic_load_n(&decay_clock.advanced_ns, __ATOMIC_RELAXED);
  if (unlikely(last == 0)) { /* the first read: the period starts now */
    __atomic_compare_exchange_n(&decay_clock.advanced_ns, &last, now, 0, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
    return 0;
  }
  if (now - last < decay_clock.period_ns || now < last) return 0;
  /* One reader wins the advance; the others see the new time and wait for
   * the next period. */
  if (!__atomic_compare_exchange_n(&decay_clock.advanced_ns, &last, now, 0, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return 0;
  __atomic_add_fetch(&decay_clock.epoch, 1, __ATOMIC_RELAXED);
  return 1;
}
