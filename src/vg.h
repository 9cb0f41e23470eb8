/* vg.h - telling Valgrind's memcheck about HawkAlloc's blocks.
 *
 * Under memcheck (vg_memcheck_running, checked once at start-up) every
 * call takes the slow path: each block handed out is announced with
 * VALGRIND_MALLOCLIKE_BLOCK and each freed one with VALGRIND_FREELIKE_BLOCK,
 * so memcheck reports the program's leaks, reads after free and invalid
 * frees; error reporting is switched off while HawkAlloc itself touches
 * headers, links and footers in freed memory.  Client requests are a few
 * instructions that do nothing outside Valgrind, and they are only reached
 * on the slow path.  Without the header the requests compile to nothing.
 */
#ifndef HAWK_VG_H
#define HAWK_VG_H

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>) && !defined(HAWK_NO_VALGRIND)
#include <valgrind/memcheck.h>
#define HAWK_HAVE_VALGRIND 1
#endif
#endif

#ifndef HAWK_HAVE_VALGRIND
#define RUNNING_ON_VALGRIND                                    0
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, redzone, zeroed) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(addr, redzone)                 ((void)0)
#define VALGRIND_DISABLE_ERROR_REPORTING                       ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING                        ((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(addr, len)                  ((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(addr, len)                   ((void)0)
#define VALGRIND_CHECK_MEM_IS_ADDRESSABLE(addr, len)           0
#endif

/* Whether the program runs under memcheck (not callgrind or another tool,
 * where the blocks need no announcing and the fast paths should be
 * measured as they are): only memcheck answers an addressability check. */
static inline int vg_memcheck_running(void) {
  if (!RUNNING_ON_VALGRIND) return 0;
  static char probe;
  VALGRIND_DISABLE_ERROR_REPORTING;
  VALGRIND_MAKE_MEM_NOACCESS(&probe, 1);
  int memcheck = VALGRIND_CHECK_MEM_IS_ADDRESSABLE(&probe, 1) != 0;
  VALGRIND_MAKE_MEM_DEFINED(&probe, 1);
  VALGRIND_ENABLE_ERROR_REPORTING;
  return memcheck;
}

#endif /* HAWK_VG_H */
