/* registry.c - the byte-per-chunk map of owned memory.  See registry.h. */
#include "registry.h"

#include "os.h"

#define CHUNK_COUNT ((size_t)1 << (ADDRESS_BITS - ARENA_SHIFT))

unsigned char *registry_chunks;

int registry_init(void) {
  void *p;
  int err = os_reserve(CHUNK_COUNT, &p);
  if (err) return err;
  registry_chunks = p;
  return 0;
}

void registry_mark(const void *addr, size_t len, enum chunk_kind kind, enum chunk_kind follow) {
  uintptr_t first = (uintptr_t)addr >> ARENA_SHIFT;
  uintptr_t last = ((uintptr_t)addr + len - 1) >> ARENA_SHIFT;
  for (uintptr_t c = first; c <= last; c++)
    __atomic_store_n(&registry_chunks[c], (unsigned char)(c == first ? kind : follow),
                     __ATOMIC_RELEASE);
}
