/* counters.c - the process-wide counters.  See counters.h. */
#include "counters.h"

struct global_counters counters;

void counter_max(uint64_t *peak, uint64_t value) {
  uint64_t seen = __atomic_load_n(peak, __ATOMIC_RELAXED);
  while (value > seen &&
         !__atomic_compare_exchange_n(peak, &seen, value, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void counters_mapped(int64_t delta) {
  uint64_t now = __atomic_add_fetch(&counters.mapped, (uint64_t)delta, __ATOMIC_RELAXED);
  if (delta > 0) counter_max(&counters.mapped_peak, now);
}

HAWK_HOT void counters_footprint(int64_t delta) {
  uint64_t now = __atomic_add_fetch(&counters.footprint, (uint64_t)delta, __ATOMIC_RELAXED);
  if (delta > 0) counter_max(&counters.footprint_peak, now);
}

void counters_in_use_seen(uint64_t in_use) { counter_max(&counters.in_use_peak, in_use); }
