/* hawkalloc.h - the public interface of HawkAlloc.
 *
 * HawkAlloc is a boundary-tag allocator on mmap'ed arenas.  Linking with
 * -lhawkalloc (or preloading libhawkalloc.so) also replaces malloc, free and
 * the rest of the standard family; the hawk_* names below are always
 * available, with the same semantics as their standard counterparts.
 */
#ifndef HAWKALLOC_H
#define HAWKALLOC_H

#include <malloc.h> /* struct mallinfo, struct mallinfo2 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; the API is exported. */
#if defined(__GNUC__)
#define HAWK_EXPORT __attribute__((visibility("default")))
#else
#define HAWK_EXPORT
#endif

/* The version, in this one place: the Makefile reads these three lines for
 * the library's file name and soname (libhawkalloc.so.MAJOR), the
 * pkg-config and CMake files and the Debian package; `hawk --version` prints
 * HAWKALLOC_VERSION.  MAJOR changes when the ABI breaks. */
#define HAWKALLOC_VERSION_MAJOR 0
#define HAWKALLOC_VERSION_MINOR 1
#define HAWKALLOC_VERSION_PATCH 0

#define HAWKALLOC_STRINGIFY_(x) #x
#define HAWKALLOC_STRING_(x)    HAWKALLOC_STRINGIFY_(x)
/* "MAJOR.MINOR.PATCH", e.g. "0.1.0". */
#define HAWKALLOC_VERSION                                                                          \
  HAWKALLOC_STRING_(HAWKALLOC_VERSION_MAJOR)                                                       \
  "." HAWKALLOC_STRING_(HAWKALLOC_VERSION_MINOR) "." HAWKALLOC_STRING_(HAWKALLOC_VERSION_PATCH)
/* One number that grows with every release: 10000 * MAJOR + 100 * MINOR + PATCH. */
#define HAWKALLOC_VERSION_NUMBER                                                                   \
  (HAWKALLOC_VERSION_MAJOR * 10000 + HAWKALLOC_VERSION_MINOR * 100 + HAWKALLOC_VERSION_PATCH)

/* Allocation: the semantics of malloc, free, calloc, realloc, aligned_alloc
 * and malloc_usable_size.  Failures return NULL with errno == ENOMEM (EINVAL
 * for a bad alignment); success leaves errno untouched. */
HAWK_EXPORT void *hawk_malloc(size_t size);
HAWK_EXPORT void hawk_free(void *ptr);
HAWK_EXPORT void *hawk_calloc(size_t count, size_t size);
HAWK_EXPORT void *hawk_realloc(void *ptr, size_t size);
HAWK_EXPORT void *hawk_aligned_alloc(size_t alignment, size_t size);
HAWK_EXPORT size_t hawk_usable_size(void *ptr);

/* The rest of the standard family under prefixed names, with the same
 * semantics as reallocarray, posix_memalign, memalign, valloc and pvalloc.
 * memalign rounds an alignment that is not a power of two up to the next
 * one, as glibc does; aligned_alloc refuses it (EINVAL). */
HAWK_EXPORT void *hawk_reallocarray(void *ptr, size_t count, size_t size);
HAWK_EXPORT int hawk_posix_memalign(void **out, size_t alignment, size_t size);
HAWK_EXPORT void *hawk_memalign(size_t alignment, size_t size);
HAWK_EXPORT void *hawk_valloc(size_t size);
HAWK_EXPORT void *hawk_pvalloc(size_t size);

/* Walks every arena and verifies every heap invariant (see docs/design.md).
 * Returns 0 when the heap is sound; otherwise writes one line per problem to
 * stderr and returns the number of problems found. */
HAWK_EXPORT int hawk_check(void);

/* Version of struct hawk_stats; bumped whenever a field is added. */
#define HAWK_STATS_VERSION 2

/* A snapshot of the allocator.  Fields are only ever appended. */
struct hawk_stats {
  uint32_t version;       /* HAWK_STATS_VERSION of the library that filled it */
  uint32_t size;          /* bytes of this struct the library filled */
  uint64_t in_use;        /* bytes in allocated blocks, headers included */
  uint64_t in_use_peak;   /* the highest in_use seen (to within 64 KiB per heap in use) */
  uint64_t mapped;        /* bytes mapped from the OS right now */
  uint64_t mapped_peak;   /* the highest mapped seen */
  uint64_t arenas;        /* arenas owned by heaps (cached empty ones excluded) */
  uint64_t cached_arenas; /* empty arenas kept mapped for reuse */
  uint64_t large_blocks;  /* blocks living in their own mapping */
  uint64_t free_blocks;   /* free blocks in all arenas */
  uint64_t free_bytes;    /* bytes in those free blocks */
  uint64_t largest_free;  /* size of the largest free block */
  uint64_t mallocs;       /* successful allocations since start */
  uint64_t frees;         /* blocks freed since start */
  uint64_t splits;        /* free blocks split in two */
  uint64_t coalesces;     /* merges of a freed block with a free neighbour */
  uint64_t thread_cached; /* bytes of freed blocks held in thread caches (they
                             count as in use until they go back to a heap) */
  uint64_t heaps;         /* heaps the threads are spread over */
  uint64_t footprint;     /* bytes of arenas up to the highest byte ever handed
                             out in each, plus large mappings: the "heap size"
                             of the malloc-lab utilization figure */
  uint64_t footprint_peak;
  /* Version 2: */
  uint64_t purged; /* bytes of whole free pages inside arenas given back to
                      the OS since start, by the decay (HAWKALLOC_DECAY_MS)
                      and by hawk_trim; a page given back, reused and given
                      back again counts twice */
};

/* Fills *out with the current statistics.  size is sizeof(*out) as the
 * caller was compiled; the library fills at most that many bytes and sets
 * out->version and out->size.  Returns 0, or -1 if size is too small. */
HAWK_EXPORT int hawk_stats(struct hawk_stats *out, size_t size);

/* Prints the statistics in a human-readable table to the file descriptor. */
HAWK_EXPORT void hawk_stats_print(int fd);

/* Prints a picture of the heap to the file descriptor: one line per arena,
 * one character per 64 KiB showing how much of it is allocated. */
HAWK_EXPORT void hawk_stats_print_map(int fd);

/* The name of the placement policy in force ("segregated", "first-fit"). */
HAWK_EXPORT const char *hawk_policy_name(void);

/* Gives free memory back to the OS: unmaps cached empty arenas and releases
 * the pages inside large free blocks.  Returns 1 if anything was released. */
HAWK_EXPORT int hawk_trim(void);

/* --- heaps of your own (docs/design.md, "User heaps") ------------------- */

/* A heap with its own arenas, its own placement policy and an optional
 * limit: blocks of a request, a document or a thread that all go away
 * together, in one hawk_heap_destroy.  free, realloc and malloc_usable_size
 * work on a heap's blocks from any thread; a heap may be used by several
 * threads at once (it has its own lock).  A heap's blocks never go into a
 * thread cache. */
struct hawk_heap; /* opaque */

/* The options' layout; each new field is appended and bumps this number. */
#define HAWK_HEAP_OPTIONS_VERSION 1

/* size must be sizeof(struct hawk_heap_options) as the caller was compiled
 * (HAWK_HEAP_OPTIONS_INIT sets it): smaller than version 1's 24 bytes is
 * refused (EINVAL); larger than the library knows is accepted only when
 * every byte it does not know is zero (else E2BIG), so a program built
 * against a newer header runs on an older library as long as it leaves the
 * new fields at their defaults. */
struct hawk_heap_options {
  size_t size;        /* sizeof(struct hawk_heap_options) */
  const char *policy; /* "segregated", "first-fit", "next-fit" or "best-fit";
                         NULL: the process's policy (HAWKALLOC_POLICY) */
  size_t limit;       /* the most bytes the heap's blocks may hold at once,
                         headers included (a block in a mapping of its own
                         counts its mapping); 0: no limit.  Past it an
                         allocation returns NULL with errno ENOMEM. */
};

#define HAWK_HEAP_OPTIONS_INIT                                                                     \
  { sizeof(struct hawk_heap_options), NULL, 0 }

/* Creates a heap (opt NULL: the defaults).  Returns NULL with errno set
 * and one line on stderr for options it refuses (EINVAL: an unknown
 * policy, a size too small, a limit under 32 bytes or beyond the address
 * space; E2BIG: unknown fields set), or NULL with ENOMEM. */
HAWK_EXPORT struct hawk_heap *hawk_heap_create(const struct hawk_heap_options *opt);

/* Unmaps every arena and mapping of h at once: every block of h is gone,
 * and free of one of them is reported as a double free.  h must not be in
 * use by another thread.  Destroying the default heap, NULL, a pointer that
 * is not a heap or a heap destroyed already is misuse (a line, abort). */
HAWK_EXPORT void hawk_heap_destroy(struct hawk_heap *h);

/* The default heap (what malloc uses): allocating from it is malloc;
 * it cannot be destroyed. */
HAWK_EXPORT struct hawk_heap *hawk_heap_default(void);

/* malloc, calloc, realloc and aligned_alloc in heap h, with their
 * semantics (NULL with ENOMEM past h's limit).  hawk_heap_realloc returns
 * a block of h whatever heap p came from; plain realloc keeps a block in
 * its own heap. */
HAWK_EXPORT void *hawk_heap_malloc(struct hawk_heap *h, size_t n);
HAWK_EXPORT void *hawk_heap_calloc(struct hawk_heap *h, size_t count, size_t n);
HAWK_EXPORT void *hawk_heap_realloc(struct hawk_heap *h, void *p, size_t n);
HAWK_EXPORT void *hawk_heap_aligned_alloc(struct hawk_heap *h, size_t alignment, size_t n);

/* h's figures in struct hawk_stats (heaps is 1; thread_cached and
 * cached_arenas are 0: a heap has neither); as hawk_stats for the default
 * heap.  Returns 0, or -1 if size is too small. */
HAWK_EXPORT int hawk_heap_stats(struct hawk_heap *h, struct hawk_stats *s, size_t size);

/* hawk_check for h alone: 0 when sound, else the problems found (one line
 * each on stderr). */
HAWK_EXPORT int hawk_heap_check(struct hawk_heap *h);

/* The number hawk_walk gives h's blocks in struct hawk_block_info.heap
 * (the default heaps are 0 to 15; a created heap gets 16, 17, ...: never
 * reused within a process). */
HAWK_EXPORT int hawk_heap_id(struct hawk_heap *h);

/* --- glibc's introspection and tuning calls (docs/glibc.md) ------------ */

/* mallinfo2 and mallinfo with HawkAlloc's figures in glibc's fields: arena
 * (the heaps' arenas), ordblks and fordblks (their free blocks), uordblks
 * (their allocated blocks), hblks and hblkhd (blocks in a mapping of their
 * own), keepcost (what malloc_trim would unmap); smblks, fsmblks and
 * usmblks are 0.  hawk_mallinfo's int fields stop at INT_MAX. */
HAWK_EXPORT struct mallinfo2 hawk_mallinfo2(void);
HAWK_EXPORT struct mallinfo hawk_mallinfo(void);

/* malloc_info: glibc's XML, one <heap> per heap, HawkAlloc's own figures in
 * <hawkalloc type="..."/> elements.  options must be 0 (else EINVAL is
 * returned, and errno set to it); a NULL fp is misuse (a line, abort). */
HAWK_EXPORT int hawk_malloc_info(int options, FILE *fp);

/* mallopt: M_MMAP_THRESHOLD (the large-block threshold, 0 to 2 MiB),
 * M_ARENA_MAX (heaps new threads are spread over), M_TRIM_THRESHOLD (bytes
 * of empty arenas kept mapped), M_PERTURB (fill patterns, as glibc); every
 * other parameter is accepted and ignored.  Returns 1, or 0 for a value
 * refused (nothing changed). */
HAWK_EXPORT int hawk_mallopt(int param, int value);

/* --- looking inside: the heap walk, snapshots, traces ------------------ */

/* What a visited block is. */
enum hawk_block_state {
  HAWK_BLOCK_FREE = 0,      /* on a free list */
  HAWK_BLOCK_ALLOCATED = 1, /* handed out to the program */
  HAWK_BLOCK_CACHED = 2,    /* freed, waiting in a thread cache (allocated to the heap) */
  HAWK_BLOCK_LARGE = 3,     /* a block in a mapping of its own */
};

/* One block met by hawk_walk. */
struct hawk_block_info {
  uintptr_t address;  /* the block's first byte (its header) */
  size_t size;        /* the whole block, header included */
  uintptr_t payload;  /* what malloc returned for it */
  int state;          /* enum hawk_block_state */
  int heap;           /* the owning heap: 0-15 a default heap, hawk_heap_id
                         of a created one; -1 for a default large block */
  uintptr_t region;   /* start of the arena (or mapping) the block lies in */
  size_t region_size; /* size of that arena (or mapping) */
};

/* Calls visit once per block of every arena, in address order within an
 * arena, then once per large block, with the heaps locked one at a time.
 * visit must not allocate or free (one that waits for a lock the walk holds
 * is misuse: a line, abort).  Returns the number of blocks visited. */
typedef void (*hawk_visit_fn)(void *ctx, const struct hawk_block_info *block);
HAWK_EXPORT size_t hawk_walk(hawk_visit_fn visit, void *ctx);

/* Writes a snapshot of the heap to path: the figures of hawk_stats, every
 * arena and large mapping as a strip of run-length pieces by block state,
 * the registry's chunks, and /proc/self/maps, in the binary format of
 * docs/snapshot-format.md (include/hawksnap.h).  `hawk render path` draws
 * it as the SVG picture this function wrote until the snapshot format came
 * (every arena a strip, each block to scale and coloured by state, the
 * fragmentation figures, the address space on one axis).  Allocates
 * nothing.  The file is made 0600 and renamed over path when nothing is
 * there or a regular file of this user with one link; a symbolic link, a
 * character device, a FIFO or another regular file is written through,
 * never replaced; anything else is refused (EINVAL, or EISDIR for a
 * directory).  Returns 0, or -1 with errno set. */
HAWK_EXPORT int hawk_map_write(const char *path);

/* Writes every thread's buffered trace records to the trace file (no-op when
 * not tracing).  Tracing starts when HAWKALLOC_TRACE=FILE is set. */
HAWK_EXPORT void hawk_trace_flush(void);

/* --- the heap's events, one call at a time (the lab's explorer) ---------- */

/* What the heap did.  Addresses are block addresses (headers), sizes whole
 * blocks, as hawk_walk reports them. */
enum hawk_event_kind {
  HAWK_EV_LISTED = 0,         /* free block put at the head of list `a` (its size class for the
                                 segregated policy, else 0); `b` the old head */
  HAWK_EV_UNLISTED = 1,       /* free block taken out of list `a`; `b`, `c` its neighbours
                                 there (previous, next); `d` next fit's rover after */
  HAWK_EV_EXAMINED = 2,       /* the policy looked at this free block for a request of `a` */
  HAWK_EV_CHOSEN = 3,         /* the policy chose this free block for a request of `a`;
                                 `b` next fit's rover after */
  HAWK_EV_TAKEN = 4,          /* block allocated from free block `a` of `b` bytes: a leading
                                 pad of `d` bytes and a split-off rest of `c` bytes stay free */
  HAWK_EV_RUN = 5,            /* `a` blocks of `size` bytes allocated one after the other from
                                 free block `block` for a thread cache, the last `b` bytes;
                                 a rest of `c` bytes split off stays free */
  HAWK_EV_FREED = 6,          /* block freed; merged with `c` bytes before it and `d` bytes
                                 after it into the free block `a` of `b` bytes */
  HAWK_EV_RESIZED = 7,        /* block resized in place from `a` bytes to `size`; the free
                                 block after it (if any) now has `b` bytes */
  HAWK_EV_ARENA_MAPPED = 8,   /* an arena of `size` bytes at `block` joined the heap, its
                                 one free block `a` of `b` bytes */
  HAWK_EV_ARENA_UNMAPPED = 9, /* an empty arena left the heap (its free block `a`) */
  HAWK_EV_LARGE_MAPPED = 10,  /* a large block in a mapping of its own at `a`, `b` bytes */
  HAWK_EV_LARGE_UNMAPPED = 11,
};

struct hawk_event {
  int kind; /* enum hawk_event_kind */
  int heap; /* index of the heap (a created heap's hawk_heap_id), -1 for large blocks */
  uintptr_t block;
  size_t size;
  uint64_t a, b, c, d;
};

/* Calls fn for every event of the heaps and large blocks from now on, with
 * the heap's lock held, in the order they happen; fn must not allocate,
 * free or call into the library (one that waits for a lock the call holds
 * is misuse: a line, abort).  First, for each heap, fn hears every free
 * block already listed as HAWK_EV_LISTED, each list from its tail to its
 * head (so that pushing them in that order rebuilds it).  Meant for one
 * thread's replay: calls of other threads are reported too, interleaved.
 * hawk_events(NULL, NULL) stops.  Returns 0, or -1 (EBUSY) when another
 * recorder is installed. */
typedef void (*hawk_event_fn)(void *ctx, const struct hawk_event *event);
HAWK_EXPORT int hawk_events(hawk_event_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* HAWKALLOC_H */
