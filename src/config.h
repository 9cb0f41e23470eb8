/* config.h - the fixed sizes every layer agrees on.
 *
 * Each number is a decision recorded in docs/design.md with its reason.
 */
#ifndef HAWK_CONFIG_H
#define HAWK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Every payload starts on this boundary (max_align_t on x86-64 and aarch64). */
#define HAWK_ALIGN ((size_t)16)

/* Arenas are this big and mapped at an address that is a multiple of it, so
 * masking a payload pointer gives its arena header. */
#define ARENA_SHIFT 22
#define ARENA_SIZE  ((size_t)1 << ARENA_SHIFT)

/* Requests of at least this many bytes get a mapping of their own (the
 * default: mallopt(M_MMAP_THRESHOLD) may move it, large.h), and so does any
 * request aligned to more than this. */
#define LARGE_THRESHOLD ((size_t)1 << 20)

/* The highest threshold mallopt(M_MMAP_THRESHOLD) accepts: a block just
 * under it, aligned to LARGE_THRESHOLD, still fits in a fresh arena
 * (1 MiB of padding at most plus 2 MiB is less than the arena's 4 MiB - 144
 * bytes of free span). */
#define LARGE_THRESHOLD_MAX ((size_t)2 << 20)

/* Blocks up to this size (payload 2040 bytes) are cached by the thread
 * caches (tcache.h). */
#define TCACHE_MAX_BLOCK ((size_t)2048)

/* The most heaps threads are spread over (HAWKALLOC_HEAPS). */
#define HEAP_MAX 16

/* A block that realloc grows gets 1/REALLOC_HEADROOM more than asked (in
 * place, as far as the free neighbour and the frontier allow), so that a
 * buffer growing by small steps moves, or takes the heap lock, again only
 * after many of them. */
#define REALLOC_HEADROOM 8

/* A heap tells the process-wide count of bytes in use, from which the peak
 * is taken, each time its own count has moved this far.  The peak is then
 * right to within IN_USE_STEP per heap in use, either way, and an
 * allocation reads or writes no cache line of another heap's. */
#define IN_USE_STEP ((uint64_t)64 << 10)

/* Empty arenas kept mapped (not returned to the OS) for quick reuse, unless
 * mallopt(M_TRIM_THRESHOLD) changed it (arena.h). */
#define ARENA_CACHE_MAX 2

/* The decay (decay.h, docs/design.md).  A heap reads the clock once every
 * DECAY_CHECK_OPS of its locked operations (a refill, an overflow, a block
 * above the cache's sizes): one coarse clock read per 64 is lost in the
 * cost of the lock.  Free blocks of DECAY_BLOCK_MIN bytes or more are
 * watched (a smaller one holds at most two whole pages past its header
 * page).  One pass gives back at most DECAY_PASS_MAX blocks, each one
 * madvise call, so that no heap operation waits long for its lock; the
 * next check goes on.  HAWKALLOC_DECAY_MS is at most DECAY_MS_MAX (an
 * hour); its default is 500 ms, so that pages come back between 0.5 and
 * about 1 s after they became free. */
#define DECAY_CHECK_OPS 64
#define DECAY_BLOCK_MIN ((size_t)16 << 10)
#define DECAY_PASS_MAX  64
#define DECAY_MS_MAX    ((uint64_t)3600 * 1000)

/* The kernel's user address space is below this (48-bit virtual addresses
 * on x86-64 and aarch64); the arena registry covers exactly this range. */
#define ADDRESS_BITS 48

/* The always-on misuse checks (docs/security.md): header tags, mangled
 * links, safe unlink, the thread-cache key, pointer validation on the free
 * fast path and the state checks of free and realloc.  A build with
 * -DHAWK_CHECKS=0 leaves them out only to measure what they cost
 * (`make bench-checks`); it is never installed and catches nothing. */
#ifndef HAWK_CHECKS
#define HAWK_CHECKS 1
#endif

/* Tells the compiler which way a branch usually goes. */
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Internal functions shared between files are hidden from the library's
 * exported symbol table (the build also uses -fvisibility=hidden). */
#define HAWK_INTERNAL __attribute__((visibility("hidden")))

/* Rounds n up to a multiple of the power of two a (no overflow check). */
static inline size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

#endif /* HAWK_CONFIG_H */
