/* os.c - mmap, munmap, mremap, madvise and friends.  See os.h. */
#include "os.h"

#include <errno.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static size_t page_size;

#ifdef HAWK_FAULT_INJECTION
static unsigned long calls, fail_at;

unsigned long os_fail_nth(unsigned long nth) {
  fail_at = nth ? calls + nth : 0;
  return calls;
}

/* Counts a call that asks for memory; says whether it is the one to fail. */
static int injected_failure(void) { return ++calls == fail_at; }
#else
static int injected_failure(void) { return 0; }
#endif

size_t os_page_size(void) {
  if (unlikely(page_size == 0)) {
    unsigned long p = getauxval(AT_PAGESZ);
    page_size = p ? (size_t)p : 4096;
  }
  return page_size;
}

/* Runs the system call result through the contract: 0 or an errno value,
 * with the caller's errno restored. */
static int os_result(int failed, int saved_errno) {
  int err = failed ? errno : 0;
  errno = saved_errno;
  return err;
}

/* Where an aligned mapping is tried when the over-sized one is refused:
 * just below the last one (the kernel hands out addresses downwards), so
 * that it needs no slack.  Racing threads may try the same place:
 * MAP_FIXED_NOREPLACE lets one have it, and the other tries the next. */
static uintptr_t map_hint;

/* Maps len bytes exactly at hint, or fails. */
static void *map_at(uintptr_t hint, size_t len) {
  void *p = mmap((void *)hint, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if ((uintptr_t)p == hint) return p;
  munmap(p, len); /* a kernel that took the address only as a hint */
  errno = EINVAL;
  return NULL;
}

/* Remembers where to try after a mapping at start. */
static void hint_below(uintptr_t start, size_t len, size_t align) {
  __atomic_store_n(&map_hint, start > len ? (start - len) & ~(uintptr_t)(align - 1) : 0,
                   __ATOMIC_RELAXED);
}

/* An aligned mapping without slack: at the aligned place right below the
 * last aligned mapping, or the two below that (a registry leaf or a trace
 * buffer mapped since often sits right below it); NULL when none is free. */
static void *map_below_last(size_t len, size_t align) {
  uintptr_t hint = __atomic_load_n(&map_hint, __ATOMIC_RELAXED) & ~(uintptr_t)(align - 1);
  for (int tries = 0; tries < 3 && hint > align; tries++) {
    void *p = map_at(hint, len);
    if (p) return p;
    if (errno != EEXIST) return NULL; /* refused, not taken: no other place will do */
    hint -= align;
  }
  return NULL;
}

int os_map(size_t len, size_t align, void **out) {
  if (injected_failure()) return ENOMEM;
  int saved = errno;
  size_t span = len + align - os_page_size();
  if (span < len) return ENOMEM;
  char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    /* Refused perhaps only for the slack: under a tight RLIMIT_AS the
     * over-sized mapping needs twice an arena's address space for a
     * moment.  The kernel's own choice stays the usual one, so that freed
     * ranges are used again (addresses do not march down, and a sanitizer's
     * shadow of them stays small). */
    void *q = align > os_page_size() ? map_below_last(len, align) : NULL;
    if (q == NULL) {
      errno = saved;
      return ENOMEM;
    }
    hint_below((uintptr_t)q, len, align);
    *out = q;
    return os_result(0, saved);
  }
  /* Trim the slack before and after the aligned part. */
  char *start = (char *)align_up((uintptr_t)p, align);
  if (start > p) munmap(p, (size_t)(start - p));
  char *end = start + len;
  if (p + span > end) munmap(end, (size_t)(p + span - end));
  if (align > os_page_size()) hint_below((uintptr_t)start, len, align);
  *out = start;
  return os_result(0, saved);
}

int os_unmap(void *addr, size_t len) {
  int saved = errno;
  return os_result(munmap(addr, len) != 0, saved);
}

int os_resize_in_place(void *addr, size_t old_len, size_t new_len) {
  if (injected_failure()) return ENOMEM;
  int saved = errno;
  return os_result(mremap(addr, old_len, new_len, 0) == MAP_FAILED, saved);
}

int os_move(void *addr, size_t old_len, void *dest, size_t new_len) {
  if (injected_failure()) return ENOMEM;
  int saved = errno;
  void *p = mremap(addr, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
  return os_result(p == MAP_FAILED, saved);
}

int os_discard(void *addr, size_t len) {
  int saved = errno;
  return os_result(madvise(addr, len, MADV_DONTNEED) != 0, saved);
}

size_t os_resident(const void *addr, size_t len) {
  unsigned char vec[256];
  size_t page = os_page_size(), bytes = 0;
  const char *p = addr;
  int saved = errno;
  while (len >= page) {
    size_t pages = len / page > sizeof vec ? sizeof vec : len / page;
    if (mincore((void *)p, pages * page, vec) != 0) {
      bytes += len;
      break;
    }
    for (size_t i = 0; i < pages; i++) bytes += (vec[i] & 1) ? page : 0;
    p += pages * page;
    len -= pages * page;
  }
  errno = saved;
  return bytes;
}

uint64_t os_clock_coarse_ns(void) {
  struct timespec t;
  int saved = errno;
  int failed = clock_gettime(CLOCK_MONOTONIC_COARSE, &t) != 0;
  errno = saved;
  return failed ? 0 : (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int os_is_mapped(const void *addr) {
  int saved = errno;
  unsigned char vec;
  void *page = (void *)((uintptr_t)addr & ~(uintptr_t)(os_page_size() - 1));
  int mapped = mincore(page, os_page_size(), &vec) == 0 || errno != ENOMEM;
  errno = saved;
  return mapped;
}

int os_random(void *buf, size_t len) {
  int saved = errno;
  long n = syscall(SYS_getrandom, buf, len, 0);
  return os_result(n != (long)len, saved);
}
