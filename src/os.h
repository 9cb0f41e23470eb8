/* os.h - the platform contract: the only layer that talks to the kernel.
 *
 * Every function returns 0 on success or an errno value on failure, and
 * leaves the caller's errno exactly as it found it; the API layer decides
 * what the program sees.
 */
#ifndef HAWK_OS_H
#define HAWK_OS_H

#include "config.h"

/* Size of a page, read once from the kernel's auxiliary vector. */
HAWK_INTERNAL size_t os_page_size(void);

/* Maps len bytes of fresh, zeroed, read-write memory at an address that is
 * a multiple of align (a power of two, at least a page). */
HAWK_INTERNAL int os_map(size_t len, size_t align, void **out);

/* Gives the range back to the OS. */
HAWK_INTERNAL int os_unmap(void *addr, size_t len);

/* Grows or shrinks a mapping without moving it. */
HAWK_INTERNAL int os_resize_in_place(void *addr, size_t old_len, size_t new_len);

/* Moves a mapping's pages to dest (which must be a mapping of new_len bytes
 * of ours, which it replaces) and resizes it; no bytes are copied. */
HAWK_INTERNAL int os_move(void *addr, size_t old_len, void *dest, size_t new_len);

/* Tells the kernel the pages of the range may be dropped; they read back as
 * zeros.  The range must be page-aligned. */
HAWK_INTERNAL int os_discard(void *addr, size_t len);

/* The bytes of the whole pages of [addr, addr + len) (addr page-aligned)
 * that are resident now (mincore); len when that cannot be told. */
HAWK_INTERNAL size_t os_resident(const void *addr, size_t len);

/* The monotonic clock in nanoseconds at the kernel's tick resolution
 * (CLOCK_MONOTONIC_COARSE: a vDSO call, no system call, nothing
 * allocated); 0 if it cannot be read. */
HAWK_INTERNAL uint64_t os_clock_coarse_ns(void);

/* Whether the page containing addr is mapped now (by anyone); for
 * diagnosis on the abort path (mincore). */
HAWK_INTERNAL int os_is_mapped(const void *addr);

/* Fills buf with len random bytes from the kernel. */
HAWK_INTERNAL int os_random(void *buf, size_t len);

#ifdef HAWK_FAULT_INJECTION
/* Test builds only: the nth call from now that asks the kernel for memory
 * (map, resize, move) fails with ENOMEM; 0 turns this off.  Returns
 * how many such calls were made so far. */
HAWK_INTERNAL unsigned long os_fail_nth(unsigned long nth);
#endif

#endif /* HAWK_OS_H */
