/* decay.c - the decay's clock and what an epoch's advance starts.  See
 * decay.h. */
#include "decay.h"

#include "arena.h"
#include "large.h"
#include "os.h"
#include "process.h"

int decay_on;
struct decay_clock decay_clock = {.epoch = 2};

void decay_init(uint64_t period_ms) {
  decay_clock.period_ns = period_ms * 1000000u;
  decay_clock.advanced_ns = os_clock_coarse_ns();
  decay_on = period_ms > 0;
}

int decay_advance(void) {
  uint64_t now = os_clock_coarse_ns();
  uint64_t last = __atomic_load_n(&decay_clock.advanced_ns, __ATOMIC_RELAXED);
  if (now - last < decay_clock.period_ns || now < last) return 0;
  /* One reader wins the advance; the others see the new time and wait for
   * the next period. */
  if (!__atomic_compare_exchange_n(&decay_clock.advanced_ns, &last, now, 0, __ATOMIC_RELAXED,
                                   __ATOMIC_RELAXED))
    return 0;
  __atomic_add_fetch(&decay_clock.epoch, 1, __ATOMIC_RELAXED);
  return 1;
}

void decay_elsewhere(const void *self) {
  uint64_t e = decay_epoch();
  for (unsigned i = 0; i < hawk_heap_count; i++)
    if (&hawk_heaps[i] != self) heap_decay_try(&hawk_heaps[i]);
  arena_cache_decay(e);
  large_spare_decay(e);
}
