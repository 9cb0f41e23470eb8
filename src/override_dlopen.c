/* override_dlopen.c - dlopen, without RTLD_DEEPBIND.
 *
 * A library opened with RTLD_DEEPBIND looks its symbols up in itself and its
 * own dependencies before the global scope, so its malloc and free are the C
 * library's, not HawkAlloc's, whether HawkAlloc is preloaded or linked into
 * the program: a block the program allocates and the library frees (or the
 * other way round) crosses from one allocator to the other.  PHP opens its
 * extensions so, and Debian's php 8.2 died at start-up in glibc's free
 * ("munmap_chunk(): invalid pointer", pdo.so freeing a string of the PHP
 * binary; docs/security.md, "Found by a search at ac88f5a").  This dlopen
 * clears the flag and jumps to the next dlopen, the C library's.  It must be
 * a jump (a sibling call, which -O2 makes of the last call): the C library's
 * dlopen finds its caller from its return address, and takes the caller's
 * $ORIGIN, RUNPATH and namespace from it, which must stay the program's.
 * test_glibc's deepbind_library_frees_hawkallocs_blocks opens
 * "$ORIGIN/glibc_probe_lib.so" through it, preloaded: from this library's
 * directory that file does not exist.
 *
 * Nothing here runs on an allocation's path; this file is linked after the
 * 64 KiB window of the code every process runs (the Makefile's LIB_FIRST).
 */
#include <dlfcn.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

typedef void *dlopen_fn(const char *file, int mode);

/* The C library's dlopen, found once (a race finds the same one twice). */
static dlopen_fn *next_dlopen;

EXPORT void *dlopen(const char *file, int mode) {
  dlopen_fn *next = __atomic_load_n(&next_dlopen, __ATOMIC_RELAXED);
  if (next == NULL) {
    void *sym = dlsym(RTLD_NEXT, "dlopen");
    __builtin_memcpy(&next, &sym, sizeof next);
    if (next == NULL) return NULL;
    __atomic_store_n(&next_dlopen, next, __ATOMIC_RELAXED);
  }
  return next(file, mode & ~RTLD_DEEPBIND);
}
