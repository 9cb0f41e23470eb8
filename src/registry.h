/* registry.h - which address ranges belong to HawkAlloc.
 *
 * The address space is cut into chunks of ARENA_SIZE bytes; one byte per
 * chunk says what HawkAlloc keeps there.  free() looks a pointer up here
 * before it reads a single byte near it, so a stack address, a pointer from
 * another allocator or a wild value is recognised without a fault.
 */
#ifndef HAWK_REGISTRY_H
#define HAWK_REGISTRY_H

#include "config.h"

enum chunk_kind {
  CHUNK_NONE = 0,       /* not ours */
  CHUNK_ARENA = 1,      /* an arena starts here and fills the chunk */
  CHUNK_LARGE = 2,      /* a large block's own mapping starts here */
  CHUNK_LARGE_MORE = 3, /* a later chunk of a large block's mapping */
  CHUNK_FREED = 4,      /* a large mapping that was freed and unmapped */
};

/* Reserves the registry (address space only; pages appear as touched). */
HAWK_INTERNAL int registry_init(void);

/* The byte map itself (NULL until registry_init). */
HAWK_INTERNAL extern unsigned char *registry_chunks;

/* What HawkAlloc keeps in the chunk containing addr (inline: free's fast
 * path asks this for every pointer). */
static inline enum chunk_kind registry_lookup(const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  unsigned char *chunks = registry_chunks;
  if (chunks == NULL || (a >> ADDRESS_BITS) != 0) return CHUNK_NONE;
  return (enum chunk_kind)__atomic_load_n(&chunks[a >> ARENA_SHIFT], __ATOMIC_ACQUIRE);
}

/* Marks the chunks of [addr, addr + len) as kind (the first one) and
 * follow (the others). */
HAWK_INTERNAL void registry_mark(const void *addr, size_t len, enum chunk_kind kind,
                                 enum chunk_kind follow);

/* The start of the chunk containing addr. */
static inline char *chunk_base(const void *addr) {
  return (char *)((uintptr_t)addr & ~(uintptr_t)(ARENA_SIZE - 1));
}

#endif /* HAWK_REGISTRY_H */
