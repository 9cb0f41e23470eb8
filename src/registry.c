/* registry.c - the byte-per-chunk map of owned memory.  See registry.h. */
#include "registry.h"

#include "os.h"

#define CHUNK_COUNT ((size_t)1 << (ADDRESS_BITS - ARENA_SHIFT))

static unsigned char *chunks;

int registry_init(void) {
  void *p;
  int err = os_reserve(CHUNK_COUNT, &p);
  if (err) return err;
  chunks = p;
  return 0;
}

enum chunk_kind registry_lookup(const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  if (chunks == NULL || (a >> ADDRESS_BITS) != 0) return CHUNK_NONE;
  return (enum chunk_kind)__atomic_load_n(&chunks[a >> ARENA_SHIFT], __ATOMIC_ACQUIRE);
}

void registry_mark(const void *addr, size_t len, enum chunk_kind kind, enum chunk_kind follow) {
  uintptr_t first = (uintptr_t)addr >> ARENA_SHIFT;
  uintptr_t last = ((uintptr_t)addr + len - 1) >> ARENA_SHIFT;
  for (uintptr_t c = first; c <= last; c++)
    __atomic_store_n(&chunks[c], (unsigned char)(c == first ? kind : follow), __ATOMIC_RELEASE);
}
