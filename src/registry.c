/* registry.c - the two-level byte map of owned memory.  See registry.h. */
#include "registry.h"

#include <errno.h>

#include "os.h"

_Static_assert(sizeof(uintptr_t) * REGISTRY_TOP <= 8192, "registry top level over 8 KiB");

_Static_assert(REGISTRY_TOP == 1024, "the initialiser below has 1024 entries");

/* Read-only zeros in .rodata, not .bss: every process that maps the library
 * shares its pages through the page cache, and the library's .bss stays
 * under 32 KiB (tests/levels); only the pages a lookup reads are touched.
 * Aligned to its own size, so that the 64 KiB window the kernel maps around
 * a read fault of the library's other constants never covers it: before,
 * a process that only used its own blocks had 24-56 KiB of it resident. */
const unsigned char registry_zero_leaf[REGISTRY_LEAF] __attribute__((aligned(REGISTRY_LEAF))) = {0};

/* Every entry starts at the zero leaf (registry.h). */
#define EMPTY4(i)                                                                                  \
  REGISTRY_EMPTY(i), REGISTRY_EMPTY(i + 1), REGISTRY_EMPTY(i + 2), REGISTRY_EMPTY(i + 3)
#define EMPTY16(i)   EMPTY4(i), EMPTY4(i + 4), EMPTY4(i + 8), EMPTY4(i + 12)
#define EMPTY64(i)   EMPTY16(i), EMPTY16(i + 16), EMPTY16(i + 32), EMPTY16(i + 48)
#define EMPTY256(i)  EMPTY64(i), EMPTY64(i + 64), EMPTY64(i + 128), EMPTY64(i + 192)
#define EMPTY1024(i) EMPTY256(i), EMPTY256(i + 256), EMPTY256(i + 512), EMPTY256(i + 768)
uintptr_t registry_top[REGISTRY_TOP] = {EMPTY1024(0)};

/* What entry i holds for a leaf at address leaf (registry.h). */
static uintptr_t entry_for(size_t i, const void *leaf) {
  return (uintptr_t)leaf - ((uintptr_t)i << REGISTRY_LEAF_SHIFT);
}

/* Makes sure entry i has a leaf, mapping and installing one if missing;
 * 0 or an errno value.  Two threads may map one at once: the loser of the
 * CAS unmaps its own. */
static int leaf_get(size_t i) {
  if (__atomic_load_n(&registry_top[i], __ATOMIC_ACQUIRE) != REGISTRY_EMPTY(i)) return 0;
  void *fresh;
  int err = os_map(REGISTRY_LEAF, os_page_size(), &fresh);
  if (err) return err;
  uintptr_t want = entry_for(i, fresh), seen = REGISTRY_EMPTY(i);
  if (want != seen && __atomic_compare_exchange_n(&registry_top[i], &seen, want, 0,
                                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  os_unmap(fresh, REGISTRY_LEAF);
  /* another thread's leaf, or one that cannot be entered */
  return seen != REGISTRY_EMPTY(i) ? 0 : ENOMEM;
}

int registry_prepare(const void *addr, size_t len) {
  uintptr_t a = (uintptr_t)addr;
  if (len == 0 || a + len - 1 < a || ((a + len - 1) >> ADDRESS_BITS) != 0) return ENOMEM;
  for (size_t i = a >> REGISTRY_TOP_SHIFT; i <= (a + len - 1) >> REGISTRY_TOP_SHIFT; i++) {
    int err = leaf_get(i);
    if (err) return err;
  }
  return 0;
}

int registry_mark(const void *addr, size_t len, enum chunk_kind kind, enum chunk_kind follow) {
  int err = registry_prepare(addr, len);
  if (err) return err;
  uintptr_t first = (uintptr_t)addr >> ARENA_SHIFT;
  uintptr_t last = ((uintptr_t)addr + len - 1) >> ARENA_SHIFT;
  for (uintptr_t c = first; c <= last; c++) {
    /* Atomic: another thread may be installing a leaf in the same entry
     * (leaf_get's compare-and-swap), a data race for a plain read even
     * though the entry, once a leaf, never changes (ThreadSanitizer,
     * test_threads, the CI of b06fa11). */
    uintptr_t entry = __atomic_load_n(&registry_top[c >> REGISTRY_LEAF_SHIFT], __ATOMIC_ACQUIRE);
    unsigned char *byte = (unsigned char *)(entry + c);
    __atomic_store_n(byte, (unsigned char)(c == first ? kind : follow), __ATOMIC_RELEASE);
  }
  return 0;
}

size_t registry_leaves(void (*fn)(void *ctx, const void *leaf, size_t len), void *ctx) {
  size_t n = 0;
  for (size_t i = 0; i < REGISTRY_TOP; i++) {
    uintptr_t entry = __atomic_load_n(&registry_top[i], __ATOMIC_ACQUIRE);
    if (entry == REGISTRY_EMPTY(i)) continue;
    fn(ctx, (const void *)(entry + ((uintptr_t)i << REGISTRY_LEAF_SHIFT)), REGISTRY_LEAF);
    n++;
  }
  return n;
}

void registry_runs(void (*fn)(void *ctx, uintptr_t addr, size_t count, enum chunk_kind kind),
                   void *ctx) {
  uintptr_t start = 0;
  size_t count = 0;
  enum chunk_kind kind = CHUNK_NONE;
  for (size_t i = 0; i < REGISTRY_TOP; i++) {
    uintptr_t entry = __atomic_load_n(&registry_top[i], __ATOMIC_ACQUIRE);
    uintptr_t first = (uintptr_t)i << REGISTRY_LEAF_SHIFT;
    for (uintptr_t c = first; entry != REGISTRY_EMPTY(i) && c < first + REGISTRY_LEAF; c++) {
      enum chunk_kind k =
          (enum chunk_kind)__atomic_load_n((const unsigned char *)(entry + c), __ATOMIC_ACQUIRE);
      if (k == kind && count && start + count * ARENA_SIZE == c << ARENA_SHIFT) {
        count++;
        continue;
      }
      if (count && kind != CHUNK_NONE) fn(ctx, start, count, kind);
      start = c << ARENA_SHIFT;
      count = 1;
      kind = k;
    }
  }
  if (count && kind != CHUNK_NONE) fn(ctx, start, count, kind);
}
