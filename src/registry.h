/* registry.h - which address ranges belong to HawkAlloc.
 *
 * The address space is cut into chunks of ARENA_SIZE bytes; one byte per
 * chunk says what HawkAlloc keeps there.  free() looks a pointer up here
 * before it reads a single byte near it, so a stack address, a pointer from
 * another allocator or a wild value is recognised without a fault.
 *
 * The bytes live in a two-level table: a top array of REGISTRY_TOP leaf
 * entries (8 KiB), each leaf a REGISTRY_LEAF-byte map of the chunks of one
 * 256 GiB range, mapped the first time a chunk of that range is marked.  A
 * range no leaf covers holds nothing of ours: its entry points at a shared
 * read-only leaf of zeros (.rodata, shared through the page cache), so that a
 * lookup needs no test for a missing leaf.  Leaves are never unmapped, so
 * a leaf pointer once read stays valid.
 */
#ifndef HAWK_REGISTRY_H
#define HAWK_REGISTRY_H

#include "config.h"

enum chunk_kind {
  CHUNK_NONE = 0,        /* not ours */
  CHUNK_ARENA = 1,       /* an arena starts here and fills the chunk */
  CHUNK_LARGE = 2,       /* a large block's own mapping starts here */
  CHUNK_LARGE_MORE = 3,  /* a later chunk of a large block's mapping */
  CHUNK_FREED = 4,       /* a large mapping that was freed and unmapped (or kept spare) */
  CHUNK_ARENA_FREED = 5, /* an arena that was unmapped (or a created heap's mapping) */
  CHUNK_HEAP_ARENA = 6,  /* an arena of a created heap (hawk_heap_create) */
  CHUNK_HEAP_LARGE = 7,  /* every chunk of a created heap's block in a mapping of its own */
  CHUNK_HEAP_TABLE = 8,  /* the table of created heaps' descriptors (userheap.c) */
};

/* Whether a chunk of kind k is an arena (of a default or a created heap). */
static inline int chunk_is_arena(enum chunk_kind k) {
  return k == CHUNK_ARENA || k == CHUNK_HEAP_ARENA;
}

/* Chunks per leaf (a leaf is this many bytes) and leaves in the top array. */
#define REGISTRY_LEAF_SHIFT 16
#define REGISTRY_LEAF       ((size_t)1 << REGISTRY_LEAF_SHIFT)
#define REGISTRY_TOP_SHIFT  (ARENA_SHIFT + REGISTRY_LEAF_SHIFT)
#define REGISTRY_TOP        ((size_t)1 << (ADDRESS_BITS - REGISTRY_TOP_SHIFT))

/* The top level.  Entry i is the address of the leaf of the range
 * [i << REGISTRY_TOP_SHIFT, (i + 1) << REGISTRY_TOP_SHIFT) minus
 * i << REGISTRY_LEAF_SHIFT: the byte of chunk c (address >> ARENA_SHIFT) is
 * then at entry + c, with no masking.  While no leaf covers the range, the
 * leaf is registry_zero_leaf (REGISTRY_EMPTY(i)); registry.c never enters a
 * leaf placed so that its entry would equal that. */
HAWK_INTERNAL extern uintptr_t registry_top[REGISTRY_TOP];
HAWK_INTERNAL extern const unsigned char registry_zero_leaf[REGISTRY_LEAF]; /* read-only */
#define REGISTRY_EMPTY(i) ((uintptr_t)registry_zero_leaf - ((uintptr_t)(i) << REGISTRY_LEAF_SHIFT))

/* The byte of the chunk containing a, an address below 1 << ADDRESS_BITS.
 * Two dependent loads, no test: a range no leaf covers reads a zero
 * (CHUNK_NONE) from the zero leaf. */
static inline __attribute__((always_inline)) enum chunk_kind registry_byte(uintptr_t a) {
  /* Acquire pairs with the CAS that installed the leaf (a plain load on
   * x86-64). */
  uintptr_t entry = __atomic_load_n(&registry_top[a >> REGISTRY_TOP_SHIFT], __ATOMIC_ACQUIRE);
  return (enum chunk_kind)__atomic_load_n((const unsigned char *)(entry + (a >> ARENA_SHIFT)),
                                          __ATOMIC_ACQUIRE);
}

/* Whether the byte of the chunk containing a (as registry_byte) is kind:
 * on x86-64 (HAWK_PLAIN_X86, config.h) one comparison with the byte in
 * memory, where the atomic load takes a load and a comparison. */
static inline __attribute__((always_inline)) int registry_byte_is(uintptr_t a,
                                                                  enum chunk_kind kind) {
#if HAWK_PLAIN_X86
  uintptr_t entry = __atomic_load_n(&registry_top[a >> REGISTRY_TOP_SHIFT], __ATOMIC_ACQUIRE);
  int equal;
  __asm__("cmpb %2, %1"
          : "=@ccz"(equal)
          : "m"(*(const unsigned char *)(entry + (a >> ARENA_SHIFT))), "q"((unsigned char)kind));
  return equal;
#else
  return registry_byte(a) == kind;
#endif
}

/* What HawkAlloc keeps in the chunk containing addr (inline: free's fast
 * path asks this for every pointer). */
static inline __attribute__((always_inline)) enum chunk_kind registry_lookup(const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  if ((a >> ADDRESS_BITS) != 0) return CHUNK_NONE;
  return registry_byte(a);
}

/* registry_lookup for a pointer handed to free, realloc or
 * malloc_usable_size: CHUNK_NONE too when p is not 16-byte aligned (it
 * cannot be a payload), both tests in one. */
static inline __attribute__((always_inline)) enum chunk_kind
registry_lookup_payload(const void *p) {
  uintptr_t a = (uintptr_t)p;
  if ((a & (~(((uintptr_t)1 << ADDRESS_BITS) - 1) | (HAWK_ALIGN - 1))) != 0) return CHUNK_NONE;
  return registry_byte(a);
}

/* Whether p, a pointer handed to free, is 16-byte aligned and the header
 * before it (p - 8) lies in a chunk of kind want: what free's fast path
 * asks before it reads that header.  Asked of p - 16, in the header's
 * chunk for an aligned p, at no cost (the lookup copies p anyway): a p at
 * the start of a chunk is looked up in the chunk before it, where its
 * header would lie (an arena's first payload is past its head, so such a p
 * is never a block), and a p below 16 (NULL) wraps above the address range
 * and is refused with the misaligned ones.  A branch of its own for the
 * alignment and range test (else the compiler merges the two ways into one
 * comparison with a kind it zeroes first). */
static inline __attribute__((always_inline)) int registry_payload_is(const void *p,
                                                                     enum chunk_kind want) {
  uintptr_t a = (uintptr_t)p - HAWK_ALIGN;
  return likely((a & (~(((uintptr_t)1 << ADDRESS_BITS) - 1) | (HAWK_ALIGN - 1))) == 0) &&
         registry_byte_is(a, want);
}

/* Maps the leaves that [addr, addr + len) needs and has not got yet.
 * Returns 0, or an errno value (ENOMEM) with nothing marked. */
HAWK_INTERNAL int registry_prepare(const void *addr, size_t len);

/* Marks the chunks of [addr, addr + len) as kind (the first one) and
 * follow (the others).  Returns 0, or an errno value when a leaf could not
 * be mapped, with no chunk changed: the caller must then give the range
 * back and fail the allocation.  Marking a range that was marked before (or
 * prepared) cannot fail. */
HAWK_INTERNAL int registry_mark(const void *addr, size_t len, enum chunk_kind kind,
                                enum chunk_kind follow);

/* Calls fn for every leaf mapped (heap snapshots); returns how many. */
HAWK_INTERNAL size_t registry_leaves(void (*fn)(void *ctx, const void *leaf, size_t len),
                                     void *ctx);

/* Calls fn for every run of neighbouring chunks of one kind other than
 * CHUNK_NONE, in address order: its first chunk's address, how many chunks,
 * the kind.  Reads the bytes without a lock (allocates nothing, takes no
 * lock, so a signal handler may call it); a run may be out of date by the
 * time fn sees it. */
HAWK_INTERNAL void
registry_runs(void (*fn)(void *ctx, uintptr_t addr, size_t count, enum chunk_kind kind), void *ctx);

/* The start of the chunk containing addr. */
static inline char *chunk_base(const void *addr) {
  return (char *)((uintptr_t)addr & ~(uintptr_t)(ARENA_SIZE - 1));
}

/* Whether p, an address read from memory (a link), lies in an arena and is
 * residue modulo 16: 8 for a block's header, 0 for a payload.  The one
 * test every follower of a link to another arena asks before it reads
 * there (placement.h, arena.h). */
static inline int registry_arena_at(const void *p, uintptr_t residue) {
  /* The residue and the address's range in one test (registry_lookup
   * makes the second apart): a search or a safe unlink asks this of every
   * link into another arena. */
  uintptr_t a = (uintptr_t)p;
  return (a & (~(((uintptr_t)1 << ADDRESS_BITS) - 1) | 15)) == residue &&
         chunk_is_arena(registry_byte(a));
}

#endif /* HAWK_REGISTRY_H */
