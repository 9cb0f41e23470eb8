/* config.h - the one header of tunables, and the compile-time levels.
 *
 * Every number the layers agree on is here, with its unit, its reason and
 * whether it is safe to change.  "Safe" ones are wrapped in #ifndef: a
 * build may set them with -DNAME=VALUE (make CFLAGS=-DNAME=VALUE), and only
 * speed and memory use change (and the tests that count list lengths or
 * batch sizes, which assume the values here).  "Fixed" ones are part
 * of a format or a layout that other numbers derive from; changing one
 * means reading the code that depends on it.  docs/design.md records the
 * measurements behind the chosen values.
 */
#ifndef HAWK_CONFIG_H
#define HAWK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* --- levels ---------------------------------------------------------------- */

/* The always-on misuse checks (docs/security.md): header tags, mangled
 * links, safe unlink, the thread-cache key, pointer validation on the free
 * fast path and the state checks of free and realloc.  A build with
 * -DHAWK_CHECKS=0 leaves them out only to measure what they cost
 * (`make bench-checks`); it is never installed and catches nothing. */
#ifndef HAWK_CHECKS
#define HAWK_CHECKS 1
#endif

/* Internal assertions (report.h: HAWK_ASSERT, HAWK_ASSERT_EXPENSIVE): 0 in
 * the library as built and installed (compiled out), 1 for the cheap ones
 * (a test on a value at hand), 2 for the expensive ones too (a walk).  The
 * test builds that compile the sources themselves (the unit tests, the
 * sanitizer builds, the fault-injection test) use 2, so that a broken
 * invariant stops the program where it breaks, not at the next hawk_check. */
#ifndef HAWK_ASSERT_LEVEL
#define HAWK_ASSERT_LEVEL 0
#endif

/* Statistics (counters.h: HAWK_STAT_ADD): 1 counts the events the
 * statistics report (mallocs, frees, splits, coalesces of each heap, large
 * mappings made and freed); -DHAWK_STATS=0 compiles those counts out
 * (hawk_stats then reports them as 0).  Byte counts the allocator itself
 * steers by (in use, footprint, mapped) are always kept. */
#ifndef HAWK_STATS
#define HAWK_STATS 1
#endif

/* --- fixed: the block and arena layout ------------------------------------ */

/* Bytes.  Every payload starts on this boundary (max_align_t on x86-64 and
 * aarch64).  Fixed: the block format (block.h) relies on it. */
#define HAWK_ALIGN ((size_t)16)

/* log2 bytes.  Arenas are this big and mapped at an address that is a
 * multiple of it, so masking a payload pointer gives its arena header; the
 * registry has one byte per arena-sized chunk.  Fixed: the registry's
 * layout and LARGE_THRESHOLD_MAX derive from it. */
#define ARENA_SHIFT 22
#define ARENA_SIZE  ((size_t)1 << ARENA_SHIFT)

/* Bits.  The kernel's user address space is below this (48-bit virtual
 * addresses on x86-64 and aarch64); the arena registry covers exactly this
 * range.  Fixed: a header keeps sizes in 44 bits and its tag in 16. */
#define ADDRESS_BITS 48

/* Bytes.  Blocks up to this size (payload 2040 bytes) are cached by the
 * thread caches (tcache.h).  Fixed below 4096: a cache mark keeps the size
 * in the key's low 12 bits (block.h).  Safe between 64 and 4080. */
#ifndef TCACHE_MAX_BLOCK
#define TCACHE_MAX_BLOCK ((size_t)2048)
#endif

/* Bytes.  Requests of at least this many bytes get a mapping of their own
 * (the default: mallopt(M_MMAP_THRESHOLD) may move it, large.h), and so
 * does any request aligned to more than this; one below
 * LARGE_THRESHOLD_MAX is first served by a spare mapping or a free block
 * in memory a heap has used already, if one holds it (api.c,
 * alloc_large).  Safe up to
 * LARGE_THRESHOLD_MAX. */
#ifndef LARGE_THRESHOLD
#define LARGE_THRESHOLD ((size_t)1 << 20)
#endif

/* Bytes.  The highest threshold mallopt(M_MMAP_THRESHOLD) accepts: a block
 * just under it, aligned to LARGE_THRESHOLD, still fits in a fresh arena
 * (1 MiB of padding at most plus 2 MiB is less than the arena's 4 MiB - 144
 * bytes of free span).  Fixed: derived from ARENA_SIZE. */
#define LARGE_THRESHOLD_MAX ((size_t)2 << 20)

/* --- safe to change: sizes of caches and batches -------------------------- */

/* Heaps.  The most heaps threads are spread over (HAWKALLOC_HEAPS): more
 * spreads threads thinner, each heap costs one struct heap of .bss. */
#ifndef HEAP_MAX
#define HEAP_MAX 16
#endif

/* Bytes and blocks.  A thread cache's list holds about TCACHE_LIST_BYTES,
 * and TCACHE_LIST_MIN to TCACHE_LIST_MAX blocks: small sizes get long lists
 * where they are cheap, and memory held per thread stays bounded
 * (docs/design.md: 8 KiB against 4, 16 and 64).  These are the first
 * limits; a list may grow past them (below). */
#ifndef TCACHE_LIST_BYTES
#define TCACHE_LIST_BYTES 8192
#endif
#ifndef TCACHE_LIST_MIN
#define TCACHE_LIST_MIN 8
#endif
#ifndef TCACHE_LIST_MAX
#define TCACHE_LIST_MAX 128
#endif

/* Bytes, blocks, bytes, a divisor and bytes.  A list that keeps emptying
 * and filling up again (a program that allocates many blocks of one size
 * and frees them all, in rounds) grows at each overflow that follows a
 * refill by the blocks the refills brought in since its last overflow
 * (what the round took beyond it), up to about TCACHE_GROWN_BYTES and at
 * most TCACHE_GROWN_MAX blocks: the next such round then stays in the
 * cache rather than going through the heap's lock twice per block.  What
 * all the lists of a thread grew beyond their first limits holds at most a
 * TCACHE_GROWN_SHARE-th of the bytes in use in the thread's heap, at least
 * TCACHE_GROWN_BUDGET and at most TCACHE_GROWN_MOST bytes, so that a
 * thread with little live data that cycles many sizes keeps about what it
 * kept before, and one with more pays for its rounds a bounded share of
 * what it uses anyway (docs/design.md; without the ceiling bench/frag's
 * lists grew by up to 3 MB that its rounds hardly reuse).  Lists of
 * blocks other threads allocated do not grow.  TCACHE_GROWN_MAX is at most
 * 65535 (a list's count and limit are uint16_t).  Safe to change:
 * TCACHE_GROWN_SHARE from 1 (the lists may hold as much again as the heap
 * has in use) up, higher holds less; TCACHE_GROWN_MOST at least
 * TCACHE_GROWN_BUDGET. */
#ifndef TCACHE_GROWN_BYTES
#define TCACHE_GROWN_BYTES 65536
#endif
#ifndef TCACHE_GROWN_MAX
#define TCACHE_GROWN_MAX 2048
#endif
#ifndef TCACHE_GROWN_BUDGET
#define TCACHE_GROWN_BUDGET 65536
#endif
#ifndef TCACHE_GROWN_SHARE
#define TCACHE_GROWN_SHARE 3
#endif
#ifndef TCACHE_GROWN_MOST
#define TCACHE_GROWN_MOST 1048576
#endif

/* Frees.  A cache refill that comes more than this many of the thread's
 * frees after the last refill of its size takes half the blocks the last
 * one took, and the next one no more (tcache.c): a size whose list runs
 * out only now and then keeps about the most blocks the program needed at
 * once, not half a list more.  Lower costs a program that keeps taking a
 * size among frees of others more refills (docs/design.md: 256 and 64
 * against 1,024).  Safe from 0 to 65534 (the count is kept in 16 bits);
 * 65534 nearly turns it off. */
#ifndef TCACHE_REFILL_RARE
#define TCACHE_REFILL_RARE 1024
#endif

/* A fraction (1/N).  A block that realloc grows gets 1/REALLOC_HEADROOM
 * more than asked (in place, as far as the free neighbour and the frontier
 * allow), so that a buffer growing by small steps moves, or takes the heap
 * lock, again only after many of them. */
#ifndef REALLOC_HEADROOM
#define REALLOC_HEADROOM 8
#endif

/* A fraction (1/N).  A shrinking realloc to a size the thread cache holds,
 * whose neighbour is in use, moves to a block of the new size when it
 * gives back at least 1/REALLOC_SHRINK_MOVE of its block, rather than
 * cutting a tail that would stay a hole of its own (api.c: resize_core).
 * Less is about the headroom a growing buffer was given (1/REALLOC_HEADROOM
 * and a step): such a buffer, moved to a block without headroom, would
 * move again at its next step.  python with PYTHONMALLOC=malloc shrank
 * 44,745 blocks so, 29,843 of them from 176 bytes to 80; bench/realloc's
 * 31 such calls were its buffers' growth, at 7/8 of their blocks (docs/design.md). */
#ifndef REALLOC_SHRINK_MOVE
#define REALLOC_SHRINK_MOVE 6
#endif

/* Bytes.  A heap tells the process-wide count of bytes in use, from which
 * the peak is taken, each time its own count has moved this far.  The peak
 * is then right to within IN_USE_STEP per heap in use, either way, and an
 * allocation reads or writes no cache line of another heap's. */
#ifndef IN_USE_STEP
#define IN_USE_STEP ((uint64_t)64 << 10)
#endif

/* Arenas.  Empty arenas kept mapped (not returned to the OS) for quick
 * reuse, unless mallopt(M_TRIM_THRESHOLD) changed it (arena.h): 64 MiB, as
 * the spare large mappings (LARGE_SPARE_BYTES).  The decay unmaps those
 * that waited a whole period (arena_cache_decay), so that the memory still
 * follows the live data; a program whose live data swings by more than two
 * arenas within a period (bench/frag's steps) gets them back with no mmap
 * and no page faults (docs/design.md; 2 until 2026-12-05). */
#ifndef ARENA_CACHE_MAX
#define ARENA_CACHE_MAX 16
#endif

/* An empty arena that waited in the cache for this many eighths of the
 * decay's period, taken back where it takes the footprint past its peak,
 * gives its pages back first and comes back as a new one would
 * (arena_take_clean): its resident pages would add to the program's peak
 * of resident memory.  A quarter: 125 ms by default.  Measured on a loaded
 * machine (2026-12-06): python's one empty arena waited 228-269 ms;
 * bench/frag's 334 waited 6 ms (median) and at most 150, bench/mixed's at
 * most 453 at four threads (median 1), below their footprint's peak. */
#ifndef ARENA_CACHE_CLEAN_EIGHTHS
#define ARENA_CACHE_CLEAN_EIGHTHS 2
#endif

/* Mappings and bytes.  Freed large mappings kept for reuse (large.c): a
 * program that frees and allocates big buffers again and again then pays
 * neither the mmap and munmap calls nor a page fault per page each time;
 * bounded in number and bytes. */
#ifndef LARGE_SPARE_MAX
#define LARGE_SPARE_MAX 16
#endif
#ifndef LARGE_SPARE_BYTES
#define LARGE_SPARE_BYTES ((size_t)64 << 20)
#endif

/* A factor.  A spare large mapping taken for a block that needs less is
 * handed over whole while it is at most LARGE_SPARE_FIT times the need;
 * beyond that, its tail past the need is unmapped (large.c, spare_take).
 * A tail given back is faulted in again, page by page, by the next block
 * that needs more: with 2 (until 2026-12-05) bench/mixed made 156,000 page
 * faults where 4 makes 23,000 (docs/design.md).  Safe from 1 (every tail
 * unmapped) up; higher keeps more memory resident in large blocks. */
#ifndef LARGE_SPARE_FIT
#define LARGE_SPARE_FIT 4
#endif

/* Blocks.  The segregated policy's good fit: of the first
 * SEG_FIT_CANDIDATES blocks of a list that are big enough, the smallest
 * (docs/design.md has the measurements). */
#ifndef SEG_FIT_CANDIDATES
#define SEG_FIT_CANDIDATES 4
#endif
/* A block of the walk that fits within a SEG_FIT_CLOSE-th of the request
 * (a sixteenth) is taken at once: a closer fit further on would save less
 * than that, and the split gives the rest back anyway.  An eighth walked
 * less but cost the lab's traces more utilization (docs/design.md has the
 * measurements). */
#ifndef SEG_FIT_CLOSE
#define SEG_FIT_CLOSE 16
#endif

/* The decay (decay.h, docs/design.md).  A heap reads the clock once every
 * DECAY_CHECK_OPS of its locked operations (a refill, an overflow, a block
 * above the cache's sizes): one coarse clock read per 64 is lost in the
 * cost of the lock.  Free blocks of DECAY_BLOCK_MIN bytes or more are
 * watched (a smaller one holds at most two whole pages past its header
 * page).  One pass gives back at most DECAY_PASS_MAX blocks, each one
 * madvise call, so that no heap operation waits long for its lock; the
 * next check goes on.  HAWKALLOC_DECAY_MS is at most DECAY_MS_MAX
 * (milliseconds: an hour); its default is 500 ms, so that pages come back
 * between 0.5 and about 1 s after they became free.  DECAY_BLOCK_MIN is
 * fixed at 3 pages or more (the stamp lives in the block's first BLOCK_MIN
 * bytes, which a purge never gives back); the others are safe. */
#ifndef DECAY_CHECK_OPS
#define DECAY_CHECK_OPS 64
#endif
#define DECAY_BLOCK_MIN ((size_t)16 << 10)
#ifndef DECAY_PASS_MAX
#define DECAY_PASS_MAX 64
#endif
#define DECAY_MS_MAX ((uint64_t)3600 * 1000)

/* Bytes, eighths of a period.  A block of DECAY_OLD_MIN bytes or more
 * that stayed in use for DECAY_OLD_EIGHTHS eighths of the decay's period
 * (half of it) gives its pages back as it is freed, at most
 * DECAY_OLD_BUDGET bytes a heap per period (heap_old.c; docs/design.md,
 * "The decay"): memory a program held that long and let go is not the
 * memory of a loop that frees and allocates again.  Its arena keeps when
 * it was handed out, one byte per 2^DECAY_BORN_SHIFT bytes of the arena
 * (arena.h): two blocks of that size or more never start in the same
 * slot.  Safe to change; DECAY_OLD_MIN at least 2^DECAY_BORN_SHIFT,
 * DECAY_OLD_EIGHTHS from 1 to 255. */
#ifndef DECAY_OLD_MIN
#define DECAY_OLD_MIN ((size_t)128 << 10)
#endif
#ifndef DECAY_OLD_EIGHTHS
#define DECAY_OLD_EIGHTHS 4
#endif
#ifndef DECAY_OLD_BUDGET
#define DECAY_OLD_BUDGET ((size_t)16 << 20)
#endif
#define DECAY_BORN_SHIFT 16

/* The decay's epoch also moves on after DECAY_EPOCH_CHECKS clock checks
 * (3,072 locked operations of the heaps; 16 checks, 1,024 operations, until
 * 2026-12-05: bench/mstress 4 then gave pages back so often that it took
 * 1.5 times glibc's CPU time, docs/design.md) while the heaps' arenas span more
 * than DECAY_SPREAD_NUM / DECAY_SPREAD_DEN times the most bytes the
 * program ever had in use: a busy program whose free memory lies spread
 * over more arenas than its data ever needed (bench/mstress) gives it back
 * without waiting for the clock (docs/performance.md, "Peak RSS, the climb
 * of mstress").  A program that cycles between its peak and little
 * (bench/frag) stays within the bound and keeps its pages.  Safe to
 * change; DECAY_EPOCH_CHECKS 0 turns it off. */
#ifndef DECAY_EPOCH_CHECKS
#define DECAY_EPOCH_CHECKS 48
#endif
#define DECAY_SPREAD_NUM 3
#define DECAY_SPREAD_DEN 2

/* Bytes.  Each thread's trace buffer (trace.c): a full one is one write(2)
 * of 1,637 records. */
#ifndef TRACE_BUFFER_BYTES
#define TRACE_BUFFER_BYTES ((size_t)1 << 16)
#endif

/* Blocks.  realloc takes the block after the one it grows back out of this
 * thread's cache only if it is among the first TCACHE_TAKE_BACK_LOOK
 * entries of its list (the most recently freed, tcache_take_back): every
 * growing realloc next to a block that looks in use looks, and most of
 * those neighbours are in use, so each entry looked at is paid on nearly
 * every call, and the neighbour that is cached is nearly always the head
 * (docs/design.md: 1 against 2, 4 and 8). */
#ifndef TCACHE_TAKE_BACK_LOOK
#define TCACHE_TAKE_BACK_LOOK 1
#endif

/* Overflows.  A thread whose full cache lists are mostly another heap's
 * blocks moves to that heap (remote.h, remote_should_move) after this many
 * such overflows in a row: threads that free each other's blocks share a
 * heap, and its lists pass between them whole (docs/design.md).  Safe to
 * change (1 moves at the first sign). */
#ifndef TCACHE_MOVE_VOTES
#define TCACHE_MOVE_VOTES 4
#endif

/* Bytes.  The most bytes of whole cache lists waiting at one heap for its
 * threads to take (remote.h, "Frees from other threads"): beyond it a list
 * goes to the heap's free path, so what waits stays bounded. */
#ifndef REMOTE_HEAP_BYTES
#define REMOTE_HEAP_BYTES ((uint64_t)2048 * 1024)
#endif

/* Blocks.  More blocks than any cache list holds, grown ones included
 * (TCACHE_GROWN_MAX, checked in tcache.c): a count above it on a remote
 * stack is a sign of a write after free.  Safe to raise with
 * TCACHE_GROWN_MAX. */
#ifndef REMOTE_LIST_MAX
#define REMOTE_LIST_MAX 2048
#endif

/* --- helpers ---------------------------------------------------------------- */

/* Tells the compiler which way a branch usually goes. */
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* For what runs rarely or never (a misuse reported, memory refused by the
 * OS): GCC moves such a function, and the branches of its callers that
 * lead to it, into .text.unlikely, away from the paths every call runs, so
 * that those paths fill fewer lines of the instruction cache
 * (docs/performance.md, "Code footprint"). */
#define HAWK_COLD __attribute__((cold, noinline))

/* For the functions a program's every call, or every refill and flush of a
 * thread cache, runs: GCC places them together in .text.hot, which the
 * linker puts ahead of the rest of the code, so that they share as few
 * lines and pages as possible (docs/performance.md, "Code footprint"). */
#define HAWK_HOT __attribute__((hot))

/* For the take of a lock taken once per arena, large mapping, thread or
 * trace chunk (lock.h, mutex_take): one out-of-line copy in its file rather
 * than the test and the report's call at every site, so that the code every process runs
 * stays within its 64 KiB (the Makefile's LIB_FIRST, tests/levels). */
#define HAWK_NOINLINE __attribute__((noinline))

/* Internal functions shared between files are hidden from the library's
 * exported symbol table (the build also uses -fvisibility=hidden). */
#define HAWK_INTERNAL __attribute__((visibility("hidden")))

/* 1 where the fast paths may read or update a word shared with other
 * threads by a plain x86-64 instruction that works on memory (an add to a
 * counter only its owner writes, a comparison with a byte of the
 * registry): such an access is whole, and a plain load there is an
 * acquire load, but the compiler does not fold an atomic access into
 * another instruction.  0 elsewhere and under ThreadSanitizer, which must
 * see every access: the atomic builtins are used then. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HAWK_PLAIN_X86 0
#endif
#endif
#if !defined(HAWK_PLAIN_X86)
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define HAWK_PLAIN_X86 1
#else
#define HAWK_PLAIN_X86 0
#endif
#endif

/* Rounds n up to a multiple of the power of two a (no overflow check). */
static inline size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

#endif /* HAWK_CONFIG_H */
